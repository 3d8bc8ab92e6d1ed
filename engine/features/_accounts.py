"""Account features as of a date: one row per ``customers.account_id``, no leakage.

Every dated row is read only when its date is strictly before the as-of day ``A`` (see
``docs/features.md``). Windows are whole days, half-open and end at ``A``:

* last 90 days: ``A - 90 <= day < A``; last 12 months: ``A - 365 <= day < A``;
* prior 12 months: ``A - 730 <= day < A - 365``; last 24 months: ``A - 730 <= day < A``;
* last 36 months: ``A - 1095 <= day < A``.

Something "open at A" (a ticket, a contact in role, an ownership period) started before ``A``
and has no end date before ``A`` (a null end date or one on/after ``A``: the two are the same
to the features, so a later closing date never leaks in).

The work is done on int64 day numbers and integer account codes with ``np.bincount`` and
``np.maximum.at``: 1,000,000 accounts and 10,000,000 orders take seconds, not minutes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from engine._domain import CONTACT_LEVELS
from engine._errors import ArgumentError, DataError
from engine._normalise import (
    NULL_DAY,
    arrow_to_numpy,
    as_of_day,
    day_numbers,
    encode_keys,
    encode_many,
    key_array,
    table,
    typed_frame,
)
from engine.contract import CUSTOMER_DATABASE
from engine.features._aggregate import (
    count,
    group_max,
    group_mean,
    group_median,
    group_min,
    interval_stats,
    ratio,
    relative_change,
    total,
)

if TYPE_CHECKING:
    from engine.features._reference import FeatureReference

__all__ = ["build_account_features", "resolution_hours_median", "ACCOUNT_FEATURE_COLUMNS", "ACCOUNT_INPUT_COLUMNS", "WINDOW_DAYS"]

#: Window lengths in days.
WINDOW_DAYS: dict[str, int] = {"90d": 90, "12m": 365, "24m": 730, "36m": 1095}

_D90, _D12M, _D24M, _D36M = 90, 365, 730, 1095

#: Output columns of :func:`build_account_features`, in order, with their dtypes.
#: ``float64`` columns use NaN for "undefined" (see docs/features.md for each null rule);
#: the string columns keep the dtype of the customers table.
ACCOUNT_FEATURE_COLUMNS: dict[str, str] = {
    "account_id": "str",
    "name": "str",
    "region": "str",
    "industry": "str",
    "admin_level": "str",
    "strategic": "bool",
    "status": "str",
    "employees": "float64",
    "it_spend_potential": "float64",
    "owner_rep_id": "str",
    "owner_partner_id": "str",
    "territory": "str",
    "created_before_as_of": "bool",
    "account_age_days": "float64",
    "revenue_12m": "float64",
    "margin_12m": "float64",
    "units_12m": "float64",
    "revenue_prev_12m": "float64",
    "margin_prev_12m": "float64",
    "revenue_change_12m": "float64",
    "margin_change_12m": "float64",
    "revenue_90d": "float64",
    "revenue_prev_90d": "float64",
    "revenue_change_90d": "float64",
    "orders_12m": "int64",
    "recency_days": "float64",
    "frequency_36m": "int64",
    "monetary_36m": "float64",
    "share_of_wallet": "float64",
    "product_breadth_12m": "int64",
    "mean_order_interval_days": "float64",
    "order_interval_cv": "float64",
    "days_overdue": "float64",
    "tickets_12m": "int64",
    "tickets_open": "int64",
    "complaints_90d": "int64",
    "unresolved_complaints": "int64",
    "resolution_hours_ratio": "float64",
    "satisfaction_avg_12m": "float64",
    "contacts_active": "int64",
    "coverage_levels": "int64",
    "single_level_coverage": "bool",
    "days_since_key_contact_left": "float64",
    "rep_changes_24m": "int64",
    "owner_rep_active": "bool",
    "days_since_rep_change": "float64",
    "days_since_last_visit": "float64",
    "visits_90d": "int64",
    "open_opportunities": "int64",
    "won_deals_12m": "int64",
    "lost_deals_12m": "int64",
    "competitor_in_lost_deals_12m": "int64",
    "revenue_rank_in_territory": "float64",
    "territory_accounts": "int64",
    "revenue_share_in_territory": "float64",
}

_CUSTOMER_COLUMNS = CUSTOMER_DATABASE["customers"].column_names


@dataclass(frozen=True)
class _Frame:
    """What every per-table step needs: the as-of day, the account count, each table's account codes."""

    day: int
    accounts: int
    codes: dict[str, np.ndarray]


def _numbers(series: pd.Series) -> np.ndarray:
    """float64 values of a numeric column, NaN for nulls."""
    if len(series) == 0:
        return np.empty(0, dtype=np.float64)
    return pd.to_numeric(series, errors="raise").to_numpy(dtype=np.float64, na_value=np.nan)


def _arrow(series: pd.Series) -> pa.Array | pa.ChunkedArray:
    """Arrow view of a string-like column (categoricals as their values)."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype(series.dtype.categories.dtype)
    return pa.array(series, from_pandas=True)


def _equals(series: pd.Series, value: str) -> np.ndarray:
    """Boolean mask ``series == value`` with nulls False, computed in Arrow."""
    if len(series) == 0:
        return np.zeros(0, dtype=bool)
    array = _arrow(series)
    if pa.types.is_null(array.type):
        return np.zeros(len(series), dtype=bool)
    return np.asarray(arrow_to_numpy(pc.fill_null(pc.equal(array, pa.scalar(value, array.type)), False)), dtype=bool)


def _named(series: pd.Series) -> np.ndarray:
    """True where a free-text value is present and not blank."""
    if len(series) == 0:
        return np.zeros(0, dtype=bool)
    array = _arrow(series)
    if pa.types.is_null(array.type):
        return np.zeros(len(series), dtype=bool)
    blank = pc.equal(pc.utf8_trim_whitespace(pc.cast(array, pa.large_string())), "")
    return np.asarray(arrow_to_numpy(pc.fill_null(pc.invert(blank), False)), dtype=bool)


def _category_codes(series: pd.Series, positions: np.ndarray, allowed: tuple[str, ...] | None) -> np.ndarray:
    """Integer codes of ``series[positions]``: index in ``allowed`` (or first-seen order), -1 for null."""
    if len(positions) == 0:
        return np.empty(0, dtype=np.int64)
    array = _arrow(series)
    picked = pc.take(array, pa.array(positions))
    if isinstance(picked, pa.ChunkedArray):
        picked = picked.combine_chunks()
    if allowed is not None:
        found = pc.index_in(picked, value_set=pa.array(list(allowed), type=picked.type))
        return np.asarray(arrow_to_numpy(pc.fill_null(found, -1)), dtype=np.int64)
    encoded = pc.dictionary_encode(picked)
    return np.asarray(arrow_to_numpy(pc.fill_null(encoded.indices, -1)), dtype=np.int64)


def _days_ago(frame: _Frame, last_day: np.ndarray, missing: int) -> np.ndarray:
    """``A - last_day`` as float64, NaN where ``last_day == missing``."""
    out = (frame.day - last_day).astype(np.float64)
    out[last_day == missing] = np.nan
    return out


# --- orders -------------------------------------------------------------------------------------
def _order_features(frame: _Frame, orders: pd.DataFrame) -> dict[str, np.ndarray]:
    n, a = frame.accounts, frame.day
    codes = frame.codes["orders"]
    days = day_numbers(orders["order_date"], where="orders.order_date")
    seen = np.flatnonzero((days < a) & (codes >= 0))
    seen_codes, seen_days = codes[seen], days[seen]
    last = group_max(seen_codes, seen_days, n, fill=-1)

    recent = seen_days >= a - _D36M
    rows = seen[recent]
    c36, d36 = seen_codes[recent], seen_days[recent]
    amount = np.nan_to_num(_numbers(orders["amount"].iloc[rows]), nan=0.0) if len(rows) else np.empty(0)
    margin = np.nan_to_num(_numbers(orders["margin"].iloc[rows]), nan=0.0) if len(rows) else np.empty(0)
    units = np.nan_to_num(_numbers(orders["units"].iloc[rows]), nan=0.0) if len(rows) else np.empty(0)

    in_12m = d36 >= a - _D12M
    in_prev_12m = (d36 >= a - _D24M) & ~in_12m
    in_90d = d36 >= a - _D90
    in_prev_90d = (d36 >= a - 2 * _D90) & ~in_90d
    c12 = c36[in_12m]
    revenue_12m = total(c12, amount[in_12m], n)
    margin_12m = total(c12, margin[in_12m], n)
    revenue_prev_12m = total(c36[in_prev_12m], amount[in_prev_12m], n)
    margin_prev_12m = total(c36[in_prev_12m], margin[in_prev_12m], n)
    revenue_90d = total(c36[in_90d], amount[in_90d], n)
    revenue_prev_90d = total(c36[in_prev_90d], amount[in_prev_90d], n)
    frequency_36m = count(c36, n)
    _, mean_gap, cv = interval_stats(c36, d36, n)
    recency = _days_ago(frame, last, missing=-1)

    lines = _category_codes(orders["product_line"], rows[in_12m], None)
    known = lines >= 0
    width = int(lines.max()) + 1 if known.any() else 1
    bought = np.bincount(c12[known] * width + lines[known], minlength=n * width).reshape(n, width)
    return {
        "revenue_12m": revenue_12m,
        "margin_12m": margin_12m,
        "units_12m": total(c12, units[in_12m], n),
        "revenue_prev_12m": revenue_prev_12m,
        "margin_prev_12m": margin_prev_12m,
        "revenue_change_12m": relative_change(revenue_12m, revenue_prev_12m),
        "margin_change_12m": relative_change(margin_12m, margin_prev_12m),
        "revenue_90d": revenue_90d,
        "revenue_prev_90d": revenue_prev_90d,
        "revenue_change_90d": relative_change(revenue_90d, revenue_prev_90d),
        "orders_12m": count(c12, n),
        "recency_days": recency,
        "frequency_36m": frequency_36m,
        "monetary_36m": ratio(total(c36, amount, n), frequency_36m),
        "product_breadth_12m": np.count_nonzero(bought, axis=1).astype(np.int64),
        "mean_order_interval_days": mean_gap,
        "order_interval_cv": cv,
        "days_overdue": np.maximum(recency - mean_gap, 0.0),
    }


# --- tickets ------------------------------------------------------------------------------------
def _median(hours: np.ndarray) -> float:
    """Median of the resolution hours (NaN for none): the denominator of resolution_hours_ratio."""
    return float(np.median(hours)) if len(hours) else np.nan


def resolution_hours_median(tables: dict[str, pd.DataFrame], as_of: Any) -> float:
    """Median resolution hours over every account's tickets closed in ``[A - 365, A)``.

    The cross-account statistic behind ``resolution_hours_ratio`` (the same tickets
    :func:`build_account_features` reads: linked to a customer, closed in the window, with hours).
    """
    a = as_of_day(as_of, tables)
    customers = table(tables, "customers", ("account_id",))
    tickets = table(tables, "tickets", ("account_id", "closed_date", "resolution_hours"))
    codes = encode_keys(tickets["account_id"], key_array(customers["account_id"]))
    closed = day_numbers(tickets["closed_date"], where="tickets.closed_date")
    closed_12m = np.flatnonzero((codes >= 0) & (closed < a) & (closed >= a - _D12M))
    hours = _numbers(tickets["resolution_hours"].iloc[closed_12m])
    return _median(hours[~np.isnan(hours)])


def _ticket_features(
    frame: _Frame, tickets: pd.DataFrame, global_median: float | None = None
) -> dict[str, np.ndarray]:
    n, a = frame.accounts, frame.day
    codes = frame.codes["tickets"]
    opened = day_numbers(tickets["opened_date"], where="tickets.opened_date")
    closed = day_numbers(tickets["closed_date"], where="tickets.closed_date")
    known = codes >= 0
    seen = known & (opened < a)
    open_at = seen & (closed >= a)
    complaint = _equals(tickets["kind"], "complaint")
    # resolution time and satisfaction are only known once a ticket is closed: read them for
    # tickets closed before A, never for tickets that close later
    closed_12m = np.flatnonzero(known & (closed < a) & (closed >= a - _D12M))
    hours = _numbers(tickets["resolution_hours"].iloc[closed_12m])
    rated = _numbers(tickets["satisfaction"].iloc[closed_12m])
    timed = ~np.isnan(hours)
    timed_codes = codes[closed_12m][timed]
    account_median = group_median(timed_codes, hours[timed], n)
    if global_median is None:
        global_median = _median(hours[timed])
    scored = ~np.isnan(rated)
    return {
        "tickets_12m": count(codes[seen & (opened >= a - _D12M)], n),
        "tickets_open": count(codes[open_at], n),
        "complaints_90d": count(codes[seen & complaint & (opened >= a - _D90)], n),
        "unresolved_complaints": count(codes[open_at & complaint], n),
        "resolution_hours_ratio": ratio(account_median, np.full(n, global_median)),
        "satisfaction_avg_12m": group_mean(codes[closed_12m][scored], rated[scored], n),
    }


# --- contacts -----------------------------------------------------------------------------------
def _contact_features(frame: _Frame, contacts: pd.DataFrame) -> dict[str, np.ndarray]:
    n, a = frame.accounts, frame.day
    codes = frame.codes["contacts"]
    start = day_numbers(contacts["active_from"], where="contacts.active_from")
    end = day_numbers(contacts["active_to"], where="contacts.active_to")
    known = (codes >= 0) & (start < a)
    active = known & (end >= a)
    levels = _category_codes(contacts["level"], np.arange(len(contacts)), CONTACT_LEVELS)
    width = len(CONTACT_LEVELS)
    levelled = active & (levels >= 0)
    covered = np.bincount(codes[levelled] * width + levels[levelled], minlength=n * width).reshape(n, width)
    coverage = np.count_nonzero(covered, axis=1).astype(np.int64)
    key_levels = np.isin(levels, [CONTACT_LEVELS.index("management"), CONTACT_LEVELS.index("decision")])
    left = known & key_levels & (end < a)
    last_left = group_max(codes[left], end[left], n, fill=-1)
    return {
        "contacts_active": count(codes[active], n),
        "coverage_levels": coverage,
        "single_level_coverage": coverage == 1,
        "days_since_key_contact_left": _days_ago(frame, last_left, missing=-1),
    }


# --- ownership ----------------------------------------------------------------------------------
def _ownership_features(frame: _Frame, ownership: pd.DataFrame) -> dict[str, np.ndarray]:
    n, a = frame.accounts, frame.day
    codes = frame.codes["ownership"]
    start = day_numbers(ownership["start_date"], where="ownership.start_date")
    end = day_numbers(ownership["end_date"], where="ownership.end_date")
    seen = (codes >= 0) & (start < a)
    seen_codes, seen_start = codes[seen], start[seen]
    first = group_min(seen_codes, seen_start, n, fill=int(NULL_DAY))
    latest = group_max(seen_codes, seen_start, n, fill=-1)
    started_24m = count(seen_codes[seen_start >= a - _D24M], n)
    # the account's first ownership period is its initial assignment, not a change
    first_in_window = (first >= a - _D24M) & (first < a)
    current = seen & (end >= a)
    return {
        "rep_changes_24m": started_24m - first_in_window.astype(np.int64),
        "owner_rep_active": count(codes[current], n) > 0,
        "days_since_rep_change": _days_ago(frame, latest, missing=-1),
    }


def _owner_active_from_snapshot(customers: pd.DataFrame, reps: pd.DataFrame | None) -> np.ndarray:
    """reps.active of the owning rep (used only when no ownership table is given: a snapshot)."""
    if reps is None or len(reps) == 0:
        return np.zeros(len(customers), dtype=bool)
    positions = encode_keys(customers["owner_rep_id"], key_array(reps["rep_id"]))
    active = reps["active"].fillna(False).to_numpy(dtype=bool)
    out = np.zeros(len(customers), dtype=bool)
    linked = positions >= 0
    out[linked] = active[positions[linked]]
    return out


# --- visits -------------------------------------------------------------------------------------
def _visit_features(frame: _Frame, visits: pd.DataFrame) -> dict[str, np.ndarray]:
    n, a = frame.accounts, frame.day
    codes = frame.codes["visits"]
    days = day_numbers(visits["visit_date"], where="visits.visit_date")
    seen = (codes >= 0) & (days < a)
    last = group_max(codes[seen], days[seen], n, fill=-1)
    return {
        "days_since_last_visit": _days_ago(frame, last, missing=-1),
        "visits_90d": count(codes[seen & (days >= a - _D90)], n),
    }


# --- opportunities ------------------------------------------------------------------------------
def _opportunity_features(frame: _Frame, opportunities: pd.DataFrame) -> dict[str, np.ndarray]:
    n, a = frame.accounts, frame.day
    codes = frame.codes["opportunities"]
    created = day_numbers(opportunities["created_date"], where="opportunities.created_date")
    closed = day_numbers(opportunities["closed_date"], where="opportunities.closed_date")
    known = codes >= 0
    open_at = known & (created < a) & (closed >= a)
    # an outcome is read only for deals closed before A; a later close never leaks in
    closed_12m = known & (closed < a) & (closed >= a - _D12M)
    won = closed_12m & _equals(opportunities["outcome"], "won")
    lost = closed_12m & _equals(opportunities["outcome"], "lost")
    return {
        "open_opportunities": count(codes[open_at], n),
        "won_deals_12m": count(codes[won], n),
        "lost_deals_12m": count(codes[lost], n),
        "competitor_in_lost_deals_12m": count(codes[lost & _named(opportunities["competitor"])], n),
    }


# --- territory ----------------------------------------------------------------------------------
def _territory_features(
    customers: pd.DataFrame, revenue_12m: np.ndarray, eligible: np.ndarray
) -> tuple[pd.Series, dict[str, np.ndarray]]:
    n = len(customers)
    region = _arrow(customers["region"])
    industry = _arrow(customers["industry"])
    if n == 0:
        territory = pd.Series([], dtype="str")
    else:
        joined = pc.binary_join_element_wise(
            pc.cast(region, pa.large_string()),
            pc.cast(industry, pa.large_string()),
            pa.scalar("/", pa.large_string()),
        )
        territory = pd.Series(pd.array(joined, dtype="str"))
    codes, _ = pd.factorize(territory, use_na_sentinel=True)
    codes = np.asarray(codes, dtype=np.int64)
    ranked = eligible & (codes >= 0)
    # ties in revenue are broken by account_id (ascending) so the rank is deterministic
    id_order, _ = pd.factorize(customers["account_id"], sort=True)
    rows = np.flatnonzero(ranked)
    order = rows[np.lexsort((np.asarray(id_order)[rows], -revenue_12m[rows], codes[rows]))]
    sorted_codes = codes[order]
    groups = int(codes.max()) + 1 if n else 0
    members = np.bincount(sorted_codes, minlength=groups)
    starts = np.concatenate(([0], np.cumsum(members)[:-1])).astype(np.int64)
    rank = np.full(n, np.nan)
    rank[order] = np.arange(len(order)) - starts[sorted_codes] + 1
    totals = np.bincount(codes[rows], weights=revenue_12m[rows], minlength=groups)
    accounts = np.zeros(n, dtype=np.int64)
    has_territory = codes >= 0
    accounts[has_territory] = members[codes[has_territory]]
    share = np.full(n, np.nan)
    share[rows] = ratio(revenue_12m[rows], totals[codes[rows]])
    return territory, {
        "revenue_rank_in_territory": rank,
        "territory_accounts": accounts,
        "revenue_share_in_territory": share,
    }


#: The columns of each child table the account features read: the one list, which the pipeline
#: also uses to keep only these columns of the large tables (engine.pipeline._score.FEATURE_COLUMNS).
ACCOUNT_INPUT_COLUMNS: dict[str, tuple[str, ...]] = {
    "orders": ("account_id", "order_date", "product_line", "units", "amount", "margin"),
    "tickets": ("account_id", "opened_date", "closed_date", "kind", "resolution_hours", "satisfaction"),
    "contacts": ("account_id", "level", "active_from", "active_to"),
    "visits": ("account_id", "visit_date"),
    "opportunities": ("account_id", "created_date", "closed_date", "outcome", "competitor"),
    "ownership": ("account_id", "rep_id", "start_date", "end_date"),
}


def build_account_features(
    tables: dict[str, pd.DataFrame], as_of: Any, *, reference: FeatureReference | None = None
) -> pd.DataFrame:
    """Return one row of features per account, from rows dated before ``as_of`` only.

    Parameters
    ----------
    tables : dict of str to pandas.DataFrame
        The customer-database tables keyed by name (``customers`` is required; ``reps``,
        ``ownership``, ``orders``, ``tickets``, ``contacts``, ``visits`` and ``opportunities``
        are optional: a missing table counts as empty). Date columns may be datetime64 or
        ISO strings.
    as_of : date-like
        The as-of date: features see rows dated strictly before it.
    reference : FeatureReference, optional
        The statistics over all accounts, from :func:`feature_reference` on the whole
        database at the same ``as_of``: pass it when ``tables`` hold only some of the accounts
        (a partition of whole territories) so every row equals the one-pass result. Default:
        computed from ``tables``.

    Returns
    -------
    pandas.DataFrame
        One row per row of ``customers`` (same order, RangeIndex), the columns of
        :data:`ACCOUNT_FEATURE_COLUMNS` in that order. Undefined values are NaN in float64
        columns; counts are int64 and 0 when nothing was counted.

    Raises
    ------
    DataError
        When ``customers`` is missing or a table lacks a column, or ``reference`` was taken
        at another as-of date.

    Examples
    --------
    >>> customers = pd.DataFrame({
    ...     "account_id": ["A1"], "name": ["Bank"], "region": ["shanghai"], "industry": ["finance"],
    ...     "admin_level": [None], "employees": [500], "it_spend_potential": [1000.0],
    ...     "owner_rep_id": ["R1"], "owner_partner_id": ["P1"], "strategic": [False],
    ...     "created_date": ["2020-01-01"], "status": ["active"]})
    >>> orders = pd.DataFrame({
    ...     "account_id": ["A1", "A1"], "order_date": ["2024-01-10", "2024-07-01"],
    ...     "product_line": ["server", "server"], "units": [1, 2], "amount": [100.0, 200.0],
    ...     "margin": [10.0, 20.0]})
    >>> f = build_account_features({"customers": customers, "orders": orders}, "2024-07-01")
    >>> row = f.iloc[0]
    >>> print(row["territory"], row["revenue_12m"], row["share_of_wallet"], row["recency_days"])
    shanghai/finance 100.0 0.1 173.0
    """
    if not isinstance(tables, Mapping):
        raise ArgumentError(f"expected tables as a mapping of table name to DataFrame; got {type(tables).__name__}. "
                            "Fix: pass e.g. {'customers': customers, 'orders': orders, ...}")
    if "customers" not in tables:
        raise DataError("expected a 'customers' table in tables; got none; pass tables={'customers': ..., ...}")
    customers = table(tables, "customers", _CUSTOMER_COLUMNS)
    n = len(customers)
    a = as_of_day(as_of, tables)
    if reference is not None:
        reference.check_day(a)
    inputs = {name: table(tables, name, columns) for name, columns in ACCOUNT_INPUT_COLUMNS.items()
              if name != "ownership" or "ownership" in tables}
    # every table's account_id mapped to customer row positions in one parallel hash lookup
    codes = encode_many({name: frame["account_id"] for name, frame in inputs.items()}, key_array(customers["account_id"]))
    frame = _Frame(day=a, accounts=n, codes=codes)

    out: dict[str, Any] = {}
    for column in ("account_id", "name", "region", "industry", "admin_level"):
        out[column] = customers[column].reset_index(drop=True)
    out["strategic"] = customers["strategic"].fillna(False).astype(bool).to_numpy()
    out["status"] = customers["status"].reset_index(drop=True)
    out["employees"] = _numbers(customers["employees"])
    out["it_spend_potential"] = _numbers(customers["it_spend_potential"])
    out["owner_rep_id"] = customers["owner_rep_id"].reset_index(drop=True)
    out["owner_partner_id"] = customers["owner_partner_id"].reset_index(drop=True)
    created = day_numbers(customers["created_date"], where="customers.created_date")
    out["created_before_as_of"] = created < a
    out["account_age_days"] = _days_ago(frame, created, missing=int(NULL_DAY))

    out.update(_order_features(frame, inputs["orders"]))
    out["share_of_wallet"] = ratio(out["revenue_12m"], out["it_spend_potential"])
    global_median = None if reference is None else reference.resolution_hours_median
    out.update(_ticket_features(frame, inputs["tickets"], global_median))
    out.update(_contact_features(frame, inputs["contacts"]))
    if "ownership" in inputs:
        out.update(_ownership_features(frame, inputs["ownership"]))
    else:
        # no ownership history at all: fall back to the reps.active snapshot (documented caveat)
        out["rep_changes_24m"] = np.zeros(n, dtype=np.int64)
        out["owner_rep_active"] = _owner_active_from_snapshot(customers, tables.get("reps"))
        out["days_since_rep_change"] = np.full(n, np.nan)
    out.update(_visit_features(frame, inputs["visits"]))
    out.update(_opportunity_features(frame, inputs["opportunities"]))
    territory, ranks = _territory_features(customers, out["revenue_12m"], out["created_before_as_of"])
    out["territory"] = territory
    out.update(ranks)

    return typed_frame(out, ACCOUNT_FEATURE_COLUMNS)

"""Features of the opportunities open at an as-of date (the win model's and the router's input)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from engine._normalise import as_of_day, day_numbers, encode_keys, key_array, table, typed_frame
from engine.features._accounts import _arrow, _equals, _named, _numbers, build_account_features
from engine.features._aggregate import ratio

if TYPE_CHECKING:
    from engine.features._reference import FeatureReference

__all__ = ["build_opportunity_features", "territory_deal_counts", "OPPORTUNITY_FEATURE_COLUMNS", "LINKED_ACCOUNT_FEATURES", "linked_name"]

#: Account features copied onto each opportunity with the prefix ``account_`` (NaN for prospects;
#: ``account_age_days`` keeps its name).
LINKED_ACCOUNT_FEATURES: tuple[str, ...] = (
    "employees",
    "it_spend_potential",
    "strategic",
    "account_age_days",
    "revenue_12m",
    "margin_12m",
    "revenue_change_12m",
    "orders_12m",
    "recency_days",
    "share_of_wallet",
    "product_breadth_12m",
    "tickets_open",
    "complaints_90d",
    "unresolved_complaints",
    "satisfaction_avg_12m",
    "coverage_levels",
    "days_since_key_contact_left",
    "rep_changes_24m",
    "days_since_last_visit",
    "visits_90d",
    "won_deals_12m",
    "lost_deals_12m",
    "competitor_in_lost_deals_12m",
    "revenue_rank_in_territory",
)

def linked_name(feature: str) -> str:
    """Column name of an account feature on an opportunity: ``account_`` + name (not doubled)."""
    return feature if feature.startswith("account_") else f"account_{feature}"


#: Output columns of :func:`build_opportunity_features` and their dtypes.
OPPORTUNITY_FEATURE_COLUMNS: dict[str, str] = {
    "opportunity_id": "str",
    "account_id": "str",
    "is_prospect": "bool",
    "region": "str",
    "industry": "str",
    "territory": "str",
    "source": "str",
    "product_line": "str",
    "est_units": "float64",
    "est_amount": "float64",
    "stage": "str",
    "age_days": "int64",
    "competitor": "bool",
    "territory_win_rate_12m": "float64",
    "territory_closed_deals_12m": "int64",
    **{linked_name(name): "float64" for name in LINKED_ACCOUNT_FEATURES},
}

_OPPORTUNITY_COLUMNS = (
    "opportunity_id",
    "account_id",
    "region",
    "industry",
    "created_date",
    "source",
    "product_line",
    "est_units",
    "est_amount",
    "stage",
    "closed_date",
    "outcome",
    "competitor",
)


def _strings(values: pa.Array | pa.ChunkedArray) -> pd.Series:
    return pd.Series(pd.array(values, dtype="str"))


def _territories(opportunities: pd.DataFrame, customers: pd.DataFrame) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Region, industry and territory of each opportunity: the account's when linked, else its own."""
    if len(opportunities) == 0:
        empty = pd.Series([], dtype="str")
        return empty, empty, empty
    positions = encode_keys(opportunities["account_id"], key_array(customers["account_id"]))
    linked = pa.array(positions >= 0)
    take = pa.array(np.where(positions >= 0, positions, 0))

    def pick(column: str) -> pa.Array:
        own = pc.cast(_arrow(opportunities[column]), pa.large_string())
        if len(customers) == 0:
            return own
        from_account = pc.cast(pc.take(_arrow(customers[column]), take), pa.large_string())
        return pc.if_else(linked, from_account, own)

    region, industry = pick("region"), pick("industry")
    territory = pc.binary_join_element_wise(region, industry, pa.scalar("/", pa.large_string()))
    return _strings(region), _strings(industry), _strings(territory)


def _territory_deals(
    opportunities: pd.DataFrame, territory: pd.Series, closed: np.ndarray, a: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Territory code of each opportunity (-1 for none), deals won / decided per code, the names.

    Deals count when closed in the 12 months before ``A`` (their outcome is known by then).
    """
    closed_12m = (closed < a) & (closed >= a - 365)
    won = closed_12m & _equals(opportunities["outcome"], "won")
    lost = closed_12m & _equals(opportunities["outcome"], "lost")
    territory_codes, names = pd.factorize(territory, use_na_sentinel=True)
    territory_codes = np.asarray(territory_codes, dtype=np.int64)
    groups = len(names)
    has = territory_codes >= 0
    won_by = np.bincount(territory_codes[won & has], minlength=groups)
    decided_by = np.bincount(territory_codes[(won | lost) & has], minlength=groups)
    return territory_codes, won_by, decided_by, np.asarray(names, dtype=object)


def territory_deal_counts(tables: dict[str, pd.DataFrame], as_of: Any) -> dict[str, tuple[int, int]]:
    """Deals won and decided (won + lost) per territory, closed in the 12 months before ``as_of``.

    The cross-account statistic behind ``territory_win_rate_12m`` and
    ``territory_closed_deals_12m``; territories with no such deal are left out.
    """
    a = as_of_day(as_of, tables)
    customers = table(tables, "customers", ("account_id", "region", "industry"))
    opportunities = table(tables, "opportunities", _OPPORTUNITY_COLUMNS)
    closed = day_numbers(opportunities["closed_date"], where="opportunities.closed_date")
    _, _, territory = _territories(opportunities, customers)
    _, won_by, decided_by, names = _territory_deals(opportunities, territory, closed, a)
    counts = {str(name): (int(won), int(decided)) for name, won, decided in zip(names, won_by, decided_by)}
    return {name: counts[name] for name in sorted(counts) if counts[name][1] > 0}


def build_opportunity_features(
    tables: dict[str, pd.DataFrame],
    as_of: Any,
    accounts: pd.DataFrame | None = None,
    *,
    reference: FeatureReference | None = None,
) -> pd.DataFrame:
    """Return one row per opportunity open at ``as_of``, with its linked account's features.

    An opportunity is open at ``as_of`` when it was created before ``as_of`` and has no
    ``closed_date`` before ``as_of``. Region and industry come from the linked account when
    there is one (the account is the truth), else from the opportunity (a prospect).

    Parameters
    ----------
    tables : dict of str to pandas.DataFrame
        The customer-database tables (``customers`` and ``opportunities`` at least).
    as_of : date-like
        The as-of date.
    accounts : pandas.DataFrame, optional
        ``build_account_features(tables, as_of)`` when already computed (saves the work).
    reference : FeatureReference, optional
        The statistics over all accounts, from :func:`feature_reference` on the whole
        database at the same ``as_of``: pass it when ``tables`` hold only some accounts and
        their opportunities (a partition), so every row equals the one-pass result.
        Default: computed from ``tables``.

    Returns
    -------
    pandas.DataFrame
        Columns of :data:`OPPORTUNITY_FEATURE_COLUMNS`, RangeIndex, in the order of the
        opportunities table. ``stage``, ``competitor``, ``est_units`` and ``est_amount`` are
        the values stored on the opportunity now (the data has no history of them): exact
        for scoring today, a snapshot when ``as_of`` is in the past (see docs/features.md).
    """
    a = as_of_day(as_of, tables)
    if reference is not None:
        reference.check_day(a)
    if accounts is None:
        accounts = build_account_features(tables, as_of, reference=reference)
    customers = table(tables, "customers", ("account_id", "region", "industry"))
    all_opportunities = table(tables, "opportunities", _OPPORTUNITY_COLUMNS)
    created = day_numbers(all_opportunities["created_date"], where="opportunities.created_date")
    closed = day_numbers(all_opportunities["closed_date"], where="opportunities.closed_date")
    region, industry, territory = _territories(all_opportunities, customers)

    if reference is None:
        territory_codes, won_by, decided_by, _ = _territory_deals(all_opportunities, territory, closed, a)
    else:
        # the territories' deal counts over the whole database (a partition may not hold them)
        names = pd.Index(list(reference.territory_deals), dtype="str")
        territory_codes = np.asarray(names.get_indexer(territory), dtype=np.int64) if len(names) else np.full(
            len(territory), -1, dtype=np.int64
        )
        counts = np.array(list(reference.territory_deals.values()), dtype=np.int64).reshape(-1, 2)
        won_by, decided_by = counts[:, 0], counts[:, 1]

    open_rows = np.flatnonzero((created < a) & (closed >= a))
    opportunities = all_opportunities.iloc[open_rows].reset_index(drop=True)
    codes = territory_codes[open_rows]
    win_rate = np.full(len(open_rows), np.nan)
    decided = np.zeros(len(open_rows), dtype=np.int64)
    known = codes >= 0
    win_rate[known] = ratio(won_by[codes[known]], decided_by[codes[known]])
    decided[known] = decided_by[codes[known]]

    out: dict[str, Any] = {
        "opportunity_id": opportunities["opportunity_id"],
        "account_id": opportunities["account_id"],
        "is_prospect": opportunities["account_id"].isna().to_numpy(),
        "region": region.iloc[open_rows].reset_index(drop=True),
        "industry": industry.iloc[open_rows].reset_index(drop=True),
        "territory": territory.iloc[open_rows].reset_index(drop=True),
        "source": opportunities["source"],
        "product_line": opportunities["product_line"],
        "est_units": _numbers(opportunities["est_units"]),
        "est_amount": _numbers(opportunities["est_amount"]),
        "stage": opportunities["stage"],
        "age_days": a - created[open_rows],
        "competitor": _named(opportunities["competitor"]),
        "territory_win_rate_12m": win_rate,
        "territory_closed_deals_12m": decided,
    }
    positions = encode_keys(opportunities["account_id"], key_array(accounts["account_id"]))
    linked = positions >= 0
    for name in LINKED_ACCOUNT_FEATURES:
        values = np.full(len(opportunities), np.nan)
        source = accounts[name].to_numpy(dtype=np.float64, na_value=np.nan)
        values[linked] = source[positions[linked]]
        out[linked_name(name)] = values

    return typed_frame(out, OPPORTUNITY_FEATURE_COLUMNS)

"""Training frames: the scoring builders run at many as-of dates, with labels from the future window.

The same :func:`build_account_features` / :func:`build_opportunity_features` serve training
(here, at every as-of date) and scoring (once, at today), so a model never sees a feature
computed differently from the one it is scored on.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from engine._arguments import check_frame, check_mapping
from engine._errors import ColumnMismatchError, ConfigError, DataError
from engine._normalise import (
    NULL_DAY,
    as_of_day,
    day_numbers,
    day_to_timestamp,
    encode_keys,
    key_array,
    table,
)
from engine.features._accounts import _equals, build_account_features
from engine.features._opportunities import (
    LINKED_ACCOUNT_FEATURES,
    build_opportunity_features,
    linked_name,
)

__all__ = [
    "build_churn_training_frame",
    "build_win_training_frame",
    "CHURN_FEATURE_COLUMNS",
    "WIN_FEATURE_COLUMNS",
    "data_end_date",
    "churn_eligible",
    "CHURN_FEATURE_HISTORY",
    "history_limits",
]

#: Model inputs of the churn model (the ``X`` of :func:`build_churn_training_frame`).
#: Identifiers, free text and snapshot-only fields (``status``, owners) are left out: ``status``
#: is today's value and would leak a later closure into a past as-of date.
CHURN_FEATURE_COLUMNS: tuple[str, ...] = (
    "region",
    "industry",
    "admin_level",
    "strategic",
    "employees",
    "it_spend_potential",
    "account_age_days",
    "revenue_12m",
    "margin_12m",
    "units_12m",
    "revenue_prev_12m",
    "margin_prev_12m",
    "revenue_change_12m",
    "margin_change_12m",
    "revenue_90d",
    "revenue_prev_90d",
    "revenue_change_90d",
    "orders_12m",
    "recency_days",
    "frequency_36m",
    "monetary_36m",
    "share_of_wallet",
    "product_breadth_12m",
    "mean_order_interval_days",
    "order_interval_cv",
    "days_overdue",
    "tickets_12m",
    "tickets_open",
    "complaints_90d",
    "unresolved_complaints",
    "resolution_hours_ratio",
    "satisfaction_avg_12m",
    "contacts_active",
    "coverage_levels",
    "single_level_coverage",
    "days_since_key_contact_left",
    "rep_changes_24m",
    "owner_rep_active",
    "days_since_rep_change",
    "days_since_last_visit",
    "visits_90d",
    "open_opportunities",
    "won_deals_12m",
    "lost_deals_12m",
    "competitor_in_lost_deals_12m",
    "revenue_rank_in_territory",
    "territory_accounts",
    "revenue_share_in_territory",
)

#: Model inputs of the win model (the ``X`` of :func:`build_win_training_frame`). ``stage`` is
#: left out: the table stores only the current stage, which for a closed deal is ``closed``.
WIN_FEATURE_COLUMNS: tuple[str, ...] = (
    "is_prospect",
    "region",
    "industry",
    "source",
    "product_line",
    "est_units",
    "est_amount",
    "age_days",
    "competitor",
    "territory_win_rate_12m",
    "territory_closed_deals_12m",
    *(linked_name(name) for name in LINKED_ACCOUNT_FEATURES),
)

_DATED_COLUMNS: dict[str, tuple[str, ...]] = {
    "orders": ("order_date",),
    "tickets": ("opened_date", "closed_date"),
    "contacts": ("active_from", "active_to"),
    "ownership": ("start_date", "end_date"),
    "visits": ("visit_date",),
    "opportunities": ("created_date", "closed_date"),
}


def data_end_date(tables: dict[str, pd.DataFrame]) -> pd.Timestamp | None:
    """Return the latest date in any dated table (the day the data was extracted), or None."""
    check_mapping("data_end_date", "tables", tables, "pass the dict of table name -> DataFrame that was loaded")
    latest = -1
    for name, columns in _DATED_COLUMNS.items():
        frame = tables.get(name)
        if frame is None:
            continue
        check_frame("data_end_date", f"tables[{name!r}]", frame)
        if len(frame) == 0:
            continue
        for column in columns:
            if column in frame.columns:
                days = day_numbers(frame[column], where=f"{name}.{column}")
                days = days[days != NULL_DAY]
                if len(days):
                    latest = max(latest, int(days.max()))
    return None if latest < 0 else day_to_timestamp(latest)


#: The history each churn feature reads: ``(table, date column, window in days)``. A window
#: feature counts or averages the events of the last ``window`` days; ``None`` marks a
#: "days since" feature, which can only show ages up to the length of the recorded history.
#: The other churn features read the as-of date's snapshot, the last 12 months or less.
CHURN_FEATURE_HISTORY: dict[str, tuple[str, str, int | None]] = {
    "frequency_36m": ("orders", "order_date", 1095),
    "monetary_36m": ("orders", "order_date", 1095),
    "mean_order_interval_days": ("orders", "order_date", 1095),
    "order_interval_cv": ("orders", "order_date", 1095),
    "days_overdue": ("orders", "order_date", 1095),
    "revenue_prev_12m": ("orders", "order_date", 730),
    "margin_prev_12m": ("orders", "order_date", 730),
    "revenue_change_12m": ("orders", "order_date", 730),
    "margin_change_12m": ("orders", "order_date", 730),
    "rep_changes_24m": ("ownership", "start_date", 730),
    "recency_days": ("orders", "order_date", None),
    "days_since_last_visit": ("visits", "visit_date", None),
    "days_since_key_contact_left": ("contacts", "active_to", None),
    "days_since_rep_change": ("ownership", "start_date", None),
}


def history_limits(tables: dict[str, pd.DataFrame], columns: Iterable[str], first_as_of: Any,
                   last_as_of: Any) -> tuple[dict[str, float], dict[str, str]]:
    """What a short recorded history does to the churn features trained on ``first..last_as_of``.

    A feature that reads further back than the data goes means something else at an early
    training date than at scoring, when more history exists: on the demo (36 months of data)
    ``frequency_36m`` averages 3.0 at the first as-of date and 9.8 two years later for the same
    kind of account, and ``days_since_last_visit`` cannot exceed the months recorded so far.
    A model trained on the early dates then misreads the late ones (out-of-time ECE 0.042
    on the demo replayed six months earlier, see docs/models.md "Short histories").

    Returns
    -------
    censor_above : dict
        "Days since" feature -> the history before ``first_as_of`` in days: every training row
        could show any age up to it, so an older age is treated as missing at fit and at
        scoring alike (:class:`~engine.models.AutoClassifier` ``censor_above``).
    dropped : dict
        Window feature -> why it is left out: its window is longer than the history even at
        ``last_as_of``, so no training row sees it whole.
    """
    first, last = as_of_day(first_as_of), as_of_day(last_as_of)
    censor: dict[str, float] = {}
    dropped: dict[str, str] = {}
    starts: dict[tuple[str, str], int | None] = {}
    for name in columns:
        if name not in CHURN_FEATURE_HISTORY:
            continue
        table_name, column, window = CHURN_FEATURE_HISTORY[name]
        if (table_name, column) not in starts:
            frame = tables.get(table_name)
            days = np.empty(0, dtype=np.int64)
            if frame is not None and column in frame.columns and len(frame):
                days = day_numbers(frame[column], where=f"{table_name}.{column}")
                days = days[days != NULL_DAY]
            starts[(table_name, column)] = int(days.min()) if len(days) else None
        start = starts[(table_name, column)]
        if start is None:
            continue
        if window is None:
            if first - start > 0:
                censor[name] = float(first - start)
        elif last - start < window:
            dropped[name] = (f"its {window}-day window reaches before the first {table_name}.{column} "
                             f"({day_to_timestamp(start).date()}) at every training date (history "
                             f"{last - start} days at the latest, {day_to_timestamp(last).date()})")
    return censor, dropped


def churn_eligible(accounts: pd.DataFrame) -> np.ndarray:
    """Mask of the accounts a churn label is defined for at the features' as-of date.

    Created before the as-of date, with at least one order in the 12 months before it: a
    customer who had already stopped buying cannot churn again. The training frame holds
    these rows only; the drift check compares scoring rows of the same kind.
    """
    check_frame("churn_eligible", "accounts", accounts, "pass the account features (engine.features.build_account_features)")
    if "orders_12m" not in accounts.columns:
        raise ColumnMismatchError(f"churn_eligible: expected the account feature 'orders_12m'; got columns "
                                  f"{list(accounts.columns)[:12]}. Fix: pass the frame of "
                                  "engine.features.build_account_features.")
    created = accounts["created_before_as_of"].to_numpy(dtype=bool, na_value=False) \
        if "created_before_as_of" in accounts.columns else np.ones(len(accounts), dtype=bool)
    return created & (accounts["orders_12m"].to_numpy(dtype=float, na_value=0.0) > 0)


def _as_of_days(as_of_dates: Iterable[Any]) -> list[int]:
    if isinstance(as_of_dates, (str, pd.Timestamp)) or not isinstance(as_of_dates, Iterable):
        as_of_dates = [as_of_dates]
    days = [as_of_day(value) for value in as_of_dates]
    if not days:
        raise ConfigError("expected at least one as-of date; got none; pass e.g. pd.date_range(..., freq='MS')")
    return days


def _check_horizon(horizon_days: Any) -> int:
    if isinstance(horizon_days, bool) or not isinstance(horizon_days, (int, np.integer)) or horizon_days < 1:
        raise ConfigError(f"expected horizon_days as a whole number of days >= 1; got {horizon_days!r}; pass e.g. 180")
    return int(horizon_days)


def _frame(parts: list[pd.DataFrame], columns: tuple[str, ...] | list[str]) -> pd.DataFrame:
    if not parts:
        return pd.DataFrame(columns=list(columns))
    return pd.concat(parts, ignore_index=True)


def build_churn_training_frame(
    tables: dict[str, pd.DataFrame], as_of_dates: Iterable[Any], horizon_days: int = 180
) -> tuple[pd.DataFrame, pd.Series, pd.DataFrame]:
    """Return ``(X, y, meta)`` for the churn model over many as-of dates.

    For every as-of date ``A``: the eligible accounts are those created before ``A`` with at
    least one order in the 12 months before ``A`` (``orders_12m > 0``: a customer who had
    already stopped buying cannot churn again); ``X`` is their :data:`CHURN_FEATURE_COLUMNS`
    from :func:`build_account_features` at ``A``; ``y`` is 1 when the account has **no** order
    with ``A <= order_date < A + horizon_days``, else 0.

    Parameters
    ----------
    tables : dict of str to pandas.DataFrame
        The customer-database tables.
    as_of_dates : iterable of date-like
        The as-of dates (one block of rows each, in the given order).
    horizon_days : int, default 180
        Length of the label window.

    Returns
    -------
    X : pandas.DataFrame
        Features, RangeIndex.
    y : pandas.Series
        int64 0/1 named ``churned``, aligned with ``X``.
    meta : pandas.DataFrame
        ``account_id``, ``as_of`` and ``label_date`` (``as_of + horizon_days``: the day the
        label is known) per row, for time-based splits and grouping.

    Raises
    ------
    DataError
        When a label window runs past the end of the data (the latest date in any dated
        table): its labels would call every quiet account churned.
    """
    horizon = _check_horizon(horizon_days)
    days = _as_of_days(as_of_dates)
    end = data_end_date(tables)
    if end is not None:
        last_day = as_of_day(end)
        late = [day_to_timestamp(day).date().isoformat() for day in days if day + horizon - 1 > last_day]
        if late:
            latest = day_to_timestamp(last_day - horizon + 1).date().isoformat()
            raise DataError(
                f"expected every label window [as_of, as_of + {horizon} days) to end within the data "
                f"(last date {end.date().isoformat()}); got as-of dates {late}; use as-of dates on or before {latest}"
            )
    customers = table(tables, "customers", ("account_id",))
    orders = table(tables, "orders", ("account_id", "order_date"))
    order_codes = encode_keys(orders["account_id"], key_array(customers["account_id"]))
    order_days = day_numbers(orders["order_date"], where="orders.order_date")
    features, labels, metas = [], [], []
    for day in days:
        accounts = build_account_features(tables, day_to_timestamp(day))
        eligible = np.flatnonzero(churn_eligible(accounts))
        window = (order_codes >= 0) & (order_days >= day) & (order_days < day + horizon)
        bought = np.bincount(order_codes[window], minlength=len(accounts)) > 0
        features.append(accounts.iloc[eligible][list(CHURN_FEATURE_COLUMNS)])
        labels.append(pd.Series((~bought[eligible]).astype(np.int64)))
        metas.append(
            pd.DataFrame(
                {
                    "account_id": accounts["account_id"].iloc[eligible].reset_index(drop=True),
                    "as_of": pd.Series([day_to_timestamp(day)] * len(eligible), dtype="datetime64[ns]"),
                    "label_date": pd.Series([day_to_timestamp(day + horizon)] * len(eligible), dtype="datetime64[ns]"),
                }
            )
        )
    X = _frame(features, CHURN_FEATURE_COLUMNS)
    y = pd.concat(labels, ignore_index=True).rename("churned") if labels else pd.Series([], dtype="int64")
    meta = _frame(metas, ("account_id", "as_of", "label_date"))
    return X, y, meta


def build_win_training_frame(
    tables: dict[str, pd.DataFrame], as_of_dates: Iterable[Any]
) -> tuple[pd.DataFrame, pd.Series, pd.DataFrame]:
    """Return ``(X, y, meta)`` for the win model over many as-of dates.

    For every as-of date ``A``: each opportunity open at ``A`` (created before ``A``, not
    closed before ``A``) that was *later* closed gives one row: ``X`` is its
    :data:`WIN_FEATURE_COLUMNS` from :func:`build_opportunity_features` at ``A``; ``y`` is 1
    when it was won, 0 when lost. Opportunities still open at the end of the data have no
    label and are left out. One opportunity appears once per as-of date it was open at; split
    and group by ``meta`` (``opportunity_id``, ``as_of``) to keep it on one side of a split.

    Returns
    -------
    X : pandas.DataFrame
    y : pandas.Series
        int64 0/1 named ``won``.
    meta : pandas.DataFrame
        ``opportunity_id``, ``account_id``, ``as_of`` and ``label_date`` (the deal's
        ``closed_date``: the day its outcome was known) per row.
    """
    days = _as_of_days(as_of_dates)
    opportunities = table(tables, "opportunities", ("opportunity_id", "outcome"))
    won_ids = opportunities["opportunity_id"][_equals(opportunities["outcome"], "won")]
    lost_ids = opportunities["opportunity_id"][_equals(opportunities["outcome"], "lost")]
    closed_on = pd.Series(
        pd.to_datetime(opportunities["closed_date"]).to_numpy() if "closed_date" in opportunities.columns
        else np.full(len(opportunities), np.datetime64("NaT"), dtype="datetime64[ns]"),
        index=opportunities["opportunity_id"].to_numpy(),
    )
    closed_on = closed_on[~closed_on.index.duplicated()]
    features, labels, metas = [], [], []
    for day in days:
        at = day_to_timestamp(day)
        frame = build_opportunity_features(tables, at)
        ids = frame["opportunity_id"]
        won = ids.isin(won_ids).to_numpy()
        decided = np.flatnonzero(won | ids.isin(lost_ids).to_numpy())
        features.append(frame.iloc[decided][list(WIN_FEATURE_COLUMNS)])
        labels.append(pd.Series(won[decided].astype(np.int64)))
        metas.append(
            pd.DataFrame(
                {
                    "opportunity_id": ids.iloc[decided].reset_index(drop=True),
                    "account_id": frame["account_id"].iloc[decided].reset_index(drop=True),
                    "as_of": pd.Series([at] * len(decided), dtype="datetime64[ns]"),
                    "label_date": pd.Series(closed_on.reindex(ids.iloc[decided].to_numpy()).to_numpy(),
                                            dtype="datetime64[ns]"),
                }
            )
        )
    X = _frame(features, WIN_FEATURE_COLUMNS)
    y = pd.concat(labels, ignore_index=True).rename("won") if labels else pd.Series([], dtype="int64")
    meta = _frame(metas, ("opportunity_id", "account_id", "as_of", "label_date"))
    return X, y, meta

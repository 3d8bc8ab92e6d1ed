"""Features and churn labels from a plain transaction log (any customer, date and amount columns).

The as-of convention (shared with every builder in :mod:`engine.features`):

* **features** read rows dated strictly **before** the as-of date: ``date < as_of``;
* **labels** read rows in the half-open window ``as_of <= date < as_of + horizon_days``.

A purchase *on* the as-of date is therefore a label input and never a feature input; no row is
ever both. Read ``as_of`` as "the start of that day".
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from engine._errors import ConfigError, DataError
from engine._normalise import NULL_DAY, as_of_day, day_numbers
from engine.features._aggregate import (
    count,
    group_max,
    group_min,
    interval_stats,
    relative_change,
    total,
)

__all__ = ["from_transactions", "churn_labels", "TRANSACTION_FEATURES"]

#: Columns of :func:`from_transactions` (the ``amount_*`` / ``monetary*`` ones only with amounts).
TRANSACTION_FEATURES: tuple[str, ...] = (
    "recency_days",
    "frequency",
    "monetary",
    "monetary_total",
    "tenure_days",
    "transactions_12m",
    "transactions_90d",
    "amount_12m",
    "amount_prev_12m",
    "amount_change_12m",
    "amount_90d",
    "amount_prev_90d",
    "amount_change_90d",
    "mean_interval_days",
    "interval_cv",
    "days_overdue",
)


def _require(tx: pd.DataFrame, columns: list[str]) -> None:
    if not isinstance(tx, pd.DataFrame):
        raise DataError(f"expected a pandas DataFrame of transactions; got {type(tx).__name__}; pass a DataFrame")
    missing = [column for column in columns if column not in tx.columns]
    if missing:
        raise DataError(
            f"transaction log needs columns {columns}; missing {missing} (has {list(tx.columns)}); "
            "pass customer=, date= and amount= naming your columns"
        )


def _customer_codes(tx: pd.DataFrame, customer: str, keep: np.ndarray) -> tuple[np.ndarray, pd.Index]:
    ids = tx[customer].iloc[np.flatnonzero(keep)] if len(tx) else tx[customer]
    codes, uniques = pd.factorize(ids, sort=True, use_na_sentinel=True)
    index = pd.Index(uniques, name=customer)
    return np.asarray(codes, dtype=np.int64), index


def from_transactions(
    tx: pd.DataFrame,
    customer: str = "customer_id",
    date: str = "date",
    amount: str | None = "amount",
    as_of: Any = None,
) -> pd.DataFrame:
    """Return recency / frequency / monetary, trend and regularity features per customer.

    Only rows with ``date < as_of`` are read. One row per customer that has at least one such
    row, indexed by the customer identifier (index named ``customer``, sorted ascending).

    Parameters
    ----------
    tx : pandas.DataFrame
        One row per transaction.
    customer, date, amount : str
        Column names. ``date`` holds datetime64 values or ISO strings. ``amount=None`` when
        the log has no amounts: the monetary and ``amount_*`` columns are then left out. A null
        amount counts as 0.
    as_of : date-like, optional
        The as-of date. Default: the day after the latest transaction, so every row is read.

    Returns
    -------
    pandas.DataFrame
        Columns (see ``docs/features.md``): ``recency_days`` (days since the last purchase),
        ``frequency`` (purchases before as_of), ``monetary`` (mean amount per purchase),
        ``monetary_total``, ``tenure_days`` (days since the first purchase),
        ``transactions_12m``, ``transactions_90d``, ``amount_12m`` / ``amount_prev_12m`` /
        ``amount_change_12m`` (last 365 days vs the 365 before, relative change, NaN when the
        prior amount is 0), the same for 90 days, ``mean_interval_days`` and ``interval_cv``
        (gaps between distinct purchase days), ``days_overdue`` (days past the usual gap,
        0 when not yet due).

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "a", "b"],
    ...                    "date": ["2024-01-01", "2024-01-11", "2024-01-21", "2024-01-30"],
    ...                    "amount": [10.0, 20.0, 30.0, 5.0]})
    >>> f = from_transactions(tx, as_of="2024-02-10")
    >>> f.loc["a", ["recency_days", "frequency", "monetary", "mean_interval_days", "days_overdue"]].tolist()
    [20.0, 3.0, 20.0, 10.0, 10.0]
    """
    _require(tx, [customer, date] + ([amount] if amount is not None else []))
    days = day_numbers(tx[date], where=f"column {date!r}")
    if as_of is None:
        known = days[days != NULL_DAY]
        if len(known) == 0:
            raise DataError("expected at least one dated transaction to default as_of; got none; pass as_of=")
        as_of_number = int(known.max()) + 1
    else:
        as_of_number = as_of_day(as_of)
    keep = (days < as_of_number) & tx[customer].notna().to_numpy()
    codes, index = _customer_codes(tx, customer, keep)
    days = days[keep]
    n = len(index)
    values = None
    if amount is not None:
        raw = pd.to_numeric(tx[amount].iloc[np.flatnonzero(keep)], errors="raise")
        values = np.nan_to_num(raw.to_numpy(dtype=np.float64, na_value=np.nan), nan=0.0)

    a = as_of_number
    last = group_max(codes, days, n, fill=-1)
    first = group_min(codes, days, n, fill=int(NULL_DAY))
    frequency = count(codes, n)
    in_12m = days >= a - 365
    in_prev_12m = (days >= a - 730) & ~in_12m
    in_90d = days >= a - 90
    in_prev_90d = (days >= a - 180) & ~in_90d
    gaps, mean_gap, cv = interval_stats(codes, days, n)
    recency = a - last
    columns: dict[str, np.ndarray] = {
        "recency_days": recency,
        "frequency": frequency,
        "tenure_days": a - first,
        "transactions_12m": count(codes[in_12m], n),
        "transactions_90d": count(codes[in_90d], n),
        "mean_interval_days": mean_gap,
        "interval_cv": cv,
        "days_overdue": np.maximum(recency - mean_gap, 0.0),
    }
    if values is not None:
        amount_total = total(codes, values, n)
        amount_12m = total(codes[in_12m], values[in_12m], n)
        amount_prev_12m = total(codes[in_prev_12m], values[in_prev_12m], n)
        amount_90d = total(codes[in_90d], values[in_90d], n)
        amount_prev_90d = total(codes[in_prev_90d], values[in_prev_90d], n)
        columns.update(
            monetary=amount_total / np.maximum(frequency, 1),
            monetary_total=amount_total,
            amount_12m=amount_12m,
            amount_prev_12m=amount_prev_12m,
            amount_change_12m=relative_change(amount_12m, amount_prev_12m),
            amount_90d=amount_90d,
            amount_prev_90d=amount_prev_90d,
            amount_change_90d=relative_change(amount_90d, amount_prev_90d),
        )
    order = [name for name in TRANSACTION_FEATURES if name in columns]
    return pd.DataFrame({name: columns[name] for name in order}, index=index)


def churn_labels(
    tx: pd.DataFrame,
    customer: str = "customer_id",
    date: str = "date",
    as_of: Any = None,
    horizon_days: int | None = None,
) -> pd.Series:
    """Return 1 for customers who bought before ``as_of`` and not in the next ``horizon_days``.

    Eligible customers are those with at least one transaction dated before ``as_of`` (the
    rows :func:`from_transactions` reads for the same ``as_of``, so the two index sets are equal).
    The label window is ``as_of <= date < as_of + horizon_days``: a purchase on ``as_of``
    itself counts as "bought in the window". The caller makes sure the log covers the whole
    window (a window running past the end of the data labels everyone as churned).

    Parameters
    ----------
    tx : pandas.DataFrame
        One row per transaction.
    customer, date : str
        Column names.
    as_of : date-like
        The as-of date (required).
    horizon_days : int
        Length of the label window in days (required, >= 1).

    Returns
    -------
    pandas.Series
        int64 0/1 named ``churned``, indexed by customer identifier (sorted ascending).

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "b", "b", "c"],
    ...                    "date": ["2024-01-01", "2024-01-05", "2024-03-01", "2024-03-01"]})
    >>> churn_labels(tx, as_of="2024-02-01", horizon_days=60).to_dict()
    {'a': 1, 'b': 0}
    """
    _require(tx, [customer, date])
    if as_of is None:
        raise ConfigError("churn_labels needs as_of=; got None; pass the date the label window starts")
    if horizon_days is None or isinstance(horizon_days, bool) or int(horizon_days) != horizon_days or horizon_days < 1:
        raise ConfigError(f"expected horizon_days as a whole number of days >= 1; got {horizon_days!r}; pass e.g. 180")
    a = as_of_day(as_of)
    days = day_numbers(tx[date], where=f"column {date!r}")
    has_customer = tx[customer].notna().to_numpy()
    before = (days < a) & has_customer
    codes, index = _customer_codes(tx, customer, before)
    # the window rows, coded against the eligible customers (others fall out as -1)
    window = (days >= a) & (days < a + int(horizon_days)) & has_customer
    window_codes = index.get_indexer(tx[customer].iloc[np.flatnonzero(window)])
    bought = count(window_codes[window_codes >= 0], len(index)) > 0
    return pd.Series((~bought).astype(np.int64), index=index, name="churned")

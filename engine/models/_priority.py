"""Priority: money at stake per account or deal, and a rank within each owner's book.

* value at risk = churn probability x the account's expected 12-month margin;
* expected deal value = win probability x deal amount;
* priority rank: 1 = the highest value in the owner's book; equal values are ordered by the
  record key so ranks never depend on row order.
"""

from __future__ import annotations

import numpy.typing as npt
import pandas as pd

from engine._arguments import check_array, check_frame, check_type
from engine._errors import ColumnMismatchError, DataError

__all__ = ["value_at_risk", "expected_deal_value", "priority_rank"]


def _probability(values: npt.ArrayLike | pd.Series, name: str, where: str) -> pd.Series:
    series = (values.astype(float) if isinstance(values, pd.Series)
              else pd.Series(check_array(where, name, values, f"pass {name} as model.predict_proba(X)[:, 1]")))
    bad = series.notna() & ((series < 0) | (series > 1))
    if bad.any():
        raise DataError(
            f"{name} must be probabilities in [0, 1]; got {int(bad.sum())} values outside, e.g. "
            f"{series[bad].head(3).tolist()}. Pass model.predict_proba(X)[:, 1]."
        )
    return series


def _money(values: npt.ArrayLike | pd.Series, name: str, index: pd.Index, where: str) -> pd.Series:
    if isinstance(values, pd.Series):
        return values.astype(float)
    array = check_array(where, name, values, f"pass {name} as one amount per record (missing as NaN)")
    if array.ndim > 1 or (array.ndim == 1 and len(array) != len(index)):  # a scalar applies to all
        raise DataError(f"{where}: expected {name} as one amount per probability ({len(index)}); got shape "
                        f"{array.shape}. Fix: pass one amount per record.")
    return pd.Series(array, index=index)


def value_at_risk(churn_probability: npt.ArrayLike | pd.Series,
                  expected_margin_12m: npt.ArrayLike | pd.Series | float) -> pd.Series:
    """Churn probability x expected 12-month margin (missing stays missing).

    Parameters
    ----------
    churn_probability : array-like or pandas.Series of shape (n_records,)
        Probabilities in [0, 1], e.g. ``model.predict_proba(X)[:, 1]``; a Series keeps its index.
    expected_margin_12m : array-like or pandas.Series of shape (n_records,), or float
        One margin per record (missing as NaN), or one for all.

    Returns
    -------
    pandas.Series
        Named ``value_at_risk``, on the index of ``churn_probability``.

    Examples
    --------
    >>> value_at_risk([0.5, 0.1], [1000.0, 20000.0]).tolist()
    [500.0, 2000.0]
    """
    p = _probability(churn_probability, "churn_probability", "value_at_risk")
    margin = _money(expected_margin_12m, "expected_margin_12m", p.index, "value_at_risk")
    if len(margin) != len(p):
        raise DataError(f"Expected one margin per probability; got {len(margin)} and {len(p)}.")
    return (p * margin.to_numpy()).rename("value_at_risk")


def expected_deal_value(win_probability: npt.ArrayLike | pd.Series,
                        deal_amount: npt.ArrayLike | pd.Series | float) -> pd.Series:
    """Win probability x deal amount (missing stays missing).

    Parameters
    ----------
    win_probability : array-like or pandas.Series of shape (n_deals,)
        Probabilities in [0, 1], e.g. ``model.predict_proba(X)[:, 1]``; a Series keeps its index.
    deal_amount : array-like or pandas.Series of shape (n_deals,), or float
        One amount per deal (missing as NaN), or one for all.

    Returns
    -------
    pandas.Series
        Named ``expected_deal_value``, on the index of ``win_probability``.

    Examples
    --------
    >>> expected_deal_value([0.25], [400000.0]).tolist()
    [100000.0]
    """
    p = _probability(win_probability, "win_probability", "expected_deal_value")
    amount = _money(deal_amount, "deal_amount", p.index, "expected_deal_value")
    if len(amount) != len(p):
        raise DataError(f"Expected one amount per probability; got {len(amount)} and {len(p)}.")
    return (p * amount.to_numpy()).rename("expected_deal_value")


def priority_rank(frame: pd.DataFrame, value: str = "value_at_risk", owner: str = "owner_id",
                  key: str = "account_id") -> pd.Series:
    """Rank records within each owner's book: 1 = highest ``value``.

    Equal values are ordered by ``key`` ascending; missing values rank last. Records without
    an owner form their own book (owner missing).

    Examples
    --------
    >>> book = pd.DataFrame({"owner_id": ["r1", "r1", "r2", "r1"],
    ...                      "account_id": ["a3", "a1", "a2", "a4"],
    ...                      "value_at_risk": [100.0, 100.0, 5.0, 300.0]})
    >>> priority_rank(book).tolist()
    [3, 2, 1, 1]
    """
    check_frame("priority_rank", "frame", frame, "pass the records (one row each) with the value, owner and key columns")
    for name, column in (("value", value), ("owner", owner), ("key", key)):
        check_type("priority_rank", name, column, str, f"pass {name}= naming a column of frame", described="a column name")
    missing = [c for c in (value, owner, key) if c not in frame.columns]
    if missing:
        raise ColumnMismatchError(
            f"priority_rank: expected columns {[value, owner, key]}; missing {missing} (got "
            f"{list(frame.columns)}). Pass value=, owner=, key= naming your columns."
        )
    dupes = frame.duplicated([owner, key])
    if dupes.any():
        raise DataError(
            f"priority_rank: {key!r} must be unique within an owner's book to break ties; got "
            f"duplicates {frame.loc[dupes, key].head(3).tolist()}. Deduplicate the records."
        )
    order = frame.assign(_neg=-frame[value].astype(float), _owner=frame[owner].astype(object))
    order = order.sort_values(["_neg", key], na_position="last", kind="mergesort")
    ranks = order.groupby("_owner", dropna=False, sort=False).cumcount() + 1
    return ranks.reindex(frame.index).astype("int64").rename("priority_rank")

"""Nowcast of a "no event within the horizon" rate from label windows that are still open.

A churn label ("no order in the 180 days after the as-of date") is known 180 days late, so
the newest labelled as-of date is always half a year behind the data, and a base rate that
drifted since is invisible to a model calibrated on the labelled dates. The dates in between
are partly observed: at the cut-off, an account at as-of date ``A`` has been watched for
``c = cutoff - A`` days, and one that ordered in them is known *not* to be a churn label.

:func:`nowcast_no_event_rate` estimates the horizon rate at each such date as a product-limit
(Kaplan-Meier style) estimate: the share still without an event after the observed ``c``
days, times the chance of no event in the remaining days given none in the first ``c``,
borrowed from the fully labelled dates:

    rate(A) = S_A(c) * S_hist(horizon) / S_hist(c)

``S_A(c)`` is observed exactly (every row of date ``A`` has the same ``c``); only the
conditional tail is borrowed. :func:`level_shift` then finds the constant log-odds shift that
brings a model's mean probability on those dates' rows to the nowcast (ranking unchanged).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from engine._errors import ArgumentError, InsufficientDataError
from engine.models._types import DateLike

__all__ = ["nowcast_no_event_rate", "level_shift"]


def nowcast_no_event_rate(as_of: npt.ArrayLike, days_to_event: npt.ArrayLike, cutoff: DateLike, horizon_days: int, *,
                          min_observed_days: int = 1) -> pd.DataFrame:
    """The horizon's no-event rate at each as-of date, nowcast from what was seen by ``cutoff``.

    Parameters
    ----------
    as_of : array-like of datetime
        Each row's as-of date.
    days_to_event : array-like of float
        Days from the as-of date to the first event seen before ``cutoff`` (``inf``: none
        seen), e.g. :func:`engine.features.days_to_first_order`.
    cutoff : str, datetime.date or numpy.datetime64
        What is known: events before this day.
    horizon_days : int
        The label window.
    min_observed_days : int, default 1
        Partly observed dates watched for fewer days are left out.

    Returns
    -------
    pandas.DataFrame
        One row per partly observed as-of date (``as_of < cutoff < as_of + horizon``), oldest
        first: ``as_of``, ``rows``, ``observed_days``, ``no_event_so_far`` (``S_A(c)``),
        ``tail`` (``S_hist(horizon) / S_hist(c)``) and ``rate`` (their product). Empty when no
        date is partly observed.

    Raises
    ------
    InsufficientDataError
        When partly observed dates exist but no as-of date is fully labelled by ``cutoff``
        (nothing to borrow the tail from).

    Examples
    --------
    >>> as_of = pd.to_datetime(["2025-01-01"] * 4 + ["2025-03-01"] * 4)
    >>> days = [10, 50, np.inf, np.inf, 5, np.inf, np.inf, np.inf]
    >>> nowcast_no_event_rate(as_of, days, "2025-04-01", 60)[["observed_days", "no_event_so_far", "rate"]]
       observed_days  no_event_so_far  rate
    0             31             0.75   0.5
    """
    if isinstance(horizon_days, bool) or not isinstance(horizon_days, (int, np.integer)) or horizon_days < 1:
        raise ArgumentError(f"nowcast_no_event_rate: expected horizon_days as an integer >= 1; got "
                            f"{horizon_days!r}. Fix: pass the label window, e.g. 180.")
    days = pd.to_datetime(pd.Series(np.asarray(as_of))).to_numpy().astype("datetime64[D]").astype(np.int64)
    wait = np.asarray(days_to_event, dtype=float)
    if wait.shape != days.shape:
        raise ArgumentError(f"nowcast_no_event_rate: expected one days_to_event per as-of date "
                            f"({len(days)}); got {wait.size}. Fix: pass both for the same rows.")
    end = int(np.datetime64(pd.Timestamp(cutoff).date(), "D").astype(np.int64))
    labelled = days + horizon_days <= end
    open_dates = [d for d in np.unique(days) if d < end < d + horizon_days and end - d >= min_observed_days]
    columns = ["as_of", "rows", "observed_days", "no_event_so_far", "tail", "rate"]
    if not open_dates:
        return pd.DataFrame(columns=columns)
    if not labelled.any():
        raise InsufficientDataError(
            f"nowcast: expected as-of dates whose {horizon_days}-day window ended by "
            f"{pd.Timestamp(cutoff).date()} to borrow the tail of the window from; got none. "
            "Fix: train on more as-of dates (training.as_of.periods in the model spec).")
    history = np.sort(wait[labelled])
    survive = 1.0 - np.searchsorted(history, np.arange(horizon_days + 1), side="left") / history.size
    rows = []
    for day in open_dates:
        here = days == day
        observed = end - day
        so_far = float(np.mean(wait[here] >= observed))
        tail = float(survive[horizon_days] / survive[observed]) if survive[observed] > 0 else 1.0
        rows.append((pd.Timestamp(np.datetime64(int(day), "D")), int(here.sum()), int(observed), so_far, tail,
                     so_far * tail))
    return pd.DataFrame(rows, columns=columns)


def level_shift(proba: npt.ArrayLike, target: float) -> float:
    """The constant log-odds shift that makes the mean of ``proba`` equal ``target``.

    Parameters
    ----------
    proba : array-like of float
        Probabilities (clipped to [1e-6, 1 - 1e-6]).
    target : float
        The mean wanted, strictly between 0 and 1.

    Returns
    -------
    float
        Added to every log-odds, it makes their mean probability ``target`` (to 1e-12).

    Examples
    --------
    >>> p = np.array([0.1, 0.2, 0.3])
    >>> shift = level_shift(p, 0.25)
    >>> round(float(np.mean(1 / (1 + np.exp(-(np.log(p / (1 - p)) + shift))))), 6)
    0.25
    """
    p = np.clip(np.asarray(proba, dtype=float), 1e-6, 1 - 1e-6)
    if not 0.0 < target < 1.0 or p.size == 0:
        raise ArgumentError(f"level_shift: expected probabilities and a target rate strictly between 0 and 1; "
                            f"got {p.size} probabilities and target {target!r}.")
    logit = np.log(p) - np.log1p(-p)
    low, high = -40.0, 40.0  # the mean is increasing in the shift: bisection, safe from any start
    for _ in range(200):
        shift = (low + high) / 2
        if np.exp(-np.logaddexp(0.0, -(logit + shift))).mean() < target:  # sigmoid, no overflow
            low = shift
        else:
            high = shift
        if high - low < 1e-12:
            break
    return float((low + high) / 2)

"""Evaluation metrics for churn and win scores, and a time-based train/validation split.

``evaluate`` reports, for binary outcomes and predicted probabilities of the positive class:

* ``roc_auc`` - area under the ROC curve (ranking quality, 0.5 = random).
* ``pr_auc`` - average precision (area under the precision-recall curve); compare it with
  ``base_rate``, its value for a random score.
* ``brier`` - mean squared error of the probabilities (lower is better).
* ``ece`` - expected calibration error: probabilities are put in 10 equal-width bins on [0, 1];
  ECE is the row-weighted mean, over non-empty bins, of ``|mean probability - observed rate|``.
* ``ece_quantile`` - the same over 10 bins of about equal rows (every bin has n/10 rows).

Both ECEs are biased upwards by sampling noise: :func:`calibration_noise` gives the ECE a
perfectly calibrated model would show on the same rows (the noise floor) to report beside them;
where the true probabilities are known (the demo), :func:`calibration_error_against_truth`
measures the calibration without any outcome draw.
* ``lift_top_decile`` - positive rate among the 10% highest scores divided by the overall rate.
* ``capture_top_decile`` - share of all positives found in the 10% highest scores.

The top decile is the ``ceil(n / 10)`` highest probabilities; ties are broken by position
(stable sort), so the figures are deterministic.

``validation_curves`` gives the curves behind those figures, downsampled to a fixed size (a
model card stores them; the run report draws them): the ROC curve (at most 101 of its
vertices), the cumulative gains curve on a 101-point grid of the share of rows, and the
calibration curve over 10 quantile bins of the probabilities with the rows in each.
"""

from __future__ import annotations

import math
from typing import Literal, NamedTuple, get_args

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    roc_auc_score,
    roc_curve,
)

from engine._arguments import check_array, check_frame, check_type
from engine._errors import ArgumentError, DataError, InsufficientDataError
from engine._suggest import did_you_mean
from engine.models._types import DateLike, Mask

__all__ = [
    "evaluate",
    "validation_curves",
    "CURVE_POINTS",
    "CALIBRATION_BINS",
    "expected_calibration_error",
    "calibration_noise",
    "calibration_error_against_truth",
    "top_decile_lift",
    "top_decile_capture",
    "time_split",
    "TimeSplit",
]


#: How the probabilities are binned for the ECE: equal-width bins on [0, 1], or bins of about
#: equal rows.
Binning = Literal["uniform", "quantile"]

_PROBA_FIX = "pass the positive-class column, e.g. model.predict_proba(X)[:, 1]"


def _check(y_true: npt.ArrayLike, proba: npt.ArrayLike, where: str) -> tuple[np.ndarray, np.ndarray]:
    p = check_array(where, "proba", proba, _PROBA_FIX)
    y = np.asarray(y_true)
    if p.ndim == 2 and p.shape[1] == 2:
        p = p[:, 1]
    if y.ndim != 1 or p.ndim != 1 or len(y) != len(p):
        raise DataError(
            f"Expected y_true and proba as 1-D arrays of equal length; got shapes {y.shape} and "
            f"{p.shape}. Pass the positive-class column, e.g. model.predict_proba(X)[:, 1]."
        )
    if len(y) == 0:
        raise InsufficientDataError("Cannot evaluate on zero rows; got an empty validation set.")
    if np.isnan(p).any() or (p < 0).any() or (p > 1).any():
        raise DataError("Expected probabilities in [0, 1] without NaN; got values outside it.")
    values = set(np.unique(y).tolist())
    if not values <= {0, 1}:
        raise DataError(f"Expected y_true of 0/1 labels; got values {sorted(values)[:5]}.")
    return y.astype(int), p


def _bins(p: np.ndarray, n_bins: int, binning: Binning) -> np.ndarray:
    if binning == "uniform":
        return np.minimum((p * n_bins).astype(int), n_bins - 1)
    if binning == "quantile":
        # n_bins runs of about equal rows in score order (ties by position, so deterministic).
        bins = np.empty(len(p), dtype=np.int64)
        bins[np.argsort(p, kind="stable")] = np.arange(len(p)) * n_bins // len(p)
        return bins
    raise ArgumentError(f"expected binning 'uniform' or 'quantile'; got {binning!r}. "
                        f"Fix: pass binning='uniform'{did_you_mean(str(binning), get_args(Binning))}.")


def expected_calibration_error(y_true: npt.ArrayLike, proba: npt.ArrayLike, n_bins: int = 10, *,
                               binning: Binning = "uniform") -> float:
    """Row-weighted mean |mean probability - observed rate| over the bins of the probabilities.

    ``binning="uniform"`` (the headline figure): 10 equal-width bins on [0, 1], as in Guo et
    al. (2017); ``"quantile"``: 10 bins of about equal rows (Nixon et al. 2019, "adaptive"
    ECE), where every bin has about n/10 rows behind it. Both are biased upwards by sampling
    noise (see :func:`calibration_noise`).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Outcomes, 0 or 1.
    proba : array-like of shape (n_samples,) or (n_samples, 2)
        Predicted probabilities of the positive class (or ``predict_proba``'s two columns).
    n_bins : int, default=10
    binning : {"uniform", "quantile"}, default="uniform"

    Returns
    -------
    float

    Examples
    --------
    >>> expected_calibration_error([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5])
    0.0
    >>> round(expected_calibration_error([0, 0, 1, 1], [0.1, 0.1, 0.1, 0.1]), 2)
    0.4
    >>> round(expected_calibration_error([0, 1, 0, 1], [0.1, 0.2, 0.8, 0.9], 2, binning="quantile"), 2)
    0.35
    """
    y, p = _check(y_true, proba, "expected_calibration_error")
    return _binned_error(p, y, n_bins, binning)


def _binned_error(p: np.ndarray, target: np.ndarray, n_bins: int, binning: Binning) -> float:
    """Row-weighted mean over the bins of ``p`` of |mean ``p`` - mean ``target``|."""
    bins = _bins(p, n_bins, binning)
    gap = np.bincount(bins, weights=p, minlength=n_bins) - np.bincount(bins, weights=target, minlength=n_bins)
    return float(np.sum(np.abs(gap)) / len(p))


def calibration_noise(proba: npt.ArrayLike, groups: npt.ArrayLike | None = None, *, n_bins: int = 10,
                      binning: Binning = "uniform",
                      draws: int = 200, seed: int = 0, target: float = 0.02) -> dict[str, float]:
    """The ECE a perfectly calibrated model would show on these rows: the noise floor.

    Outcomes are drawn from the probabilities themselves (so the model is calibrated by
    construction) ``draws`` times, and the ECE of each draw is computed as
    :func:`expected_calibration_error` does. An observed ECE near ``mean`` (and below
    ``p95``) is what sampling alone gives; only an ECE well above ``p95`` shows miscalibration.
    With ``groups`` (the deal of each row), the rows of one group share
    one uniform draw (``y = u < p`` for each row): every row stays calibrated, and a deal open
    at three as-of dates is one outcome, not three, so the floor is higher than for
    independent rows.

    Parameters
    ----------
    proba : array-like of shape (n_samples,)
        The predicted probabilities.
    groups : array-like of shape (n_samples,), optional
        The group (deal) of each row; its rows share one outcome draw.
    n_bins : int, default=10
    binning : {"uniform", "quantile"}, default="uniform"
        As for :func:`expected_calibration_error`.
    draws : int, default=200
    seed : int, default=0
    target : float, default=0.02

    Returns
    -------
    dict
        ``mean``, ``p95`` (the ECE of perfectly calibrated draws), ``draws``, and
        ``share_within_target``: the share of those draws whose ECE is at most ``target``
        (default 0.02) - how often a perfectly calibrated model would meet that target here.

    Examples
    --------
    >>> floor = calibration_noise(np.full(400, 0.3))
    >>> 0.0 < floor["mean"] < floor["p95"] < 0.06
    True
    """
    p = check_array("calibration_noise", "proba", proba, _PROBA_FIX)
    rng = np.random.default_rng(seed)
    bins = _bins(p, n_bins, binning)
    mean_p = np.bincount(bins, weights=p, minlength=n_bins)
    if groups is None:
        member, n_draws = np.arange(len(p)), len(p)
    else:
        _, member = np.unique(np.asarray(groups), return_inverse=True)
        n_draws = int(member.max()) + 1 if len(member) else 0
    values = np.empty(draws)
    for k in range(draws):
        # One uniform per group: each row keeps its own chance p (calibrated), and the rows of a
        # group move together (the same deal, won or lost once).
        y = rng.random(n_draws)[member] < p
        mean_y = np.bincount(bins, weights=y, minlength=n_bins)
        values[k] = np.sum(np.abs(mean_p - mean_y)) / len(p)
    return {"mean": float(values.mean()), "p95": float(np.percentile(values, 95)), "draws": draws,
            "share_within_target": float(np.mean(values <= target))}


def calibration_error_against_truth(true_proba: npt.ArrayLike, proba: npt.ArrayLike, n_bins: int = 10, *,
                                    binning: Binning = "uniform") -> float:
    """The ECE with the true probabilities in place of the outcomes: calibration without the draw.

    Where the true chance of each row is known (simulated data: ``engine.demo._oracle``), each
    bin of the model's probabilities - the same bins and row weights as
    :func:`expected_calibration_error` - compares its mean probability with the mean *true*
    probability of its rows instead of the rate of the outcomes that happened to be drawn. It is
    the ECE that unlimited outcome draws for these rows would converge to: what is left is the
    model's own miscalibration, with neither sampling noise nor one draw's luck. The true
    probabilities score 0 against themselves.

    Parameters
    ----------
    true_proba : array-like of shape (n_samples,)
        The true probability of the positive outcome of each row.
    proba : array-like of shape (n_samples,) or (n_samples, 2)
        The model's probabilities (or ``predict_proba``'s two columns).
    n_bins : int, default=10
    binning : {"uniform", "quantile"}, default="uniform"

    Returns
    -------
    float

    Examples
    --------
    >>> calibration_error_against_truth([0.2, 0.4], [0.2, 0.4])
    0.0
    >>> round(calibration_error_against_truth([0.2, 0.4], [0.3, 0.3]), 2)
    0.0
    >>> round(calibration_error_against_truth([0.1, 0.1], [0.3, 0.3]), 2)
    0.2
    """
    truth = check_array("calibration_error_against_truth", "true_proba", true_proba,
                        "pass one true probability per row")
    p = check_array("calibration_error_against_truth", "proba", proba, _PROBA_FIX)
    if p.ndim == 2 and p.shape[1] == 2:
        p = p[:, 1]
    if truth.ndim != 1 or p.ndim != 1 or len(truth) != len(p):
        raise DataError(
            f"Expected true_proba and proba as 1-D arrays of equal length; got shapes "
            f"{truth.shape} and {p.shape}. Fix: {_PROBA_FIX}, and one true probability per row."
        )
    if len(p) == 0:
        raise InsufficientDataError("Cannot measure calibration on zero rows; got empty true_proba and proba.")
    for name, values, fix in (("true_proba", truth, "drop the rows whose true probability is unknown"),
                              ("proba", p, _PROBA_FIX)):
        if np.isnan(values).any() or (values < 0).any() or (values > 1).any():
            raise DataError(f"Expected {name} in [0, 1] without NaN; got values outside it. Fix: {fix}.")
    return _binned_error(p, truth, n_bins, binning)


def _top_decile(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    k = math.ceil(len(p) / 10)
    return y[np.argsort(-p, kind="stable")[:k]]


def top_decile_lift(y_true: npt.ArrayLike, proba: npt.ArrayLike) -> float:
    """Positive rate in the top 10% of scores divided by the overall positive rate.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Outcomes, 0 or 1.
    proba : array-like of shape (n_samples,) or (n_samples, 2)
        Predicted probabilities of the positive class (or ``predict_proba``'s two columns).

    Returns
    -------
    float
        NaN when there is no positive.

    Examples
    --------
    >>> top_decile_lift([1] + [0] * 9, [0.9] + [0.1] * 9)
    10.0
    """
    y, p = _check(y_true, proba, "top_decile_lift")
    rate = y.mean()
    return float(_top_decile(y, p).mean() / rate) if rate > 0 else float("nan")


def top_decile_capture(y_true: npt.ArrayLike, proba: npt.ArrayLike) -> float:
    """Share of all positives that are in the top 10% of scores.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Outcomes, 0 or 1.
    proba : array-like of shape (n_samples,) or (n_samples, 2)
        Predicted probabilities of the positive class (or ``predict_proba``'s two columns).

    Returns
    -------
    float
        NaN when there is no positive.

    Examples
    --------
    >>> top_decile_capture([1, 1] + [0] * 8, [0.9, 0.1] + [0.2] * 8)
    0.5
    """
    y, p = _check(y_true, proba, "top_decile_capture")
    total = y.sum()
    return float(_top_decile(y, p).sum() / total) if total > 0 else float("nan")


def evaluate(y_true: npt.ArrayLike, proba: npt.ArrayLike) -> dict[str, float]:
    """All the metrics of this module in one dict (see the module docstring).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Outcomes, 0 or 1.
    proba : array-like of shape (n_samples,) or (n_samples, 2)
        Predicted probabilities of the positive class (or ``predict_proba``'s two columns).

    Returns
    -------
    dict of str to float
        ``n``, ``base_rate``, ``roc_auc``, ``pr_auc``, ``brier``, ``ece``, ``ece_quantile``,
        ``lift_top_decile``, ``capture_top_decile``.

    Examples
    --------
    >>> sorted(evaluate([0, 1, 0, 1, 1, 0, 0, 0, 1, 0], [.1, .8, .3, .7, .6, .2, .1, .4, .9, .2]))
    ['base_rate', 'brier', 'capture_top_decile', 'ece', 'ece_quantile', 'lift_top_decile', 'n', 'pr_auc', 'roc_auc']
    """
    y, p = _check(y_true, proba, "evaluate")
    both = 0 < y.sum() < len(y)
    if not both:
        raise InsufficientDataError(
            f"Evaluation needs both outcomes; got {int(y.sum())} positives in {len(y)} rows. "
            "Widen the validation window."
        )
    return {
        "n": int(len(y)),
        "base_rate": float(y.mean()),
        "roc_auc": float(roc_auc_score(y, p)),
        "pr_auc": float(average_precision_score(y, p)),
        "brier": float(brier_score_loss(y, p)),
        "ece": expected_calibration_error(y, p),
        "ece_quantile": expected_calibration_error(y, p, binning="quantile"),
        "lift_top_decile": top_decile_lift(y, p),
        "capture_top_decile": top_decile_capture(y, p),
    }


#: Points kept of the ROC and cumulative gains curves: smooth to the eye, never one per row.
CURVE_POINTS = 101
#: Quantile bins of the calibration curve (about as many rows in each).
CALIBRATION_BINS = 10


def _thin(x: np.ndarray, y: np.ndarray, points: int) -> np.ndarray:
    """Indices of at most ``points`` vertices of the path (x, y), evenly spaced along its length.

    The first and the last vertex are always kept; the ones kept are vertices of the path, so a
    monotone path stays monotone and its end points stay exact.
    """
    if len(x) <= points:
        return np.arange(len(x))
    length = np.concatenate([[0.0], np.cumsum(np.hypot(np.diff(x), np.diff(y)))])
    targets = np.linspace(0.0, length[-1], points)
    picked = np.minimum(np.searchsorted(length, targets, side="left"), len(x) - 1)
    return np.unique(np.concatenate([[0], picked, [len(x) - 1]]))


def validation_curves(y_true: npt.ArrayLike, proba: npt.ArrayLike, *, points: int = CURVE_POINTS,
                      bins: int = CALIBRATION_BINS) -> dict[str, dict[str, list[float]]]:
    """ROC, cumulative gains and calibration curves, each of a fixed, small size.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Outcomes, 0 or 1.
    proba : array-like of shape (n_samples,) or (n_samples, 2)
        Predicted probabilities of the positive class (or ``predict_proba``'s two columns).
    points : int, default=101
        At most this many points of the ROC curve (its vertices, evenly spaced along the curve,
        from (0, 0) to (1, 1)) and exactly this many of the gains curve (share of rows
        ``0, 1/(points-1), ..., 1``, highest score first, ties broken by position as for the
        top decile: the point at 0.1 is ``capture_top_decile``).
    bins : int, default=10
        Quantile bins of the probabilities for the calibration curve (fewer when many rows share
        a probability, e.g. isotonic plateaus); empty bins are left out.

    Returns
    -------
    dict
        ``{"roc": {"fpr", "tpr"}, "gains": {"share", "captured"},
        "calibration": {"predicted", "observed", "count"}}``; lists of floats (counts as ints).

    Examples
    --------
    >>> curves = validation_curves([0, 1, 0, 1, 1, 0, 0, 0, 1, 0], [.1, .8, .3, .7, .6, .2, .1, .4, .9, .2])
    >>> curves["roc"]["fpr"][0], curves["roc"]["tpr"][-1], curves["gains"]["captured"][-1]
    (0.0, 1.0, 1.0)
    >>> sum(curves["calibration"]["count"])
    10
    """
    y, p = _check(y_true, proba, "validation_curves")
    if not 0 < y.sum() < len(y):
        raise InsufficientDataError(
            f"Curves need both outcomes; got {int(y.sum())} positives in {len(y)} rows. "
            "Widen the validation window."
        )
    if points < 2 or bins < 1:
        raise ArgumentError(f"validation_curves: expected points >= 2 and bins >= 1; got points={points}, "
                            f"bins={bins}. Fix: pass e.g. points=101, bins=10.")
    fpr, tpr, _ = roc_curve(y, p, drop_intermediate=True)
    keep = _thin(fpr, tpr, points)
    n = len(y)
    found = np.concatenate([[0], np.cumsum(y[np.argsort(-p, kind="stable")])])
    steps = np.arange(points)
    # ceil(i * n / (points - 1)) rows in integers: the 0.1 point is exactly the top decile.
    rows = (steps * n + points - 2) // (points - 1)
    edges = np.unique(np.quantile(p, np.linspace(0, 1, bins + 1)[1:-1]))
    which = np.searchsorted(edges, p, side="right")
    count = np.bincount(which, minlength=len(edges) + 1)
    used = count > 0
    predicted = np.bincount(which, weights=p, minlength=len(edges) + 1)[used] / count[used]
    observed = np.bincount(which, weights=y, minlength=len(edges) + 1)[used] / count[used]
    return {
        "roc": {"fpr": fpr[keep].round(6).tolist(), "tpr": tpr[keep].round(6).tolist()},
        "gains": {"share": (steps / (points - 1)).round(6).tolist(),
                  "captured": (found[rows] / y.sum()).round(6).tolist()},
        "calibration": {"predicted": predicted.round(6).tolist(), "observed": observed.round(6).tolist(),
                        "count": count[used].astype(int).tolist()},
    }


class TimeSplit(NamedTuple):
    """Boolean row masks of a time-based split (use as ``X[split.train]``)."""

    train: Mask
    validation: Mask


def time_split(meta: pd.DataFrame, date_column: str, validation_start: DateLike, *,
               horizon_days: int = 0) -> TimeSplit:
    """Split rows by their as-of date: train before ``validation_start``, validate from it.

    Parameters
    ----------
    meta : pandas.DataFrame
        One row per training row, aligned with X and y; holds ``date_column``.
    date_column : str
        The as-of date of each row.
    validation_start : str, datetime.date or numpy.datetime64
        First as-of date of the validation window.
    horizon_days : int, default=0
        Label horizon. A training row's label looks ``horizon_days`` past its as-of date; rows
        whose label window reaches into the validation period (as_of + horizon >
        validation_start) are left out of training so no validation-period outcome leaks in.

    Examples
    --------
    >>> meta = pd.DataFrame({"as_of": pd.to_datetime(["2024-01-31", "2024-05-15", "2024-06-30"])})
    >>> split = time_split(meta, "as_of", "2024-06-01", horizon_days=30)
    >>> split.train.tolist(), split.validation.tolist()
    ([True, False, False], [False, False, True])
    """
    check_frame("time_split", "meta", meta, "pass one row per training row, holding the as-of dates")
    check_type("time_split", "date_column", date_column, str, "pass the name of the as-of date column")
    check_type("time_split", "horizon_days", horizon_days, (int, np.integer), "pass the label horizon in days, e.g. 180",
               described="an integer")
    try:
        start = pd.Timestamp(validation_start)
    except (TypeError, ValueError):
        start = pd.NaT
    if start is pd.NaT:
        raise ArgumentError(f"time_split: expected validation_start as a date; got {validation_start!r}. "
                            "Fix: pass e.g. '2024-06-01' or a datetime.date.")
    if date_column not in meta.columns:
        raise DataError(
            f"time_split: expected a date column {date_column!r} in meta; got columns "
            f"{list(meta.columns)}. Pass the name of the as-of date column."
        )
    dates = pd.to_datetime(meta[date_column])
    if dates.isna().any():
        raise DataError(f"time_split: {int(dates.isna().sum())} rows have no {date_column!r}.")
    validation = (dates >= start).to_numpy()
    train = (dates + pd.Timedelta(days=horizon_days) <= start).to_numpy()
    if not train.any() or not validation.any():
        raise InsufficientDataError(
            f"time_split at {start.date()}: got {int(train.sum())} training and "
            f"{int(validation.sum())} validation rows (dates {dates.min().date()} to "
            f"{dates.max().date()}). Expected both non-empty; move validation_start."
        )
    return TimeSplit(train=train, validation=validation)

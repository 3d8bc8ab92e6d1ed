"""Calibration of the auto classifiers' scores: sigmoid, centred isotonic, recent re-levelling."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss

from engine.models._params import InvalidParameterError

__all__ = [
    "Calibration",
    "CenteredIsotonic",
    "ShiftedCalibrator",
    "choose_calibration",
    "fit_calibration",
    "recalibrate_recent",
]


def choose_calibration(calibration: str, oof: np.ndarray, codes: np.ndarray, segments
                       ) -> tuple[str, dict[str, float]]:
    """The calibration method, and the cross-fitted log losses when "auto" compared two.

    "auto" is sigmoid below 2,000 scores, 200 of either class or two folds; above, isotonic
    or sigmoid, whichever has the lower log loss when each fold is calibrated by the others.
    """
    if calibration not in ("auto", "isotonic", "sigmoid", "none"):
        raise InvalidParameterError(
            "The 'calibration' parameter: expected one of 'auto', 'isotonic', 'sigmoid', 'none'; got "
            f"{calibration!r}. Fix: use calibration='auto'."
        )
    if calibration != "auto":
        return calibration, {}
    counts = np.bincount(codes, minlength=2)
    if len(codes) < 2000 or counts.min() < 200 or len(segments) < 2:
        return "sigmoid", {}
    losses = {}
    for method in ("sigmoid", "isotonic"):
        calibrated = np.empty(len(codes))
        for segment in segments:
            others = np.setdiff1d(np.arange(len(codes)), segment)
            calibrator = _make_calibrator(method, oof[others], codes[others])
            calibrated[segment] = _apply_calibrator(calibrator, oof[segment])
        losses[method] = log_loss(codes, np.clip(calibrated, 1e-6, 1 - 1e-6), labels=[0, 1])
    return ("isotonic" if losses["isotonic"] < losses["sigmoid"] else "sigmoid"), losses


def recalibrate_recent(calibrator, scores: np.ndarray, codes: np.ndarray, recent: np.ndarray
                       ) -> tuple[Any, dict[str, Any] | None]:
    """Shift the calibrated log-odds to the most recent window's rate, if it drifted.

    Only when the window's observed rate differs from the calibrated mean there by more than
    three standard errors (binomial); the shift is one constant on the log-odds, so ranking is
    untouched. Returns the (possibly wrapped) calibrator and what was checked.
    """
    if calibrator is None or not recent.any():
        return calibrator, None  # not asked for (recent_dates=None) or no recent rows
    p = np.clip(_apply_calibrator(calibrator, scores[recent]), 1e-6, 1 - 1e-6)
    observed, expected = float(codes[recent].mean()), float(p.mean())
    standard_error = np.sqrt(max(expected * (1 - expected), 1e-6) / recent.sum())
    check = {"recent_rows": int(recent.sum()), "recent_rate": observed,
             "calibrated_mean": expected, "shift": 0.0}
    if abs(observed - expected) <= 3 * standard_error:
        return calibrator, check
    logit, shift = _logit(p), 0.0
    for _ in range(50):  # Newton steps: mean of sigmoid(logit + shift) = observed
        q = 1 / (1 + np.exp(-(logit + shift)))
        step = (q.mean() - observed) / max((q * (1 - q)).mean(), 1e-9)
        shift -= step
        if abs(step) < 1e-10:
            break
    check["shift"] = float(shift)
    return ShiftedCalibrator(calibrator, float(shift)), check


class CenteredIsotonic:
    """Isotonic calibration made strictly increasing (centred isotonic regression).

    Plain isotonic regression is a step function: many records share one probability and a
    small change of a feature often moves nothing, which makes reasons useless. Here the pooled
    blocks of the isotonic fit are replaced by points at each block's mean score, joined by
    straight lines (Oron & Flournoy, 2017, "Centered isotonic regression"); outside the first
    and last block the end values hold. Probabilities stay calibrated block by block.
    """

    def fit(self, scores: np.ndarray, y: np.ndarray) -> CenteredIsotonic:
        scores = np.asarray(scores, dtype=float)
        fitted = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(
            scores, y).predict(scores)
        levels, block = np.unique(fitted, return_inverse=True)
        centres = np.bincount(block, weights=scores) / np.bincount(block)
        order = np.argsort(centres, kind="stable")
        self.centres_ = centres[order]
        self.levels_ = levels[order]
        return self

    def predict(self, scores: np.ndarray) -> np.ndarray:
        return np.interp(np.asarray(scores, dtype=float), self.centres_, self.levels_)


class ShiftedCalibrator:
    """A calibrator followed by a constant shift of the log-odds (recent-window recalibration)."""

    def __init__(self, base, shift: float):
        self.base = base
        self.shift = shift

    def predict(self, raw: np.ndarray) -> np.ndarray:
        p = _apply_calibrator(self.base, raw)
        return 1.0 / (1.0 + np.exp(-(_logit(p) + self.shift)))


def _make_calibrator(method: str, scores: np.ndarray, codes: np.ndarray):
    if method == "isotonic":
        return CenteredIsotonic().fit(scores, codes)
    if method == "sigmoid":
        # Platt scaling on the log-odds of the out-of-fold probabilities.
        return LogisticRegression(C=1e4, max_iter=1000).fit(_logit(scores)[:, None], codes)
    return None


def _apply_calibrator(calibrator, raw: np.ndarray) -> np.ndarray:
    if calibrator is None:
        return raw
    if isinstance(calibrator, (CenteredIsotonic, ShiftedCalibrator)):
        return calibrator.predict(raw)
    return calibrator.predict_proba(_logit(raw)[:, None])[:, 1]


#: Probabilities are clipped to [_EPS, 1 - _EPS] before the log-odds. At 1e-6 (log-odds
#: +-13.8) a confident logistic model's scores tied at the clip, and Platt scaling could not
#: untie them (scikit-learn's wine set: pooled outer ROC AUC 0.9936 against 0.9984 for the
#: same logistic regression uncalibrated). 1e-15 (+-34.5) is the last step where 1 - p is
#: still resolved in float64.
_EPS = 1e-15


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), _EPS, 1 - _EPS)
    return np.log(p) - np.log1p(-p)


@dataclass(frozen=True)
class Calibration:
    """The fitted calibrator and how it was made (``calibration_method_`` and friends)."""

    method: str
    calibrator: Any
    n_rows: int
    log_losses: dict[str, float]
    recalibration: dict[str, Any] | None


def fit_calibration(calibration: str, cv, frame, internal, y: np.ndarray, groups, selection,
                    column_groups: dict[str, list[str]], *, max_rows: int | None,
                    random_state: int | None, label: str, n_workers: int) -> Calibration:
    """Fit the calibrator of the chosen candidate on held-out scores.

    The scores are the selection folds' validation predictions, or, when the splitter has
    its own calibration folds (``ForwardGroupSplit.calibration_split``), the chosen
    candidate's predictions on those. ``calibration`` is the estimator's parameter ("auto"
    chooses sigmoid or isotonic, :func:`choose_calibration`). A splitter with
    ``recent_rows`` re-levels the result to the latest dates' rate if it drifted
    (:func:`recalibrate_recent`).
    """
    from engine.models._selection import calibration_folds, fold_predictions

    folds = None
    if calibration != "none":
        folds = calibration_folds(cv, frame, y, groups, selection.folds, max_rows=max_rows,
                                  random_state=random_state)
    if folds is None:
        folds, scores = selection.folds, selection.scores
    else:
        scores = fold_predictions(selection.parts, internal, y, folds, column_groups,
                                  random_state=random_state, label=f"{label}: calibration folds",
                                  n_workers=n_workers)
    codes = y[folds.validated]
    method, losses = choose_calibration(calibration, scores, codes, folds.segments)
    calibrator = _make_calibrator(method, scores, codes)
    recalibration = None
    recent = getattr(cv, "recent_rows", None)
    if calibrator is not None and recent is not None:
        calibrator, recalibration = recalibrate_recent(calibrator, scores, codes, recent(folds.validated))
    return Calibration(method=method, calibrator=calibrator, n_rows=len(scores), log_losses=losses,
                       recalibration=recalibration)

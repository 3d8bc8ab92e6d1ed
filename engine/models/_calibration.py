"""Calibration of the auto classifiers' scores: sigmoid, centred isotonic, recent re-levelling."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss

__all__ = ["CenteredIsotonic", "ShiftedCalibrator", "choose_calibration", "recalibrate_recent"]


def choose_calibration(calibration: str, oof: np.ndarray, codes: np.ndarray, segments
                       ) -> tuple[str, dict[str, float]]:
    """The calibration method, and the cross-fitted log losses when "auto" compared two.

    "auto" is sigmoid below 2,000 scores, 200 of either class or two folds; above, isotonic
    or sigmoid, whichever has the lower log loss when each fold is calibrated by the others.
    """
    if calibration not in ("auto", "isotonic", "sigmoid", "none"):
        raise ValueError(
            "calibration must be one of 'auto', 'isotonic', 'sigmoid', 'none'; got "
            f"{calibration!r}."
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


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))

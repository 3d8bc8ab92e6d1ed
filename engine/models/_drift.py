"""Drift: how far a scoring run's inputs and scores moved from the training distribution.

At training, :func:`training_distribution` bins every model input (as the model sees it:
numeric and datetime columns by their training deciles, booleans and categories by value)
and the score, and the model card keeps the bins and shares. At scoring, :class:`DriftCheck`
counts the scored rows in the same bins (part by part, so a partitioned run never
concatenates its frames) and :meth:`DriftCheck.report` gives the population stability index
(PSI) of each: ``sum((share_now - share_train) * ln(share_now / share_train))``.

The usual reading (Siddiqi, *Credit Risk Scorecards*, 2006): below 0.10 stable; 0.10 to 0.25
shifted, watch it; above 0.25 the population has changed - retrain.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from engine._arguments import check_array, check_mapping, check_type
from engine._errors import ArgumentError
from engine.models._columns import BOOLEAN, CATEGORICAL, to_internal_matrix
from engine.models._scoring import ScoringMixin

if TYPE_CHECKING:
    from engine.models._base import AutoClassifier

__all__ = ["training_distribution", "DriftCheck", "drift_report", "psi", "PSI_SHIFTED", "PSI_RETRAIN", "SCORE",
           "MIN_ROWS_PER_BIN"]

#: PSI from which a distribution counts as shifted, and from which the model should be retrained.
PSI_SHIFTED, PSI_RETRAIN = 0.10, 0.25
#: The name of the score's row in a drift report.
SCORE = "(score)"
#: Fewer scored rows than this per bin give no verdict (status ``few rows``): sampling noise
#: alone puts PSI near (bins - 1) / rows, e.g. 0.1 for 11 bins and 100 rows.
MIN_ROWS_PER_BIN = 50
_FLOOR = 1e-4  # share given to an empty bin, so the logarithm stays finite
_MAX_VALUES = 30  # categories tracked one by one; the rest share one bin
_MODEL = "a fitted kam model (ChurnModel, WinModel or AutoClassifier)"
_MODEL_FIX = "pass the fitted model, e.g. engine.models.load_model(path)"


def _check_model(where: str, model) -> None:
    check_type(where, "model", model, ScoringMixin, _MODEL_FIX, described=_MODEL)


def _numeric_edges(values: np.ndarray) -> list[float]:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return []
    return [float(v) for v in np.unique(np.quantile(finite, np.linspace(0.1, 0.9, 9)))]


def _bin_numeric(values: np.ndarray, edges: list[float]) -> np.ndarray:
    """Bin index per value: 0 = missing, then 1 + the decile bin."""
    out = np.zeros(len(values), dtype=np.int64)
    finite = np.isfinite(values)
    out[finite] = 1 + np.searchsorted(np.asarray(edges), values[finite], side="right")
    return out


def _bin_values(values: np.ndarray, known: list[float]) -> np.ndarray:
    """Bin index per value: 0 = missing, 1 = any other value, 2 + position among ``known``."""
    out = np.ones(len(values), dtype=np.int64)
    out[np.isnan(values)] = 0
    for k, value in enumerate(known):
        out[values == value] = 2 + k
    return out


def _spec(values: np.ndarray, kind: str) -> dict[str, Any]:
    if kind in (CATEGORICAL, BOOLEAN) or len(np.unique(values[np.isfinite(values)])) <= 2:
        finite = values[np.isfinite(values)]
        uniques, counts = np.unique(finite, return_counts=True)
        known = [float(v) for v in uniques[np.argsort(-counts, kind="stable")][:_MAX_VALUES]]
        return {"type": "values", "values": known, "bins": len(known) + 2}
    edges = _numeric_edges(values)
    return {"type": "numeric", "edges": edges, "bins": len(edges) + 2}


def _bin(values: np.ndarray, spec: dict[str, Any]) -> np.ndarray:
    if spec["type"] == "values":
        return _bin_values(values, spec["values"])
    return _bin_numeric(values, spec["edges"])


def _shares(bins: np.ndarray, n_bins: int) -> list[float]:
    counts = np.bincount(bins, minlength=n_bins).astype(float)
    return list(counts / max(counts.sum(), 1.0))


def training_distribution(model: AutoClassifier, X: pd.DataFrame, scores: npt.ArrayLike) -> dict[str, Any]:
    """Bins and shares of every model input and of the score on the training rows.

    Parameters
    ----------
    model : AutoClassifier
        The fitted model (its schema says how each column is seen).
    X : pandas.DataFrame
        The training rows.
    scores : array-like of shape (n_samples,)
        The model's probabilities on them.

    Returns
    -------
    dict
        ``rows``; ``features``: input name -> its bins (``type``, ``edges`` or ``values``,
        ``bins``) and ``shares``; ``score``: the same for the probabilities. JSON-ready.
    """
    _check_model("training_distribution", model)
    scores = check_array("training_distribution", "scores", scores, "pass model.predict_proba(X)[:, 1]")
    matrix = to_internal_matrix(model._checked_frame(X), model._schema)
    out: dict[str, Any] = {"rows": len(X), "features": {}}
    for j, name in enumerate(model._schema.kept):
        spec = _spec(matrix[:, j], model._schema.kinds[name])
        out["features"][str(name)] = {**spec, "shares": _shares(_bin(matrix[:, j], spec), spec["bins"])}
    spec = {"type": "numeric", "edges": _numeric_edges(scores)}
    spec["bins"] = len(spec["edges"]) + 2
    out["score"] = {**spec, "shares": _shares(_bin(scores, spec), spec["bins"])}
    return out


def psi(expected: list[float], actual: list[float]) -> float:
    """Population stability index of two share vectors over the same bins."""
    e = np.maximum(np.asarray(expected, dtype=float), _FLOOR)
    a = np.maximum(np.asarray(actual, dtype=float), _FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


class DriftCheck:
    """Counts scored rows in a model's training bins; :meth:`report` gives PSI per input.

    Parameters
    ----------
    model : AutoClassifier
        A fitted model.
    distribution : dict
        Its training distribution (the model card's ``training_distribution``).
    """

    def __init__(self, model: AutoClassifier, distribution: dict[str, Any]):
        _check_model("DriftCheck", model)
        fix = "pass the model card's training_distribution (engine.models.training_distribution)"
        check_mapping("DriftCheck", "distribution", distribution, fix)
        if not isinstance(distribution.get("features"), dict) or not isinstance(distribution.get("score"), dict):
            raise ArgumentError(f"DriftCheck: expected distribution with 'features' and 'score' bins; got keys "
                                f"{sorted(map(str, distribution))}. Fix: {fix}.")
        self.model = model
        self.distribution = distribution
        self.counts = {name: np.zeros(spec["bins"]) for name, spec in distribution["features"].items()}
        self.score_counts = np.zeros(distribution["score"]["bins"])
        self.rows = 0

    def add(self, X: pd.DataFrame, scores: npt.ArrayLike) -> None:
        """Count one batch of scored rows (the model's input columns, and their scores)."""
        if len(X) == 0:
            return
        names = [str(c) for c in getattr(self.model, "feature_names_in_", X.columns)]
        frame = X[[c for c in names if c in X.columns]]
        matrix = to_internal_matrix(self.model._checked_frame(frame), self.model._schema)
        for j, name in enumerate(self.model._schema.kept):
            spec = self.distribution["features"].get(str(name))
            if spec is not None:
                self.counts[str(name)] += np.bincount(_bin(matrix[:, j], spec), minlength=spec["bins"])
        spec = self.distribution["score"]
        self.score_counts += np.bincount(_bin(np.asarray(scores, dtype=float), spec), minlength=spec["bins"])
        self.rows += len(X)

    def report(self, model_name: str) -> pd.DataFrame:
        """One row per input and one for the score: ``model``, ``feature``, ``psi``, ``status``.

        ``status``: ``stable`` (PSI < 0.10), ``shifted`` (< 0.25) or ``retrain``; ``few rows``
        when fewer than 50 rows per bin were scored (no verdict).
        """
        rows = []
        items = [*((name, counts, self.distribution["features"][name]["shares"])
                   for name, counts in self.counts.items()),
                 (SCORE, self.score_counts, self.distribution["score"]["shares"])]
        for name, counts, expected in items:
            # Half a row in every bin (Jeffreys): an empty bin of a small run is not "never".
            actual = (counts + 0.5) / (counts.sum() + 0.5 * len(counts))
            value = psi(expected, actual) if self.rows else float("nan")
            if self.rows < MIN_ROWS_PER_BIN * len(counts):
                status = "few rows"
            else:
                status = "stable" if value < PSI_SHIFTED else "shifted" if value < PSI_RETRAIN else "retrain"
            rows.append({"model": model_name, "feature": name, "psi": value, "status": status,
                         "rows": self.rows, "training_rows": int(self.distribution.get("rows", 0))})
        frame = pd.DataFrame(rows)
        return frame.sort_values(["psi", "feature"], ascending=[False, True], kind="stable").reset_index(drop=True)


def drift_report(models: Mapping[str, AutoClassifier],
                 batches: Mapping[str, Sequence[tuple[pd.DataFrame, npt.ArrayLike]]]) -> pd.DataFrame:
    """PSI of every input and the score of each model whose card has a training distribution.

    Parameters
    ----------
    models : mapping of str to AutoClassifier
        Model name -> fitted model (loaded with its card as ``card_``).
    batches : mapping of str to a sequence of (pandas.DataFrame, array-like)
        Model name -> ``(scored rows, their scores)`` batches, e.g. one per partition.

    Returns
    -------
    pandas.DataFrame
        ``model``, ``feature``, ``psi``, ``status``, ``rows``, ``training_rows``; empty when no
        card holds a distribution (models trained before drift checks existed).
    """
    check_mapping("drift_report", "models", models, "pass a dict of model name -> fitted model")
    check_mapping("drift_report", "batches", batches, "pass a dict of model name -> [(scored rows, scores), ...]")
    reports = []
    for name, model in models.items():
        distribution = getattr(getattr(model, "card_", None), "training_distribution", None)
        if not distribution or name not in batches:
            continue
        check = DriftCheck(model, distribution)
        for frame, scores in batches[name]:
            check.add(frame, scores)
        reports.append(check.report(name))
    columns = ["model", "feature", "psi", "status", "rows", "training_rows"]
    return pd.concat(reports, ignore_index=True) if reports else pd.DataFrame(columns=columns)

"""Scoring of a fitted auto classifier: checked columns, fast scorers, calibration, threads.

:class:`ScoringMixin` holds what :class:`~engine.models.AutoClassifier` does after ``fit``:
``predict_proba``, ``predict``, ``compile_scorer``, ``explain`` and the raw-score helpers the
reasons and the drift checks use. The learned state it reads is set by ``fit``
(``_schema``, ``estimators_``, ``calibrator_``...).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import pandas as pd
import sklearn.exceptions

from engine import _errors
from engine._errors import ColumnMismatchError
from engine.models._calibration import _apply_calibrator
from engine.models._columns import check_columns, to_internal_matrix
from engine.models._fast import BoostingScorer, compile_calibrator, compile_pipeline
from engine.models._inputs import as_frame
from engine.models._threads import scoring_threads, thread_limits
from engine.models._types import Direction

__all__ = ["CompiledScorer", "NotFittedError", "ScoringMixin"]

class NotFittedError(_errors.NotFittedError, sklearn.exceptions.NotFittedError):
    """A model was used before ``fit``.

    Both kam's :class:`engine.NotFittedError` (a :class:`~engine.ModelError`) and scikit-learn's
    :class:`sklearn.exceptions.NotFittedError`, so either ``except`` clause catches it and
    scikit-learn's own checks recognise it.
    """


_SCORE_CHUNK = 100_000  # rows converted and scored at once: bounds the chunk buffers


class _PipelineScorer:
    """Scores with a fitted pipeline itself (for pipeline shapes the fast path does not know)."""

    def __init__(self, pipeline, columns: list[str]):
        self.pipeline = pipeline
        self.columns = columns

    def predict_positive(self, matrix: np.ndarray, n_threads: int = 1) -> np.ndarray:
        frame = pd.DataFrame(matrix, columns=self.columns)
        return self.pipeline.predict_proba(frame)[:, 1]


class CompiledScorer(NamedTuple):
    """What :meth:`AutoClassifier.compile_scorer` returns: the input encoding and the scorer.

    ``columns`` (training order) with their ``kinds``, the training ``categories`` of each
    categorical column (its code is the position; -1 never seen, NaN missing) and the
    ``datetime_reference`` of each datetime column; ``predict(internal_matrix)`` gives the
    calibrated probability of the positive class.
    """

    columns: list[str]
    kinds: dict[str, str]
    categories: dict[str, list[str]]
    datetime_reference: dict[str, Any]
    predict: Callable[[np.ndarray], np.ndarray]


class ScoringMixin:
    """The scoring half of :class:`~engine.models.AutoClassifier` (see the module docstring)."""

    _schema: Any
    estimators_: list
    calibrator_: Any
    classes_: np.ndarray
    n_features_in_: int
    feature_names_in_: np.ndarray
    _fitted_on_frame: bool
    n_jobs: int | str | None
    censor_above: Any

    def _check_fitted(self) -> None:
        if not hasattr(self, "estimators_"):
            raise NotFittedError(
                f"This {type(self).__name__} is not fitted yet. Expected a fitted model; got an "
                "unfitted one. Call fit(X, y) first, or load a trained model with "
                "engine.models.load_model(path)."
            )

    def _internal(self, X) -> np.ndarray:
        """The internal float64 matrix of ``X`` (training column order), columns checked."""
        return self._censored(to_internal_matrix(self._checked_frame(X), self._schema))

    def _checked_frame(self, X) -> pd.DataFrame:
        """``X`` as a frame with the training column names, columns checked."""
        self._check_fitted()
        frame, _ = as_frame(X)
        if not self._fitted_on_frame or not isinstance(X, pd.DataFrame):
            if frame.shape[1] != self.n_features_in_:
                raise ColumnMismatchError(
                    f"X has {frame.shape[1]} features, but {type(self).__name__} is expecting "
                    f"{self.n_features_in_} features as input. Expected the training columns; got "
                    f"{frame.shape[1]}. Fix: pass the same columns as at fit."
                )
            if self._fitted_on_frame:
                frame = frame.set_axis(list(self.feature_names_in_), axis=1)
            else:
                frame = frame.set_axis(self._schema.columns, axis=1)
        check_columns(frame, self._schema)
        return frame

    def _censored(self, internal, copy: bool = False):
        """``internal`` (matrix or frame of the used columns) with values above ``censor_above`` missing."""
        caps = {name: cap for name, cap in (getattr(self, "censor_above", None) or {}).items()
                if name in self._schema.kinds}
        if not caps:
            return internal
        if isinstance(internal, pd.DataFrame):
            internal = internal.copy()
            for name, cap in caps.items():
                internal[name] = internal[name].where(~(internal[name] > cap))
            return internal
        out = np.array(internal, dtype=float, copy=True) if copy else internal
        kept = self._schema.kept
        for name, cap in caps.items():
            column = out[:, kept.index(name)]
            column[column > cap] = np.nan
        return out

    def _scorers(self) -> list:
        """Fast evaluators of the fitted pipelines (see ``engine.models._fast``).

        Derived from the fitted pipelines on each call (milliseconds), so models saved before
        they existed score the same way. A pipeline of a shape the fast path does not know is
        scored by the pipeline itself.
        """
        columns = self._schema.kept
        categories = {name: len(values) for name, values in self._schema.categories.items()}
        return [compile_pipeline(est, columns, categories) or _PipelineScorer(est, columns)
                for est in self.estimators_]

    def _raw_scores(self, internal: np.ndarray, scorers: list | None = None,
                    n_threads: int | None = None) -> np.ndarray:
        """Uncalibrated probability (the mean over ``estimators_``) of an internal matrix."""
        if n_threads is None:
            n_threads = scoring_threads(self.n_jobs, len(internal))
        scorers = self._scorers() if scorers is None else scorers
        out = np.empty(len(internal))
        for start in range(0, len(internal), _SCORE_CHUNK):
            chunk = internal[start:start + _SCORE_CHUNK]
            scores = [scorer.predict_positive(chunk, n_threads) for scorer in scorers]
            # Same arithmetic as np.mean over the list: the sum, then one division.
            out[start:start + _SCORE_CHUNK] = scores[0] if len(scores) == 1 else (
                np.sum(scores, axis=0) / len(scores))
        return out

    def _replaced_scores(self, internal: np.ndarray, typical: np.ndarray) -> np.ndarray:
        """Uncalibrated scores with each column in turn set to ``typical``: (n_columns, n).

        Block j equals ``_raw_scores`` of ``internal`` with column j replaced (what
        ``explain`` needs); boosting re-evaluates only the trees that split on column j.
        """
        n_threads = scoring_threads(self.n_jobs, internal.shape[0] * internal.shape[1])
        n, n_columns = internal.shape
        scores = []
        for scorer in self._scorers():
            if isinstance(scorer, BoostingScorer):
                # Few records, many small tree calls: one thread (no OpenMP barrier per tree).
                scores.append(scorer.replaced_positive(internal, typical, 1))
                continue
            batch = np.tile(internal, (n_columns, 1))
            for j in range(n_columns):
                batch[j * n:(j + 1) * n, j] = typical[j]
            block = np.empty(len(batch))
            for start in range(0, len(batch), _SCORE_CHUNK):
                block[start:start + _SCORE_CHUNK] = scorer.predict_positive(
                    batch[start:start + _SCORE_CHUNK], n_threads)
            scores.append(block.reshape(n_columns, n))
        return scores[0] if len(scores) == 1 else np.sum(scores, axis=0) / len(scores)

    def _raw_scores_reference(self, internal: np.ndarray) -> np.ndarray:
        """The same scores through the scikit-learn pipelines (slow; the fast path's oracle)."""
        frame = pd.DataFrame(internal, columns=self._schema.kept)
        return np.mean([est.predict_proba(frame)[:, 1] for est in self.estimators_], axis=0)

    def _calibrate(self, raw: np.ndarray) -> np.ndarray:
        return _apply_calibrator(self.calibrator_, raw)

    def compile_scorer(self) -> CompiledScorer:
        """The model's encodings and its fast scorers compiled once, for scoring record by record.

        ``predict_proba`` compiles the scorers on every call (milliseconds: nothing next to a
        million rows, most of the cost of one). ``scorer = model.compile_scorer()`` does it
        once; ``scorer.predict(matrix)`` equals ``predict_proba(X)[:, 1]`` for ``matrix`` the
        internal matrix of ``X`` (columns ``scorer.columns``; see ``to_internal_matrix``), on
        one thread.
        """
        self._check_fitted()
        scorers = self._scorers()
        schema = self._schema
        calibrate = compile_calibrator(self.calibrator_, self._calibrate)  # Platt without per-call checks

        def predict(internal: np.ndarray) -> np.ndarray:
            return calibrate(self._raw_scores(self._censored(internal, copy=True), scorers, 1))

        return CompiledScorer(columns=list(schema.kept), kinds=dict(schema.kinds),
                              categories={k: list(v) for k, v in schema.categories.items()},
                              datetime_reference=dict(schema.datetime_reference), predict=predict)

    def predict_proba(self, X: pd.DataFrame | npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Calibrated probabilities, shape (n_samples, 2); column 1 is ``classes_[1]``."""
        frame = self._checked_frame(X)
        if len(frame) == 0:
            return np.empty((0, 2))
        scorers = self._scorers()
        n_threads = scoring_threads(self.n_jobs, len(frame))
        raw = np.empty(len(frame))
        buffer = None
        with thread_limits(self.n_jobs):
            for start in range(0, len(frame), _SCORE_CHUNK):
                buffer = self._censored(to_internal_matrix(frame.iloc[start:start + _SCORE_CHUNK],
                                                           self._schema, out=buffer))
                raw[start:start + len(buffer)] = self._raw_scores(buffer, scorers, n_threads)
            p = self._calibrate(raw)
        return np.column_stack([1.0 - p, p])

    def predict(self, X: pd.DataFrame | npt.ArrayLike) -> np.ndarray:
        """The positive class where its calibrated probability is at least 0.5."""
        p = self.predict_proba(X)[:, 1]
        return self.classes_[(p >= 0.5).astype(int)]

    def explain(self, X: pd.DataFrame, top: int = 3, *,
                direction: Direction = "both") -> pd.DataFrame:
        """The top factors of each record's probability, with sign, size and words.

        See :func:`engine.models.explain` for the method and the columns returned.
        """
        from engine.models._explain import explain

        return explain(self, X, top=top, direction=direction)  # type: ignore[arg-type]  # the estimator

"""Auto classifiers for raw tabular data: candidate selection by CV, then calibration.

:class:`AutoClassifier` is the shared base of :class:`ChurnModel` and :class:`WinModel`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, NamedTuple

import numpy as np
import pandas as pd
import sklearn.exceptions
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import column_or_1d
from threadpoolctl import threadpool_limits

from engine import _errors
from engine._errors import DataError, InsufficientDataError
from engine.models._calibration import (  # noqa: F401  (CenteredIsotonic: old pickles)
    CenteredIsotonic,
    ShiftedCalibrator,
    _apply_calibrator,
    fit_calibration,
)
from engine.models._candidates import MAX_ONEHOT_CATEGORIES
from engine.models._columns import (
    BOOLEAN,
    CATEGORICAL,
    DATETIME,
    NUMERIC,
    ColumnSchema,
    check_columns,
    infer_schema,
    to_internal,
    to_internal_matrix,
)
from engine.models._fast import BoostingScorer, compile_pipeline
from engine.models._params import (
    CANDIDATE_GRID,
    FLAG,
    NONE,
    SPLITTER,
    Integer,
    Options,
    validate_params,
)
from engine.models._selection import refit, select_candidate

__all__ = ["AutoClassifier", "ChurnModel", "NotFittedError", "WinModel"]


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


class AutoClassifier(ClassifierMixin, BaseEstimator):
    """Binary classifier for a raw DataFrame that picks its model by cross-validation.

    ``fit`` checks every parameter first (``_parameter_constraints``), types every column
    (numeric, boolean, datetime, categorical), drops identifier-like and constant columns (see
    ``dropped_columns_``), turns datetimes into days before the latest training date, scores
    every candidate pipeline by its mean fold ROC AUC on the folds of ``cv`` (stratified
    K-fold, grouped when ``fit`` gets ``groups``, or any scikit-learn splitter), optionally
    adds the average of the best logistic and the best boosting candidate ("blend"), keeps the
    simplest candidate within one standard error of the best, refits it on all rows and
    calibrates its probabilities on held-out predictions (isotonic with enough data, else
    sigmoid).

    Parameters
    ----------
    candidates : dict or None, default=None
        Family -> grid (a list of parameter dicts, or a dict of lists). Families:
        ``"logistic"`` (parameters of :class:`~sklearn.linear_model.LogisticRegression`) and
        ``"hist_gradient_boosting"`` (parameters of
        :class:`~sklearn.ensemble.HistGradientBoostingClassifier`). None uses
        :data:`engine.models.DEFAULT_CANDIDATES`.
    blend : bool, default=True
        Also consider the mean of the best logistic and best boosting candidates' probabilities.
    cv : "auto", int, splitter or list of folds, default="auto"
        Folds for selection and calibration. "auto" is stratified 5-fold up to 50,000 rows,
        else 3 (grouped when ``fit`` gets ``groups``); an integer sets the number of folds; any
        scikit-learn splitter (``GroupKFold(3)``, :class:`engine.models.ForwardGroupSplit`,
        ``TimeSeriesSplit``) or an iterable of (train, validation) index pairs is used as given.
        Training frames of many as-of dates need a forward, grouped split: ``kam train`` uses
        :class:`~engine.models.ForwardGroupSplit` (see docs/models.md).
    calibration : {"auto", "isotonic", "sigmoid", "none"}, default="auto"
        "auto" is sigmoid below 2,000 rows or 200 of either class; above, isotonic or sigmoid,
        whichever has the lower cross-fitted log loss on the out-of-fold scores.
    min_rows, min_class_count : int, default=100, 40
        Minimum training rows and rows of each class; fewer raise InsufficientDataError.
    drop_identifiers : bool, default=True
        Drop columns unique per row (text, or integers that are a row number or named like an id).
    selection_max_rows : int or None, default=100_000
        Above this many rows, candidate selection and calibration use a stratified sample of
        this size (fold scores are precise long before that); the winner is refit on all rows.
        None uses every row.
    n_jobs : "auto", int or None, default="auto"
        Threads. Scoring a boosting model: chunks of 10,000 rows scored in parallel, each
        through all trees on one thread; "auto" uses one thread below 100,000 rows and one per
        core above, None one per core. Fitting: OpenMP/BLAS threads; "auto" is one (threads
        cost more than they save on the frames kam fits), None the libraries' default (all
        cores). On this project's 2-core machine the demo's 200-tree model scored 1M rows in
        2.8 s with two threads vs 4.4 s with one when the machine was otherwise idle, and no
        slower with two when the other core was busy; OpenMP threads inside each tree call,
        by contrast, were 4x slower on the busy machine.
    random_state : int or None, default=0
        Seed of the folds, the quantile subsample, target encoding and boosting.

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        Class labels; ``classes_[1]`` is the positive class (churned, won).
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when fitted on a DataFrame with string column names.
    feature_types_ : dict
        Used column -> kind.
    dropped_columns_ : dict
        Dropped column -> reason.
    datetime_reference_ : dict
        Datetime column -> the training date its "days before" are counted from.
    cv_results_ : pandas.DataFrame
        One row per candidate: mean and std of fold ROC AUC, fold log loss, fit seconds.
    selection_score_ : float
        The chosen candidate's mean fold ROC AUC.
    selection_choice_ : dict
        Why it was chosen: the simplest candidate within one standard error of the best
        (``best_candidate``, ``best_roc_auc``, ``standard_error``, ``tied_candidates``).
    cv_scheme_ : dict
        How the folds were made (scheme, number, grouping, gap), for the model card.
    n_calibration_rows_ : int
        Out-of-fold scores the calibrator was fitted on.
    recalibration_ : dict or None
        The recent-window check and its log-odds shift (``ForwardGroupSplit(recent_dates=...)``).
    selected_candidate_ : str
    calibration_method_ : str
    typical_values_ : dict
        Used column -> training median (numeric, datetime) or mode (boolean, categorical).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"complaints": rng.poisson(1.0, 400),
    ...                   "region": rng.choice(["north", "south"], 400)})
    >>> y = (X["complaints"] + rng.normal(0, 1, 400) > 1.5).astype(int)
    >>> model = ChurnModel(cv=3).fit(X, y)
    >>> model.predict_proba(X.head(2)).shape
    (2, 2)
    """

    _outcome = "probability"

    #: What each parameter accepts, checked by ``fit`` before any work (as scikit-learn's
    #: ``_parameter_constraints``; see ``engine.models._params``).
    _parameter_constraints: ClassVar[dict[str, list]] = {
        "candidates": [NONE, CANDIDATE_GRID],
        "blend": [FLAG],
        "cv": [Options(("auto",)), Integer(2), SPLITTER],
        "calibration": [Options(("auto", "isotonic", "sigmoid", "none"))],
        "min_rows": [Integer(1)],
        "min_class_count": [Integer(1)],
        "drop_identifiers": [FLAG],
        "selection_max_rows": [NONE, Integer(1)],
        "n_jobs": [Options(("auto",)), NONE, Integer(1)],
        "random_state": [NONE, Integer(0)],
    }

    def __init__(
        self,
        candidates: Mapping[str, Any] | None = None,
        *,
        blend: bool = True,
        cv: int | str = "auto",
        calibration: str = "auto",
        min_rows: int = 100,
        min_class_count: int = 40,
        drop_identifiers: bool = True,
        selection_max_rows: int | None = 100_000,
        n_jobs: int | str | None = "auto",
        random_state: int | None = 0,
    ):
        self.candidates = candidates
        self.blend = blend
        self.cv = cv
        self.calibration = calibration
        self.min_rows = min_rows
        self.min_class_count = min_class_count
        self.drop_identifiers = drop_identifiers
        self.selection_max_rows = selection_max_rows
        self.n_jobs = n_jobs
        self.random_state = random_state

    # -- scikit-learn plumbing ------------------------------------------------------------------
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        tags.classifier_tags.multi_class = False
        return tags

    def _check_fitted(self) -> None:
        if not hasattr(self, "estimators_"):
            raise NotFittedError(
                f"This {type(self).__name__} is not fitted yet. Expected a fitted model; got an "
                "unfitted one. Call fit(X, y) first, or load a trained model with "
                "engine.models.load_model(path)."
            )

    @staticmethod
    def _as_frame(X) -> tuple[pd.DataFrame, bool]:
        if isinstance(X, pd.DataFrame):
            return X, all(isinstance(c, str) for c in X.columns)
        if hasattr(X, "toarray") or hasattr(X, "tocsr"):
            raise TypeError(
                "Sparse input is not supported: expected a pandas DataFrame (or a dense 2-D "
                "array); got a sparse matrix. Convert it with .toarray() or pass a DataFrame."
            )
        array = np.asarray(X)
        if array.ndim != 2:
            raise ValueError(
                f"Expected 2D array or a DataFrame, got {array.ndim}D array instead. Reshape your "
                "data, e.g. array.reshape(-1, 1) for a single feature."
            )
        return pd.DataFrame(array, columns=[f"x{i}" for i in range(array.shape[1])]), False

    # -- fit ------------------------------------------------------------------------------------
    def fit(self, X, y, groups=None) -> AutoClassifier:
        """Type the columns, select a candidate by cross-validation, refit and calibrate.

        Parameters
        ----------
        X : pandas.DataFrame
            Raw features: any mix of numeric, boolean, datetime and text/categorical columns,
            with missing values. A 2-D array is accepted and named ``x0, x1, ...``.
        y : array-like of shape (n_samples,)
            Binary target (0/1, bool, or two labels; the larger label is the positive class).
        groups : array-like of shape (n_samples,), optional
            The account (or deal) of each row. With ``cv="auto"`` or an integer the folds are
            grouped (``StratifiedGroupKFold``): no group on both sides of a fold; a splitter
            given as ``cv`` receives them as in scikit-learn.

        Returns
        -------
        self
        """
        validate_params(self)  # every parameter, before any work
        frame, named = self._as_frame(X)
        with _thread_limits(self.n_jobs):
            return self._fit(frame, named, y, groups)

    def _fit(self, frame: pd.DataFrame, named: bool, y, groups) -> AutoClassifier:
        if frame.shape[0] == 0:
            raise InsufficientDataError(
                f"Found array with 0 sample(s) (shape={frame.shape}) while a minimum of "
                f"{self.min_rows} is required. Pass training rows."
            )
        if frame.shape[1] == 0:
            raise InsufficientDataError(
                f"Found array with 0 feature(s) (shape={frame.shape}) while a minimum of 1 is "
                "required. Pass at least one feature column."
            )
        y_codes = self._encode_target(y, len(frame))
        self._check_sufficient(y_codes)
        if frame.columns.duplicated().any():
            dupes = sorted(set(map(str, frame.columns[frame.columns.duplicated()])))
            raise DataError(f"Column names must be unique; got duplicates {dupes}. Rename them.")

        if named:
            self.feature_names_in_ = np.asarray(list(frame.columns), dtype=object)
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        self.n_features_in_ = frame.shape[1]
        self._fitted_on_frame = named

        schema = infer_schema(frame, drop_identifiers=self.drop_identifiers)
        if not schema.kept:
            raise DataError(
                "No usable feature columns: expected at least one column that is not constant, "
                f"empty or an identifier; got {schema.dropped}. Add informative columns."
            )
        self._schema = schema
        self.feature_types_ = dict(schema.kinds)
        self.dropped_columns_ = dict(schema.dropped)
        self.datetime_reference_ = dict(schema.datetime_reference)
        internal = to_internal(frame, schema)
        self.typical_values_ = self._typical_values(internal, schema)

        column_groups = self._column_groups(internal, schema)
        label = f"training {type(self).__name__}"
        selection = select_candidate(
            self.cv, frame, internal, y_codes, groups, column_groups, candidates=self.candidates,
            blend=self.blend, max_rows=self.selection_max_rows, random_state=self.random_state,
            label=label, n_workers=_fit_workers(self.n_jobs))
        self.n_selection_rows_ = int(selection.folds.scheme["selection_rows"])
        self.cv_scheme_ = selection.folds.scheme
        self.cv_n_splits_ = len(selection.folds.pairs)
        self.cv_results_ = selection.results
        self.selected_candidate_ = selection.candidate
        self.selection_choice_ = selection.choice
        self.selection_score_ = float(
            selection.results.set_index("candidate").loc[selection.candidate, "roc_auc_mean"])
        self.estimators_ = refit(selection.parts, internal, y_codes, column_groups,
                                 random_state=self.random_state, label=label)

        calibration = fit_calibration(
            self.calibration, self.cv, frame, internal, y_codes, groups, selection, column_groups,
            max_rows=self.selection_max_rows, random_state=self.random_state, label=label,
            n_workers=_fit_workers(self.n_jobs))
        self.calibration_method_ = calibration.method
        self.calibrator_ = calibration.calibrator
        self.n_calibration_rows_ = calibration.n_rows
        self.recalibration_ = calibration.recalibration
        if calibration.log_losses:
            self.calibration_log_loss_ = calibration.log_losses
        self.n_train_rows_ = len(frame)
        return self

    def _encode_target(self, y, n_rows: int) -> np.ndarray:
        y_array = np.asarray(y)
        if y_array.ndim == 2 and y_array.shape[1] == 1:
            y_array = column_or_1d(y_array, warn=True)
        if y_array.ndim != 1:
            raise ValueError(f"y should be a 1d array, got an array of shape {y_array.shape} instead.")
        if len(y_array) != n_rows:
            raise ValueError(
                f"X and y have inconsistent numbers of samples: X has {n_rows} rows, y has "
                f"{len(y_array)}. Pass one label per row."
            )
        if pd.isna(y_array).any():
            raise DataError(
                f"y has {int(pd.isna(y_array).sum())} missing labels; expected every training row "
                "to be labelled. Drop unlabelled rows before fit."
            )
        if y_array.dtype.kind == "f" and not np.isfinite(y_array).all():
            raise ValueError(
                "Input y contains infinity or a value too large for dtype('float64'). Expected "
                "binary labels; fix the target column."
            )
        target_type = type_of_target(y_array)
        if target_type == "continuous":
            raise ValueError(
                "Unknown label type: continuous. Expected a binary target (0/1, bool or two "
                "labels); got continuous values. Threshold or label your target first."
            )
        classes, codes = np.unique(y_array, return_inverse=True)
        if len(classes) > 2:
            raise ValueError(
                "Only binary classification is supported. Expected 2 classes; got "
                f"{len(classes)} "
                f"({list(classes)[:10]}). Churn and win are yes/no outcomes."
            )
        self.classes_ = classes
        return codes.astype(np.int64)

    def _check_sufficient(self, codes: np.ndarray) -> None:
        n = len(codes)
        counts = np.bincount(codes, minlength=2)
        if len(self.classes_) < 2:
            raise InsufficientDataError(
                f"Training needs both outcomes; got only one class ({_plain(self.classes_[0])!r}) in {n} "
                "rows. "
                "Widen the training window or check the target definition."
            )
        problems = []
        if n < self.min_rows:
            problems.append(f"{n} rows (minimum {self.min_rows})")
        for label, count in zip(self.classes_, counts):
            if count < self.min_class_count:
                problems.append(f"{count} rows of class {_plain(label)!r} "
                                f"(minimum {self.min_class_count})")
        if problems:
            raise InsufficientDataError(
                f"Too little data to train {type(self).__name__}: got " + "; ".join(problems)
                + ". Expected at least the minimums (see docs/models.md, 'Minimums'). Fix: widen "
                "the training window (more as-of dates), or lower min_rows/min_class_count if "
                "you accept a less reliable model."
            )

    @staticmethod
    def _column_groups(internal: pd.DataFrame, schema: ColumnSchema) -> dict[str, list[str]]:
        numeric: list[str] = []
        skewed: list[str] = []
        binary: list[str] = []
        low: list[str] = []
        high: list[str] = []
        for name in schema.kept:
            kind = schema.kinds[name]
            if kind == CATEGORICAL:
                (low if internal[name].nunique() <= MAX_ONEHOT_CATEGORIES else high).append(name)
            elif kind == BOOLEAN or internal[name].nunique() <= 2:
                binary.append(name)
            else:
                numeric.append(name)
                column = internal[name]
                if column.min() >= 0 and column.skew() > 1.0:
                    skewed.append(name)
        return {"numeric": numeric, "skewed": skewed, "binary": binary, "categorical_low": low,
                "categorical_high": high}

    @staticmethod
    def _typical_values(internal: pd.DataFrame, schema: ColumnSchema) -> dict[str, Any]:
        typical: dict[str, Any] = {}
        for name in schema.kept:
            column = internal[name]
            if schema.kinds[name] in (NUMERIC, DATETIME):
                value = column.median()
                typical[name] = float(value) if pd.notna(value) else np.nan
            else:
                modes = column.dropna().mode()
                typical[name] = modes.iloc[0] if len(modes) else np.nan
        return typical

    # -- predict --------------------------------------------------------------------------------
    def _internal(self, X) -> np.ndarray:
        """The internal float64 matrix of ``X`` (training column order), columns checked."""
        return to_internal_matrix(self._checked_frame(X), self._schema)

    def _checked_frame(self, X) -> pd.DataFrame:
        """``X`` as a frame with the training column names, columns checked."""
        self._check_fitted()
        frame, _ = self._as_frame(X)
        if not self._fitted_on_frame or not isinstance(X, pd.DataFrame):
            if frame.shape[1] != self.n_features_in_:
                raise ValueError(
                    f"X has {frame.shape[1]} features, but {type(self).__name__} is expecting "
                    f"{self.n_features_in_} features as input. Pass the same columns as at fit."
                )
            if self._fitted_on_frame:
                frame = frame.set_axis(list(self.feature_names_in_), axis=1)
            else:
                frame = frame.set_axis(self._schema.columns, axis=1)
        check_columns(frame, self._schema)
        return frame

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
            n_threads = _scoring_threads(self.n_jobs, len(internal))
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
        n_threads = _scoring_threads(self.n_jobs, internal.shape[0] * internal.shape[1])
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

        def predict(internal: np.ndarray) -> np.ndarray:
            return self._calibrate(self._raw_scores(internal, scorers, 1))

        return CompiledScorer(columns=list(schema.kept), kinds=dict(schema.kinds),
                              categories={k: list(v) for k, v in schema.categories.items()},
                              datetime_reference=dict(schema.datetime_reference), predict=predict)

    def predict_proba(self, X) -> np.ndarray:
        """Calibrated probabilities, shape (n_samples, 2); column 1 is ``classes_[1]``."""
        frame = self._checked_frame(X)
        if len(frame) == 0:
            return np.empty((0, 2))
        scorers = self._scorers()
        n_threads = _scoring_threads(self.n_jobs, len(frame))
        raw = np.empty(len(frame))
        buffer = None
        with _thread_limits(self.n_jobs):
            for start in range(0, len(frame), _SCORE_CHUNK):
                buffer = to_internal_matrix(frame.iloc[start:start + _SCORE_CHUNK], self._schema,
                                            out=buffer)
                raw[start:start + len(buffer)] = self._raw_scores(buffer, scorers, n_threads)
            p = self._calibrate(raw)
        return np.column_stack([1.0 - p, p])

    def predict(self, X) -> np.ndarray:
        """The positive class where its calibrated probability is at least 0.5."""
        p = self.predict_proba(X)[:, 1]
        return self.classes_[(p >= 0.5).astype(int)]

    def explain(self, X, top: int = 3, *, direction: str = "both") -> pd.DataFrame:
        """The top factors of each record's probability, with sign, size and words.

        See :func:`engine.models.explain` for the method and the columns returned.
        """
        from engine.models._explain import explain

        return explain(self, X, top=top, direction=direction)


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


#: With n_jobs="auto", scoring uses every core from this many rows on (below, one thread:
#: starting threads costs more than they save).
AUTO_THREADS_MIN_ROWS = 100_000


def _check_n_jobs(n_jobs) -> None:
    if n_jobs is None or n_jobs == "auto" or (
            isinstance(n_jobs, (int, np.integer)) and not isinstance(n_jobs, bool) and n_jobs >= 1):
        return
    raise ValueError(f"n_jobs must be 'auto', None or a positive integer; got {n_jobs!r}.")


def _scoring_threads(n_jobs: int | str | None, n_rows: int) -> int:
    """Threads for scoring ``n_rows`` rows (see the ``n_jobs`` parameter)."""
    _check_n_jobs(n_jobs)
    if n_jobs == "auto":
        return 1 if n_rows < AUTO_THREADS_MIN_ROWS else (os.cpu_count() or 1)
    if n_jobs is None:
        return os.cpu_count() or 1
    return int(n_jobs)


def _fit_workers(n_jobs: int | str | None) -> int:
    """Fold fits run at once: one per core under "auto" and None, else ``n_jobs``."""
    _check_n_jobs(n_jobs)
    if n_jobs in ("auto", None):
        return os.cpu_count() or 1
    return int(n_jobs)


def _thread_limits(n_jobs: int | str | None):
    # OpenMP threads in gradient boosting cost far more than they save on small frames, and
    # badly so on a busy machine (measured 10x slower on 2,400 rows with 2 cores).
    _check_n_jobs(n_jobs)
    return threadpool_limits(limits=1 if n_jobs == "auto" else n_jobs)


class ChurnModel(AutoClassifier):
    """Probability that an account churns (no order within the horizon after the as-of date).

    Same behaviour and parameters as :class:`AutoClassifier`; ``explain`` words factors as
    raising or lowering churn risk.
    """

    _outcome = "churn risk"


class WinModel(AutoClassifier):
    """Probability that an open opportunity is later won.

    Same behaviour and parameters as :class:`AutoClassifier`; ``explain`` words factors as
    raising or lowering the chance of winning.
    """

    _outcome = "chance of winning"

"""Auto classifiers for raw tabular data: candidate selection by CV, then calibration.

:class:`AutoClassifier` is the shared base of :class:`ChurnModel` and :class:`WinModel`. This
module holds the estimator and its ``fit``; what ``fit`` accepts is checked in
``engine.models._inputs``, scoring lives in ``engine.models._scoring`` (``ScoringMixin``) and
the thread settings in ``engine.models._threads``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal, Self, get_args

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin

from engine._errors import ColumnMismatchError, DataError, InsufficientDataError
from engine._suggest import did_you_mean
from engine.models._calibration import (  # noqa: F401  (CenteredIsotonic: old pickles)
    CenteredIsotonic,
    ShiftedCalibrator,
    fit_calibration,
)
from engine.models._candidates import MAX_ONEHOT_CATEGORIES
from engine.models._columns import (
    BOOLEAN,
    CATEGORICAL,
    DATETIME,
    NUMERIC,
    ColumnSchema,
    infer_schema,
    to_internal,
)
from engine.models._inputs import as_frame, check_sufficient, encode_target
from engine.models._params import (
    CANDIDATE_GRID,
    FLAG,
    NONE,
    NUMBER_MAP,
    SPLITTER,
    Integer,
    Options,
    validate_params,
)
from engine.models._scoring import CompiledScorer, NotFittedError, ScoringMixin
from engine.models._selection import refit, select_candidate
from engine.models._threads import fit_workers, thread_limits
from engine.models._types import CV, Calibration

__all__ = ["AutoClassifier", "ChurnModel", "CompiledScorer", "NotFittedError", "WinModel"]


class AutoClassifier(ScoringMixin, ClassifierMixin, BaseEstimator):
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
    censor_above : dict or None, default=None
        Numeric column -> the largest value that means the same at every date; a larger
        value is treated as missing, at fit and at scoring alike. For "days since" features
        of a short history: at an early training date nothing older than the history can
        show, while at scoring it can, so the same account looks different. ``kam train``
        sets it from the data (see docs/models.md, "Short histories"); the card records it.

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
        "calibration": [Options(get_args(Calibration))],
        "min_rows": [Integer(1)],
        "min_class_count": [Integer(1)],
        "drop_identifiers": [FLAG],
        "selection_max_rows": [NONE, Integer(1)],
        "n_jobs": [Options(("auto",)), NONE, Integer(1)],
        "random_state": [NONE, Integer(0)],
        "censor_above": [NONE, NUMBER_MAP],
    }

    def __init__(
        self,
        candidates: Mapping[str, Any] | None = None,
        *,
        blend: bool = True,
        cv: CV = "auto",
        calibration: Calibration = "auto",
        min_rows: int = 100,
        min_class_count: int = 40,
        drop_identifiers: bool = True,
        selection_max_rows: int | None = 100_000,
        n_jobs: int | Literal["auto"] | None = "auto",
        random_state: int | None = 0,
        censor_above: Mapping[str, float] | None = None,
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
        self.censor_above = censor_above

    def __setstate__(self, state: dict[str, Any]) -> None:
        # Models saved before censor_above existed: no column censored.
        state.setdefault("censor_above", None)
        super().__setstate__(state)

    # -- scikit-learn plumbing ------------------------------------------------------------------
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        tags.classifier_tags.multi_class = False
        return tags

    # -- fit ------------------------------------------------------------------------------------
    def fit(self, X: pd.DataFrame | npt.ArrayLike, y: npt.ArrayLike,
            groups: npt.ArrayLike | None = None) -> Self:
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
        Self
            The fitted model.
        """
        validate_params(self)  # every parameter, before any work
        frame, named = as_frame(X)
        with thread_limits(self.n_jobs):
            return self._fit(frame, named, y, groups)

    def _fit(self, frame: pd.DataFrame, named: bool, y: npt.ArrayLike, groups: npt.ArrayLike | None) -> Self:
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
        self.classes_, y_codes = encode_target(y, len(frame))
        check_sufficient(type(self).__name__, self.classes_, y_codes, min_rows=self.min_rows,
                         min_class_count=self.min_class_count)
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
        self._check_censor(frame, schema)
        internal = self._censored(to_internal(frame, schema))
        self.typical_values_ = self._typical_values(internal, schema)

        column_groups = self._column_groups(internal, schema)
        label = f"training {type(self).__name__}"
        selection = select_candidate(
            self.cv, frame, internal, y_codes, groups, column_groups, candidates=self.candidates,
            blend=self.blend, max_rows=self.selection_max_rows, random_state=self.random_state,
            label=label, n_workers=fit_workers(self.n_jobs))
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
            n_workers=fit_workers(self.n_jobs))
        self.calibration_method_ = calibration.method
        if calibration.method == "none":  # no calibration folds were fitted: the card must not say so
            self.cv_scheme_ = {**self.cv_scheme_, "calibration": "none: the chosen candidate's own probabilities"}
        self.calibrator_ = calibration.calibrator
        self.n_calibration_rows_ = calibration.n_rows
        self.recalibration_ = calibration.recalibration
        if calibration.log_losses:
            self.calibration_log_loss_ = calibration.log_losses
        self.n_train_rows_ = len(frame)
        return self

    def _check_censor(self, frame: pd.DataFrame, schema: ColumnSchema) -> None:
        caps = dict(self.censor_above or {})
        missing = [name for name in caps if name not in frame.columns]
        if missing:
            raise ColumnMismatchError(
                f"censor_above names columns the training frame does not have: expected names among "
                f"{list(map(str, frame.columns))[:20]}; got {missing[0]!r}"
                f"{did_you_mean(missing[0], list(map(str, frame.columns)))}. Fix: pass the training columns.")
        wrong = [name for name in caps if schema.kinds.get(name, NUMERIC) != NUMERIC]
        if wrong:
            raise DataError(
                f"censor_above: expected numeric columns; got {wrong[0]!r} of kind "
                f"{schema.kinds[wrong[0]]}. Fix: censor numeric columns only.")
        for name, cap in caps.items():
            if name not in schema.kept:
                continue
            values = pd.to_numeric(frame[name], errors="coerce")
            if not (values <= cap).any():  # censoring would leave the column without a value
                raise DataError(
                    f"censor_above[{name!r}] = {cap!r} leaves the column without a value: expected a cap "
                    f"at or above some of its training values; got values from {values.min()!r} up. "
                    "Fix: raise the cap, or leave the column out of the training frame.")

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

"""Fast scoring: the fitted candidate pipelines folded into per-column numpy evaluation.

The fitted scikit-learn pipelines stay the model (they are what ``fit`` learns, what is saved
and what the tests compare against). For scoring many rows this module derives, from a fitted
pipeline, an equivalent evaluator that skips scikit-learn's per-call validation, DataFrame
handling and the wide intermediate matrices:

* logistic: the decision function is additive over input columns (imputation, missing
  indicators, quantile splines, one-hot and target encoding are all per column; scaling and
  the linear model are linear), so it is an intercept plus one term per column: ``np.interp``
  on the spline knots (a sum of hat functions weighted by coefficients is the linear
  interpolation of the coefficients), a constant for missing values, and a lookup table over
  the training codes for categoricals;
* histogram gradient boosting: each chunk is binned straight from the internal matrix -
  numeric features at the thresholds the trees split on (the nodes are rewritten to those
  bins), categoricals through one table per column over the internal codes that replays the
  ordinal encoder(s) and the binner (native categorical splits: both encoders; codes read as
  numbers, ``categorical_encoding: ordinal``: the pipeline's encoder, then the split thresholds) -
  and summed over the trees with scikit-learn's binned predictor (uint8 rows are 8x smaller
  than float64 ones, so a chunk stays in cache for all trees); chunks run in parallel on
  threads when asked, each chunk on one thread.

Up to :data:`FEW_ROWS` rows (one lead on the live path) both are scored from flat arrays
instead (``engine.models._few_rows``: all trees walked together, all spline columns
interpolated at once), with the same arithmetic in the same order; the boosting walk is
attached only after it scored a probe exactly as the tree predictors did. A fitted Platt
calibrator is applied without scikit-learn's per-call checks (:func:`compile_calibrator`).

Every evaluator reproduces the pipeline's probabilities up to floating-point noise; the test
``tests/models/test_fast.py`` checks the difference is below 1e-9 for each candidate type,
``tests/models/test_fast_rows.py`` that the few-row paths equal the many-row ones bit for bit.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd
import sklearn
from scipy.special import expit
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline

from engine._errors import DataError
from engine.models._few_rows import FlatForest, SplineTable

__all__ = ["compile_pipeline", "compile_calibrator", "LinearScorer", "BoostingScorer", "FlatForest"]

#: Rows per chunk for boosting: the binned chunk (uint8, one byte per feature) stays in the
#: 2 MiB L2 cache while all trees pass over it, and a 100,000-row scoring chunk splits evenly
#: over 2 threads.
BOOSTING_CHUNK = 10_000

#: Up to this many rows boosting is scored by :class:`FlatForest` (all trees walked together)
#: rather than by one binned-predictor call per tree, and logistic by
#: :meth:`LinearScorer.decision_few`. Measured on the demo's win model (150 trees, 4,350
#: nodes; 26 spline columns): one row 0.1 against 1.0 ms for boosting, 0.06 against 0.17 ms
#: for logistic; boosting costs the same both ways at about 25 rows.
FEW_ROWS = 16


def _probe_codes(n_categories: int) -> np.ndarray:
    """Every value a categorical internal column can hold: NaN, -1 (unseen), 0..n-1."""
    return np.r_[np.nan, -1.0, np.arange(n_categories, dtype=float)]


def _code_slots(codes: np.ndarray) -> np.ndarray:
    """Row of each internal code in a table built on :func:`_probe_codes` (NaN -> 0)."""
    slots = np.where(np.isnan(codes), -2.0, codes) + 2.0
    return slots.astype(np.intp)


class LinearScorer:
    """Decision function of a fitted logistic candidate as per-column terms.

    Built by :func:`compile_pipeline`; ``predict_positive(matrix)`` gives the positive-class
    probability for an internal matrix (training column order, float64).
    """

    def __init__(self, intercept: float, splines: list, linears: list, tables: list,
                 names: list[str]):
        self.intercept = intercept
        self.names = names        # internal column names, for error messages
        self.splines = splines    # (column, fill, knots, weights, missing_weight)
        self.linears = linears    # (column, fill, weight, logged, missing_weight)
        self.tables = tables      # (column, table over _probe_codes)
        self._knots_of: SplineTable | None = None  # the splines side by side, made on first use

    def _finite(self, x: np.ndarray, column: int) -> None:
        # The pipeline's imputer refused infinity; so does this path, naming the column.
        if np.isinf(x).any():
            raise DataError(
                f"Column {self.names[column]!r} holds infinite values; the logistic model "
                "expected finite numbers or missing values. Replace infinities (e.g. with "
                "NaN) before scoring."
            )

    def decision(self, matrix: np.ndarray) -> np.ndarray:
        out = np.full(matrix.shape[0], self.intercept)
        for column, fill, knots, weights, missing_weight in self.splines:
            x = matrix[:, column]
            self._finite(x, column)
            missing = np.isnan(x)
            term = np.interp(x, knots, weights)
            if missing.any():
                term[missing] = np.interp(fill, knots, weights) + missing_weight
            out += term
        for column, fill, weight, logged, missing_weight in self.linears:
            x = matrix[:, column]
            self._finite(x, column)
            missing = np.isnan(x)
            value = np.where(missing, fill, x)
            if logged:
                value = np.sign(value) * np.log1p(np.abs(value))
            out += weight * value
            if missing_weight and missing.any():
                out[missing] += missing_weight
        for column, table in self.tables:
            out += table[_code_slots(matrix[:, column])]
        return out

    def _knots(self) -> SplineTable:
        if self._knots_of is None:
            self._knots_of = SplineTable(self.splines, self.linears)
        return self._knots_of

    def decision_few(self, matrix: np.ndarray) -> np.ndarray:
        """:meth:`decision` for a few rows: the same terms, computed across columns at once.

        :meth:`decision` spends half a dozen numpy calls per column (for one row, all fixed
        cost); here each spline column needs one ``np.interp`` and the rest is done for all
        columns together. The terms are then added in :meth:`decision`'s order
        (``np.cumsum`` adds one after the other), so the result is the same.
        """
        n = matrix.shape[0]
        knots = self._knots()
        checked = matrix[:, knots.checked_columns]
        infinite = np.isinf(checked).any(axis=0)
        if infinite.any():  # the first such column, named as decision() names it
            first = int(knots.checked_columns[int(np.flatnonzero(infinite)[0])])
            self._finite(matrix[:, first], first)
        splines, linears = checked[:, :len(self.splines)], checked[:, len(self.splines):]
        terms = np.empty((n, 1 + len(self.splines) + 2 * len(self.linears) + len(self.tables)))
        terms[:, 0] = self.intercept
        at = 1
        if self.splines:
            terms[:, at:at + len(self.splines)] = np.where(np.isnan(splines), knots.missing_terms,
                                                           knots.interp(splines))
            at += len(self.splines)
        if self.linears:
            missing = np.isnan(linears)
            value = np.where(missing, knots.linear_fills, linears)
            logged = knots.linear_logged
            value[:, logged] = np.sign(value[:, logged]) * np.log1p(np.abs(value[:, logged]))
            terms[:, at:at + 2 * len(self.linears):2] = knots.linear_weights * value
            terms[:, at + 1:at + 2 * len(self.linears):2] = np.where(missing, knots.linear_missing_weights, 0.0)
            at += 2 * len(self.linears)
        for k, (column, table) in enumerate(self.tables):
            terms[:, at + k] = table[_code_slots(matrix[:, column])]
        return np.cumsum(terms, axis=1)[:, -1]

    def predict_positive(self, matrix: np.ndarray, n_threads: int = 1) -> np.ndarray:
        return expit(self.decision_few(matrix) if matrix.shape[0] <= FEW_ROWS else self.decision(matrix))


class BoostingScorer:
    """A fitted boosting candidate: input matrix by lookup, own binning, binned predictors.

    Parameters
    ----------
    model : HistGradientBoostingClassifier
        The pipeline's fitted model.
    columns : list of int
        Internal column of each model feature, in the model's feature order.
    tables : dict
        Model feature -> the value the model reads for each internal code (a table over
        :func:`_probe_codes`), for the features the pipeline's ordinal encoder feeds: native
        categoricals (both encoders replayed) and codes read as numbers
        (``categorical_encoding: ordinal``: the first encoder only).
    """

    def __init__(self, model, columns: list[int], tables: dict[int, np.ndarray]):
        self.model = model
        mapper = model._bin_mapper
        self.thresholds = mapper.bin_thresholds_
        self.is_categorical = np.asarray(model._is_categorical_remapped
                                         if model._is_categorical_remapped is not None
                                         else np.zeros(len(self.thresholds), bool))
        self.missing_bin = mapper.missing_values_bin_idx_
        self.thresholds, self.predictors = _coarse_bins(
            [p[0] for p in model._predictors], self.thresholds, self.is_categorical,
            self.missing_bin)
        self.baseline = float(np.asarray(model._baseline_prediction).ravel()[0])
        self.model_columns = list(columns)
        self.tables = tables
        # The model features each tree splits on.
        self.tree_features = [
            set(p.nodes["feature_idx"][p.nodes["is_leaf"] == 0].tolist()) for p in self.predictors]
        # Coded model feature -> bin per internal code: an internal column with a handful of
        # codes is binned by one lookup, whether its splits are categorical or numeric.
        self.code_bins = {j: self._category_bins(table, j) if self.is_categorical[j]
                          else self._numeric_bins(table, j) for j, table in tables.items()}
        #: The few-row path (:class:`FlatForest`), attached by :func:`compile_pipeline` once
        #: it agrees with the predictors; None scores every row count by the predictors.
        self.forest: FlatForest | None = None

    def _model_matrix(self, matrix: np.ndarray) -> np.ndarray:
        """The matrix the boosting model's predictors read (after its own preprocessor)."""
        out = np.empty((matrix.shape[0], len(self.model_columns)))
        for j, column in enumerate(self.model_columns):
            x = matrix[:, column]
            out[:, j] = self.tables[j][_code_slots(x)] if j in self.tables else x
        return out

    def _category_bins(self, values: np.ndarray, j: int) -> np.ndarray:
        """Bins of model values of categorical feature ``j``: a known category's bin, else the
        missing bin, which is where the raw predictor sends categories it never saw."""
        thresholds = self.thresholds[j]
        position = np.searchsorted(thresholds, values)
        inside = np.minimum(position, len(thresholds) - 1)
        known = (position < len(thresholds)) & (thresholds[inside] == values)
        return np.where(known, inside, self.missing_bin).astype(np.uint8)

    def _numeric_bins(self, values: np.ndarray, j: int) -> np.ndarray:
        """Bins of model values of numeric feature ``j``, as :meth:`_binned` bins a numeric column."""
        position = np.searchsorted(self.thresholds[j], values, side="left")
        return np.where(np.isnan(values), self.missing_bin, position).astype(np.uint8)

    def _binned(self, matrix: np.ndarray) -> np.ndarray:
        """The uint8 matrix the rewritten trees read, straight from the internal matrix."""
        binned = np.empty((matrix.shape[0], len(self.model_columns)), dtype=np.uint8)
        for j, column in enumerate(self.model_columns):
            x = matrix[:, column]
            thresholds = self.thresholds[j]
            if j in self.code_bins:
                binned[:, j] = self.code_bins[j][_code_slots(x)]
            elif len(thresholds) == 0:
                binned[:, j] = 0  # no tree splits on this feature
            else:
                # The number of split thresholds below x: x <= threshold k <=> bin <= k.
                if len(thresholds) <= _COMPARE_MAX:
                    # A few vectorised comparisons beat a binary search per value.
                    position: np.ndarray = np.zeros(len(x), dtype=np.uint8)
                    for threshold in thresholds:
                        position += x > threshold
                else:
                    position = np.searchsorted(thresholds, x, side="left")
                binned[:, j] = np.where(np.isnan(x), self.missing_bin, position)
        return binned

    def _raw(self, binned: np.ndarray, n_threads: int) -> np.ndarray:
        total = np.full(binned.shape[0], self.baseline)
        for predictor in self.predictors:
            total += predictor.predict_binned(binned, self.missing_bin, n_threads)
        return total

    def predict_positive(self, matrix: np.ndarray, n_threads: int = 1) -> np.ndarray:
        if matrix.shape[0] <= FEW_ROWS and self.forest is not None:
            return expit(self.forest.raw(matrix))
        return self.predict_chunked(matrix, n_threads)

    def predict_chunked(self, matrix: np.ndarray, n_threads: int = 1) -> np.ndarray:
        """:meth:`predict_positive` by the binned predictors, whatever the number of rows."""
        starts = range(0, matrix.shape[0], BOOSTING_CHUNK)

        def chunk_raw(start: int) -> np.ndarray:
            # One thread per chunk: OpenMP inside each tree call waits for every thread at
            # every tree, which on a busy machine made 2 threads 4x slower than one.
            binned = self._binned(matrix[start:start + BOOSTING_CHUNK])
            return self._raw(binned, 1)

        if n_threads > 1 and len(starts) > 1:
            with ThreadPoolExecutor(min(n_threads, len(starts))) as pool:
                parts = list(pool.map(chunk_raw, starts))
        else:
            parts = [chunk_raw(start) for start in starts]
        return expit(np.concatenate(parts) if parts else np.empty(0))

    def replaced_positive(self, matrix: np.ndarray, typical: np.ndarray,
                          n_threads: int = 1) -> np.ndarray:
        """Probabilities with each internal column in turn set to ``typical``: (n_columns, n).

        Equal to scoring every replaced copy of ``matrix``, but a tree that never splits on
        a column gives the unchanged leaf value of the record, so only the trees that use the
        replaced column are evaluated again; the sums run over the trees in the same order.
        """
        binned = self._binned(matrix)
        typical_binned = self._binned(typical[None, :])[0]
        leaves = [p.predict_binned(binned, self.missing_bin, n_threads) for p in self.predictors]
        base = np.full(binned.shape[0], self.baseline)
        for values in leaves:
            base += values
        out = np.empty((matrix.shape[1], matrix.shape[0]))
        out[:] = expit(base)
        for feature, column in enumerate(self.model_columns):
            users = [t for t, p in enumerate(self.predictors) if feature in self.tree_features[t]]
            if not users:
                continue
            replaced = binned.copy()
            replaced[:, feature] = typical_binned[feature]
            moved = dict(zip(users, (self.predictors[t].predict_binned(
                replaced, self.missing_bin, n_threads) for t in users)))
            total = np.full(binned.shape[0], self.baseline)
            for t, values in enumerate(leaves):
                total += moved.get(t, values)
            out[column] = expit(total)
        return out


#: Up to this many split thresholds a feature is binned by comparisons, above by searchsorted.
_COMPARE_MAX = 32


def _coarse_bins(predictors: list, thresholds: list, is_categorical: np.ndarray,
                 missing_bin: int) -> tuple[list, list]:
    """Bins at the thresholds the trees split on, and the trees rewritten to them.

    The model's binner has up to 255 bins per feature, but a tree ensemble splits on far fewer
    thresholds; binning against only those (the raw predictor's ``num_threshold``, so that
    ``x <= threshold`` decides exactly as it does) is several times cheaper, and a numeric
    node's ``bin_threshold`` becomes the index of its threshold in that list. Categorical
    features keep the model's bins. Returns the model's own binning if a feature would need the
    missing-value bin (never with 255 bins).
    """
    coarse: list = []
    for j, model_thresholds in enumerate(thresholds):
        if is_categorical[j]:
            coarse.append(model_thresholds)
            continue
        used = [p.nodes["num_threshold"][(p.nodes["is_leaf"] == 0) & (p.nodes["feature_idx"] == j)
                                         & (p.nodes["is_categorical"] == 0)] for p in predictors]
        coarse.append(np.unique(np.concatenate(used)) if used else np.empty(0))
    if any(len(c) >= missing_bin for c, cat in zip(coarse, is_categorical) if not cat):
        return list(thresholds), predictors
    rewritten = []
    for p in predictors:
        nodes = p.nodes.copy()
        split = (nodes["is_leaf"] == 0) & (nodes["is_categorical"] == 0)
        for k in np.flatnonzero(split):
            feature = nodes["feature_idx"][k]
            nodes["bin_threshold"][k] = np.searchsorted(coarse[feature], nodes["num_threshold"][k])
        rewritten.append(type(p)(nodes, p.binned_left_cat_bitsets, p.raw_left_cat_bitsets))
    return coarse, rewritten


def _transform(transformer, grid: np.ndarray) -> np.ndarray:
    """``transformer.transform(grid)``, named like its training input when it had names."""
    names = getattr(transformer, "feature_names_in_", None)
    if names is not None:
        grid = pd.DataFrame(grid, columns=list(names))
    return np.asarray(transformer.transform(grid), dtype=float)


def _transformer_parts(encode: ColumnTransformer) -> list[tuple[str, Any, list[str], slice]]:
    return [(name, transformer, list(columns), encode.output_indices_[name])
            for name, transformer, columns in encode.transformers_
            if name != "remainder" and transformer != "drop"]


def _compile_logistic(pipe: Pipeline, columns: list[str], categories: dict[str, int]):
    encode, scale, model = pipe.named_steps["encode"], pipe.named_steps["scale"], pipe.named_steps["model"]
    if model.coef_.shape[0] != 1:
        return None
    scale_ = scale.scale_ if scale.scale_ is not None else np.ones_like(model.coef_[0])
    mean_ = scale.mean_ if scale.mean_ is not None else np.zeros_like(model.coef_[0])
    weights = model.coef_[0] / scale_
    intercept = float(model.intercept_[0] - np.dot(model.coef_[0], mean_ / scale_))
    position = {name: i for i, name in enumerate(columns)}
    splines: list = []
    linears: list = []
    tables: list = []
    missing_weight: dict[str, float] = {}
    for name, transformer, cols, out in _transformer_parts(encode):
        w = weights[out]
        if name == "missing":
            for k, feature in enumerate(transformer.features_):
                missing_weight[cols[feature]] = float(w[k])
        elif name == "numeric":
            impute, spline = transformer.named_steps["impute"], transformer.named_steps["spline"]
            if len(impute.statistics_) != len(cols) or np.isnan(impute.statistics_).any():
                return None
            offset = 0
            for col, fill, knots in zip(cols, impute.statistics_, spline.knots_):
                width = len(knots)
                splines.append([position[col], float(fill),
                                knots if width > 1 else np.r_[knots, knots[0] + 1.0],
                                w[offset:offset + width] if width > 1 else np.r_[w[offset], w[offset]]])
                offset += width
        elif name in ("linear", "log", "binary"):
            impute = transformer.named_steps["impute"] if isinstance(transformer, Pipeline) else transformer
            statistics = np.asarray(impute.statistics_, dtype=float)
            if len(statistics) != len(cols) or np.isnan(statistics).any():
                return None
            for k, (col, fill) in enumerate(zip(cols, statistics)):
                linears.append([position[col], float(fill), float(w[k]), name == "log"])
        elif name in ("onehot", "target"):
            # Per-column lookup over every code: vary one column, hold the others at their
            # first training code; the held columns' share is added to the intercept once.
            probes = [_probe_codes(categories[c]) for c in cols]
            rows = max(len(p) for p in probes)
            reference = np.array([[p[2] for p in probes]])
            base = float((_transform(transformer, reference) @ w)[0])
            intercept += base
            for k, (col, probe) in enumerate(zip(cols, probes)):
                grid = np.repeat(reference, rows, axis=0)
                grid[:len(probe), k] = probe
                values = _transform(transformer, grid)[:len(probe)] @ w
                tables.append((position[col], np.asarray(values - base, dtype=float)))
        else:
            return None
    for spline in splines:
        spline.append(missing_weight.pop(columns[spline[0]], 0.0))
    for linear in linears:
        linear.append(missing_weight.pop(columns[linear[0]], 0.0))
    if missing_weight:
        return None
    return LinearScorer(intercept, [tuple(s) for s in splines],
                        [(c, f, wt, lg, mw) for c, f, wt, lg, mw in linears], tables, columns)


def _compile_boosting(pipe: Pipeline, columns: list[str], categories: dict[str, int]):
    encode, model = pipe.named_steps["encode"], pipe.named_steps["model"]
    if getattr(model, "n_trees_per_iteration_", 1) != 1:
        return None
    position = {name: i for i, name in enumerate(columns)}
    # Columns entering the boosting model, in the encode step's output order.
    entering: list[tuple[str, Any]] = []
    for name, transformer, cols, _ in _transformer_parts(encode):
        if name == "numeric":
            entering += [(c, None) for c in cols]
        elif name == "categorical":
            entering += [(c, (transformer, k, len(cols))) for k, c in enumerate(cols)]
        else:
            return None
    preprocessor = model._preprocessor
    if preprocessor is None:
        # No native categoricals: the model reads the encode step's output as it is (numeric
        # columns, then the ordinal codes as ordinary numbers).
        native = np.zeros(len(entering), bool)
        order = list(range(len(entering)))
    else:
        # The model's own preprocessor puts its categorical features first, in input order.
        native = np.asarray(model.is_categorical_, dtype=bool)
        order = [*np.flatnonzero(native), *np.flatnonzero(~native)]
        second = preprocessor.named_transformers_["encoder"]
    model_columns: list[int] = []
    tables: dict[int, np.ndarray] = {}
    for j, index in enumerate(order):
        col, enc = entering[index]
        model_columns.append(position[col])
        if enc is None:
            if native[index]:
                return None
            continue
        # The value the model reads for every internal code: the pipeline's ordinal encoder
        # and, for a native categorical, the model's own encoder after it.
        transformer, k, width = enc
        probe = _probe_codes(categories[col])
        grid = np.zeros((len(probe), width))
        grid[:, k] = probe
        table = _transform(transformer, grid)[:, k]
        if native[index]:
            second_grid = np.zeros((len(probe), native.sum()))
            second_grid[:, j] = table
            table = _transform(second, second_grid)[:, j]
        tables[j] = table
    return BoostingScorer(model, model_columns, tables)


def compile_pipeline(pipe: Pipeline, columns: list[str], categories: dict[str, int]):
    """An evaluator equivalent to ``pipe.predict_proba(frame)[:, 1]``, or None.

    Parameters
    ----------
    pipe : Pipeline
        A fitted candidate from :func:`engine.models._candidates.build_candidate`.
    columns : list of str
        The internal frame's columns, in order (the matrix passed at scoring has them).
    categories : dict
        Categorical column -> number of training categories (codes 0..n-1, -1 unseen).

    Returns
    -------
    LinearScorer, BoostingScorer or None
        None when the pipeline's shape is not one this module knows (then the caller scores
        with the pipeline itself).
    """
    model = pipe.steps[-1][1]
    compilers = {"LogisticRegression": _compile_logistic, "HistGradientBoostingClassifier": _compile_boosting}
    compiler = compilers.get(type(model).__name__)
    if compiler is None:
        return None
    try:
        scorer = compiler(pipe, columns, categories)
        if scorer is None:
            return None
        # Codes read as numbers are split between codes: then every code is an edge value.
        every_code = isinstance(scorer, BoostingScorer) and any(
            not scorer.is_categorical[j] for j in scorer.tables)
        probe = _probe_matrix(columns, categories, every_code)
        expected = pipe.predict_proba(pd.DataFrame(probe, columns=columns))[:, 1]
        if isinstance(scorer, BoostingScorer):
            scored = scorer.predict_chunked(probe, 1)
            _attach_forest(scorer, probe, scored)
        else:
            scored = scorer.predict_positive(probe, 1)
        if np.allclose(scored, expected, rtol=0.0, atol=1e-9):
            return scorer
        reason = "its probabilities differ from the pipeline's on a probe of edge values"
    except (AttributeError, KeyError, IndexError, TypeError, ValueError) as error:
        reason = f"{type(error).__name__}: {error}"
    warnings.warn(
        f"kam's fast scorer does not understand this scikit-learn {sklearn.__version__} "
        f"{type(model).__name__} ({reason}); scoring with the pipeline's own predict_proba "
        "instead (same probabilities, slower). Fix: install a scikit-learn version in the "
        "range pyproject.toml supports, or report the version.",
        FastPathWarning, stacklevel=3)
    return None


def _attach_forest(scorer: BoostingScorer, probe: np.ndarray, scored: np.ndarray) -> None:
    """Give ``scorer`` its few-row path if it scores ``probe`` exactly as the predictors did (``scored``).

    The flat forest reads the predictors' node records field by field; a scikit-learn whose
    records changed shape or meaning is caught here, and then the scorer keeps scoring few
    rows with the predictors (slower, the same probabilities), with a warning.
    """
    try:
        forest = FlatForest(scorer)
        flat = expit(forest.raw(probe))
    except (AttributeError, KeyError, IndexError, TypeError, ValueError) as error:
        reason = f"{type(error).__name__}: {error}"
    else:
        if np.array_equal(flat, scored):
            scorer.forest = forest
            return
        reason = "its scores differ from the tree predictors' on a probe of edge values"
    warnings.warn(
        f"kam's one-row tree walk does not understand this scikit-learn {sklearn.__version__} "
        f"HistGradientBoostingClassifier ({reason}); few rows are scored with the tree predictors "
        "instead (same probabilities, slower). Fix: install a scikit-learn version in the range "
        "pyproject.toml supports, or report the version.",
        FastPathWarning, stacklevel=4)


def compile_calibrator(calibrator: Any, apply: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    """``apply`` (the calibrator applied to raw scores), or an equal function without scikit-learn's per-call checks.

    Platt scaling is a binary ``LogisticRegression`` on the log-odds of the raw score; its
    ``predict_proba`` spends ~0.1 ms validating a one-row input that two numpy operations
    score. For that calibrator this returns ``expit(logit(raw) @ coef.T + intercept)`` - the
    arithmetic ``predict_proba`` does - with the log-odds taken by ``apply``'s own module (so
    its clipping is the one used); any other calibrator, or one whose result on a probe of
    edge scores is not exactly ``apply``'s, is applied by ``apply`` itself.

    Parameters
    ----------
    calibrator : object
        The fitted calibrator (``AutoClassifier.calibrator_``), or None.
    apply : callable
        ``apply(raw) -> probabilities``: the reference (``_apply_calibrator`` bound to it).
    """
    from sklearn.linear_model import LogisticRegression

    from engine.models._calibration import _logit

    if type(calibrator) is not LogisticRegression or np.shape(getattr(calibrator, "coef_", ())) != (1, 1) \
            or len(getattr(calibrator, "classes_", ())) != 2:
        return apply
    coef_t = np.asarray(calibrator.coef_, dtype=np.float64).T
    intercept = np.asarray(calibrator.intercept_, dtype=np.float64)

    def platt(raw: np.ndarray) -> np.ndarray:
        return expit((_logit(raw)[:, None] @ coef_t + intercept).ravel())

    probe = np.array([0.0, 1e-300, 1e-16, 1e-15, 1e-9, 0.01, 0.25, 0.5, 0.5 + 1e-12, 0.75, 0.99,
                      1 - 1e-12, 1 - 1e-16, 1.0])
    with np.errstate(all="ignore"):
        if np.array_equal(platt(probe), apply(probe)):
            return platt
    warnings.warn(
        f"kam's Platt calibration does not score like this scikit-learn {sklearn.__version__} "
        "LogisticRegression on a probe of edge scores; it is applied through predict_proba "
        "(same probabilities, slower). Fix: install a scikit-learn version in the range "
        "pyproject.toml supports, or report the version.", FastPathWarning, stacklevel=2)
    return apply


class FastPathWarning(UserWarning):
    """The fast scorer fell back to scikit-learn's ``predict_proba`` (internals changed)."""


#: At most this many codes of a categorical column are probed (the ordinal encoders keep at
#: most 250 categories; a column with more codes is probed on a rotating share of them).
_PROBE_CODES = 256


def _probe_matrix(columns: list[str], categories: dict[str, int], every_code: bool = False) -> np.ndarray:
    """Rows of edge values per column: missing, zero, negative, large; codes of a categorical.

    A categorical column gets NaN, -1 (unseen) and its codes in turn (shifted by the column's
    position, so the columns' codes meet in different rows). With ``every_code`` - a boosting
    model that reads the codes as numbers (``categorical_encoding: ordinal``) splits between
    codes, so every code is an edge value - the probe has a row for each code (at most
    ``_PROBE_CODES``); otherwise the numeric edge values' nine rows, which is all a table per
    code needs (a one-row ``predict_proba`` compiles the scorers on each call: 258 probe rows
    cost it a third more there). Numeric columns repeat their edge values to the same length.
    """
    numeric = np.array([np.nan, 0.0, 1.0, -1.0, 0.5, 12.0, 3e3, -4e5, 1e9])
    most = max([min(int(n), _PROBE_CODES) for n in categories.values()], default=0) if every_code else 0
    probe = np.empty((max(len(numeric), most + 2), len(columns)))
    for j, name in enumerate(columns):
        if name in categories:
            n = max(int(categories[name]), 1)
            codes = np.roll(np.arange(n, dtype=float), -j)
            probe[:, j] = np.resize(np.r_[np.nan, -1.0, codes[:len(probe) - 2]], len(probe))
        else:
            probe[:, j] = np.resize(np.roll(numeric, j), len(probe))
    return probe

"""The fast scoring path gives the fitted pipelines' probabilities (to 1e-9) for every candidate."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pandas as pd
import pytest

from engine._errors import DataError
from engine.models import ChurnModel
from engine.models._fast import BoostingScorer, LinearScorer

LOGISTIC_SPLINE = {"logistic": [{"numeric_encoding": "spline", "C": 1.0}]}
LOGISTIC_LINEAR = {"logistic": [{"numeric_encoding": "linear", "C": 1.0}]}
BOOSTING = {"hist_gradient_boosting": [{"max_iter": 30}]}
#: The same with the ordinal codes read as numbers (no native categorical splits).
BOOSTING_ORDINAL = {"hist_gradient_boosting": [{"max_iter": 30, "categorical_encoding": "ordinal"}]}


@pytest.fixture(scope="module")
def frame(mixed_frame):
    """``frame(n, seed)``: mixed_frame plus a high-cardinality text column (target-encoded / > 30 codes)."""
    def make(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
        X, y = mixed_frame(n, seed=seed)
        rng = np.random.default_rng(seed + 100)
        X["partner"] = pd.Series(rng.choice([f"p{k:03d}" for k in range(60)], n), dtype="str")
        return X, y
    return make


@pytest.fixture(scope="module")
def scoring_frame(frame):
    """``scoring_frame(seed, infinite=False)``: unseen categories and missing values the
    training data never had (and infinities)."""
    return lambda seed, infinite=False: _unseen_values(frame(1500, seed=seed)[0], infinite)


def _unseen_values(X: pd.DataFrame, infinite: bool) -> pd.DataFrame:
    X.loc[X.index[:40], "region"] = "atlantis"
    X.loc[X.index[40:80], "partner"] = "p999"
    X.loc[X.index[80:120], "complaints_90d"] = 10**6
    X["noise"] = X["noise"].astype(float)
    if infinite:
        X.loc[X.index[120:130], "noise"] = np.inf
        X.loc[X.index[130:140], "noise"] = -np.inf
    X.loc[X.index[140:160], "noise"] = np.nan
    X["has_partner"] = X["has_partner"].astype("boolean")
    X.loc[X.index[160:170], "has_partner"] = pd.NA
    X["industry"] = X["industry"].cat.add_categories(["mining"])
    X.loc[X.index[170:190], "industry"] = "mining"
    return X


@pytest.fixture(scope="module")
def training(frame):
    return frame(2500, seed=3)


@pytest.fixture(scope="module")
def fitted(training):
    X, y = training
    return {
        "logistic_spline": ChurnModel(LOGISTIC_SPLINE, cv=3).fit(X, y),
        "logistic_linear": ChurnModel(LOGISTIC_LINEAR, cv=3, calibration="isotonic").fit(X, y),
        "boosting": ChurnModel(BOOSTING, cv=3, calibration="isotonic").fit(X, y),
        "boosting_ordinal": ChurnModel(BOOSTING_ORDINAL, cv=3, calibration="isotonic").fit(X, y),
    }


def _blend(fitted):
    # The blend scores the mean of a logistic and a boosting pipeline; selection rarely picks
    # it on small data, so the two fitted members are combined here (the arithmetic is what
    # is tested: fast mean vs the pipelines' mean).
    model = copy.deepcopy(fitted["logistic_spline"])
    model.estimators_ = fitted["logistic_spline"].estimators_ + fitted["boosting"].estimators_
    return model


@pytest.mark.parametrize("name", ["logistic_spline", "logistic_linear", "boosting", "boosting_ordinal", "blend"])
def test_fast_scores_equal_pipeline_scores(fitted, name, scoring_frame):
    model = _blend(fitted) if name == "blend" else fitted[name]
    X = scoring_frame(seed=7, infinite=name.startswith("boosting"))
    internal = model._internal(X)
    fast = model._raw_scores(internal)
    reference = model._raw_scores_reference(internal)
    assert np.abs(fast - reference).max() < 1e-9
    proba = model.predict_proba(X)[:, 1]
    assert np.abs(proba - model._calibrate(reference)).max() < 1e-9


def test_logistic_refuses_infinity_like_its_imputer(fitted, scoring_frame):
    X = scoring_frame(seed=7, infinite=True)
    with pytest.raises(DataError, match="'noise' holds infinite values"):
        fitted["logistic_spline"].predict_proba(X)
    with warnings.catch_warnings(), pytest.raises(ValueError, match="infinity"):
        warnings.simplefilter("ignore", RuntimeWarning)  # numpy's, before the pipeline raises
        fitted["logistic_spline"]._raw_scores_reference(fitted["logistic_spline"]._internal(X))


def test_every_default_pipeline_shape_is_compiled(fitted):
    """No silent fallback to the slow pipeline path for the shapes kam builds."""
    assert isinstance(fitted["logistic_spline"]._scorers()[0], LinearScorer)
    assert isinstance(fitted["logistic_linear"]._scorers()[0], LinearScorer)
    assert isinstance(fitted["boosting"]._scorers()[0], BoostingScorer)
    assert isinstance(fitted["boosting_ordinal"]._scorers()[0], BoostingScorer)


def test_fast_scores_across_chunks(fitted, monkeypatch, scoring_frame):
    """Chunk boundaries (scoring and boosting) change nothing."""
    import engine.models._fast as fast
    import engine.models._scoring as scoring

    model = _blend(fitted)
    X = scoring_frame(seed=8)
    internal = model._internal(X)
    whole = model._raw_scores(internal)
    proba = model.predict_proba(X)
    monkeypatch.setattr(scoring, "_SCORE_CHUNK", 257)
    monkeypatch.setattr(fast, "BOOSTING_CHUNK", 100)
    assert np.array_equal(model._raw_scores(internal), whole)
    assert np.array_equal(model.predict_proba(X), proba)  # converted chunk by chunk


@pytest.mark.parametrize("name", ["boosting", "boosting_ordinal"])
def test_boosting_bins_at_split_thresholds_decide_like_the_models_bins(fitted, scoring_frame, name):
    """x <= a split's threshold <=> coarse bin <= the split's rewritten bin, for every split
    (ordinal: also the numeric splits on the codes, binned by one table per column), with
    unseen categories and missing values."""
    scorer = fitted[name]._scorers()[0]
    internal = fitted[name]._internal(scoring_frame(seed=9))
    values = scorer._model_matrix(internal)  # what the raw predictor reads
    binned = scorer._binned(internal)
    original = [p[0] for p in scorer.model._predictors]
    checked, coded = 0, 0
    for tree, (old, new) in enumerate(zip(original, scorer.predictors)):
        for k in np.flatnonzero((old.nodes["is_leaf"] == 0) & (old.nodes["is_categorical"] == 0)):
            feature = old.nodes["feature_idx"][k]
            x = values[:, feature]
            present = ~np.isnan(x)
            raw_left = x[present] <= old.nodes["num_threshold"][k]
            binned_left = binned[present, feature] <= new.nodes["bin_threshold"][k]
            assert np.array_equal(raw_left, binned_left), (tree, k)
            assert (binned[~present, feature] == scorer.missing_bin).all()
            checked += 1
            coded += int(feature in scorer.code_bins)
    assert checked > 0
    assert (coded > 0) == (name == "boosting_ordinal")  # native codes split by bitsets, not here
    for j in (j for j in scorer.code_bins if scorer.is_categorical[j]):  # native: the model's own binner
        expected = scorer.model._bin_mapper.transform(np.ascontiguousarray(values))[:, j]
        assert np.array_equal(binned[:, j], expected)


@pytest.mark.parametrize("name", ["logistic_spline", "boosting", "boosting_ordinal", "blend"])
def test_replaced_scores_equal_scoring_each_replaced_copy(fitted, name, scoring_frame):
    """explain's perturbations (boosting re-runs only the trees using a column) are exact."""
    model = _blend(fitted) if name == "blend" else fitted[name]
    internal = model._internal(scoring_frame(seed=12).iloc[:300])
    typical = np.array([model.typical_values_[c] for c in model.feature_types_], dtype=float)
    replaced = model._replaced_scores(internal, typical)
    for j in range(internal.shape[1]):
        copy_j = internal.copy()
        copy_j[:, j] = typical[j]
        assert np.abs(replaced[j] - model._raw_scores_reference(copy_j)).max() < 1e-9


@pytest.mark.parametrize("name", ["boosting", "boosting_ordinal"])
def test_threads_change_nothing(fitted, scoring_frame, name):
    """n_jobs=2 scores boosting chunks on two threads; the probabilities are the same."""
    import engine.models._fast as fast

    model = copy.deepcopy(fitted[name])
    X = pd.concat([scoring_frame(seed=13)] * 2, ignore_index=True)
    single = model.set_params(n_jobs=1).predict_proba(X)
    original = fast.BOOSTING_CHUNK
    try:
        fast.BOOSTING_CHUNK = 250  # many chunks, so both threads work
        assert np.array_equal(model.set_params(n_jobs=2)._raw_scores(model._internal(X)),
                              model.set_params(n_jobs=1)._raw_scores(model._internal(X)))
    finally:
        fast.BOOSTING_CHUNK = original
    assert np.array_equal(model.set_params(n_jobs=2).predict_proba(X), single)


def test_n_jobs_auto_and_validation(frame):
    from engine import ConfigError
    from engine.models._threads import AUTO_THREADS_MIN_ROWS, scoring_threads

    assert scoring_threads("auto", AUTO_THREADS_MIN_ROWS - 1) == 1
    assert scoring_threads("auto", AUTO_THREADS_MIN_ROWS) >= 1
    assert scoring_threads(3, 10) == 3
    with pytest.raises(ConfigError, match="'n_jobs' parameter: expected 'auto', None or a positive integer; got 0"):
        scoring_threads(0, 10)
    with pytest.raises(ValueError, match="n_jobs"):
        ChurnModel(n_jobs="many").fit(*frame(200, seed=1))


def test_changed_internals_fall_back_to_predict_proba_with_a_warning(mixed_data, monkeypatch):
    """A scikit-learn whose fitted internals differ must not change a probability."""
    from engine.models import _fast
    from engine.models._fast import FastPathWarning

    X, y = mixed_data
    boosting = ChurnModel(candidates={"hist_gradient_boosting": [{"max_iter": 20}]}, cv=2).fit(X, y)
    expected = boosting.predict_proba(X.iloc[:200])

    def broken(pipe, columns, categories):  # as if an attribute were renamed upstream
        raise AttributeError("'HistGradientBoostingClassifier' object has no attribute '_predictors'")

    monkeypatch.setattr(_fast, "_compile_boosting", broken)
    with pytest.warns(FastPathWarning, match="predict_proba"):
        got = boosting.predict_proba(X.iloc[:200])
    assert np.allclose(got, expected, atol=1e-12)


def test_fast_scorer_that_disagrees_with_the_pipeline_is_not_used(fitted_churn, mixed_data, monkeypatch):
    """Internals that still load but mean something else are caught by the probe."""
    from engine.models import _fast
    from engine.models._fast import FastPathWarning

    X, _ = mixed_data
    expected = fitted_churn.predict_proba(X.iloc[:200])
    real = _fast._compile_logistic

    def shifted(pipe, columns, categories):
        scorer = real(pipe, columns, categories)
        original = scorer.predict_positive
        scorer.predict_positive = lambda matrix, n_threads=1: original(matrix, n_threads) * 0.99
        return scorer

    monkeypatch.setattr(_fast, "_compile_logistic", shifted)
    with pytest.warns(FastPathWarning, match="differ from the pipeline"):
        got = fitted_churn.predict_proba(X.iloc[:200])
    assert np.allclose(got, expected, atol=1e-12)


@pytest.mark.parametrize("change", ["reversed", "last code"])
def test_a_wrong_code_table_of_an_ordinal_boosting_is_caught_by_the_probe(fitted, scoring_frame, monkeypatch, change):
    """Codes read as numbers: a table that bins the codes in reverse order (as if the encoder's
    category order changed upstream), or one code in another's bin, scores differently on the
    probe, whose rows hold every code of such a model."""
    from engine.models import _fast
    from engine.models._fast import FastPathWarning

    model = fitted["boosting_ordinal"]
    X = scoring_frame(seed=11)
    expected = model.predict_proba(X)
    real = _fast._compile_boosting

    def reversed_codes(pipe, columns, categories):
        scorer = real(pipe, columns, categories)
        coded = [j for j in scorer.tables if not scorer.is_categorical[j]]
        j = max(coded, key=lambda k: len(scorer.thresholds[k]))  # the coded feature split most often
        assert len(scorer.thresholds[j]) > 0
        bins = scorer.code_bins[j]
        if change == "reversed":
            bins[2:] = bins[2:][::-1].copy()  # slots 0 and 1 are NaN and unseen; the codes follow
        else:  # only the last code moves, to the first code's bin: a 9-row probe never holds it
            assert bins[-1] != bins[2]
            bins[-1] = bins[2]
        return scorer

    monkeypatch.setattr(_fast, "_compile_boosting", reversed_codes)
    with pytest.warns(FastPathWarning, match="differ from the pipeline"):
        got = model.predict_proba(X)
    assert np.allclose(got, expected, rtol=0.0, atol=1e-12)


@pytest.mark.parametrize("categories", [{"region": 18, "tier": 3}, {"region": 1, "tier": 300}])
def test_probe_holds_every_code_of_each_categorical(categories):
    """The codes are edge values of a model that splits them as numbers (ordinal)."""
    from engine.models._fast import _PROBE_CODES, _probe_matrix

    columns = ["revenue", "region", "tier", "visits"]
    assert len(_probe_matrix(columns, categories)) == 9  # native categoricals and logistic: the edge values only
    probe = _probe_matrix(columns, categories, every_code=True)
    for j, name in enumerate(columns):
        values = probe[:, j]
        assert np.isnan(values).any()
        if name in categories:
            seen = set(values[~np.isnan(values)])
            assert seen <= {-1.0, *map(float, range(categories[name]))} and -1.0 in seen
            assert len(seen - {-1.0}) == min(categories[name], _PROBE_CODES)  # (more than 256: 256 of them)
        else:
            assert {0.0, -1.0, 1e9, -4e5} <= set(values)

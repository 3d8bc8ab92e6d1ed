"""The few-row scoring paths (one lead at a time) equal the many-row ones bit for bit, and predict_proba.

``engine.models._few_rows`` scores up to ``FEW_ROWS`` rows from flat arrays (all trees walked
together, all spline columns interpolated at once) and ``compile_calibrator`` applies Platt
scaling without scikit-learn's checks. Each must give exactly what the per-tree / per-column
path gives, on rows drawn to hit the edges (values on split thresholds and knots, beyond the
last, missing, unseen categories), and fall back with a warning when scikit-learn's internals
mean something else.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit

from engine._errors import DataError
from engine.models import ChurnModel
from engine.models._calibration import _apply_calibrator
from engine.models._fast import (
    FEW_ROWS,
    BoostingScorer,
    FastPathWarning,
    LinearScorer,
    compile_calibrator,
)
from engine.models._few_rows import SplineTable

BOOSTING = {"hist_gradient_boosting": [{"max_iter": 40, "max_leaf_nodes": 15}]}
BOOSTING_ORDINAL = {"hist_gradient_boosting": [{"max_iter": 40, "max_leaf_nodes": 15, "categorical_encoding": "ordinal"}]}
SPLINE = {"logistic": [{"numeric_encoding": "spline", "C": 1.0}]}
LOG_LINEAR = {"logistic": [{"numeric_encoding": "linear", "C": 1.0}]}


@pytest.fixture(scope="module")
def models(mixed_frame):
    X, y = mixed_frame(1500, seed=21)
    rng = np.random.default_rng(5)
    X["partner"] = pd.Series(rng.choice([f"p{k:02d}" for k in range(40)], len(X)), dtype="str")
    return {
        "boosting": ChurnModel(BOOSTING, cv=3, calibration="sigmoid").fit(X, y),
        "boosting_ordinal": ChurnModel(BOOSTING_ORDINAL, cv=3, calibration="sigmoid").fit(X, y),
        "spline": ChurnModel(SPLINE, cv=3, calibration="sigmoid").fit(X, y),
        "linear": ChurnModel(LOG_LINEAR, cv=3, calibration="isotonic").fit(X, y),
        "frame": X,
    }


@pytest.fixture(scope="module")
def compiled(models):
    """name -> (the model's fast scorers, the edge values of each internal column), made once."""
    out = {}
    for name in ("boosting", "boosting_ordinal", "spline", "linear"):
        scorers = models[name]._scorers()
        out[name] = (scorers, _edges(models[name], scorers))
    return out


def _edges(model, scorers) -> list[np.ndarray]:
    """Per internal column, the values worth drawing: the model's own split thresholds and knots."""
    edges: list[list[float]] = [[] for _ in model._schema.kept]
    for scorer in scorers:
        if isinstance(scorer, BoostingScorer):
            for j, column in enumerate(scorer.model_columns):
                if j not in scorer.code_bins:  # (coded features: every code is drawn anyway)
                    edges[column] += list(np.asarray(scorer.thresholds[j], dtype=float))
        if isinstance(scorer, LinearScorer):
            for column, fill, knots, _, _ in scorer.splines:
                edges[column] += [*np.asarray(knots, dtype=float), fill]
            for column, fill, *_ in scorer.linears:
                edges[column].append(fill)
    return [np.asarray(e) for e in edges]


@st.composite
def internal_rows(draw, model, edges):
    """1..FEW_ROWS internal rows: thresholds and knots (and their neighbours), any float, missing, codes."""
    n = draw(st.integers(1, FEW_ROWS))
    columns = model._schema.kept
    categories = model._schema.categories
    matrix = np.empty((n, len(columns)))
    for j, name in enumerate(columns):
        for i in range(n):
            if name in categories:
                matrix[i, j] = draw(st.sampled_from([np.nan, -1.0, *map(float, range(len(categories[name])))]))
                continue
            choice = draw(st.integers(0, 3))
            if choice == 0 and len(edges[j]):
                value = float(edges[j][draw(st.integers(0, len(edges[j]) - 1))])
                matrix[i, j] = draw(st.sampled_from([value, np.nextafter(value, np.inf), np.nextafter(value, -np.inf)]))
            elif choice == 1:
                matrix[i, j] = np.nan
            else:
                matrix[i, j] = draw(st.floats(-1e12, 1e12, allow_nan=False))
    return matrix


def _typical_rows(model, frame: pd.DataFrame) -> np.ndarray:
    return model._internal(frame)


@pytest.mark.parametrize("name", ["boosting", "boosting_ordinal"])
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_flat_forest_scores_like_the_tree_predictors_bit_for_bit(models, compiled, name, data):
    model = models[name]
    scorers, edges = compiled[name]
    scorer = scorers[0]
    assert isinstance(scorer, BoostingScorer) and scorer.forest is not None
    if name == "boosting":
        assert scorer.forest.categorical.size > 0  # the bitset path is exercised
    else:  # the codes are split as numbers, binned by their tables
        assert scorer.forest.categorical.size == 0 and scorer.forest.coded.size > 0
    rows = data.draw(internal_rows(model, edges))
    few = scorer.predict_positive(rows)
    assert np.array_equal(few, scorer.predict_chunked(rows))
    assert np.array_equal(expit(scorer.forest.raw(rows)), few)
    assert np.abs(few - model._raw_scores_reference(rows)).max() < 1e-12


@pytest.mark.parametrize("name", ["spline", "linear"])
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_linear_few_rows_equal_the_column_by_column_decision_bit_for_bit(models, compiled, name, data):
    model = models[name]
    scorers, edges = compiled[name]
    scorer = scorers[0]
    assert isinstance(scorer, LinearScorer)
    rows = data.draw(internal_rows(model, edges))
    assert np.array_equal(scorer.decision_few(rows), scorer.decision(rows))
    assert np.abs(scorer.predict_positive(rows) - model._raw_scores_reference(rows)).max() < 1e-12


@settings(max_examples=200, deadline=None)
@given(knots=st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=2, max_size=8, unique=True),
       weights=st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=8, max_size=8),
       picks=st.lists(st.tuples(st.integers(0, 7), st.sampled_from(["on", "above", "below", "far"])),
                      min_size=1, max_size=6))
def test_spline_table_interpolates_like_np_interp_bit_for_bit(knots, weights, picks):
    knots_a = np.sort(np.asarray(knots))
    weights_a = np.asarray(weights[:len(knots_a)])
    second = (knots_a[::-1] * -1.0, weights_a[::-1])  # a second column, so offsets matter
    table = SplineTable([(0, 0.0, knots_a, weights_a, 0.0), (1, 0.0, *second, 0.0)], [])
    values = []
    for index, where in picks:
        k = knots_a[min(index, len(knots_a) - 1)]
        values.append({"on": k, "above": np.nextafter(k, np.inf), "below": np.nextafter(k, -np.inf),
                       "far": k * 10 + 1e7 if index % 2 else -k * 10 - 1e7}[where])
    values.append(np.nan)
    x = np.column_stack([values, values])
    got = table.interp(x)
    assert np.array_equal(got[:, 0], np.interp(x[:, 0], knots_a, weights_a), equal_nan=True)
    assert np.array_equal(got[:, 1], np.interp(x[:, 1], *second), equal_nan=True)


def test_linear_few_rows_refuse_infinity_naming_the_column(models):
    model = models["spline"]
    scorer = model._scorers()[0]
    rows = _typical_rows(model, models["frame"].iloc[:3]).copy()
    column = scorer.linears[0][0] if scorer.linears else scorer.splines[-1][0]
    rows[1, column] = -np.inf
    name = model._schema.kept[column]
    with pytest.raises(DataError, match=f"'{name}' holds infinite values"):
        scorer.decision_few(rows)
    with pytest.raises(DataError, match=f"'{name}' holds infinite values"):
        scorer.decision(rows)


@pytest.mark.parametrize("name", ["boosting", "boosting_ordinal", "spline", "linear"])
def test_one_row_at_a_time_equals_predict_proba_of_the_whole_frame(models, name):
    """What the live path does (compile once, one lead per call) against predict_proba on all rows."""
    model = models[name]
    frame = models["frame"].iloc[:300]
    whole = model.predict_proba(frame)[:, 1]
    compiled = model.compile_scorer()
    internal = model._internal(frame)
    one_by_one = np.array([compiled.predict(internal[i:i + 1])[0] for i in range(len(frame))])
    assert np.abs(one_by_one - whole).max() < 1e-12
    assert np.abs(model.predict_proba(frame.iloc[:5])[:, 1] - whole[:5]).max() < 1e-12  # few rows


@settings(max_examples=100, deadline=None)
@given(raw=st.lists(st.one_of(st.floats(0.0, 1.0), st.sampled_from([0.0, 1.0, 1e-300, 1e-16, 1 - 1e-16])),
                    min_size=1, max_size=20))
def test_platt_without_checks_equals_the_calibrators_predict_proba(models, raw):
    model = models["boosting"]
    assert type(model.calibrator_).__name__ == "LogisticRegression"
    reference = lambda scores: _apply_calibrator(model.calibrator_, scores)  # noqa: E731
    fast = compile_calibrator(model.calibrator_, reference)
    assert fast is not reference
    scores = np.asarray(raw)
    assert np.array_equal(fast(scores), reference(scores))


def test_other_calibrators_are_applied_as_they_are(models):
    model = models["linear"]  # isotonic
    reference = lambda scores: _apply_calibrator(model.calibrator_, scores)  # noqa: E731
    assert compile_calibrator(model.calibrator_, reference) is reference
    assert compile_calibrator(None, reference) is reference


def test_a_platt_calibrator_that_scores_differently_falls_back_with_a_warning(models, monkeypatch):
    from engine.models import _fast

    model = models["boosting"]
    reference = lambda scores: _apply_calibrator(model.calibrator_, scores)  # noqa: E731
    monkeypatch.setattr(_fast, "expit", lambda z: 1.0 / (1.0 + np.exp(-z)) + 1e-12)  # as if it meant another thing
    with pytest.warns(FastPathWarning, match="Platt calibration"):
        assert compile_calibrator(model.calibrator_, reference) is reference


@pytest.mark.parametrize("how", ["raises", "differs"])
def test_changed_tree_internals_keep_few_rows_on_the_predictors(models, monkeypatch, how):
    """A scikit-learn whose node records changed: the flat walk is dropped, the probabilities are not."""
    from engine.models import _few_rows

    model = models["boosting"]
    frame = models["frame"].iloc[:8]
    expected = model.predict_proba(frame)
    if how == "raises":
        def broken(self, scorer):
            raise KeyError("bitset_idx")  # as if a field of the node record were renamed upstream

        monkeypatch.setattr(_few_rows.FlatForest, "__init__", broken)
    else:
        real = _few_rows.FlatForest.raw
        monkeypatch.setattr(_few_rows.FlatForest, "raw", lambda self, matrix: real(self, matrix) + 1e-9)
    with pytest.warns(FastPathWarning, match="one-row tree walk"):
        scorers = model._scorers()
    assert isinstance(scorers[0], BoostingScorer) and scorers[0].forest is None
    with pytest.warns(FastPathWarning, match="one-row tree walk"):
        got = model.predict_proba(frame)
    assert np.array_equal(got, expected)


@pytest.mark.parametrize("knots, weights", [
    ([0.0, 5e-324, 1.0], [0.0, 1e300, -1e300]),  # a slope that overflows: numpy returns the knot's weight
    ([-1.0, 0.0, 1e-320], [1e308, -1e308, 1e308]),
])
def test_spline_table_keeps_np_interps_answer_where_the_slope_is_not_finite(knots, weights):
    table = SplineTable([(0, 0.0, np.asarray(knots), np.asarray(weights), 0.0)], [])
    x = np.array([[k] for k in knots] + [[np.nextafter(k, np.inf)] for k in knots] + [[-2.0], [2.0]])
    with np.errstate(all="ignore"):
        expected = np.interp(x[:, 0], knots, weights)
    assert np.array_equal(table.interp(x)[:, 0], expected, equal_nan=True)

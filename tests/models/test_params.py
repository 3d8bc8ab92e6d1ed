"""Estimator parameters are checked before fit does any work, with a did-you-mean."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import engine
from engine.models import ChurnModel, InvalidParameterError, WinModel

#: Data that fit would refuse on its own (no rows): a parameter error must come first.
EMPTY = pd.DataFrame({"x": pd.Series([], dtype=float)})


def test_a_misspelt_calibration_fails_at_once_with_did_you_mean():
    with pytest.raises(InvalidParameterError, match=r"'calibration' parameter of ChurnModel must be one of "
                       r"'auto', 'isotonic', 'sigmoid', 'none'; got 'isotonc'; did you mean 'isotonic'\?"):
        ChurnModel(calibration="isotonc").fit(EMPTY, [])


@pytest.mark.parametrize(("params", "message"), [
    ({"cv": 1}, "'cv' parameter of WinModel must be one of 'auto' or an integer >= 2"),
    ({"cv": "atuo"}, "did you mean 'auto'"),
    ({"blend": "yes"}, "'blend' parameter of WinModel must be a bool; got 'yes'"),
    ({"min_rows": 0}, "'min_rows' parameter of WinModel must be an integer >= 1; got 0"),
    ({"min_class_count": 2.5}, "'min_class_count' .* got 2.5"),
    ({"selection_max_rows": -1}, "'selection_max_rows' parameter of WinModel must be None or an integer >= 1"),
    ({"n_jobs": 0}, "'n_jobs' parameter"),
    ({"random_state": "seed"}, "'random_state' parameter"),
    ({"candidates": {"logistc": [{}]}}, "unknown family 'logistc'.*did you mean 'logistic'"),
    ({"candidates": {"logistic": [{"CC": 1.0}]}}, "Unknown parameter 'CC'.*did you mean 'C'"),
    ({"candidates": {"hist_gradient_boosting": [{"max_iter": 0}]}}, "max_iter"),
    ({"candidates": {}}, "'candidates' parameter of WinModel must be None or a mapping"),
])
def test_every_parameter_is_checked_before_any_work(params, message):
    with pytest.raises(InvalidParameterError, match=message) as caught:
        WinModel(**params).fit(EMPTY, [])
    # A spec error in kam's tree, and what scikit-learn's callers catch.
    assert isinstance(caught.value, engine.ConfigError)
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, TypeError)


@settings(max_examples=50, deadline=None, derandomize=True)
@given(st.text(max_size=12))
def test_any_string_outside_the_calibration_options_is_refused(value):
    model = ChurnModel(calibration=value)
    if value in ("auto", "isotonic", "sigmoid", "none"):
        with pytest.raises(engine.InsufficientDataError):  # the parameter passes; the data does not
            model.fit(EMPTY, [])
    else:
        with pytest.raises(InvalidParameterError, match="'calibration' parameter"):
            model.fit(EMPTY, [])


def test_valid_parameters_still_fit():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"x": rng.normal(size=300)})
    y = (X["x"] + rng.normal(size=300) > 0).astype(int)
    model = ChurnModel(candidates={"logistic": [{"C": 1.0}]}, cv=3, n_jobs=1, random_state=np.int64(0),
                       selection_max_rows=None, calibration="sigmoid").fit(X, y)
    assert model.calibration_method_ == "sigmoid"

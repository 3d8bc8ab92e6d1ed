"""censor_above: a value above a column's cap is missing, at fit and at every scoring path."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

import engine
from engine.models import ChurnModel
from engine.models._columns import to_internal_matrix

_SMALL = {"candidates": {"logistic": [{"C": 1.0}], "hist_gradient_boosting": [{"max_iter": 20}]}, "cv": 3}


def _frame(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"days_since_visit": rng.exponential(200, n), "orders": rng.poisson(3, n).astype(float),
                      "region": rng.choice(["north", "south"], n)})
    y = (rng.random(n) < 1 / (1 + np.exp(-(X["days_since_visit"] / 200 - X["orders"] / 3)))).astype(int)
    return X, y.to_numpy()


def test_censored_model_equals_a_model_fitted_on_the_values_made_missing():
    X, y = _frame(600, 0)
    cap = 250.0
    censored = ChurnModel(**_SMALL, censor_above={"days_since_visit": cap}).fit(X, y)
    by_hand = X.assign(days_since_visit=X["days_since_visit"].where(X["days_since_visit"] <= cap))
    plain = ChurnModel(**_SMALL).fit(by_hand, y)
    new, _ = _frame(300, 1)
    new_by_hand = new.assign(days_since_visit=new["days_since_visit"].where(new["days_since_visit"] <= cap))
    expected = plain.predict_proba(new_by_hand)[:, 1]
    assert np.allclose(censored.predict_proba(new)[:, 1], expected, atol=1e-12)
    # Record by record (the live path) and the explanations read the same censored values.
    scorer = censored.compile_scorer()
    internal = to_internal_matrix(new, censored._schema)
    before = internal.copy()
    assert np.allclose(scorer.predict(internal), expected, atol=1e-12)
    assert np.array_equal(internal, before, equal_nan=True), "the caller's matrix must not change"
    assert np.isnan(censored._internal(new)[new["days_since_visit"].to_numpy() > cap, 0]).all()


def test_censor_above_is_checked_before_fit():
    X, y = _frame(300, 2)
    with pytest.raises(engine.ConfigError, match="'censor_above' parameter"):
        ChurnModel(**_SMALL, censor_above={"days_since_visit": "long"}).fit(X, y)
    with pytest.raises(engine.ColumnMismatchError, match="did you mean 'days_since_visit'"):
        ChurnModel(**_SMALL, censor_above={"days_since_vist": 10.0}).fit(X, y)
    with pytest.raises(engine.DataError, match="expected numeric columns; got 'region'"):
        ChurnModel(**_SMALL, censor_above={"region": 10.0}).fit(X, y)


def test_a_model_saved_before_censor_above_loads_and_scores_as_before():
    X, y = _frame(300, 3)
    model = ChurnModel(**_SMALL).fit(X, y)
    expected = model.predict_proba(X)
    del model.__dict__["censor_above"]  # the state of a model pickled by the previous release
    loaded = pickle.loads(pickle.dumps(model))
    assert loaded.get_params()["censor_above"] is None
    assert np.array_equal(loaded.predict_proba(X), expected)


def test_a_cap_below_every_training_value_is_refused_before_the_fit():
    """Censoring every value would leave an empty column (scikit-learn then warns on every fit)."""
    from engine._errors import DataError

    X, y = _frame(300, 0)
    with pytest.raises(DataError, match="leaves the column without a value"):
        ChurnModel(**_SMALL, censor_above={"days_since_visit": float(X["days_since_visit"].min()) - 1}).fit(X, y)

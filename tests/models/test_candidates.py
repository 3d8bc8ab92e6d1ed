"""Candidate pipelines: the boosting family's ``categorical_encoding`` option, end to end."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import engine
from engine.models import ChurnModel, DriftCheck, load_model, save_model, training_distribution
from engine.models._candidates import build_candidate, expand_candidates
from engine.models._fast import BoostingScorer, FastPathWarning

ORDINAL = {"hist_gradient_boosting": [{"categorical_encoding": "ordinal", "max_iter": 30}]}

_COLUMNS = dict(numeric=["revenue"], skewed=[], binary=["partner"], categorical_low=["region"],
                categorical_high=["industry"], n_fit_rows=500, random_state=0)


@pytest.mark.parametrize("encoding, declared", [
    (None, [False, False, True, True]),        # today's default: native categorical splits
    ("native", [False, False, True, True]),
    ("ordinal", None),                          # the codes enter as ordinary numeric features
])
def test_categorical_encoding_decides_what_the_model_is_told(encoding, declared):
    params = {} if encoding is None else {"categorical_encoding": encoding}
    pipe = build_candidate("hist_gradient_boosting", params, **_COLUMNS)
    model = pipe.named_steps["model"]
    assert model.categorical_features == declared
    assert "categorical_encoding" not in model.get_params()  # a pipeline option, not an HGB parameter
    encoder = dict((name, columns) for name, _, columns in pipe.named_steps["encode"].transformers)
    assert encoder == {"numeric": ["revenue", "partner"], "categorical": ["region", "industry"]}


def test_plain_default_boosting_is_scikit_learns_default_with_native_splits():
    """``{}`` (the baseline every selection must match) is unchanged by the option."""
    pipe = build_candidate("hist_gradient_boosting", {}, **_COLUMNS)
    model = pipe.named_steps["model"]
    assert model.learning_rate == 0.1 and model.max_iter == 100 and model.max_leaf_nodes == 31
    assert model.early_stopping == "auto" and model.categorical_features == [False, False, True, True]


def test_label_names_the_encoding():
    (label, family, params), = expand_candidates(
        {"hist_gradient_boosting": [{"categorical_encoding": "ordinal", "max_leaf_nodes": 15}]})
    assert label == "hist_gradient_boosting(categorical_encoding='ordinal', max_leaf_nodes=15)"
    assert family == "hist_gradient_boosting" and params["categorical_encoding"] == "ordinal"


def test_a_misspelt_encoding_is_refused_with_the_values_and_a_suggestion():
    with pytest.raises(engine.ConfigError) as error:
        expand_candidates({"hist_gradient_boosting": [{"categorical_encoding": "ordnal"}]})
    message = str(error.value)
    assert "hist_gradient_boosting option 'categorical_encoding': expected one of ['native', 'ordinal']" in message
    assert "got 'ordnal'" in message and "did you mean 'ordinal'" in message and "Fix:" in message
    with pytest.raises(engine.ConfigError, match="categorical_encoding"):  # logistic has no such option
        expand_candidates({"logistic": [{"categorical_encoding": "ordinal"}]})


def test_ordinal_boosting_fits_scores_explains_drifts_and_round_trips(mixed_frame, tmp_path):
    """Everything that inspects a boosting pipeline works on one that reads the codes as numbers."""
    X, y = mixed_frame(1200, seed=31)
    scoring = X.iloc[:300].copy()
    scoring.loc[scoring.index[:20], "region"] = "atlantis"   # unseen
    scoring.loc[scoring.index[20:40], "region"] = None        # missing
    with warnings.catch_warnings():
        warnings.simplefilter("error", FastPathWarning)  # (pytest makes it an error too)
        model = ChurnModel(ORDINAL, cv=3).fit(X, y)
        pipe = model.estimators_[0]
        assert pipe.named_steps["model"].categorical_features is None
        assert pipe.named_steps["model"]._preprocessor is None
        (scorer,) = model._scorers()
        assert isinstance(scorer, BoostingScorer) and scorer.forest is not None and scorer.code_bins
        proba = model.predict_proba(scoring)[:, 1]
        internal = model._internal(scoring)
        assert np.array_equal(model._raw_scores(internal), model._raw_scores_reference(internal))  # bit for bit

        reasons = model.explain(scoring.iloc[:50], top=3, direction="raises")
        assert len(reasons) and (reasons["contribution"] > 0).all()
        assert "region" in set(model.explain(scoring.iloc[:40], top=8)["feature"])

        distribution = training_distribution(model, X, model.predict_proba(X)[:, 1])
        check = DriftCheck(model, distribution)
        check.add(scoring, proba)
        assert "region" in set(check.report("churn")["feature"])

        card = save_model(model, tmp_path, name="churn_ordinal")
        loaded = load_model(tmp_path / "churn_ordinal.joblib")
        assert card.selected_candidate == model.selected_candidate_
        assert "categorical_encoding='ordinal'" in card.selected_candidate
        assert np.array_equal(loaded.predict_proba(scoring)[:, 1], proba)
        assert np.array_equal(loaded.predict_proba(scoring.iloc[:3])[:, 1], proba[:3])  # few-row path

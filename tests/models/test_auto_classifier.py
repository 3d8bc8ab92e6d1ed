"""ChurnModel / WinModel on raw frames: dtypes, dropping, minimums, column diffs, calibration."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import sklearn.exceptions
from sklearn.base import clone
from sklearn.metrics import roc_auc_score

import engine
from engine.models import ChurnModel, WinModel, expected_calibration_error


def test_raw_frame_all_dtypes_scores_new_rows_with_unseen_categories(fitted_churn, mixed_frame):
    X_new, _ = mixed_frame(200, seed=1)
    X_new.loc[X_new.index[:20], "region"] = "atlantis"           # never seen at fit
    X_new["industry"] = X_new["industry"].cat.add_categories(["space"])
    X_new.loc[X_new.index[20:30], "industry"] = "space"
    X_new.loc[X_new.index[30:40], ["revenue_12m", "complaints_90d"]] = np.nan
    proba = fitted_churn.predict_proba(X_new)
    assert proba.shape == (200, 2)
    assert np.isfinite(proba).all() and np.allclose(proba.sum(axis=1), 1.0)
    assert set(fitted_churn.predict(X_new)) <= {0, 1}


def test_feature_types_and_datetimes_recorded(fitted_churn):
    kinds = fitted_churn.feature_types_
    assert kinds["region"] == "categorical" and kinds["industry"] == "categorical"
    assert kinds["has_partner"] == "boolean"
    assert kinds["last_order_date"] == "datetime"
    assert kinds["revenue_12m"] == "numeric" and kinds["nullable_visits"] == "numeric"
    assert fitted_churn.datetime_reference_["last_order_date"] == pd.Timestamp("2025-06-30")
    assert list(fitted_churn.feature_names_in_)[0] == "account_id"


def test_identifier_and_constant_columns_dropped_with_reasons(fitted_churn):
    dropped = fitted_churn.dropped_columns_
    assert set(dropped) == {"account_id", "row_number", "currency"}
    assert dropped["account_id"].startswith("identifier-like")
    assert dropped["row_number"].startswith("identifier-like")
    assert dropped["currency"].startswith("constant")
    assert "account_id" not in fitted_churn.feature_types_


def test_unique_integer_feature_not_named_like_an_id_is_kept(mixed_frame, fast):
    X, y = mixed_frame(300, seed=2)
    X["order_value_yuan"] = np.random.default_rng(0).permutation(300) * 1000 + 7  # unique, gappy
    model = ChurnModel(**fast, min_rows=50, min_class_count=10).fit(X, y)
    assert "order_value_yuan" in model.feature_types_


def test_dropped_columns_may_be_absent_at_scoring(fitted_churn, mixed_data):
    X, _ = mixed_data
    trimmed = X.drop(columns=["account_id", "row_number", "currency"]).iloc[:5]
    reordered = trimmed[list(reversed(trimmed.columns))]
    assert np.allclose(fitted_churn.predict_proba(reordered), fitted_churn.predict_proba(X.iloc[:5]))


def test_column_diff_on_renamed_and_missing_columns(fitted_churn, mixed_data):
    X, _ = mixed_data
    renamed = X.rename(columns={"complaints_90d": "complaint_90d"}).drop(columns=["noise"])
    with pytest.raises(engine.ColumnMismatchError) as info:
        fitted_churn.predict_proba(renamed)
    message = str(info.value)
    assert "expected (missing): complaints_90d, noise" in message
    assert "got (unknown): complaint_90d" in message
    assert "'complaint_90d' (did you mean 'complaints_90d'?)" in message
    assert "-complaints_90d" in message and "+complaint_90d" in message
    assert "fix:" in message
    assert isinstance(info.value, engine.DataError)


def test_wrongly_typed_column_at_scoring_is_a_data_error(fitted_churn, mixed_data):
    X, _ = mixed_data
    bad = X.iloc[:5].assign(revenue_12m=["a lot", "1", "2", "3", "4"])
    with pytest.raises(engine.DataError, match="revenue_12m.*not numbers"):
        fitted_churn.predict_proba(bad)


def test_not_fitted_error_is_both_kam_and_sklearn():
    with pytest.raises(engine.NotFittedError) as info:
        WinModel().predict_proba(pd.DataFrame({"a": [1]}))
    assert isinstance(info.value, sklearn.exceptions.NotFittedError)
    assert isinstance(info.value, engine.ModelError)


@pytest.mark.parametrize(
    ("n", "shift", "match"),
    [(60, 0.0, "60 rows \\(minimum 100\\)"), (400, -4.0, "of class 1 \\(minimum 40\\)")],
)
def test_too_little_data_fails_before_training(n, shift, match, mixed_frame, fast):
    X, y = mixed_frame(n, seed=3, positive_shift=shift)
    with pytest.raises(engine.InsufficientDataError, match=match):
        ChurnModel(**fast).fit(X, y)


def test_only_useless_columns_is_a_clear_error(fast):
    X = pd.DataFrame({"id": [f"a{i}" for i in range(200)], "constant": 1})
    y = np.arange(200) % 2
    with pytest.raises(engine.DataError, match="No usable feature columns"):
        ChurnModel(**fast).fit(X, y)


def test_deterministic_and_clonable(mixed_data, fast):
    X, y = mixed_data
    first = ChurnModel(**fast).fit(X, y).predict_proba(X.iloc[:50])
    second = clone(ChurnModel(**fast)).fit(X, y).predict_proba(X.iloc[:50])
    assert np.array_equal(first, second)


def test_selection_and_cv_results_recorded(fitted_churn):
    results = fitted_churn.cv_results_
    assert {"candidate", "roc_auc_mean", "roc_auc_std", "log_loss_mean"} <= set(results.columns)
    assert fitted_churn.selected_candidate_ in set(results["candidate"])
    best = results.loc[results["roc_auc_mean"].idxmax(), "candidate"]
    assert fitted_churn.selected_candidate_ == best
    assert len(results) == 3  # two candidates and their blend


def test_string_labels_positive_class_is_the_larger_label(mixed_data, fast):
    X, y = mixed_data
    labels = np.where(y == 1, "won", "lost")
    model = WinModel(**fast).fit(X, labels)
    assert list(model.classes_) == ["lost", "won"]
    auc = roc_auc_score(labels == "won", model.predict_proba(X)[:, 1])
    assert auc > 0.75


def test_calibrated_on_held_out_data(mixed_frame, fast):
    """ECE <= 0.02 on 6,000 held-out rows (sampling noise alone gives about 0.01 here)."""
    X, y = mixed_frame(10_000, seed=4)
    model = ChurnModel(**fast).fit(X.iloc[:4000], y[:4000])
    assert set(model.calibration_log_loss_) == {"sigmoid", "isotonic"}  # both were tried
    proba = model.predict_proba(X.iloc[4000:])[:, 1]
    assert expected_calibration_error(y[4000:], proba) <= 0.02
    assert roc_auc_score(y[4000:], proba) > 0.75


def test_small_data_uses_sigmoid_calibration(fitted_churn):
    assert fitted_churn.calibration_method_ == "sigmoid"


def test_unknown_candidate_parameter_is_refused(mixed_data):
    X, y = mixed_data
    with pytest.raises(ValueError, match="Unknown parameter"):
        ChurnModel(candidates={"logistic": [{"CC": 1.0}]}, cv=3).fit(X, y)


def test_quantile_spline_encoder_is_a_partition_of_unity_and_interpolates():
    from engine.models._candidates import QuantileSplineEncoder

    rng = np.random.default_rng(5)
    train = np.column_stack([rng.lognormal(size=500), rng.integers(0, 2, 500), np.full(500, 3.0)])
    encoder = QuantileSplineEncoder(n_knots=5).fit(train)
    assert [len(k) for k in encoder.knots_] == [5, 2, 1]  # ties merged
    new = np.column_stack([np.r_[-1.0, rng.lognormal(size=98), 1e9], rng.integers(0, 2, 100),
                           np.full(100, 7.0)])
    out = encoder.transform(new)
    assert out.shape == (100, 8) and (out >= 0).all()
    assert np.allclose(out[:, :5].sum(axis=1), 1.0) and np.allclose(out[:, 5:7].sum(axis=1), 1.0)
    # the knot-weighted sum of the outputs gives the value back inside the knot range
    inside = (new[:, 0] >= encoder.knots_[0][0]) & (new[:, 0] <= encoder.knots_[0][-1])
    assert np.allclose(out[inside, :5] @ encoder.knots_[0], new[inside, 0])
    assert out[0, 0] == 1.0 and out[-1, 4] == 1.0  # beyond the ends: the end knot


def test_selection_on_a_sample_refits_on_all_rows(mixed_data, fast):
    X, y = mixed_data
    model = ChurnModel(**fast, selection_max_rows=450).fit(X, y)
    assert model.n_selection_rows_ == 450 and model.n_train_rows_ == len(X)
    assert model.estimators_[0][-1].n_features_in_ > 0

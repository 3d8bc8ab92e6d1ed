"""kam train: forward grouped selection recorded in the card, the oracle share, the drift bins."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from sklearn.metrics import auc

from engine.demo import DEMO_END_DATE
from engine.demo._oracle import demo_oracle
from engine.models import calibration_error_against_truth, expected_calibration_error
from engine.pipeline import train_model
from engine.validate import validate_tables

AS_OF = "2026-10-01"


@pytest.fixture(scope="module")
def valid_tables(demo_tables):
    return validate_tables(demo_tables, as_of=AS_OF).valid


def test_card_records_forward_grouped_selection_next_to_out_of_time(valid_tables, tmp_path, small_model_spec):
    spec = dataclasses.replace(small_model_spec("churn"), as_of_periods=16, validation_periods=2)
    result = train_model(valid_tables, "churn", spec=spec, artifacts_dir=tmp_path)
    validation = result.card.validation
    assert validation["selection"]["scheme"].startswith("forward in time")
    assert validation["selection"]["n_splits"] == small_model_spec("churn").model["cv"]
    assert validation["group_by"] == "account_id"
    assert validation["out_of_time_roc_auc"] == result.metrics["roc_auc"]
    assert 0.5 < validation["selection_roc_auc"] < 1.0
    text = result.card.to_markdown()
    assert "selection (mean of folds)" in text and "out of time" in text
    distribution = result.card.training_distribution
    assert set(distribution["features"]) == {f["name"] for f in result.card.features}
    assert abs(sum(distribution["score"]["shares"]) - 1.0) < 1e-9
    # The out-of-time curves behind the metrics, small whatever the validation rows.
    curves = result.card.curves
    assert len(curves["roc"]["fpr"]) <= 101 and len(curves["gains"]["share"]) == 101
    assert auc(curves["roc"]["fpr"], curves["roc"]["tpr"]) == pytest.approx(result.metrics["roc_auc"], abs=0.01)
    assert curves["gains"]["captured"][10] == pytest.approx(result.metrics["capture_top_decile"], abs=1e-6)
    assert sum(curves["calibration"]["count"]) == result.rows["validation"] == result.metrics["n"]
    # The demo's short history: ages censored at the history before the first training date,
    # the 24- and 36-month order windows left out (never whole at a training date), in the card.
    assert validation["recalibration"].startswith("none: ")  # the card says which recalibration, if any
    history = validation["short_history"]
    assert history["censored_above_days"]["days_since_last_visit"] > 0
    assert "frequency_36m" in history["left_out"]
    assert "frequency_36m" not in {f["name"] for f in result.card.features}
    assert "- short history: treated as missing: " in text and "frequency_36m" in text


def test_short_history_falls_back_to_grouped_folds_with_a_warning(valid_tables, tmp_path, caplog, small_model_spec):
    with caplog.at_level("WARNING", logger="kam.train"):
        result = train_model(valid_tables, "churn", spec=small_model_spec("churn"), artifacts_dir=tmp_path)
    assert "grouped K-fold instead" in caplog.text
    assert result.card.validation["selection"]["scheme"] == "stratified group K-fold, shuffled"


def test_win_card_reports_the_share_of_the_oracle(valid_tables, tmp_path, small_model_spec):
    """The demo's exact win oracle: a model cannot beat the simulator's own probabilities."""
    spec = dataclasses.replace(small_model_spec("win"), as_of_periods=16, validation_periods=2)
    oracle = demo_oracle(1200, 5, DEMO_END_DATE)
    result = train_model(valid_tables, "win", spec=spec, artifacts_dir=tmp_path, oracle=oracle)
    card = result.card.oracle
    assert card["rows"] == result.rows["validation"]
    assert card["metrics"]["roc_auc"] > result.metrics["roc_auc"]
    assert np.isclose(card["share"]["roc_auc"], result.metrics["roc_auc"] / card["metrics"]["roc_auc"])
    assert card["share"]["brier"] >= 1.0
    assert result.card.validation["group_by"] == "opportunity_id"
    assert "model / oracle" in result.card.to_markdown()
    # the spec's calibration folds reach the splitter (the shipped win spec: 10) and the card
    assert spec.calibration_folds == 10
    assert result.card.validation["calibration"].startswith("10 grouped folds over the whole history")
    # The model's calibration against the true probabilities of the same rows, without the draw.
    truth = np.asarray(oracle("win", result.validation, valid_tables), dtype=float)
    assert card["model_ece_against_truth"] == pytest.approx(
        calibration_error_against_truth(truth, result.validation["probability"]))
    assert card["metrics"]["ece"] == pytest.approx(expected_calibration_error(result.validation["label"], truth))
    assert f"| ece against the true probabilities | {card['model_ece_against_truth']:.4f} | 0 |" \
        in result.card.to_markdown()


def test_card_says_no_calibration_when_none_was_fitted(valid_tables, tmp_path, small_model_spec):
    """calibration: none fits no calibration folds; the card must not describe any."""
    spec = small_model_spec("win")
    spec = dataclasses.replace(spec, as_of_periods=16, validation_periods=2,
                               model={**dict(spec.model), "calibration": "none"})
    result = train_model(valid_tables, "win", spec=spec, artifacts_dir=tmp_path)
    assert result.card.validation["calibration"] == "none: the chosen candidate's own probabilities"
    assert result.card.validation["recalibration"] == "none: no calibrator (calibration: none)"
    assert result.card.validation["selection"]["calibration"].startswith("none")
    assert "grouped folds" not in result.card.to_markdown().split("## Validation scheme")[1].split("| ROC AUC")[0]


def test_training_replayed_at_an_earlier_end_validates_strictly_before_it(valid_tables, tmp_path, small_model_spec):
    """Rolling origins: data_end moves the as-of dates, the training and the validation window."""
    import pandas as pd

    import engine

    spec = dataclasses.replace(small_model_spec("churn"), as_of_periods=16, validation_periods=2)
    now = train_model(valid_tables, "churn", spec=spec, artifacts_dir=tmp_path / "now")
    earlier = train_model(valid_tables, "churn", spec=spec, artifacts_dir=tmp_path / "earlier",
                          data_end=pd.Timestamp(DEMO_END_DATE) - pd.DateOffset(months=3))
    assert earlier.validation["as_of"].max() < now.validation["as_of"].min()
    assert earlier.validation["as_of"].max() <= pd.Timestamp(DEMO_END_DATE) - pd.DateOffset(months=3, days=180)
    # The out-of-time rows come back with label and probability, and the ECE with its floor.
    assert set(now.validation.columns) == {"account_id", "as_of", "label", "probability"}
    assert len(now.validation) == now.metrics["n"]
    assert 0 < now.metrics["ece_noise_mean"] < now.metrics["ece_noise_p95"]
    with pytest.raises(engine.ConfigError, match="after the data's last date"):
        train_model(valid_tables, "churn", spec=spec, artifacts_dir=tmp_path / "x", data_end="2031-01-01")

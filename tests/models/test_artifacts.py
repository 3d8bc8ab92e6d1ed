"""Artifacts and model cards: round trip, and refusal of tampered or foreign-version artifacts."""

from __future__ import annotations

import json

import numpy as np
import pytest

import engine
from engine._paths import default_models_dir
from engine.models import (
    data_fingerprint,
    load_model,
    load_model_spec,
    read_card,
    save_model,
    validation_curves,
)


@pytest.fixture
def saved(tmp_path, fitted_churn, mixed_data):
    X, y = mixed_data
    spec = load_model_spec(default_models_dir() / "churn.yaml")
    card = save_model(fitted_churn, tmp_path, spec, {"roc_auc": 0.81, "ece": 0.012},
                      data_fingerprint(X, y), ("2024-01-31", "2025-03-31"),
                      validation_window=("2025-04-30", "2025-06-30"))
    return card, tmp_path


def test_round_trip_and_card_contents(saved, fitted_churn, mixed_data):
    card, directory = saved
    assert {p.name for p in directory.iterdir()} == {"churn.joblib", "churn.card.json", "churn.card.md"}
    data = json.loads((directory / "churn.card.json").read_text())
    assert data["sha256"] == card.sha256 and len(card.sha256) == 64
    assert set(data["library_versions"]) == {"python", "scikit-learn", "pandas", "numpy", "joblib"}
    kinds = {f["name"]: f["kind"] for f in data["features"]}
    assert kinds["last_order_date"] == "datetime" and kinds["region"] == "categorical"
    assert all(f["dtype"] for f in data["features"])
    assert "account_id" in data["dropped_columns"]
    assert data["training_window"] == {"start": "2024-01-31", "end": "2025-03-31"}
    assert data["selected_candidate"] == fitted_churn.selected_candidate_
    assert data["cv_results"] and data["metrics"]["roc_auc"] == 0.81
    assert data["target"] == {"definition": "no_order_within_horizon", "horizon_days": 180}
    markdown = (directory / "churn.card.md").read_text()
    assert card.sha256 in markdown and "load only artifacts you trust" in markdown
    X, _ = mixed_data
    for path in (directory / "churn.joblib", directory / "churn.card.json", directory):
        loaded = load_model(path)
        assert np.array_equal(loaded.predict_proba(X.iloc[:20]), fitted_churn.predict_proba(X.iloc[:20]))


def test_tampered_byte_is_refused(saved):
    card, directory = saved
    artifact = directory / "churn.joblib"
    blob = bytearray(artifact.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    artifact.write_bytes(bytes(blob))
    with pytest.raises(engine.ArtifactIntegrityError, match="expected sha256.*Retrain"):
        load_model(artifact)


@pytest.mark.parametrize(("library", "version"), [("scikit-learn", "1.0.2"), ("numpy", "1.26.4")])
def test_other_library_version_is_refused(saved, library, version):
    card, directory = saved
    path = directory / "churn.card.json"
    data = json.loads(path.read_text())
    data["library_versions"][library] = version
    path.write_text(json.dumps(data))
    with pytest.raises(engine.ArtifactIntegrityError, match=f"trained with {library} {version}.*Retrain"):
        load_model(path)


def test_missing_card_is_refused(saved):
    _, directory = saved
    (directory / "churn.card.json").unlink()
    with pytest.raises(engine.ArtifactIntegrityError, match="No model card"):
        load_model(directory / "churn.joblib")


def test_card_round_trips_the_validation_curves(tmp_path, fitted_churn, mixed_data):
    X, y = mixed_data
    curves = validation_curves(y, fitted_churn.predict_proba(X)[:, 1])
    card = save_model(fitted_churn, tmp_path, None, {"roc_auc": 0.81}, data_fingerprint(X, y), curves=curves)
    again = read_card(tmp_path / "churn.card.json")
    assert again.curves == curves and again == card
    assert json.loads((tmp_path / "churn.card.json").read_text())["curves"]["gains"]["share"][10] == 0.1
    assert "## Calibration (validation window, quantile bins)" in card.to_markdown()


def test_a_card_written_before_curves_existed_still_loads(saved):
    card, directory = saved
    path = directory / "churn.card.json"
    data = json.loads(path.read_text())
    for newer in ("curves", "training_distribution", "oracle", "validation"):
        data.pop(newer)
    path.write_text(json.dumps(data))
    old = read_card(path)
    assert old.curves == {} and old.sha256 == card.sha256
    assert "Calibration (validation window" not in old.to_markdown()
    assert load_model(directory / "churn.joblib").card_.curves == {}


def test_read_card_matches_saved(saved):
    card, directory = saved
    assert read_card(directory / "churn.joblib") == card

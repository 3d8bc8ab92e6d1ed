"""Loading an artifact is refused, with an ArtifactIntegrityError or ModelError (exit 6), when its
card points outside the models folder, when it is truncated or a directory, or of the wrong kind."""

from __future__ import annotations

import json
import shutil

import pytest

from engine._errors import ArtifactIntegrityError, ModelError, exit_code_for
from engine._paths import default_models_dir
from engine.models import data_fingerprint, load_model, load_model_spec, save_model


@pytest.fixture
def saved(tmp_path, fitted_churn, mixed_data):
    X, y = mixed_data
    spec = load_model_spec(default_models_dir() / "churn.yaml")
    folder = tmp_path / "models"
    save_model(fitted_churn, folder, spec, {"roc_auc": 0.8}, data_fingerprint(X, y), ("2024-01-31", "2025-03-31"))
    return folder


def _edit_card(folder, **changes) -> None:
    path = folder / "churn.card.json"
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))


@pytest.mark.parametrize("name", ["../outside.joblib", "../../x.joblib", "sub/../../outside.joblib"])
def test_card_artifact_with_dotdot_is_refused_before_reading(saved, name):
    shutil.copyfile(saved / "churn.joblib", saved.parent / "outside.joblib")
    _edit_card(saved, artifact=name)
    with pytest.raises(ArtifactIntegrityError, match="no absolute path, no '..'") as caught:
        load_model(saved / "churn.joblib")
    assert exit_code_for(caught.value) == 6


def test_card_artifact_with_absolute_path_is_refused(saved):
    outside = saved.parent / "outside.joblib"
    shutil.copyfile(saved / "churn.joblib", outside)
    _edit_card(saved, artifact=str(outside))
    with pytest.raises(ArtifactIntegrityError, match="no absolute path"):
        load_model(saved / "churn.joblib")


def test_artifact_symlinked_out_of_the_folder_is_refused(saved):
    outside = saved.parent / "outside.joblib"
    shutil.move(saved / "churn.joblib", outside)
    (saved / "churn.joblib").symlink_to(outside)
    with pytest.raises(ArtifactIntegrityError, match="leads out of"):
        load_model(saved / "churn.card.json")


def test_truncated_artifact_with_a_matching_card_is_an_integrity_error(saved):
    """A truncated file whose card was rewritten too: unpickling fails; no traceback escapes."""
    artifact = saved / "churn.joblib"
    artifact.write_bytes(artifact.read_bytes()[:200])
    import hashlib

    _edit_card(saved, sha256=hashlib.sha256(artifact.read_bytes()).hexdigest())
    with pytest.raises(ArtifactIntegrityError, match="truncated or damaged") as caught:
        load_model(artifact)
    assert exit_code_for(caught.value) == 6


def test_truncated_artifact_is_refused_by_its_checksum(saved):
    artifact = saved / "churn.joblib"
    artifact.write_bytes(artifact.read_bytes()[:200])
    with pytest.raises(ArtifactIntegrityError, match="expected sha256"):
        load_model(artifact)


def test_artifact_that_is_a_directory_is_an_integrity_error(saved):
    (saved / "churn.joblib").unlink()
    (saved / "churn.joblib").mkdir()
    with pytest.raises(ArtifactIntegrityError, match="not a regular file"):
        load_model(saved / "churn.card.json")


def test_win_model_in_the_churn_slot_is_a_model_error_naming_the_kind(saved):
    """It exited 4 (a data error) when the win model's features did not fit the churn data."""
    for suffix in (".joblib", ".card.json"):
        shutil.move(saved / f"churn{suffix}", saved / f"win{suffix}")
    _edit_card_path = saved / "win.card.json"
    data = json.loads(_edit_card_path.read_text())
    data.update(kind="win", artifact="win.joblib")
    _edit_card_path.write_text(json.dumps(data))
    for suffix in (".joblib", ".card.json"):
        shutil.copyfile(saved / f"win{suffix}", saved / f"churn{suffix}")
    with pytest.raises(ModelError, match="is a 'win' model; expected a 'churn' model") as caught:
        load_model(saved / "churn.joblib")
    assert exit_code_for(caught.value) == 6
    with pytest.raises(ModelError, match="expected a 'churn' model"):
        load_model(saved / "win.joblib", kind="churn")
    assert load_model(saved / "win.joblib").card_.kind == "win"


def test_publishing_a_card_built_in_memory_is_a_clear_integrity_error(saved, tmp_path):
    """A ModelCard never saved nor read has no file; publish used to fail with AttributeError."""
    from dataclasses import replace

    from engine.models import publish, read_card

    unsaved = replace(read_card(saved / "churn.card.json"), path=None)
    with pytest.raises(ArtifactIntegrityError, match="has no file") as caught:
        publish(unsaved, tmp_path / "current")
    assert exit_code_for(caught.value) == 6
    assert not (tmp_path / "current").exists()

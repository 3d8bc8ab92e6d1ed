"""The publish gate: better or equal within tolerance replaces; worse is refused unless forced."""

from __future__ import annotations

import json

import pytest

import engine
from engine.models import publish, read_card, save_model

WINDOW = ("2025-04-30", "2025-06-30")


def _save(model, directory, auc, window=WINDOW):
    return save_model(model, directory, None, {"roc_auc": auc}, "sha256:test", ("2024-01-31", "2025-03-31"),
                      validation_window=window, name="churn")


@pytest.fixture
def current(tmp_path, fitted_churn):
    current_dir = tmp_path / "artifacts"
    card = _save(fitted_churn, current_dir, 0.800)
    return current_dir, card


@pytest.fixture(scope="module")
def other_model(mixed_frame, fast):
    from engine.models import ChurnModel

    X, y = mixed_frame(500, seed=21)
    return ChurnModel(**fast).fit(X, y)


def test_first_model_is_published(tmp_path, fitted_churn):
    candidate = _save(fitted_churn, tmp_path / "candidate", 0.7)
    decision = publish(candidate.path.parent, tmp_path / "artifacts")
    assert decision.published and not decision.forced and decision.archived_to is None
    assert (tmp_path / "artifacts" / "churn.joblib").exists()


@pytest.mark.parametrize("auc", [0.810, 0.796])  # better; worse but within the 0.005 tolerance
def test_at_least_as_good_replaces_and_archives(tmp_path, current, other_model, auc):
    current_dir, old = current
    candidate = _save(other_model, tmp_path / "candidate", auc)
    decision = publish(candidate.path, current_dir, tolerance=0.005)
    assert decision.published and not decision.forced
    assert decision.candidate_score == auc and decision.current_score == 0.8
    assert read_card(current_dir / "churn.card.json").sha256 == candidate.sha256
    archived = read_card(decision.archived_to / "churn.card.json")
    assert archived.sha256 == old.sha256 and (decision.archived_to / "churn.joblib").exists()
    assert decision.archived_to.parent == current_dir / "archive"
    engine.models.load_model(current_dir / "churn.joblib")  # the published copy verifies


def test_worse_is_refused_and_current_kept(tmp_path, current, other_model):
    current_dir, old = current
    candidate = _save(other_model, tmp_path / "candidate", 0.790)
    decision = publish(candidate.path, current_dir, tolerance=0.005)
    assert not decision.published and "worse than" in decision.reason
    assert read_card(current_dir / "churn.card.json").sha256 == old.sha256
    assert not (current_dir / "archive").exists()


def test_force_publishes_a_worse_model_and_keeps_the_old(tmp_path, current, other_model):
    current_dir, old = current
    candidate = _save(other_model, tmp_path / "candidate", 0.700)
    decision = publish(candidate.path, current_dir, force=True)
    assert decision.published and decision.forced and decision.reason.startswith("forced:")
    assert read_card(decision.archived_to / "churn.card.json").sha256 == old.sha256


def test_different_validation_windows_are_not_compared(tmp_path, current, other_model):
    current_dir, _ = current
    candidate = _save(other_model, tmp_path / "candidate", 0.9, window=("2025-07-31", "2025-09-30"))
    decision = publish(candidate.path, current_dir)
    assert not decision.published and "not comparable" in decision.reason


def test_validation_data_scores_both_models(tmp_path, current, other_model, mixed_frame):
    current_dir, _ = current
    candidate = _save(other_model, tmp_path / "candidate", 0.1, window=("2025-07-31", "2025-09-30"))
    X, y = mixed_frame(600, seed=22)
    decision = publish(candidate.path, current_dir, validation_data=(X, y), tolerance=0.05)
    assert decision.candidate_score != 0.1 and 0.6 < decision.candidate_score <= 1.0
    assert decision.published == (decision.candidate_score >= decision.current_score - 0.05)


def test_lower_is_better_metric(tmp_path, fitted_churn, other_model):
    current_dir = tmp_path / "artifacts"
    save_model(fitted_churn, current_dir, None, {"ece": 0.010}, "x", WINDOW, validation_window=WINDOW, name="churn")
    cand = save_model(other_model, tmp_path / "c", None, {"ece": 0.030}, "x", WINDOW, validation_window=WINDOW, name="churn")
    assert not publish(cand.path, current_dir, metric="ece", tolerance=0.005).published


def test_corrupt_candidate_never_published_even_forced(tmp_path, current, other_model):
    current_dir, _ = current
    candidate = _save(other_model, tmp_path / "candidate", 0.9)
    card = json.loads(candidate.path.read_text())
    card["sha256"] = "0" * 64
    candidate.path.write_text(json.dumps(card))
    with pytest.raises(engine.ArtifactIntegrityError):
        publish(candidate.path, current_dir, force=True)

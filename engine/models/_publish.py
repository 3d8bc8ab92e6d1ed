"""The publish gate: a retrained model replaces the current one only if it is at least as good.

Both models must be judged on the same validation window. When their cards record the same
validation window, the recorded metric is compared; when ``validation_data`` is given, both
models are scored on it instead. Otherwise the gate refuses (a model validated on other data
cannot be compared) unless forced. The replaced model is kept under ``archive/``.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy.typing as npt
import pandas as pd

from engine._errors import ModelError
from engine.models._artifacts import ModelCard, load_model, read_card, verify_artifact
from engine.models._metrics import evaluate
from engine.models._spec import PUBLISH_METRICS
from engine.models._types import PublishMetric

__all__ = ["PublishDecision", "publish"]


@dataclass(frozen=True)
class PublishDecision:
    """What the gate decided and why.

    Attributes
    ----------
    published : bool
        The candidate is now the current model.
    forced : bool
        Published although the gate would have refused.
    reason : str
        A sentence for the log and the CLI.
    metric : {"roc_auc", "pr_auc", "lift_top_decile", "capture_top_decile", "brier", "ece"}
    candidate_score, current_score : float or None
    tolerance : float
    current_card : pathlib.Path
        The card of the model that is current after the decision.
    archived_to : pathlib.Path or None
        Where the replaced model went.
    """

    published: bool
    forced: bool
    reason: str
    metric: PublishMetric
    candidate_score: float | None
    current_score: float | None
    tolerance: float
    current_card: Path
    archived_to: Path | None = None


def _files(card: ModelCard) -> list[Path]:
    card_file = card.card_file()
    base = card_file.parent
    return [base / card.artifact, card_file, base / f"{card.name}.card.md"]


def publish(candidate: str | Path | ModelCard, current_dir: str | Path, metric: PublishMetric = "roc_auc",
            tolerance: float = 0.005, force: bool = False, *,
            validation_data: tuple[pd.DataFrame, npt.ArrayLike] | None = None) -> PublishDecision:
    """Replace the current model by ``candidate`` if it is at least as good, unless forced.

    Parameters
    ----------
    candidate : path or ModelCard
        The retrained model: its card, its ``.joblib``, or its directory.
    current_dir : path
        Where the current model lives (``<name>.joblib`` and cards). Created if needed.
    metric : {"roc_auc", "pr_auc", "lift_top_decile", "capture_top_decile", "brier", "ece"}, default="roc_auc"
        A key of :data:`engine.models.PUBLISH_METRICS`; for ``brier`` and ``ece`` lower is
        better, for the others higher.
    tolerance : float, default=0.005
        How much worse the candidate may be and still be published (noise between retrains).
    force : bool, default=False
        Publish whatever the comparison says; the decision records that it was forced.
    validation_data : (pandas.DataFrame, array-like), optional
        Score both models on this data rather than trusting the cards' metrics.

    Returns
    -------
    PublishDecision
    """
    from engine._errors import ArgumentError
    from engine._paths import as_path
    from engine._suggest import did_you_mean

    if metric not in PUBLISH_METRICS:
        raise ArgumentError(f"publish: expected metric as one of {sorted(PUBLISH_METRICS)}; got {metric!r}"
                            f"{did_you_mean(str(metric), PUBLISH_METRICS)}. Fix: pass e.g. metric='roc_auc'")
    if not isinstance(tolerance, (int, float)) or not 0 <= tolerance < 1:
        raise ArgumentError(f"publish: expected tolerance as a number in [0, 1); got {tolerance!r}. "
                            "Fix: pass e.g. tolerance=0.005")
    current_dir = as_path(current_dir, "the current model folder", "models/artifacts")
    card = candidate if isinstance(candidate, ModelCard) else read_card(
        as_path(candidate, "the candidate model (card, .joblib or folder)", "models/candidates/churn"))
    verify_artifact(card)  # never publish a corrupt artifact, even when forced
    current_path = current_dir / f"{card.name}.card.json"
    if card.card_file().resolve() == current_path.resolve():
        raise ModelError(f"The candidate {card.path} already is the current model in {current_dir}.")
    higher = PUBLISH_METRICS[metric]

    current = read_card(current_path) if current_path.exists() else None
    cand_score: float | None = None
    cur_score: float | None = None
    if current is None:
        accept, reason = True, f"no current {card.name!r} model in {current_dir}"
    else:
        if validation_data is not None:
            X, y = validation_data
            cand_score = evaluate(y, load_model(card.card_file()).predict_proba(X)[:, 1])[metric]
            cur_score = evaluate(y, load_model(current.card_file()).predict_proba(X)[:, 1])[metric]
            basis = "on the given validation data"
        elif card.validation_window and card.validation_window == current.validation_window:
            cand_score, cur_score = card.metrics.get(metric), current.metrics.get(metric)
            if cand_score is None or cur_score is None:
                raise ModelError(
                    f"Cannot compare on {metric!r}: expected it in both model cards' metrics; got "
                    f"candidate {sorted(card.metrics)}, current {sorted(current.metrics)}. "
                    "Evaluate both with engine.models.evaluate, or pass validation_data."
                )
            basis = f"on the validation window {card.validation_window}"
        else:
            cand_score = card.metrics.get(metric)
            cur_score = current.metrics.get(metric)
            accept = False
            reason = (
                f"not comparable: the candidate was validated on {card.validation_window} and the "
                f"current model on {current.validation_window}; pass validation_data to score both "
                "on the same window, or force"
            )
            basis = None
        if basis is not None:
            # Both branches that set a basis also set both scores (the card branch raised if
            # either was missing).
            assert cand_score is not None and cur_score is not None
            if higher:
                accept = cand_score >= cur_score - tolerance
            else:
                accept = cand_score <= cur_score + tolerance
            verdict = "at least as good as" if accept else "worse than"
            reason = (f"candidate {metric} {cand_score:.4f} is {verdict} current {cur_score:.4f} "
                      f"(tolerance {tolerance}) {basis}")

    if not accept and not force:
        return PublishDecision(False, False, reason, metric, cand_score, cur_score, tolerance,
                               current_path if current is not None else card.card_file())

    archived_to = None
    if current is not None:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        archived_to = current_dir / "archive" / f"{stamp}-{current.sha256[:12]}"
        archived_to.mkdir(parents=True)
        for path in _files(current):
            if path.exists():
                shutil.move(str(path), archived_to / path.name)
    current_dir.mkdir(parents=True, exist_ok=True)
    for path in _files(card):
        if path.exists():
            shutil.copy2(path, current_dir / path.name)
    forced = force and not accept
    if forced:
        reason = "forced: " + reason
    return PublishDecision(True, forced, reason, metric, cand_score, cur_score, tolerance,
                           current_path, archived_to)

"""The stages of a run that need every account at once: priority, reasons, assignment; then assembly.

The row-wise stages (features, tiers, churn, routes, win) run per partition
(:mod:`engine.pipeline._rowwise`, on the local or the Dask backend); :func:`combine_partitions`
puts the parts back in table order, ranks the whole book by value at risk, explains the riskiest
accounts, assigns every routed opportunity, and measures drift, returning :class:`ScoredTables`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from engine.features import churn_eligible
from engine.models import drift_report, expected_deal_value, priority_rank, value_at_risk
from engine.pipeline._decide import assign_opportunities, honour_live_routes
from engine.pipeline._rowwise import PartitionScores
from engine.pipeline._run_models import _model_sha
from engine.pipeline._stages import _Stages

__all__ = ["DEFAULT_REASONS_FOR", "ScoredTables", "combine_partitions"]

#: How many of the highest value-at-risk accounts get their top reasons by default. Reasons
#: cost a perturbed prediction per feature per account (see engine.models.explain), so the
#: nightly run explains the accounts someone will act on; raise it with ``reasons_for``.
DEFAULT_REASONS_FOR = 1_000


@dataclass(frozen=True)
class ScoredTables:
    """The pure middle of a run (:func:`engine.pipeline._score.score_tables`): its results before they are stamped and written.

    Attributes
    ----------
    account_scores : pandas.DataFrame
    opportunity_routes : pandas.DataFrame
    conflicts : pandas.DataFrame
        Ownership conflicts found by assignment.
    meta : dict of str to str
        Rule-set and model hashes.
    model_drift : pandas.DataFrame or None
        PSI of every model input and score against the training distribution.
    assignment_load : pandas.DataFrame or None
        Each rep's and partner's load after assignment, live assignments included.
    """

    account_scores: pd.DataFrame
    opportunity_routes: pd.DataFrame
    conflicts: pd.DataFrame
    meta: dict[str, str]
    model_drift: pd.DataFrame | None = None
    assignment_load: pd.DataFrame | None = None



def _reasons(model, subset: pd.DataFrame, top: int) -> np.ndarray:
    """Top reasons that raise the risk (a JSON list of sentences) for each row of ``subset``.

    Read one back as a list with ``engine.models.reasons_list``; the factors that lower the
    risk are on request: ``model.explain(X, direction="both")``.
    """
    out = np.full(len(subset), None, dtype=object)
    if len(subset) == 0:
        return out
    names = [str(c) for c in model.feature_names_in_]
    subset = subset[[c for c in names if c in subset.columns]].reset_index(drop=True)
    out[:] = "[]"  # explained: an account where nothing raises the risk has no reasons
    explained = model.explain(subset, top=top, direction="raises")
    texts = explained.sort_values(["row", "rank"]).groupby("row", sort=False)["text"].agg(list)
    positions = subset.index.get_indexer(texts.index)
    out[positions] = [json.dumps(sentences, ensure_ascii=False) for sentences in texts]
    return out


def _take_rows(frames: list[pd.DataFrame], positions: np.ndarray) -> pd.DataFrame:
    """Rows at ``positions`` of the frames as if concatenated, in that order, without concatenating.

    The parts' feature frames together are as large as all accounts' features (~0.5 GB at a
    million accounts); a few rows of them are taken where they are instead of copying them all.
    """
    starts = np.cumsum([0] + [len(frame) for frame in frames])
    part = np.searchsorted(starts, positions, side="right") - 1
    pieces, where = [], []
    for number in np.unique(part):
        chosen = np.flatnonzero(part == number)
        pieces.append(frames[number].iloc[positions[chosen] - starts[number]])
        where.append(chosen)
    if not pieces:
        return frames[0].iloc[:0].reset_index(drop=True)
    taken = pd.concat(pieces, ignore_index=True)
    return taken.iloc[np.argsort(np.concatenate(where), kind="stable")].reset_index(drop=True)


def combine_partitions(
    parts: list[PartitionScores],
    tables: Mapping[str, pd.DataFrame],
    *,
    models: Mapping[str, Any],
    rules: Mapping[str, Any],
    reasons_for: int = DEFAULT_REASONS_FOR,
    top_reasons: int = 3,
    stages: _Stages | None = None,
    live: pd.DataFrame | None = None,
) -> ScoredTables:
    """The stages that need every account at once: priority, reasons, assignment; then assemble.

    Rows come out in the order of the ``customers`` and ``opportunities`` tables, whatever the
    partitioning was. Opportunities in ``live`` (live assignments, ``engine.live``) keep their
    live route and assignment; the per-person load after assignment is in
    ``ScoredTables.assignment_load``.
    """
    stages = stages or _Stages(None)
    for part in parts:
        for name, value in part.seconds.items():
            stages.seconds[name] = stages.seconds.get(name, 0.0) + value
    with stages.stage("priority"):
        # Each part's tiers and churn are aligned with its accounts; the parts are put in table
        # order by position, and only the columns the results carry are copied (the feature
        # frames stay in their parts: reasons take their few rows from there).
        frames = [p.accounts for p in parts]
        produced = pd.concat([frame["account_id"] for frame in frames], ignore_index=True)
        order = _table_order(produced, tables["customers"]["account_id"])
        carried = ["account_id", "name", "region", "industry", "territory", "owner_rep_id", "owner_partner_id"]
        scores = pd.concat([frame[carried] for frame in frames], ignore_index=True).iloc[order]
        tiers = pd.concat([p.tiers for p in parts], ignore_index=True).iloc[order]
        scores = pd.concat(
            [scores.reset_index(drop=True),
             tiers[[c for c in tiers.columns if c not in carried]].reset_index(drop=True)],
            axis=1,
        )
        del tiers
        scores["churn_probability"] = np.concatenate([np.asarray(p.churn, dtype=float) for p in parts])[order]
        # The report's tier pyramid and Pareto curve are in revenue, which needs no order scan then.
        revenue = np.concatenate([frame["revenue_12m"].to_numpy(dtype=float, na_value=np.nan) for frame in frames])
        scores["revenue_12m"] = revenue[order]
        margin = np.concatenate([frame["margin_12m"].to_numpy(dtype=float, na_value=np.nan) for frame in frames])
        scores["expected_margin_12m"] = pd.Series(margin[order]).clip(lower=0).to_numpy()
        scores["value_at_risk"] = value_at_risk(scores["churn_probability"], scores["expected_margin_12m"]).to_numpy()
        book = pd.DataFrame({
            "value_at_risk": scores["value_at_risk"],
            "owner": scores["owner_rep_id"].astype(object).where(scores["owner_rep_id"].notna(), "(no owner)"),
            "account_id": scores["account_id"],
        })
        scores["priority_rank"] = priority_rank(book, value="value_at_risk", owner="owner", key="account_id").to_numpy()
        del book
        riskiest = np.argsort(-scores["value_at_risk"].fillna(-1).to_numpy(), kind="stable")[: max(0, reasons_for)]
        top = np.full(len(scores), None, dtype=object)
        top[riskiest] = _reasons(models["churn"], _take_rows(frames, order[riskiest]), top_reasons)
        scores["top_reasons"] = top
        scores["churn_model_sha256"] = _model_sha(models["churn"])
    opportunities = pd.concat([p.opportunities for p in parts], ignore_index=True)
    order = _table_order(opportunities["opportunity_id"], tables["opportunities"]["opportunity_id"])
    opportunities = opportunities.iloc[order].reset_index(drop=True)
    routes = pd.concat([p.routes for p in parts], ignore_index=True).iloc[order].reset_index(drop=True)
    win = np.concatenate([np.asarray(p.win, dtype=float) for p in parts])[order] if parts else np.zeros(0)
    with stages.stage("assign"):
        routes = honour_live_routes(routes, live)
        assignment = assign_opportunities(routes, dict(tables), live=live)
    routed = opportunities[["opportunity_id", "account_id", "region", "industry", "est_amount"]]
    routed = pd.concat([routed, routes[[c for c in routes.columns if c not in routed.columns]]], axis=1)
    assigned = assignment.assignments.reset_index(drop=True)
    keep = [c for c in ("assignee_type", "assignee_id", "copied_rep_id", "status", "status_reason", "status_message",
                        "decided_live") if c in assigned.columns]
    routed = pd.concat([routed, assigned[keep].rename(columns={"status": "assignment_status"})], axis=1)
    routed["win_probability"] = win
    routed["expected_deal_value"] = expected_deal_value(routed["win_probability"], routed["est_amount"]).to_numpy()
    routed["win_model_sha256"] = _model_sha(models["win"])
    # Inputs and scores against each model card's training distribution (PSI), on the rows
    # the model was trained on the like of (churn: active customers); see _result.
    eligible = [churn_eligible(p.accounts) for p in parts]
    drift = drift_report(dict(models), {
        "churn": [(p.accounts[e], np.asarray(p.churn)[e]) for p, e in zip(parts, eligible)],
        "win": [(p.opportunities, p.win) for p in parts]})
    meta = {
        "tier_ruleset_hash": rules["tiers"].hash,
        "routing_ruleset_hash": rules["routing"].hash,
        "churn_model_sha256": _model_sha(models["churn"]),
        "win_model_sha256": _model_sha(models["win"]),
    }
    return ScoredTables(scores, routed, assignment.conflicts, meta, drift, assignment_load=assignment.load)


def _table_order(produced: pd.Series, original: pd.Series) -> np.ndarray:
    """Positions that put ``produced`` ids in the order they have in ``original``."""
    rank = pd.Series(np.arange(len(original)), index=original.to_numpy())
    rank = rank[~rank.index.duplicated()]
    return np.argsort(rank.reindex(produced.to_numpy()).to_numpy(), kind="stable")

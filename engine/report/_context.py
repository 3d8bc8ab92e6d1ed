"""Numbers from the later stages and the run's provenance: alerts, call plans, models, rules, manifest.

Each reads what exists (the alert and plan tables, the model cards, the rule files) and says what
does not, so the page never shows a figure that was not recorded.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from engine.report._common import as_float as _f
from engine.report._common import change as _delta
from engine.report._common import counts_of as _counts
from engine.report._common import numbers_of as _num
from engine.report._common import share_of as _share
from engine.report._common import text_of as _text
from engine.report._read import ReportInputs

__all__ = [
    "OPEN_ALERT_STATES",
    "SEVERITIES",
    "action_of_accounts",
    "alert_numbers",
    "drift_numbers",
    "manifest_numbers",
    "model_numbers",
    "plan_numbers",
    "rule_numbers",
]

#: Alert states that count as open (Alertmanager's "firing", acknowledged or snoozed included).
OPEN_ALERT_STATES = ("open", "escalated", "acknowledged", "snoozed")
SEVERITIES = ("high", "medium", "low")
#: Bins of the score distributions compared between runs (equal width on [0, 1]).
PROBABILITY_BINS = 20
#: Inputs shown per model in "drift since training": those with the highest PSI.
DRIFT_TOP = 8
#: The retrain verdict of a model from the statuses of its drift rows (worst first).
DRIFT_VERDICTS = {
    "retrain": "retrain: an input or the score has moved so far from training (PSI of 0.25 or more) "
               "that the model should be retrained",
    "shifted": "watch: some inputs have shifted since training (PSI 0.10 to 0.25); no retraining needed yet",
    "stable": "stable: every input and the score are distributed as in training (PSI below 0.10)",
    "few rows": "no verdict: too few rows were scored to tell drift from sampling noise",
}


# --- alerts and plans ----------------------------------------------------------------------------
def alert_numbers(inputs: ReportInputs) -> dict[str, Any]:
    alerts = inputs.optional.get("alerts")
    run_id = inputs.current.run_id
    if alerts is None or not {"state", "kind"} <= set(alerts.columns):
        return {"available": False, "open_total": None,
                "note": "not available for this run: the database has no alert state (run `kam alerts evaluate`)."}
    states = _text(alerts, "state")
    open_alerts = alerts.loc[states.isin(OPEN_ALERT_STATES)]
    kinds = sorted(_text(open_alerts, "kind").unique())
    severity = _text(open_alerts, "severity", "(none)")
    severities = [s for s in SEVERITIES if (severity == s).any()] + sorted(set(severity) - set(SEVERITIES))
    table = pd.crosstab(_text(open_alerts, "kind"), severity).reindex(index=kinds, columns=severities, fill_value=0)
    this_run, evaluated = _transitions(inputs, run_id)
    previous = _transitions(inputs, inputs.previous.run_id)[0] if inputs.previous is not None else None
    var = _num(open_alerts, "value_at_risk")
    return {
        "available": True,
        "evaluated_this_run": evaluated,
        "open_total": len(open_alerts),
        "open_value_at_risk": float(var.sum()) if var.notna().any() else None,
        "kinds": kinds,
        "severities": severities,
        "counts": table.to_numpy().astype(int).tolist(),
        "by_state": {str(k): int(v) for k, v in _counts(states).sort_index().items()},
        "this_run": this_run,
        "previous_run": previous,
        "note": None if evaluated else "the alert state has not been evaluated on this run; states shown are the latest.",
    }


def _transitions(inputs: ReportInputs, run_id: str) -> tuple[dict[str, int | None], bool]:
    """Alerts opened, escalated and resolved by a run (from its events, else ``alert_runs``)."""
    counts: dict[str, int | None] = {"opened": None, "escalated": None, "resolved": None}
    evaluated = False
    events = inputs.optional.get("alert_events")
    if events is not None and {"run_id", "to_state"} <= set(events.columns):
        mine = events.loc[events["run_id"].astype(str) == run_id]
        evaluated = len(mine) > 0
        moved_to = _text(mine, "to_state").astype(str).to_numpy()
        changed = (_text(mine, "from_state").astype(str).to_numpy() != moved_to) if "from_state" in mine.columns else True
        counts = {
            "opened": int(((moved_to == "open") & changed).sum()),
            "escalated": int(((moved_to == "escalated") & changed).sum()),
            "resolved": int(((moved_to == "resolved") & changed).sum()),
        }
    runs = inputs.optional.get("alert_runs")
    if runs is not None and "run_id" in runs.columns:
        mine = runs.loc[runs["run_id"].astype(str) == run_id]
        if len(mine):
            evaluated = True
            for key in counts:
                if key in mine.columns and counts[key] is None:
                    counts[key] = int(pd.to_numeric(mine[key], errors="coerce").fillna(0).iloc[0])
    return counts, evaluated


def action_of_accounts(inputs: ReportInputs) -> dict[str, str]:
    """Recommended action per account: from its open alert, else from its call-plan line."""
    out: dict[str, str] = {}
    sources = []
    plans = inputs.optional.get("call_plans")
    if plans is not None and {"account_id", "recommended_action"} <= set(plans.columns):
        mine = plans.loc[plans["run_id"].astype(str) == inputs.current.run_id] if "run_id" in plans.columns else plans
        mine = mine.loc[mine["recommended_action"].notna()]
        if len(mine):
            out.update(dict(zip(mine["account_id"].astype(str), mine["recommended_action"].astype(str))))
            sources.append("call plan")
    alerts = inputs.optional.get("alerts")
    if alerts is not None and {"account_id", "action", "state"} <= set(alerts.columns):
        open_alerts = alerts.loc[_text(alerts, "state").isin(OPEN_ALERT_STATES) & alerts["action"].notna()]
        if len(open_alerts):
            rank = {s: i for i, s in enumerate(SEVERITIES)}
            ordered = open_alerts.assign(_rank=_text(open_alerts, "severity").map(rank).fillna(len(rank)))
            ordered = ordered.sort_values("_rank").drop_duplicates("account_id")
            out.update({str(a): str(x).replace("_", " ") for a, x in zip(ordered["account_id"], ordered["action"])})
            sources.insert(0, "open alert")
    if sources:
        out["__source__"] = " / ".join(sources)
    return out


def plan_numbers(inputs: ReportInputs) -> dict[str, Any]:
    plans = inputs.optional.get("call_plans")
    if plans is None or "status" not in plans.columns:
        return {"available": False,
                "note": "not available for this run: the database has no call plans (run `kam plan`)."}
    every = plans
    if "run_id" in plans.columns:
        plans = plans.loc[plans["run_id"].astype(str) == inputs.current.run_id]
    if plans.empty:
        return {"available": False, "note": "not available for this run: no call plan was made from this run."}
    figures = _plan_figures(plans, inputs.current.accounts)
    previous = None
    if inputs.previous is not None and "run_id" in every.columns:
        before = every.loc[every["run_id"].astype(str) == inputs.previous.run_id]
        if len(before):
            old = _plan_figures(before, inputs.previous.accounts)
            previous = {k: old[k] for k in ("planned_lines", "value_at_risk_covered", "coverage")}
    return {**figures, "previous": previous}


def _plan_figures(plans: pd.DataFrame, accounts: pd.DataFrame) -> dict[str, Any]:
    planned = plans.loc[_text(plans, "status") == "planned"]
    region = pd.Series(_text(accounts, "region").astype(str).to_numpy(), index=accounts["account_id"].astype(str))
    region = region[~region.index.duplicated()]
    var_all = pd.DataFrame({"region": _text(accounts, "region"), "var": _num(accounts, "value_at_risk").fillna(0.0)})
    var_region = var_all.groupby("region", observed=True)["var"].sum()
    planned_accounts = planned.drop_duplicates("account_id") if "account_id" in planned.columns else planned
    planned_region = planned_accounts["account_id"].astype(str).map(region).fillna("(unknown)")
    planned_var = pd.Series(_num(planned_accounts, "value_at_risk").fillna(0.0).to_numpy(), index=planned_region.to_numpy())
    covered = planned_var.groupby(level=0).sum()
    lines = pd.Series(1, index=planned_region.to_numpy()).groupby(level=0).sum()
    people = planned.groupby(["assignee_type", "assignee_id"]).ngroups if {"assignee_type", "assignee_id"} <= set(planned.columns) else None
    total_var = float(var_all["var"].sum())
    weeks = sorted(_text(plans, "week").unique()) if "week" in plans.columns else []
    return {
        "available": True,
        "weeks": weeks,
        "lines_by_status": {str(k): int(v) for k, v in _counts(_text(plans, "status")).items()},
        "planned_lines": len(planned),
        "people": people,
        "value_at_risk_covered": float(covered.sum()),
        "coverage": _share(float(covered.sum()), total_var),
        "by_region": [
            {"region": str(r), "lines": int(lines.get(r, 0)), "value_at_risk_covered": float(covered.get(r, 0.0)),
             "value_at_risk": float(var_region.get(r, 0.0)),
             "coverage": _share(float(covered.get(r, 0.0)), float(var_region.get(r, 0.0)))}
            for r in sorted(set(var_region.index) | set(covered.index))
        ],
    }


# --- models --------------------------------------------------------------------------------------
def _curve(card: dict[str, Any], *names: str) -> dict[str, list[float]] | None:
    """A stored curve of the card (``card["curves"][name]``) as lists of floats, if any."""
    curves = card.get("curves")
    if not isinstance(curves, dict):
        return None
    for name in names:
        value = curves.get(name)
        if isinstance(value, dict) and value:
            try:
                return {str(k): [float(x) for x in v] for k, v in value.items() if isinstance(v, list)}
            except (TypeError, ValueError):
                return None
    return None


def _psi(before: list[int], after: list[int]) -> float | None:
    """Population stability index between two binned distributions (0.1 moderate, 0.25 large)."""
    a, b = np.asarray(before, dtype=float), np.asarray(after, dtype=float)
    if a.sum() == 0 or b.sum() == 0:
        return None
    a, b = np.clip(a / a.sum(), 1e-4, None), np.clip(b / b.sum(), 1e-4, None)
    return float(np.sum((b - a) * np.log(b / a)))


def _drift_rows(table: pd.DataFrame, run_id: str, kind: str) -> pd.DataFrame:
    mine = table.loc[(table["run_id"].astype(str) == run_id) & (table["model"].astype(str) == kind)]
    return mine.assign(psi=_num(mine, "psi"), status=mine["status"].astype(str), feature=mine["feature"].astype(str))


def _verdict(rows: pd.DataFrame) -> str:
    statuses = set(rows["status"])
    return next((v for v in ("retrain", "shifted", "stable") if v in statuses), "few rows")


def drift_numbers(inputs: ReportInputs, kind: str) -> dict[str, Any]:
    """Drift since training of one model in the run (the ``model_drift`` rows), and its change.

    Per model: the :data:`DRIFT_TOP` inputs with the highest population stability index (PSI)
    against the training distribution in the model card, the score's PSI, the count of inputs
    per status and the retrain verdict (the worst status); with a comparison run, each PSI's
    change and the comparison run's verdict.
    """
    from engine.models._drift import SCORE

    table = inputs.optional.get("model_drift")
    if table is None or not {"run_id", "model", "feature", "psi", "status"} <= set(table.columns):
        return {"available": False, "note": "not available for this run: the database has no drift table "
                "(`model_drift`; scoring runs write it since kam checks drift against the training distribution)."}
    rows = _drift_rows(table, inputs.current.run_id, kind)
    if rows.empty:
        return {"available": False, "note": f"not available for this run: it recorded no drift for the {kind} model "
                "(the run predates drift checks, or the model card holds no training distribution)."}
    before = None
    compared_with = inputs.previous.run_id if inputs.previous is not None else None
    if compared_with is not None:
        old = _drift_rows(table, compared_with, kind)
        before = old if len(old) else None
    old_psi = dict(zip(before["feature"], before["psi"])) if before is not None else {}

    def row(r) -> dict[str, Any]:
        psi = _f(r.psi)
        return {"feature": r.feature, "psi": psi, "status": r.status,
                "previous_psi": _f(old_psi.get(r.feature)) if before is not None else None,
                "change": _delta(psi, _f(old_psi.get(r.feature))) if before is not None else None}

    score = rows.loc[rows["feature"] == SCORE]
    features = rows.loc[rows["feature"] != SCORE].sort_values(["psi", "feature"], ascending=[False, True],
                                                              na_position="last", kind="stable")
    verdict = _verdict(rows)
    return {
        "available": True,
        "verdict": verdict,
        "verdict_text": DRIFT_VERDICTS[verdict],
        "inputs_checked": len(features),
        "by_status": {str(k): int(v) for k, v in features["status"].value_counts().sort_index().items()},
        "due": sorted(rows.loc[rows["status"] == "retrain", "feature"].tolist())[:DRIFT_TOP],
        "top": [row(r) for r in features.head(DRIFT_TOP).itertuples()],
        "score": row(next(score.itertuples())) if len(score) else None,
        "scored_rows": int(_num(rows, "rows").max()) if "rows" in rows.columns and _num(rows, "rows").notna().any() else None,
        "training_rows": (int(_num(rows, "training_rows").max())
                          if "training_rows" in rows.columns and _num(rows, "training_rows").notna().any() else None),
        "previous_verdict": _verdict(before) if before is not None else None,
        "compared_with": compared_with if before is not None else None,
    }


def model_numbers(inputs: ReportInputs) -> list[dict[str, Any]]:
    out = []
    run = inputs.current.run
    scores = {
        "churn": _num(inputs.current.accounts, "churn_probability"),
        "win": _num(inputs.current.routes, "win_probability"),
    }
    previous = inputs.previous
    previous_scores = None if previous is None else {
        "churn": _num(previous.accounts, "churn_probability"),
        "win": _num(previous.routes, "win_probability"),
    }
    bins = np.linspace(0, 1, PROBABILITY_BINS + 1)
    for kind in ("churn", "win"):
        card = inputs.cards.get(kind)
        sha = str(run.get(f"{kind}_model_sha256") or "")
        entry: dict[str, Any] = {"kind": kind, "sha256": sha, "card": None, "note": inputs.card_notes.get(kind)}
        values = scores[kind].dropna().clip(0, 1)
        hist_now = np.histogram(values, bins=bins)[0].astype(int).tolist()
        entry["scores"] = {"rows": len(values), "mean": _f(values.mean()) if len(values) else None, "histogram": hist_now}
        if previous is not None and previous_scores is not None:
            before = previous_scores[kind].dropna().clip(0, 1)
            hist_before = np.histogram(before, bins=bins)[0].astype(int).tolist()
            entry["score_drift"] = {
                "compared_with": previous.run_id,
                "psi": _psi(hist_before, hist_now),
                "histogram_before": hist_before,
                "mean_before": _f(before.mean()) if len(before) else None,
                "same_model": sha == str(previous.run.get(f"{kind}_model_sha256") or ""),
            }
        else:
            entry["score_drift"] = None
        drift = run.get("drift")
        entry["recorded_drift"] = drift.get(kind) if isinstance(drift, dict) and isinstance(drift.get(kind), dict) else None
        entry["drift"] = drift_numbers(inputs, kind)
        if card is not None:
            metrics = card.get("metrics") or {}
            capture = _f(metrics.get("capture_top_decile"))
            gains = _curve(card, "gains", "cumulative_gains")
            if gains is None and capture is not None:
                # The card stores the share of positives in the top decile: the one interior
                # point of the cumulative gains curve it allows (the rest is not stored).
                gains = {"share": [0.0, 0.1, 1.0], "captured": [0.0, capture, 1.0], "partial": [1.0]}
            entry["card"] = {
                "name": card.get("name"),
                "created_at": card.get("created_at"),
                "selected_candidate": card.get("selected_candidate"),
                "calibration": card.get("calibration"),
                "n_train_rows": card.get("n_train_rows"),
                "training_window": card.get("training_window"),
                "validation_window": card.get("validation_window"),
                "target": card.get("target"),
                "metrics": {str(k): v for k, v in metrics.items()},
                "cv_results": [
                    {"candidate": str(r.get("candidate")), "roc_auc_mean": _f(r.get("roc_auc_mean")),
                     "roc_auc_std": _f(r.get("roc_auc_std")), "log_loss_mean": _f(r.get("log_loss_mean"))}
                    for r in (card.get("cv_results") or [])
                ],
                "roc": _curve(card, "roc"),
                "gains": gains,
                "calibration_curve": _curve(card, "calibration", "reliability"),
                "path": card.get("card_path"),
                "mean_score_vs_base_rate": _delta(entry["scores"]["mean"], _f(metrics.get("base_rate"))),
            }
        out.append(entry)
    return out


# --- rules ---------------------------------------------------------------------------------------
def rule_numbers(inputs: ReportInputs) -> list[dict[str, Any]]:
    out = []
    sets = (("tiers", inputs.current.accounts, "tier_rule_id", "tier_status", "tier_ruleset_hash_run"),
            ("routing", inputs.current.routes, "route_rule_id", "route_status", "routing_ruleset_hash"))
    for name, frame, rule_column, status_column, _ in sets:
        run_hash = str(inputs.current.run.get(f"{name if name == 'routing' else 'tier'}_ruleset_hash") or "")
        ruleset = inputs.rulesets.get(name)
        file_hash = ruleset.hash if ruleset is not None else None
        rule_ids = _text(frame, rule_column, "(no rule)")
        status = _text(frame, status_column, "(none)")
        counts = _counts(rule_ids)
        previous_counts = None
        if inputs.previous is not None:
            before_frame = inputs.previous.accounts if name == "tiers" else inputs.previous.routes
            previous_counts = _counts(_text(before_frame, rule_column, "(no rule)"))
        declared = [r.id for r in ruleset.spec.rules] if ruleset is not None else []
        order = declared + sorted(set(counts.index) - set(declared))
        total = len(frame)
        rows = [{
            "rule_id": rid, "decided": int(counts.get(rid, 0)), "share": _share(int(counts.get(rid, 0)), total),
            "change": None if previous_counts is None else int(counts.get(rid, 0)) - int(previous_counts.get(rid, 0)),
            "declared": rid in declared,
        } for rid in order if rid in counts.index or rid in declared]
        same = file_hash is not None and file_hash == run_hash
        out.append({
            "name": name,
            "rows": rows,
            "decisions": total,
            "by_status": {str(k): int(v) for k, v in _counts(status).sort_index().items()},
            "never_fired": [rid for rid in declared if counts.get(rid, 0) == 0] if same else None,
            "version": ruleset.version if ruleset is not None and same else None,
            "run_hash": run_hash,
            "file_hash": file_hash,
            "file": str(ruleset.spec.file) if ruleset is not None and ruleset.spec.file else None,
            "file_matches_run": same,
            "previous_hash": None if inputs.previous is None else str(
                inputs.previous.run.get(f"{name if name == 'routing' else 'tier'}_ruleset_hash") or ""),
        })
    return out


# --- manifest ------------------------------------------------------------------------------------
def manifest_numbers(inputs: ReportInputs) -> dict[str, Any]:
    run = inputs.current.run
    previous = inputs.previous.run if inputs.previous is not None else None
    raw_stages = run.get("stage_seconds")
    stages: dict[str, Any] = raw_stages if isinstance(raw_stages, dict) else {}
    raw_before = previous.get("stage_seconds") if previous else None
    before: dict[str, Any] = raw_before if isinstance(raw_before, dict) else {}
    keys = ("run_id", "as_of", "started_at", "finished_at", "rows_in", "rows_quarantined", "accounts_scored",
            "opportunities_routed", "assigned", "tier_ruleset_hash", "routing_ruleset_hash",
            "churn_model_sha256", "win_model_sha256")
    return {
        "fields": [{"field": k, "value": _plain(run.get(k)), "previous": _plain(previous.get(k)) if previous else None}
                   for k in keys if k in run],
        "stages": [{"stage": str(k), "seconds": _f(v), "previous": _f(before.get(k)) if before else None}
                   for k, v in stages.items()],
        "total_seconds": float(sum(_f(v) or 0.0 for v in stages.values())),
        "runs_in_database": len(inputs.runs),
        "source": inputs.source,
        "compared_with": inputs.previous.run_id if inputs.previous is not None else None,
    }


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return _f(value)
    return str(value)

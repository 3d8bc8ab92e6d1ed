"""The one-screen summary of a scoring run and its JSON form (progress: engine.cli._progress)."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

__all__ = ["print_summary", "summary_dict"]


def summary_dict(result) -> dict[str, Any]:
    """The run summary as plain data (what ``kam score --json`` prints)."""
    scores = result.account_scores
    routes = result.opportunity_routes
    by_region = (
        scores.groupby("region", observed=True)["value_at_risk"].sum().sort_values(ascending=False).head(5)
        if len(scores)
        else pd.Series(dtype=float)
    )
    return {
        "run_id": result.run_id,
        "as_of": str(result.as_of),
        "written": result.written,
        "accounts": int(len(scores)),
        "opportunities": int(len(routes)),
        "quarantined_rows": int(result.run.get("rows_quarantined", 0)),
        "tiers": json.loads(result.run["tier_counts"]),
        "routes": json.loads(result.run["route_counts"]),
        "assigned": int(result.run.get("assigned", 0)),
        "not_assigned": _not_assigned(routes),
        "conflicts": int(len(result.conflicts)),
        "value_at_risk_total": float(scores["value_at_risk"].sum()) if len(scores) else 0.0,
        "value_at_risk_top_regions": {str(k): float(v) for k, v in by_region.items()},
        "expected_deal_value_total": float(routes["expected_deal_value"].sum()) if len(routes) else 0.0,
        "stage_seconds": {k: round(v, 3) for k, v in result.seconds.items()},
        **({"alerts": result.alerts.to_dict()} if getattr(result, "alerts", None) is not None else {}),
    }


def _not_assigned(routes: pd.DataFrame) -> dict[str, int]:
    """Why opportunities were left unassigned: status reason -> count."""
    if "assignment_status" not in routes or routes.empty:
        return {}
    held = routes.loc[routes["assignment_status"].astype(str) != "assigned", "status_reason"]
    return {str(k): int(v) for k, v in held.astype(object).fillna("(no reason)").value_counts().items()}


def print_summary(result, out) -> None:
    """Print the one-screen summary of a run."""
    from rich.table import Table

    data = summary_dict(result)
    verb = "wrote" if result.written else "computed (dry run, nothing written)"
    out.print(
        f"run {data['run_id']} as of {data['as_of']}: {verb} {data['accounts']:,} account scores and "
        f"{data['opportunities']:,} opportunity routes; {data['quarantined_rows']:,} input rows quarantined"
    )
    tiers = Table(title="tiers", title_justify="left")
    tiers.add_column("tier")
    tiers.add_column("accounts", justify="right")
    for tier, count in data["tiers"].items():
        tiers.add_row(str(tier), f"{count:,}")
    out.print(tiers)
    routes = Table(title="routes", title_justify="left")
    routes.add_column("route")
    routes.add_column("opportunities", justify="right")
    for route, count in data["routes"].items():
        routes.add_row(str(route), f"{count:,}")
    out.print(routes)
    held = ", ".join(f"{k} {v:,}" for k, v in data["not_assigned"].items())
    out.print(
        f"assigned {data['assigned']:,} of {data['opportunities']:,}"
        + (f"; not assigned: {held}" if held else "")
        + f"; ownership conflicts reported: {data['conflicts']:,}"
    )
    risk = Table(title="value at risk by region (top 5)", title_justify="left")
    risk.add_column("region")
    risk.add_column("value at risk (CNY)", justify="right")
    for region, value in data["value_at_risk_top_regions"].items():
        risk.add_row(region, f"{value:,.0f}")
    out.print(risk)
    drift = getattr(result, "model_drift", None)
    if drift is not None and len(drift):
        due = drift[drift["status"] == "retrain"]
        for model, rows in due.groupby("model", sort=True):
            out.print(f"warning: the {model} model is due for retraining - its inputs have "
                      f"drifted (PSI > 0.25): {', '.join(rows['feature'].head(5))}")
    timing = ", ".join(f"{k} {v:.1f}s" for k, v in data["stage_seconds"].items())
    out.print(f"stages: {timing}")
    if getattr(result, "alerts", None) is not None:  # kam demo: the early-warning summary
        from engine.cli._alerts_cmd import print_evaluation

        print_evaluation(result.alerts)
        out.print(f"alert digests: {result.alerts_sent.sent:,} written to {result.alerts_path}")

"""Every number of the run report, as plain data (dicts, lists, numbers, strings).

:func:`report_numbers` turns :class:`~engine.report._read.ReportInputs` into the structure the
template renders; the tests check the numbers here, without a browser. Everything is aggregated
(by tier, territory, route, reason, bin): nothing in it grows with the number of accounts except
the fixed-size "top" lists, so a million-account run gives a page as small as a thousand-account
one.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd

from engine._arguments import check_type
from engine.assign import ROUTES
from engine.report._common import as_float as _f
from engine.report._common import change as _delta
from engine.report._common import counts_of as _counts
from engine.report._common import numbers_of as _num
from engine.report._common import share_of as _share
from engine.report._common import text_of as _text
from engine.report._context import (
    PROBABILITY_BINS,
    action_of_accounts,
    alert_numbers,
    manifest_numbers,
    model_numbers,
    plan_numbers,
    rule_numbers,
)
from engine.report._read import ReportInputs, RunData

__all__ = ["PARETO_POINTS", "PROBABILITY_BINS", "TIERS", "TOP_ACCOUNTS", "report_numbers"]

TIERS = ("A", "B", "C")
#: Points of the Pareto curve (account share 0 .. 1): enough for a smooth line, fixed in size.
PARETO_POINTS = 201
#: Rows of the "top accounts by value at risk" table and of the per-rep tables.
TOP_ACCOUNTS = 20
TOP_REPS = 15
#: Load / capacity bands of the per-rep load chart.
LOAD_BANDS = ((0.0, 0.0, "idle"), (0.0, 0.5, "up to 50%"), (0.5, 0.8, "50-80%"), (0.8, 1.0, "80-100%"),
              (1.0, math.inf, "over capacity"))


# --- headline -----------------------------------------------------------------------------------
def _headline(cur: RunData, prev: RunData | None, alerts: dict[str, Any]) -> dict[str, Any]:
    def figures(run: RunData) -> dict[str, Any]:
        var = _num(run.accounts, "value_at_risk")
        return {
            "accounts": len(run.accounts),
            "opportunities": len(run.routes),
            "value_at_risk": float(var.sum()),
            "mean_churn_probability": _f(_num(run.accounts, "churn_probability").mean()),
            "rows_in": int(run.run.get("rows_in") or 0),
            "rows_quarantined": int(run.run.get("rows_quarantined") or 0),
        }

    now = figures(cur)
    before = figures(prev) if prev is not None else None
    rejects = cur.rejects
    by_reason = []
    if len(rejects):
        rows = rejects.assign(reason=_text(rejects, "reason"), table_name=_text(rejects, "table_name"))
        grouped = rows.groupby(["table_name", "reason"], observed=True).agg(
            failures=("reason", "size"), rows=("row_number", "nunique")
        ).reset_index().sort_values(["rows", "table_name"], ascending=[False, True])
        by_reason = [
            {"table": r.table_name, "reason": r.reason, "rows": int(r.rows), "failures": int(r.failures)}
            for r in grouped.itertuples(index=False)
        ]
    return {
        "run_id": cur.run_id,
        "as_of": str(cur.run.get("as_of") or ""),
        **now,
        "quarantined_share": _share(now["rows_quarantined"], now["rows_in"]),
        "change": None if before is None else {k: _delta(now[k], before[k]) for k in now},
        "previous": before,
        "open_alerts": alerts["open_total"] if alerts["available"] else None,
        "quarantine_by_reason": by_reason,
    }


# --- tiers ---------------------------------------------------------------------------------------
def _tier_table(run: RunData) -> dict[str, dict[str, float]]:
    accounts = run.accounts
    tiers = _text(accounts, "tier")
    revenue = _num(accounts, "revenue_12m").fillna(0.0)
    frame = pd.DataFrame({"tier": tiers, "revenue": revenue, "var": _num(accounts, "value_at_risk").fillna(0.0)})
    grouped = frame.groupby("tier", observed=True).agg(accounts=("tier", "size"), revenue=("revenue", "sum"), risk=("var", "sum"))
    return {str(t): {"accounts": int(r.accounts), "revenue": float(r.revenue), "value_at_risk": float(r.risk)}
            for t, r in grouped.iterrows()}


def _pareto(revenue: np.ndarray) -> dict[str, Any]:
    """Cumulative revenue share against account share (accounts by revenue, largest first)."""
    revenue = np.sort(np.clip(np.nan_to_num(revenue, nan=0.0), 0, None))[::-1]
    n, total = len(revenue), float(revenue.sum())
    grid = np.linspace(0.0, 1.0, PARETO_POINTS)
    if n == 0 or total <= 0:
        return {"account_share": grid.tolist(), "revenue_share": [None] * PARETO_POINTS,
                "top20_revenue_share": None, "accounts_for_80": None}
    cumulative = np.concatenate([[0.0], np.cumsum(revenue) / total])
    positions = np.concatenate([[0.0], np.arange(1, n + 1) / n])
    curve = np.interp(grid, positions, cumulative)
    top20 = float(cumulative[math.ceil(0.2 * n)])
    accounts_for_80 = float(np.searchsorted(cumulative, 0.8 - 1e-12) / n)
    return {
        "account_share": grid.round(6).tolist(),
        "revenue_share": curve.round(6).tolist(),
        "top20_revenue_share": top20,
        "accounts_for_80": accounts_for_80,
    }


def _moves_table(before: pd.DataFrame, now: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    """Accounts by tier before (rows, with "(new)") and now (columns, with "(gone)").

    Matched by account id through a hash index and counted with one bincount: a million
    accounts take a fraction of a second (a merge and a crosstab take several).
    """
    labels_from, labels_to = [*order, "(new)"], [*order, "(gone)"]
    index = pd.Index(before["account_id"].astype(str).to_numpy())
    position = index.get_indexer(now["account_id"].astype(str).to_numpy())
    code_before = pd.Categorical(_text(before, "tier").astype(str), categories=order).codes
    code_now = pd.Categorical(_text(now, "tier").astype(str), categories=order).codes
    new = len(order)
    from_code = np.where(position >= 0, code_before[np.clip(position, 0, None)], new)
    k = len(labels_to)
    counts = np.bincount(from_code * k + code_now, minlength=len(labels_from) * k).reshape(len(labels_from), k)
    gone = np.ones(len(index), dtype=bool)
    gone[position[position >= 0]] = False
    counts[:, -1] = 0
    counts[: len(order), -1] = np.bincount(code_before[gone], minlength=len(order))[: len(order)]
    table = pd.DataFrame(counts, index=labels_from, columns=labels_to)
    keep_rows = [label for label in labels_from if label in order or table.loc[label].sum() > 0]
    keep_columns = [label for label in labels_to if label in order or table[label].sum() > 0]
    return table.loc[keep_rows, keep_columns]


def _tiers(cur: RunData, prev: RunData | None) -> dict[str, Any]:
    now = _tier_table(cur)
    before = _tier_table(prev) if prev is not None else {}
    order = [t for t in TIERS if t in now or t in before] + sorted((set(now) | set(before)) - set(TIERS))
    total_accounts = sum(v["accounts"] for v in now.values())
    total_revenue = sum(v["revenue"] for v in now.values())
    rows = []
    for tier in order:
        row = now.get(tier, {"accounts": 0, "revenue": 0.0, "value_at_risk": 0.0})
        old = before.get(tier) if prev is not None else None
        rows.append({
            "tier": tier,
            **row,
            "account_share": _share(row["accounts"], total_accounts),
            "revenue_share": _share(row["revenue"], total_revenue),
            "change_accounts": None if prev is None else row["accounts"] - (old or {}).get("accounts", 0),
            "change_revenue": None if prev is None else row["revenue"] - (old or {}).get("revenue", 0.0),
        })
    has_revenue = "revenue_12m" in cur.accounts.columns
    moves = None
    if prev is not None:
        table = _moves_table(prev.accounts, cur.accounts, order)
        labels_from, labels_to = list(table.index), list(table.columns)
        moved = [
            {"from": f, "to": t, "accounts": int(table.loc[f, t])}
            for f in labels_from for t in labels_to if f != t and int(table.loc[f, t]) > 0
        ]
        moves = {
            "from": labels_from,
            "to": labels_to,
            "counts": table.to_numpy().astype(int).tolist(),
            "moved": sorted(moved, key=lambda m: -m["accounts"]),
            "moved_total": int(sum(m["accounts"] for m in moved if m["from"] != "(new)" and m["to"] != "(gone)")),
            "compared_with": prev.run_id,
        }
    return {
        "rows": rows,
        "revenue_recorded": has_revenue,
        "total_accounts": total_accounts,
        "total_revenue": total_revenue,
        "pareto": _pareto(_num(cur.accounts, "revenue_12m" if has_revenue else "expected_margin_12m").to_numpy()),
        "pareto_measure": "12-month revenue" if has_revenue else "12-month margin",
        "moves": moves,
    }


# --- territories ---------------------------------------------------------------------------------
def _territory_frame(run: RunData) -> pd.DataFrame:
    accounts = run.accounts
    frame = pd.DataFrame({
        "region": _text(accounts, "region"), "industry": _text(accounts, "industry"),
        "revenue": _num(accounts, "revenue_12m").fillna(0.0), "var": _num(accounts, "value_at_risk").fillna(0.0),
    })
    return frame.groupby(["region", "industry"], observed=True).agg(
        accounts=("region", "size"), revenue=("revenue", "sum"), value_at_risk=("var", "sum")
    )


def _territories(cur: RunData, prev: RunData | None) -> dict[str, Any]:
    now = _territory_frame(cur)
    regions = sorted(now.index.get_level_values(0).unique())
    industries = sorted(now.index.get_level_values(1).unique())

    def matrix(frame: pd.DataFrame, column: str) -> list[list[float]]:
        table = frame[column].unstack(fill_value=0).reindex(index=regions, columns=industries, fill_value=0)
        return table.to_numpy(dtype=float).tolist()

    out = {
        "regions": regions,
        "industries": industries,
        "accounts": matrix(now, "accounts"),
        "revenue": matrix(now, "revenue"),
        "value_at_risk": matrix(now, "value_at_risk"),
        "change_value_at_risk": None,
    }
    if prev is not None:
        before = _territory_frame(prev)
        diff = now[["value_at_risk"]].subtract(before[["value_at_risk"]], fill_value=0.0)
        out["change_value_at_risk"] = matrix(diff, "value_at_risk")
    worst = now.sort_values("value_at_risk", ascending=False).head(10).reset_index()
    out["top"] = [
        {"region": r.region, "industry": r.industry, "accounts": int(r.accounts), "revenue": float(r.revenue),
         "value_at_risk": float(r.value_at_risk)}
        for r in worst.itertuples(index=False)
    ]
    return out


# --- routes and people ---------------------------------------------------------------------------
#: Routes in the order the routing rules define them (the one list, engine.assign.ROUTES).
ROUTE_ORDER = ROUTES


def _route_counts(run: RunData) -> pd.DataFrame:
    routes = run.routes
    frame = pd.DataFrame({
        "route": _text(routes, "route"),
        "assigned": _text(routes, "assignment_status") == "assigned",
        "amount": _num(routes, "est_amount").fillna(0.0),
        "edv": _num(routes, "expected_deal_value").fillna(0.0),
    })
    return frame.groupby("route", observed=True).agg(leads=("route", "size"), assigned=("assigned", "sum"),
                                      amount=("amount", "sum"), expected=("edv", "sum"))


def _routes(cur: RunData, prev: RunData | None, reps: pd.DataFrame | None) -> dict[str, Any]:
    now = _route_counts(cur)
    before = _route_counts(prev) if prev is not None else None
    names = [r for r in ROUTE_ORDER if r in now.index] + sorted(set(now.index) - set(ROUTE_ORDER))
    rows = [{
        "route": name, "leads": int(now.loc[name, "leads"]), "assigned": int(now.loc[name, "assigned"]),
        "est_amount": float(now.loc[name, "amount"]), "expected_deal_value": float(now.loc[name, "expected"]),
        "change_leads": None if before is None else int(now.loc[name, "leads"]) - int(before["leads"].get(name, 0)),
    } for name in names]
    routes = cur.routes
    status = _text(routes, "assignment_status")
    unassigned = routes.loc[status != "assigned"]
    reason_counts = _counts(_text(unassigned, "status_reason"))
    previous_reasons = (
        _counts(_text(prev.routes.loc[_text(prev.routes, "assignment_status") != "assigned"], "status_reason"))
        if prev is not None else None
    )
    reasons = [{
        "reason": str(reason), "leads": int(count),
        "est_amount": float(_num(unassigned.loc[_text(unassigned, "status_reason") == reason], "est_amount").sum()),
        "change": None if previous_reasons is None else int(count) - int(previous_reasons.get(reason, 0)),
    } for reason, count in reason_counts.items()]
    conflicts = routes.loc[_text(routes, "status_reason") == "ownership_conflict"]
    conflict_regions = _counts(_text(conflicts, "region"))
    return {
        "rows": rows,
        "total_leads": len(routes),
        "assigned": int((status == "assigned").sum()),
        "unassigned_reasons": reasons,
        "conflicts": {
            "leads": len(conflicts),
            "accounts": int(conflicts["account_id"].nunique()) if "account_id" in conflicts else 0,
            "by_region": [{"region": str(k), "leads": int(v)} for k, v in conflict_regions.items()],
        },
        "load": _load(cur, reps),
    }


def _load(run: RunData, reps: pd.DataFrame | None) -> dict[str, Any]:
    """Leads assigned this run per rep against the rep's capacity (``reps.capacity``)."""
    if reps is None or "rep_id" not in reps.columns or "capacity" not in reps.columns:
        return {"available": False, "note": "the reps table (with capacity) is not in this database."}
    routes = run.routes
    to_reps = routes.loc[_text(routes, "assignee_type") == "rep"]
    load = _counts(_text(to_reps, "assignee_id"))
    people = reps.assign(rep_id=reps["rep_id"].astype(str))
    if "active" in people.columns:
        people = people.loc[people["active"].astype(str).str.lower().isin(("true", "1", "1.0"))]
    people = people.assign(
        capacity=pd.to_numeric(people["capacity"], errors="coerce").fillna(0).astype(float),
        load=people["rep_id"].map(dict(zip(load.index.astype(str), load.to_numpy()))).fillna(0).astype(float),
    )
    ratio = np.where(people["capacity"] > 0, people["load"] / people["capacity"].where(people["capacity"] > 0, 1), np.inf)
    bands = []
    for low, high, label in LOAD_BANDS:
        if high == 0.0:
            inside = people["load"].to_numpy() == 0
        else:
            inside = (people["load"].to_numpy() > 0) & (ratio > low) & (ratio <= high) if low > 0 else (
                (people["load"].to_numpy() > 0) & (ratio <= high))
        bands.append({"band": label, "reps": int(inside.sum())})
    role = _text(people, "role")
    top = people.assign(ratio=ratio, role=role).sort_values(["ratio", "load", "rep_id"], ascending=[False, False, True])
    return {
        "available": True,
        "active_reps": len(people),
        "assigned_to_reps": int(people["load"].sum()),
        "capacity": float(people["capacity"].sum()),
        "utilisation": _share(float(people["load"].sum()), float(people["capacity"].sum())),
        "over_capacity": int((ratio > 1).sum()),
        "bands": bands,
        "by_role": [
            {"role": str(r), "reps": int((role == r).sum()), "load": float(people.loc[role == r, "load"].sum()),
             "capacity": float(people.loc[role == r, "capacity"].sum())}
            for r in sorted(role.unique())
        ],
        "top": [
            {"rep_id": r.rep_id, "name": str(getattr(r, "name", "") or ""), "role": r.role,
             "region": str(getattr(r, "region", "") or ""), "load": int(r.load), "capacity": int(r.capacity),
             "ratio": _f(r.ratio) if np.isfinite(r.ratio) else None}
            for r in top.head(TOP_REPS).itertuples(index=False)
        ],
    }


# --- risk ----------------------------------------------------------------------------------------
def _reasons(value: Any) -> list[str]:
    if not isinstance(value, str) or not value:
        return []
    try:
        parsed = json.loads(value)
    except ValueError:
        return [value]
    return [str(v) for v in parsed] if isinstance(parsed, list) else [str(parsed)]


def _risk(cur: RunData, prev: RunData | None, actions: dict[str, str]) -> dict[str, Any]:
    accounts = cur.accounts
    var = _num(accounts, "value_at_risk")
    values = var.fillna(-1).to_numpy()
    # The few largest first (argpartition), then a stable order among them (ties by account id).
    keep = min(len(values), TOP_ACCOUNTS * 4)
    candidates = np.argpartition(-values, keep - 1)[:keep] if keep else np.arange(0)
    top = accounts.iloc[candidates].assign(_var=values[candidates])
    top = top.sort_values(["_var", "account_id"], ascending=[False, True]).head(TOP_ACCOUNTS)
    previous_var = None
    if prev is not None:
        found = pd.Index(prev.accounts["account_id"].astype(str).to_numpy()).get_indexer(top["account_id"].astype(str))
        before_values = _num(prev.accounts, "value_at_risk").to_numpy()
        previous_var = {a: (float(before_values[i]) if i >= 0 else None) for a, i in zip(top["account_id"].astype(str), found)}
    top_rows = []
    for r in top.to_dict("records"):
        account_id = str(r["account_id"])
        before = _f(previous_var.get(account_id)) if previous_var is not None else None
        top_rows.append({
            "account_id": account_id,
            "name": str(r.get("name") or ""),
            "tier": str(r.get("tier") or ""),
            "region": str(r.get("region") or ""),
            "owner": str(r.get("owner_rep_id") or r.get("owner_partner_id") or "(no owner)"),
            "churn_probability": _f(r.get("churn_probability")),
            "value_at_risk": _f(r.get("value_at_risk")),
            "change_value_at_risk": _delta(_f(r.get("value_at_risk")), before),
            "reasons": _reasons(r.get("top_reasons")),
            "action": actions.get(account_id),
        })

    def by(column: str, run: RunData) -> pd.Series:
        frame = pd.DataFrame({"key": _text(run.accounts, column, "(no owner)"),
                              "var": _num(run.accounts, "value_at_risk").fillna(0.0)})
        return frame.groupby("key", observed=True)["var"].sum()

    region_now = by("region", cur).sort_values(ascending=False)
    region_before = by("region", prev) if prev is not None else None
    rep_now = by("owner_rep_id", cur).sort_values(ascending=False)
    total = float(var.sum())
    bins = np.linspace(0, 1, PROBABILITY_BINS + 1)
    probability = _num(accounts, "churn_probability")
    tiers = _text(accounts, "tier")
    distribution = {}
    for tier in [t for t in TIERS if (tiers == t).any()] + sorted(set(tiers) - set(TIERS)):
        values = probability[tiers == tier].dropna().clip(0, 1)
        counts, _ = np.histogram(values, bins=bins)
        distribution[tier] = {
            "counts": counts.astype(int).tolist(),
            "accounts": len(values),
            "median": _f(values.median()) if len(values) else None,
            "mean": _f(values.mean()) if len(values) else None,
        }
    owned = _counts(_text(accounts, "owner_rep_id", "(no owner)"))
    return {
        "total_value_at_risk": total,
        "top": top_rows,
        "actions_source": actions.get("__source__"),
        "by_region": [
            {"region": str(k), "value_at_risk": float(v), "share": _share(float(v), total),
             "change": None if region_before is None else float(v) - float(region_before.get(k, 0.0))}
            for k, v in region_now.items()
        ],
        "by_rep": [
            {"rep_id": str(k), "value_at_risk": float(v), "share": _share(float(v), total),
             "accounts": int(owned.get(k, 0))}
            for k, v in rep_now.head(TOP_REPS).items()
        ],
        "reps_with_risk": int((rep_now > 0).sum()),
        "top_reps_share": _share(float(rep_now.head(TOP_REPS).sum()), total),
        "probability_bins": bins.round(4).tolist(),
        "distribution": distribution,
    }


def report_numbers(inputs: ReportInputs, *, generated_at: str | None = None) -> dict[str, Any]:
    """Every number the report shows, computed from one run (and its comparison run).

    Parameters
    ----------
    inputs : ReportInputs
        From :func:`engine.report.read_inputs`.
    generated_at : str, optional
        Timestamp printed on the page (default: now, UTC).

    Returns
    -------
    dict
        Plain data (JSON-serialisable): ``headline``, ``tiers``, ``territories``, ``routes``,
        ``risk``, ``alerts``, ``plans``, ``models``, ``rules``, ``manifest`` and ``meta``.
    """
    check_type("report_numbers", "inputs", inputs, ReportInputs, "pass the result of engine.report.read_inputs")
    from engine import __version__

    cur, prev = inputs.current, inputs.previous
    alerts = alert_numbers(inputs)
    risk = _risk(cur, prev, action_of_accounts(inputs))
    return {
        "meta": {
            "run_id": cur.run_id,
            "as_of": str(cur.run.get("as_of") or ""),
            "compared_with": prev.run_id if prev is not None else None,
            "compared_as_of": str(prev.run.get("as_of") or "") if prev is not None else None,
            "generated_at": generated_at or pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%d %H:%M UTC"),
            "kam_version": __version__,
            "source": inputs.source,
        },
        "headline": _headline(cur, prev, alerts),
        "tiers": _tiers(cur, prev),
        "territories": _territories(cur, prev),
        "routes": _routes(cur, prev, inputs.reps),
        "risk": risk,
        "alerts": alerts,
        "plans": plan_numbers(inputs),
        "models": model_numbers(inputs),
        "rules": rule_numbers(inputs),
        "manifest": manifest_numbers(inputs),
    }

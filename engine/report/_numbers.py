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

from engine.report._read import ReportInputs, RunData

__all__ = ["report_numbers", "TIERS", "PARETO_POINTS", "PROBABILITY_BINS", "TOP_ACCOUNTS"]

TIERS = ("A", "B", "C")
#: Points of the Pareto curve (account share 0 .. 1): enough for a smooth line, fixed in size.
PARETO_POINTS = 201
#: Bins of the churn-probability distributions (equal width on [0, 1]).
PROBABILITY_BINS = 20
#: Rows of the "top accounts by value at risk" table and of the per-rep tables.
TOP_ACCOUNTS = 20
TOP_REPS = 15
#: Alert states that count as open (Alertmanager's "firing", acknowledged or snoozed included).
OPEN_ALERT_STATES = ("open", "escalated", "acknowledged", "snoozed")
SEVERITIES = ("high", "medium", "low")
#: Load / capacity bands of the per-rep load chart.
LOAD_BANDS = ((0.0, 0.0, "idle"), (0.0, 0.5, "up to 50%"), (0.5, 0.8, "50-80%"), (0.8, 1.0, "80-100%"),
              (1.0, math.inf, "over capacity"))


def _f(value: Any) -> float | None:
    """A plain float, or None for missing / not a number."""
    if value is None:
        return None
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(value) else value


def _num(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame.columns:
        return pd.Series(np.full(len(frame), np.nan), index=frame.index, dtype=float)
    return pd.to_numeric(frame[column], errors="coerce").astype(float)


def _text(frame: pd.DataFrame, column: str, missing: str = "(none)") -> pd.Series:
    """A text column as a categorical with ``missing`` for nulls (fast to group and compare)."""
    if column not in frame.columns:
        return pd.Series(pd.Categorical([missing] * len(frame)), index=frame.index)
    values = frame[column]
    if not isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype("category")
    if values.isna().any():
        if missing not in values.cat.categories:
            values = values.cat.add_categories([missing])
        values = values.fillna(missing)
    return values


def _counts(values: pd.Series) -> pd.Series:
    """Value counts without the categories that do not occur, largest first."""
    counts = values.value_counts()
    return counts[counts > 0]


def _delta(now: float | None, before: float | None) -> float | None:
    return None if now is None or before is None else now - before


def _share(part: float, whole: float) -> float | None:
    return part / whole if whole else None


# --- headline -----------------------------------------------------------------------------------
def _headline(cur: RunData, prev: RunData | None, alerts: dict[str, Any]) -> dict[str, Any]:
    def figures(run: RunData) -> dict[str, Any]:
        var = _num(run.accounts, "value_at_risk")
        return {
            "accounts": int(len(run.accounts)),
            "opportunities": int(len(run.routes)),
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
    top20 = float(cumulative[int(math.ceil(0.2 * n))])
    accounts_for_80 = float((np.searchsorted(cumulative, 0.8 - 1e-12) ) / n)
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
ROUTE_ORDER = ("owner", "outside", "inside", "partner", "unrouted")


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
        "total_leads": int(len(routes)),
        "assigned": int((status == "assigned").sum()),
        "unassigned_reasons": reasons,
        "conflicts": {
            "leads": int(len(conflicts)),
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
        "active_reps": int(len(people)),
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
            "accounts": int(len(values)),
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


# --- alerts and plans ----------------------------------------------------------------------------
def _alerts(inputs: ReportInputs) -> dict[str, Any]:
    alerts = inputs.optional.get("alerts")
    events = inputs.optional.get("alert_events")
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
    this_run = {"opened": None, "escalated": None, "resolved": None}
    evaluated = False
    if events is not None and {"run_id", "to_state"} <= set(events.columns):
        mine = events.loc[events["run_id"].astype(str) == run_id]
        evaluated = len(mine) > 0
        moved_to = _text(mine, "to_state").astype(str).to_numpy()
        changed = (_text(mine, "from_state").astype(str).to_numpy() != moved_to) if "from_state" in mine.columns else True
        this_run = {
            "opened": int(((moved_to == "open") & changed).sum()),
            "escalated": int(((moved_to == "escalated") & changed).sum()),
            "resolved": int(((moved_to == "resolved") & changed).sum()),
        }
    runs = inputs.optional.get("alert_runs")
    if runs is not None and "run_id" in runs.columns:
        mine = runs.loc[runs["run_id"].astype(str) == run_id]
        if len(mine):
            evaluated = True
            for key in this_run:
                if key in mine.columns and this_run[key] is None:
                    this_run[key] = int(pd.to_numeric(mine[key], errors="coerce").fillna(0).iloc[0])
    var = _num(open_alerts, "value_at_risk")
    return {
        "available": True,
        "evaluated_this_run": evaluated,
        "open_total": int(len(open_alerts)),
        "open_value_at_risk": float(var.sum()) if var.notna().any() else None,
        "kinds": kinds,
        "severities": severities,
        "counts": table.to_numpy().astype(int).tolist(),
        "by_state": {str(k): int(v) for k, v in _counts(states).sort_index().items()},
        "this_run": this_run,
        "note": None if evaluated else "the alert state has not been evaluated on this run; states shown are the latest.",
    }


def _actions(inputs: ReportInputs) -> dict[str, str]:
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


def _plans(inputs: ReportInputs) -> dict[str, Any]:
    plans = inputs.optional.get("call_plans")
    if plans is None or "status" not in plans.columns:
        return {"available": False,
                "note": "not available for this run: the database has no call plans (run `kam plan`)."}
    if "run_id" in plans.columns:
        plans = plans.loc[plans["run_id"].astype(str) == inputs.current.run_id]
    if plans.empty:
        return {"available": False, "note": "not available for this run: no call plan was made from this run."}
    planned = plans.loc[_text(plans, "status") == "planned"]
    accounts = inputs.current.accounts
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
        "planned_lines": int(len(planned)),
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


def _models(inputs: ReportInputs, risk_now: dict[str, Any], risk_before: dict[str, Any] | None) -> list[dict[str, Any]]:
    out = []
    run = inputs.current.run
    scores = {
        "churn": _num(inputs.current.accounts, "churn_probability"),
        "win": _num(inputs.current.routes, "win_probability"),
    }
    previous_scores = None if inputs.previous is None else {
        "churn": _num(inputs.previous.accounts, "churn_probability"),
        "win": _num(inputs.previous.routes, "win_probability"),
    }
    bins = np.linspace(0, 1, PROBABILITY_BINS + 1)
    for kind in ("churn", "win"):
        card = inputs.cards.get(kind)
        sha = str(run.get(f"{kind}_model_sha256") or "")
        entry: dict[str, Any] = {"kind": kind, "sha256": sha, "card": None, "note": inputs.card_notes.get(kind)}
        values = scores[kind].dropna().clip(0, 1)
        hist_now = np.histogram(values, bins=bins)[0].astype(int).tolist()
        entry["scores"] = {"rows": int(len(values)), "mean": _f(values.mean()) if len(values) else None, "histogram": hist_now}
        if previous_scores is not None:
            before = previous_scores[kind].dropna().clip(0, 1)
            hist_before = np.histogram(before, bins=bins)[0].astype(int).tolist()
            entry["score_drift"] = {
                "compared_with": inputs.previous.run_id,
                "psi": _psi(hist_before, hist_now),
                "mean_before": _f(before.mean()) if len(before) else None,
                "same_model": sha == str(inputs.previous.run.get(f"{kind}_model_sha256") or ""),
            }
        else:
            entry["score_drift"] = None
        drift = run.get("drift")
        entry["recorded_drift"] = drift.get(kind) if isinstance(drift, dict) and isinstance(drift.get(kind), dict) else None
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
def _rules(inputs: ReportInputs) -> list[dict[str, Any]]:
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
        total = int(len(frame))
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
def _manifest(inputs: ReportInputs) -> dict[str, Any]:
    run = inputs.current.run
    previous = inputs.previous.run if inputs.previous is not None else None
    stages = run.get("stage_seconds") if isinstance(run.get("stage_seconds"), dict) else {}
    before = previous.get("stage_seconds") if previous and isinstance(previous.get("stage_seconds"), dict) else {}
    keys = ("run_id", "as_of", "started_at", "finished_at", "rows_in", "rows_quarantined", "accounts_scored",
            "opportunities_routed", "assigned", "tier_ruleset_hash", "routing_ruleset_hash",
            "churn_model_sha256", "win_model_sha256")
    return {
        "fields": [{"field": k, "value": _plain(run.get(k)), "previous": _plain(previous.get(k)) if previous else None}
                   for k in keys if k in run],
        "stages": [{"stage": str(k), "seconds": _f(v), "previous": _f(before.get(k)) if before else None}
                   for k, v in stages.items()],
        "total_seconds": float(sum(_f(v) or 0.0 for v in stages.values())),
        "runs_in_database": int(len(inputs.runs)),
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
    from engine import __version__

    cur, prev = inputs.current, inputs.previous
    alerts = _alerts(inputs)
    risk = _risk(cur, prev, _actions(inputs))
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
        "plans": _plans(inputs),
        "models": _models(inputs, risk, None),
        "rules": _rules(inputs),
        "manifest": _manifest(inputs),
    }

"""``kam runs`` and ``kam show account``: read the results of scoring runs (never write).

The functions that gather the data (:func:`runs_records`, :func:`account_record`) return plain
JSON-ready structures; the printers only lay them out, so ``--json`` and the screen agree.
"""

from __future__ import annotations

import json
import math
from typing import Any, Literal

from engine._errors import StorageError

__all__ = ["account_record", "print_account", "print_runs", "runs_records"]

_RUN_COLUMNS = ("run_id", "as_of", "started_at", "finished_at", "accounts_scored", "opportunities_routed",
                "rows_in", "rows_quarantined", "assigned", "tier_counts", "route_counts")
_ACCOUNT_COLUMNS = ("account_id", "name", "region", "industry", "territory", "owner_rep_id", "owner_partner_id",
                    "tier", "management_mode", "serving_role", "tier_rule_id", "tier_because", "tier_status",
                    "churn_probability", "expected_margin_12m", "value_at_risk", "priority_rank")
_ROUTE_COLUMNS = ("opportunity_id", "route", "route_because", "assignee_type", "assignee_id", "assignment_status",
                  "status_reason", "win_probability", "est_amount", "expected_deal_value")


def _plain(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _json_field(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return _plain(value)


def runs_records(database, limit: int | None = None) -> list[dict[str, Any]]:
    """The runs in ``database``, newest first, as plain records (``tier_counts`` etc. as objects)."""
    runs = database.list_runs()
    if limit is not None:
        runs = runs.head(limit)
    columns = [c for c in _RUN_COLUMNS if c in runs.columns]
    return [{c: _json_field(row[c]) for c in columns} for _, row in runs.iterrows()]


def print_runs(records: list[dict[str, Any]], where: str, out) -> None:
    from rich.table import Table

    if not records:
        out.print(f"no scoring runs in {where} yet; `kam score` writes one.")
        return
    table = Table(title=f"runs in {where} (newest first)", title_justify="left")
    columns: tuple[tuple[str, Literal["left", "right"]], ...] = (
        ("run id", "left"), ("as of", "left"), ("accounts", "right"), ("quarantined", "right"), ("tiers", "left"))
    for column, justify in columns:
        table.add_column(column, justify=justify, overflow="fold", no_wrap=column == "run id")
    for run in records:
        tiers = run.get("tier_counts") or {}
        table.add_row(
            str(run.get("run_id")), str(run.get("as_of", "")), f"{int(run.get('accounts_scored') or 0):,}",
            f"{int(run.get('rows_quarantined') or 0):,}",
            " ".join(f"{k} {v:,}" for k, v in tiers.items()) if isinstance(tiers, dict) else str(tiers),
        )
    out.print(table)


def account_record(database, account_id: str, run_id: str | None = None) -> dict[str, Any]:
    """One account's scores in a run (default the latest), with reasons and its open opportunities.

    Raises
    ------
    StorageError
        No run has been written yet.
    typer.BadParameter
        The account is not in the run (a usage error: exit 2).
    """
    import typer

    present = database.table_names()
    if "account_scores" not in present:
        raise StorageError(f"no scoring run in {database.display_url} yet. Fix: run `kam score` first.")
    chosen = run_id or database.latest_run_id()
    if chosen is None:
        raise StorageError(f"no scoring run in {database.display_url} yet. Fix: run `kam score` first.")
    known_runs = set(database.list_runs()["run_id"].astype(str))
    if run_id is not None and run_id not in known_runs:
        from engine._suggest import did_you_mean

        raise typer.BadParameter(f"no run {run_id!r} in the database{did_you_mean(run_id, known_runs)}; "
                                 "`kam runs` lists them.", param_hint="--run-id")
    scores = database.read_results("account_scores", chosen, account_id=account_id)
    if scores.empty:
        raise typer.BadParameter(
            f"account {account_id!r} is not in run {chosen} (accounts that were quarantined or are not in "
            "the customers table have no scores; `kam validate` shows rejected rows).", param_hint="ACCOUNT_ID")
    row = scores.iloc[0]
    account = {c: _plain(row[c]) for c in _ACCOUNT_COLUMNS if c in scores.columns}
    reasons = _json_field(row["top_reasons"]) if "top_reasons" in scores.columns else None
    if isinstance(reasons, str):
        reasons = [reasons]
    opportunities: list[dict[str, Any]] = []
    if "opportunity_routes" in present:
        routes = database.read_results("opportunity_routes", chosen, account_id=account_id)
        opportunities = [{c: _plain(r[c]) for c in _ROUTE_COLUMNS if c in routes.columns} for _, r in routes.iterrows()]
    run = next((r for r in runs_records(database) if str(r["run_id"]) == str(chosen)), {"run_id": chosen})
    return {
        "run": {"run_id": run.get("run_id"), "as_of": run.get("as_of")},
        "account": account,
        # None: not computed for this account (only the --reasons-for highest value at risk get them);
        # []: computed, and nothing raises its risk above the typical account's.
        "top_reasons": None if reasons is None else list(reasons),
        "opportunities": opportunities,
        "alerts": _account_alerts(database, account_id),
    }


_ALERT_COLUMNS = ("alert_key", "kind", "state", "severity", "action", "because", "opened_on", "snoozed_until")


def _account_alerts(database, account_id: str) -> list[dict[str, Any]]:
    """The account's alerts that are not resolved (open, escalated, acknowledged, snoozed, pending)."""
    from engine.storage import AlertStore

    alerts = AlertStore(database).read("alerts", '"account_id" = :account_id', {"account_id": str(account_id)})
    alerts = alerts[alerts["state"].astype(str) != "resolved"]
    return [{c: _plain(r[c]) for c in _ALERT_COLUMNS} for _, r in alerts.iterrows()]


def print_account(record: dict[str, Any], out) -> None:
    from rich.table import Table

    a = record["account"]
    run = record["run"]
    out.print(f"{a.get('account_id')} {a.get('name', '')} ({a.get('region', '')}, {a.get('industry', '')}) "
              f"in run {run.get('run_id')} as of {run.get('as_of')}")
    out.print(f"  tier {a.get('tier')} ({a.get('management_mode')}, {a.get('serving_role')}) by rule "
              f"{a.get('tier_rule_id')}: {a.get('tier_because')}")
    churn = a.get("churn_probability")
    risk = a.get("value_at_risk")
    out.print(
        f"  churn probability {churn:.1%}, value at risk {risk:,.0f} CNY, priority {a.get('priority_rank')} "
        f"in the book of {a.get('owner_rep_id') or '(no owner)'}"
        if churn is not None and risk is not None else "  churn: not scored"
    )
    if record["top_reasons"]:
        out.print("  what raises the churn risk:")
        for reason in record["top_reasons"]:
            out.print(f"    - {reason}")
    elif record["top_reasons"] is None:
        out.print("  reasons: not computed for this account (only the --reasons-for accounts with the "
                  "highest value at risk get them)")
    else:
        out.print("  reasons: nothing raises this account's churn risk above the typical account's")
    for alert in record.get("alerts", []):
        out.print(f"  alert {alert['kind']} ({alert['severity']}, {alert['state']}"
                  + (f" until {alert['snoozed_until']}" if alert.get("snoozed_until") else "")
                  + f"): {alert['because']} Recommended: {alert['action']}.")
    if not record["opportunities"]:
        out.print("  no open opportunities")
        return
    table = Table(title="open opportunities", title_justify="left")
    for column in ("opportunity", "route", "assignee", "status", "win", "expected value (CNY)"):
        table.add_column(column, justify="right" if column in ("win", "expected value (CNY)") else "left")
    for o in record["opportunities"]:
        win = o.get("win_probability")
        value = o.get("expected_deal_value")
        table.add_row(
            str(o.get("opportunity_id")), str(o.get("route")),
            f"{o.get('assignee_type') or ''} {o.get('assignee_id') or ''}".strip(),
            str(o.get("assignment_status") or "") + (f" ({o['status_reason']})" if o.get("status_reason") else ""),
            f"{win:.1%}" if win is not None else "", f"{value:,.0f}" if value is not None else "",
        )
    out.print(table)


"""``kam runs`` and ``kam show account``: read the results of scoring runs (never write).

The data comes from :mod:`engine.results` (plain JSON-ready structures, shared with the HTTP
service); the printers here only lay it out, so ``--json``, the screen and the service agree.
"""

from __future__ import annotations

from typing import Any, Literal

from engine.results import runs_records

__all__ = ["account_record", "print_account", "print_runs", "runs_records"]


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
    """:func:`engine.results.account_record`, with a missing run or account as a usage error (exit 2)."""
    import typer

    from engine.results import ResultNotFoundError
    from engine.results import account_record as read_account

    try:
        return read_account(database, account_id, run_id)
    except ResultNotFoundError as error:
        hint = "--run-id" if error.field == "run_id" else "ACCOUNT_ID"
        raise typer.BadParameter(str(error), param_hint=hint) from None


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


"""``kam plan``: next week's call plan per rep and partner, from a scoring run.

Registered by :func:`engine.cli._commands.register` as ``app.command("plan")(_plan_cmd.plan)``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["plan", "plan_summary"]


def plan_summary(run_id: str, result, written: bool) -> dict:
    """The plan's summary as plain data (what ``kam plan --json`` prints, and ``kam demo`` shows)."""
    lines = result.lines
    planned = lines[lines["status"] == "planned"]
    return {
        "run_id": run_id,
        "week": result.week,
        "week_start": result.week_start.isoformat(),
        "written": written,
        "plan_ruleset_hash": result.ruleset_hash,
        **result.counts,
        "capacity": {
            "field_visits_per_week": result.parameters.field_visits_per_week,
            "inside_calls_per_week": result.parameters.inside_calls_per_week,
            "partner_calls_per_week": result.parameters.partner_calls_per_week,
        },
        "top_lines": planned.sort_values("expected_value", ascending=False)
        .head(5)[["assignee_id", "rank", "account_id", "tier", "action", "expected_value", "why"]]
        .to_dict("records"),
    }


def print_plan(summary: dict, out) -> None:
    """The one-screen text form of :func:`plan_summary`."""
    from rich.table import Table

    verb = "wrote" if summary["written"] else "computed (nothing written)"
    out.print(
        f"call plan {summary['week']} (from {summary['week_start']}) of run {summary['run_id']}: {verb} "
        f"{summary['planned']:,} contacts for {summary['people_planned']:,} people; "
        f"{summary['eligible_accounts']:,} eligible accounts",
        highlight=False,
    )
    out.print(
        f"cadence obligations: {summary['obligations_met']:,} of {summary['obligations_due']:,} met, "
        f"{summary['capacity_short']:,} over capacity (each line says why); held out: {summary['holdout']:,}; "
        f"nobody to contact: {summary['unplanned']:,}",
        highlight=False,
    )
    share = summary["value_at_risk_planned"] / summary["value_at_risk_total"] if summary["value_at_risk_total"] else 0.0
    out.print(f"value at risk on the plans: {summary['value_at_risk_planned']:,.0f} CNY ({share:.0%} of the total)",
              highlight=False)
    table = Table(title="highest expected value of a contact", title_justify="left")
    for column in ("person", "rank", "account", "tier", "action", "expected value (CNY)"):
        table.add_column(column, justify="right" if column in ("rank", "expected value (CNY)") else "left")
    for line in summary["top_lines"]:
        table.add_row(str(line["assignee_id"]), str(line["rank"]), str(line["account_id"]), str(line["tier"]),
                      str(line["action"]), f"{line['expected_value']:,.0f}")
    out.print(table)


def plan(
    db: Annotated[str | None, typer.Option(help="Database URL or SQLite path holding a `kam score` run (the plan is written there; default KAM_DB_URL / database.url).")] = None,
    week: Annotated[str | None, typer.Option(help="ISO week to plan, YYYY-Www (default: the week after the run's as-of date).")] = None,
    run: Annotated[str | None, typer.Option("--run", help="Scoring run to plan from (default: the newest).")] = None,
    rules: Annotated[Path | None, typer.Option(help="Plan rule file or folder with plan.yaml (default: the shipped rules/plan.yaml).")] = None,
    holdout: Annotated[float, typer.Option(min=0.0, max=0.99, help="Share of eligible accounts left out of every plan, recorded, to measure the uplift later.")] = 0.0,
    seed: Annotated[int, typer.Option(min=0, help="Seed of the holdout (the same seed holds out the same accounts every week).")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    person: Annotated[str | None, typer.Option(help="Print this rep's or partner's list (text) for the weekly meeting.")] = None,
    export: Annotated[Path | None, typer.Option(help="Folder for plan.csv and one <id>.txt / <id>.csv per person.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Plan, but write nothing to the database.")] = False,
) -> int:
    """Plan next week's visits and calls for every active rep and partner, within capacity.

    Cadence obligations come first (an A account not visited within its cadence is on its field
    rep's plan), then the accounts with the highest expected value of a contact. Writes
    ``call_plans`` with the run id (replacing this run's earlier plan). Exit 0; 3 when the plan
    rule file is wrong; 4 when the run has no accounts; 5 when there is no run or the database
    cannot be read or written.
    """
    from engine.cli._context import configured, open_database
    from engine.cli._output import console
    from engine.plan import plan as run_plan
    from engine.plan._export import person_text, write_exports

    with open_database(db, access="read" if dry_run else "write") as database:
        run_id, result = run_plan(database, week=week, run_id=run, rules=rules or configured(None, "rules.dir"),
                                  holdout_share=holdout, seed=seed, write=not dry_run)
    out = console()
    summary = plan_summary(run_id, result, written=not dry_run)
    if export is not None:
        paths = write_exports(result.lines, export)
        summary["exported_files"] = len(paths)
    if as_json:
        out.print_json(json.dumps(summary, default=str))
    elif person is not None:
        out.print(person_text(result.lines, person), markup=False, highlight=False, end="")
    else:
        print_plan(summary, out)
        if export is not None:
            out.print(f"exported {summary['exported_files']:,} files to {export}", highlight=False)
    return 0

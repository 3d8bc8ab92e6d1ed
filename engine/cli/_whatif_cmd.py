"""``kam rules diff OLD NEW --db URL``: what a changed tier or routing file would do. Nothing is written.

Registered by :mod:`engine.cli` on the ``rules`` sub-app::

    _rules_cmd.app.command("diff")(_whatif_cmd.rules_diff)
"""

from __future__ import annotations

import json as _json
from pathlib import Path
from typing import Annotated, Optional

import typer

__all__ = ["rules_diff"]

#: Rows of the region x industry table printed (the JSON output has them all).
GROUPS_SHOWN = 15


def rules_diff(
    old: Annotated[Path, typer.Argument(help="The rule file in force, e.g. rules/tiers.yaml.")],
    new: Annotated[Path, typer.Argument(help="The changed version of the same rule file.")],
    db: Annotated[Optional[str], typer.Option(help="Database URL or SQLite path to evaluate over, read only "
                                                   "(default: KAM_DB_URL or database.url in kam.toml).")] = None,
    as_of: Annotated[
        Optional[str], typer.Option(help="Evaluation date YYYY-MM-DD (default: the day after the newest event in the data).")
    ] = None,
    examples: Annotated[int, typer.Option(min=0, help="Example records shown per kind of change.")] = 5,
    json: Annotated[bool, typer.Option("--json", help="Print the whole report as JSON.")] = False,
) -> int:
    """Compare two versions of the tier or routing rules over every account and open lead of a database.

    Prints how many accounts change tier and how many open opportunities change route, by region
    and industry, with example records and the rules responsible. When tiers change, routes are
    derived again from the new tiers. Nothing is written (the database is opened read-only).
    Exit 0; 3 when a rule file is wrong; 4 when the data is unusable; 5 when the database cannot
    be read.
    """
    from engine.cli._commands import _parse_date
    from engine.cli._context import configured, open_database
    from engine.cli._output import console
    from engine.cli._progress import show_progress
    from engine.pipeline._whatif import rules_whatif

    day = _parse_date(as_of, "--as-of")
    with show_progress(enabled=not json), open_database(db, access="read") as database:
        report = rules_whatif(database, old, new, as_of=day, examples=examples, rules_dir=configured(None, "rules.dir"))
    out = console()
    if json:
        out.print_json(_json.dumps(report.to_dict(examples), default=str))
        return 0
    _print_report(out, report, examples)
    return 0


def _bold(text: str):
    """``text`` in bold on a terminal, plain elsewhere; never parsed as markup (file names may hold [brackets])."""
    from rich.text import Text

    return Text(text, style="bold")


def _line(*parts):
    from rich.text import Text

    return Text.assemble(*[part if not isinstance(part, str) else Text(part) for part in parts])


def _print_report(out, report, examples: int) -> None:
    out.print(_line(_bold(f"{report.kind} what-if"),
                    f" as of {report.as_of.isoformat()}: {report.old_file} -> {report.new_file}"))
    if report.accounts is not None:
        acc = report.accounts
        out.print(f"  rule set hash {acc.old_hash[:12]} -> {acc.new_hash[:12]}")
        out.print(_line("  ", _bold(f"{acc.changed:,}"),
                        f" of {acc.rows:,} accounts change tier ({_share(acc.changed, acc.rows)})"))
    routes = report.routes
    if report.accounts is None:
        out.print(f"  rule set hash {routes.old_hash[:12]} -> {routes.new_hash[:12]}")
    out.print(_line("  ", _bold(f"{routes.changed:,}"),
                    f" of {routes.rows:,} open opportunities change route ({_share(routes.changed, routes.rows)})"))
    if report.accounts is not None:
        _print_part(out, "accounts", report.accounts, examples,
                    example_columns=("account_id", "region", "industry", "old_tier", "new_tier", "old_rule_id",
                                     "new_rule_id"))
    _print_part(out, "open opportunities", routes, examples,
                example_columns=("opportunity_id", "account_id", "region", "industry", "old_tier", "new_tier",
                                 "account_tier", "old_route", "new_route", "old_rule_id", "new_rule_id"))


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "0.0%"


def _table(title: str, frame, columns=None, limit: int | None = None):
    from rich.table import Table
    from rich.text import Text

    columns = [c for c in (columns or frame.columns) if c in frame.columns]
    table = Table(title=title, title_justify="left")
    for column in columns:
        numeric = frame[column].dtype.kind in "iuf"
        table.add_column(column, justify="right" if numeric else "left", overflow="fold")
    rows = frame if limit is None else frame.head(limit)
    for _, row in rows.iterrows():
        table.add_row(*[Text(_cell(row[c])) for c in columns])
    return table


def _cell(value) -> str:
    import pandas as pd

    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.1%}" if 0 <= value <= 1 and value != int(value) else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _print_part(out, what: str, report, examples: int, example_columns) -> None:
    if report.changed == 0:
        out.print(f"no {what} change.")
        return
    out.print(_table(f"{what}: changes (old -> new)", report.transitions))
    changed_groups = report.by_group[report.by_group["changed"] > 0]
    more = len(changed_groups) - GROUPS_SHOWN
    out.print(_table(f"{what}: changes by region and industry", changed_groups, limit=GROUPS_SHOWN))
    if more > 0:
        out.print(f"  ... and {more} more region x industry groups (--json lists all)")
    out.print(_table(f"{what}: rules responsible", report.by_rule))
    if examples:
        shown = report.examples.groupby("transition", sort=False).head(examples) if len(report.examples) else report.examples
        out.print(_table(f"{what}: examples", shown, columns=example_columns))

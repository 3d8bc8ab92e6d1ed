"""``kam rules ...``: check rule files before they run.

Registered by :mod:`engine.cli` as ``app.add_typer(_rules_cmd.app, name="rules")``. The
what-if ``kam rules diff OLD NEW --db URL`` is wired by the CLI on top of
:func:`engine.rules.diff_rulesets`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

__all__ = ["app", "check"]

app = typer.Typer(
    help="Check rule files (unknown fields, type mismatches, unreachable rules, overlaps, ties, gaps).",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def _rules() -> None:
    """Rule files: check them before they run."""


#: Exit status when a check finds at least one error (the SpecError status of the kam command).
EXIT_FINDINGS = 3


@app.command("check")
def check(
    paths: Optional[List[Path]] = typer.Argument(None, help="Rule files or directories (default: the shipped rules/ directory)."),
    as_json: bool = typer.Option(False, "--json", help="Print the findings as a JSON list."),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="As-of date YYYY-MM-DD for example dates."),
    strict: bool = typer.Option(False, "--strict", help="Also exit 3 on warnings."),
) -> None:
    """Check rule files. Exit 0 when clean, 3 when errors (or, with --strict, warnings) are found.

    Each finding is printed as ``file:line: severity code message`` with a counter-example
    record that shows it.
    """
    from engine.cli._commands import _parse_date
    from engine.cli._output import console
    from engine.plan import plan_parameter_findings
    from engine.rules import check_rules

    day = _parse_date(as_of, "--as-of")  # a bad date is a usage error, in command-line words
    if not paths:
        from engine._paths import default_rules_dir
        from engine.cli._context import configured

        paths = [Path(configured(None, "rules.dir", default_rules_dir()))]
    findings = check_rules(paths, as_of=day, checks=(plan_parameter_findings,))
    out = console()
    if as_json:
        out.print_json(json.dumps([f.to_dict() for f in findings]))
    else:
        for f in findings:
            colour = "red" if f.severity == "error" else "yellow"
            from rich.text import Text

            out.print(Text(str(f), style=colour), highlight=False)  # a Text: never parsed as markup
        errors = sum(f.severity == "error" for f in findings)
        warnings = len(findings) - errors
        out.print(f"{errors} error(s), {warnings} warning(s)", markup=False)
    failed = any(f.severity == "error" or strict for f in findings)
    if failed:
        raise typer.Exit(EXIT_FINDINGS)

"""``kam report``: the run report of a results database as one self-contained HTML file."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from engine.cli._output import console

__all__ = ["demo_report_path", "report", "write_demo_report"]


def report(
    db: Annotated[str | None, typer.Option(help="Database URL or SQLite path the scoring run wrote to (default KAM_DB_URL / database.url).")] = None,
    out: Annotated[Path, typer.Option(help="HTML file to write (replaced atomically).")] = Path("report.html"),
    run: Annotated[str | None, typer.Option("--run", help="Run to report (default: the newest).")] = None,
    compare: Annotated[str | None, typer.Option(help="Run to compare with (default: the run before --run).")] = None,
    no_compare: Annotated[bool, typer.Option("--no-compare", help="Show no changes against another run.")] = False,
    models: Annotated[Path | None, typer.Option(help="Folder of the model cards (default: models/artifacts).")] = None,
    rules: Annotated[Path | None, typer.Option(help="Folder of the rule files (default: the shipped rules).")] = None,
) -> int:
    """Write the run report: one HTML page with every section and chart, readable offline."""
    from engine.report import report as build_report

    if no_compare and compare is not None:
        raise typer.BadParameter("give either --compare RUN_ID or --no-compare, not both.", param_hint="--compare")
    from engine.cli._context import configured, open_database

    started = time.perf_counter()
    with open_database(db, access="read") as database:
        html = build_report(
            database, run_id=run, compare=False if no_compare else (compare if compare is not None else True),
            out=out, artifacts_dir=configured(models, "models.dir"), rules_dir=configured(rules, "rules.dir"),
        )
    size = len(html.encode("utf-8"))
    console().print(f"wrote the report {out} ({size / 1024:,.0f} KiB) in {time.perf_counter() - started:.1f} s")
    return 0


def demo_report_path(db: Path) -> Path:
    """Where ``kam demo`` writes its report: beside the demo database."""
    db = Path(db)
    return db.with_name(db.stem + "-report.html")


def write_demo_report(db: Path, out=None, run_id: str | None = None) -> Path:
    """Write the report of the demo database's newest run beside it and say where."""
    from engine.pipeline import demo_artifacts_dir
    from engine.report import report as build_report

    path = demo_report_path(db)
    build_report(db, run_id=run_id, out=path, artifacts_dir=demo_artifacts_dir(db))
    (out or console()).print(f"report: {path.resolve()}")
    return path

"""The ``kam`` commands. Each parses its options, calls the library, and prints."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from engine.cli._output import console, error_console

__all__ = ["register"]

DEFAULT_DEMO_DB = Path("kam-demo.sqlite")


def _parse_date(value: Optional[str], option: str) -> Optional[dt.date]:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"expected an ISO date like 2026-09-30; got {value!r}.", param_hint=option) from None


def demo_db(
    path: Annotated[Path, typer.Argument(help="SQLite file to write (replaced if it exists).")],
    accounts: Annotated[int, typer.Option(min=1, help="Number of key accounts.")] = 20_000,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same database.")] = 0,
    end_date: Annotated[Optional[str], typer.Option(help="Last day of history (ISO date).")] = None,
) -> None:
    """Write a realistic demo customer database (SQLite) following docs/demo-data.md."""
    from engine.demo import DEMO_END_DATE, generate_demo_database

    end = _parse_date(end_date, "--end-date") or DEMO_END_DATE
    summary = generate_demo_database(path, accounts=accounts, seed=seed, end_date=end)
    out = console()
    counts = ", ".join(f"{name} {rows:,}" for name, rows in summary.row_counts.items())
    out.print(f"wrote {summary.url} in {summary.seconds:.1f} s: {counts}")


def validate(
    db: Annotated[str, typer.Option(help="Database URL or SQLite path.")],
    as_of: Annotated[Optional[str], typer.Option(help="Judge future dates against this date (default today).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    show: Annotated[int, typer.Option(min=0, help="How many failures to list.")] = 20,
) -> int:
    """Validate a customer database against the data contract; exit 4 if any row fails."""
    from engine.pipeline import ingest
    from engine.storage import Database

    with Database(db) as database:
        ingested = ingest(database, as_of=_parse_date(as_of, "--as-of"))
    report = ingested.report
    if as_json:
        payload = {
            "ok": report.ok,
            "counts": report.counts.reset_index().to_dict("records"),
            "failures": report.failures.head(show).astype(str).to_dict("records"),
        }
        console().print_json(json.dumps(payload, default=str))
    else:
        _print_validation(report, show)
    return 0 if report.ok else 4


def _print_validation(report, show: int) -> None:
    from rich.table import Table

    out = console()
    table = Table(title="validation", title_justify="left")
    table.add_column("table")
    for column in report.counts.columns:
        table.add_column(column, justify="right")
    for name, row in report.counts.iterrows():
        table.add_row(str(name), *[f"{int(v):,}" for v in row])
    out.print(table)
    if not report.failures.empty:
        err = error_console()
        for failure in report.failures.head(show).itertuples(index=False):
            err.print(
                f"{failure.table} row {failure.row} key {failure.key} column {failure.column}: "
                f"{failure.reason}: {failure.message} Fix: {failure.hint}"
            )
        more = len(report.failures) - show
        if more > 0:
            err.print(f"... and {more:,} more failures")


def demo(
    db: Annotated[Path, typer.Option(help="SQLite file of the demo database (created if missing).")] = DEFAULT_DEMO_DB,
    accounts: Annotated[int, typer.Option(min=1, help="Accounts, when the database is created.")] = 20_000,
    seed: Annotated[int, typer.Option(help="Seed, when the database is created.")] = 0,
) -> int:
    """Run the whole job on the embedded SQLite demo database and print what it did.

    Creates the demo database if missing, trains the churn and win models if missing (kept
    beside the database), scores every account and routes every open opportunity, writes the
    results to the database and prints the summary.
    """
    from engine.cli._summary import print_summary, progress_reporter
    from engine.pipeline import run_demo

    out = console()
    with progress_reporter() as progress:
        result = run_demo(db, accounts=accounts, seed=seed, out=out, progress=progress)
    print_summary(result, out)
    return 0


def train(
    kind: Annotated[str, typer.Argument(help="churn or win.")],
    db: Annotated[str, typer.Option(help="Database URL or SQLite path.")],
    spec: Annotated[Optional[Path], typer.Option(help="Model spec (default: the shipped models/<kind>.yaml).")] = None,
    artifacts: Annotated[Path, typer.Option(help="Folder of the current model and its card.")] = Path("models/artifacts"),
    force: Annotated[bool, typer.Option(help="Publish even if worse than the current model.")] = False,
    as_of: Annotated[Optional[str], typer.Option(help="Validate input dates against this date (default today).")] = None,
) -> int:
    """Train a churn or win model, validate it out of time, and publish it if it is good enough."""
    from engine.pipeline import ingest, train_model
    from engine.pipeline._train import describe_metrics
    from engine.storage import Database

    with Database(db) as database:
        ingested = ingest(database, as_of=_parse_date(as_of, "--as-of"))
    result = train_model(ingested.tables, kind, spec=spec, artifacts_dir=artifacts, force=force)
    out = console()
    out.print(
        f"{kind}: trained on {result.rows['train']:,} rows, validated on {result.rows['validation']:,} "
        f"({result.rows['features']} features) in {result.seconds['total']:.1f} s"
    )
    out.print(f"  validation: {describe_metrics(result.metrics)}")
    out.print(f"  chosen: {result.card.selected_candidate}; card: {result.card.path}")
    out.print(f"  {result.decision.reason}")
    return 0


def score(
    db: Annotated[str, typer.Option(help="Database URL or SQLite path (results are written there too).")],
    as_of: Annotated[Optional[str], typer.Option(help="Run date (ISO); features use rows before it. Default today.")] = None,
    rules: Annotated[Optional[Path], typer.Option(help="Folder with tiers.yaml and routing.yaml.")] = None,
    models: Annotated[Path, typer.Option(help="Folder with the current churn and win models.")] = Path("models/artifacts"),
    run_id: Annotated[Optional[str], typer.Option(help="Run id (default: as-of date + digest of rules and models).")] = None,
    keep_runs: Annotated[int, typer.Option(min=1, help="Keep the results of the newest N runs.")] = 30,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Compute everything, write nothing.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary (for schedulers).")] = False,
    backend: Annotated[str, typer.Option(help="local, or dask (partitioned over a Dask cluster).")] = "local",
    scheduler: Annotated[Optional[str], typer.Option(help="Dask scheduler address (default: a LocalCluster).")] = None,
    partitions: Annotated[Optional[int], typer.Option(min=1, help="Account partitions, whole territories each (default: 1 up to 100k accounts, else one per ~150k).")] = None,
    reasons_for: Annotated[int, typer.Option(min=0, help="Top reasons for the N accounts with the highest value at risk.")] = 1_000,
) -> int:
    """Score the whole customer database: tiers, churn risk, priority, routes, assignees, win chances."""
    from engine.cli._summary import print_summary, progress_reporter, summary_dict
    from engine.pipeline import score as run_score

    with progress_reporter(enabled=not as_json) as progress:
        result = run_score(
            db,
            as_of=_parse_date(as_of, "--as-of"),
            rules_dir=rules,
            artifacts_dir=models,
            run_id=run_id,
            keep_runs=keep_runs,
            dry_run=dry_run,
            progress=progress,
            backend=backend,
            scheduler=scheduler,
            partitions=partitions,
            reasons_for=reasons_for,
        )
    if as_json:
        console().print_json(json.dumps(summary_dict(result), default=str))
    else:
        print_summary(result, console())
    return 0


def _version(value: bool) -> None:
    if value:
        from engine import __version__

        console().print(f"kam {__version__}")
        raise typer.Exit()


def register(app: typer.Typer) -> None:
    """Add every command to ``app``."""

    @app.callback()
    def _root(
        version: Annotated[
            bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
        ] = False,
    ) -> None:
        """kam: tiers, routes and scores key accounts; warns before they churn."""

    app.command("demo")(demo)
    app.command("demo-db")(demo_db)
    app.command("validate")(validate)
    app.command("train")(train)
    app.command("score")(score)
    from engine.cli import _plan_cmd

    app.command("plan")(_plan_cmd.plan)

    from engine.cli import _rules_cmd, _whatif_cmd

    rules = typer.Typer(
        help="Rule files: check them before they run; see what a change would do.",
        no_args_is_help=True,
        add_completion=False,
    )
    rules.command("check")(_rules_cmd.check)
    rules.command("diff")(_whatif_cmd.rules_diff)
    app.add_typer(rules, name="rules")

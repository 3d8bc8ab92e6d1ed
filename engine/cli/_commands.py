"""The ``kam`` commands. Each parses its options, calls the library, and prints."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from engine._log import LOG_FORMATS, LOG_LEVELS, get_logger
from engine.cli._context import (
    Backend,
    ModelKind,
    choice,
    configured,
    open_database,
    path_setting,
    state,
)
from engine.cli._output import console, error_console

__all__ = ["register"]

DEFAULT_DEMO_DB = Path("kam-demo.sqlite")
DEFAULT_MODELS_DIR = Path("models/artifacts")
KINDS = [kind.value for kind in ModelKind]
BACKENDS = [backend.value for backend in Backend]
DB_HELP_READ = ("Database URL or SQLite path, read only (default: KAM_DB_URL or database.url in kam.toml; "
                "a password belongs in KAM_DB_PASSWORD).")
AS_OF_HELP = ("The run's date, YYYY-MM-DD (e.g. 2026-10-01; 20261001 also works). Default: the day after the newest event in the data, "
              "with a warning when that is weeks before today.")

_log = get_logger("cli")


def _parse_date(value: Optional[str], option: str) -> Optional[dt.date]:
    """A date option, read as the library reads ``as_of=`` (:func:`engine._asof.calendar_date`): a usage error."""
    if value is None:
        return None
    from engine._asof import calendar_date
    from engine._errors import AsOfError

    try:
        return calendar_date(value, name=option)
    except AsOfError as exc:
        raise typer.BadParameter(str(exc), param_hint=option) from None


def demo_db(
    path: Annotated[Path, typer.Argument(help="SQLite file to write (replaced if it exists).")],
    accounts: Annotated[int, typer.Option(min=1, help="Number of key accounts.")] = 20_000,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same database.")] = 0,
    end_date: Annotated[Optional[str], typer.Option(help="Last day of history, YYYY-MM-DD (e.g. 2026-09-30).")] = None,
) -> None:
    """Write a realistic demo customer database (SQLite) following docs/demo-data.md."""
    from engine.cli._progress import show_progress
    from engine.pipeline._demo import create_demo_database

    end = _parse_date(end_date, "--end-date")
    with show_progress():
        summary = create_demo_database(path, accounts=accounts, seed=seed, end_date=end)
    out = console()
    counts = ", ".join(f"{name} {rows:,}" for name, rows in summary.row_counts.items())
    out.print(f"wrote {summary.url} in {summary.seconds:.1f} s: {counts}")


def validate(
    db: Annotated[Optional[str], typer.Option(help=DB_HELP_READ)] = None,
    as_of: Annotated[Optional[str], typer.Option(help=AS_OF_HELP)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    show: Annotated[int, typer.Option(min=0, help="How many failures to list.")] = 20,
) -> int:
    """Validate a customer database against the data contract; exit 4 if any row fails. Writes nothing."""
    from engine._asof import resolve_as_of, warn_if_stale
    from engine._progress import task
    from engine.cli._progress import show_progress
    from engine.pipeline import ingest

    started = time.perf_counter()
    asked = _parse_date(as_of, "--as-of")  # a bad date is a usage error before the database is opened
    with show_progress(enabled=not as_json), open_database(db, access="read") as database:
        day = resolve_as_of(asked, database)
        with task(f"validating {database.display_name} as of {day}"):
            ingested = ingest(database, as_of=day)
    report = ingested.report
    if as_of is not None:
        warn_if_stale(day, report.valid)
    _log.info("validated %d rows in %d tables as of %s: %d quarantined, %d failures in %.1f s",
              int(report.counts["rows"].sum()), len(report.counts), day, report.n_quarantined,
              len(report.failures), time.perf_counter() - started)
    if as_json:
        payload = {
            "ok": report.ok,
            "as_of": day.isoformat(),
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
    from engine.cli._progress import show_progress
    from engine.cli._summary import print_summary
    from engine.pipeline import run_demo

    out = console()
    with show_progress():
        result = run_demo(db, accounts=accounts, seed=seed, out=out)
    print_summary(result, out)
    from engine.cli._report_cmd import write_demo_report

    write_demo_report(db, out, run_id=result.run_id)
    return 0


def train(
    kind: Annotated[str, typer.Argument(help="The model to train.", **choice(KINDS))],
    db: Annotated[Optional[str], typer.Option(help=DB_HELP_READ)] = None,
    spec: Annotated[Optional[Path], typer.Option(help="Model spec (default: the shipped models/<kind>.yaml).")] = None,
    artifacts: Annotated[
        Optional[Path], typer.Option(help="Folder of the current model and its card (default: models.dir, else models/artifacts).")
    ] = None,
    force: Annotated[bool, typer.Option(help="Publish even if worse than the current model.")] = False,
    as_of: Annotated[Optional[str], typer.Option(help=AS_OF_HELP)] = None,
) -> int:
    """Train a churn or win model, validate it out of time, and publish it if it is good enough.

    Reads the database (never writes to it); writes the model and its card to the artifacts folder.
    """
    from engine._asof import resolve_as_of, warn_if_stale
    from engine._progress import task
    from engine.cli._progress import show_progress
    from engine.pipeline import ingest, train_model
    from engine.pipeline._train import describe_metrics

    folder = path_setting(artifacts, "models.dir", DEFAULT_MODELS_DIR)
    asked = _parse_date(as_of, "--as-of")  # a bad date is a usage error before the database is opened
    with show_progress():
        with open_database(db, access="read") as database:
            day = resolve_as_of(asked, database)
            with task(f"reading and validating {database.display_name}"):
                ingested = ingest(database, as_of=day)
        if as_of is not None:
            warn_if_stale(day, ingested.tables)
        with task(f"training the {kind} model"):
            result = train_model(ingested.tables, kind, spec=spec, artifacts_dir=folder, force=force)
    _log.info("trained %s on %d rows: %s; %s", kind, result.rows["train"], describe_metrics(result.metrics),
              result.decision.reason)
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
    db: Annotated[Optional[str], typer.Option(help="Database URL or SQLite path; results are written there too "
                                                   "(default: KAM_DB_URL or database.url in kam.toml).")] = None,
    as_of: Annotated[Optional[str], typer.Option(help=AS_OF_HELP)] = None,
    rules: Annotated[Optional[Path], typer.Option(help="Folder with tiers.yaml and routing.yaml (default: rules.dir, else the shipped rules).")] = None,
    models: Annotated[Optional[Path], typer.Option(help="Folder with the current churn and win models (default: models.dir, else models/artifacts).")] = None,
    run_id: Annotated[Optional[str], typer.Option(help="Run id (default: as-of date + digest of rules and models).")] = None,
    keep_runs: Annotated[int, typer.Option(min=1, help="Keep the results of the newest N runs.")] = 30,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Compute everything, write nothing (opens the database read-only).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary (for schedulers).")] = False,
    backend: Annotated[str, typer.Option(help="Where the row-wise stages run: local, or dask (partitioned over a Dask cluster).", **choice(BACKENDS))] = "local",
    scheduler: Annotated[Optional[str], typer.Option(help="Dask scheduler address (default: a LocalCluster).")] = None,
    partitions: Annotated[Optional[int], typer.Option(min=1, help="Account partitions, whole territories each (default: 1 up to 100k accounts, else one per ~150k).")] = None,
    reasons_for: Annotated[int, typer.Option(min=0, help="Top reasons for the N accounts with the highest value at risk.")] = 1_000,
    max_quarantined: Annotated[Optional[float], typer.Option(
        min=0.0, max=1.0, metavar="SHARE",
        help="Fail the run (exit 4, nothing written) when more than this share of any input table is quarantined "
             "(default: score.max_quarantined, 0.05).")] = None,
    alerts: Annotated[bool, typer.Option("--alerts", help="Then evaluate the early-warning alerts of the run (kam alerts evaluate).")] = False,
) -> int:
    """Score the whole customer database: tiers, churn risk, priority, routes, assignees, win chances."""
    from engine.cli._progress import show_progress
    from engine.cli._summary import print_summary, summary_dict
    from engine.pipeline import score as run_score

    limit = float(configured(max_quarantined, "score.max_quarantined", 0.05))
    day = _parse_date(as_of, "--as-of")  # a bad date is a usage error before the database is opened
    with show_progress(enabled=not as_json), open_database(db, access="read" if dry_run else "write") as database:
        result = run_score(
            database,
            as_of=day,
            rules_dir=configured(rules, "rules.dir"),
            artifacts_dir=path_setting(models, "models.dir", DEFAULT_MODELS_DIR),
            run_id=run_id,
            keep_runs=keep_runs,
            dry_run=dry_run,
            backend=backend,
            scheduler=scheduler,
            partitions=partitions,
            reasons_for=reasons_for,
            max_quarantined=limit,
        )
    evaluated = None
    if alerts and result.written:
        from engine.alerts import evaluate_run

        # the database the run was written to (--db or, without it, the configured one)
        with open_database(db, access="write") as database:
            evaluated = evaluate_run(database, result.run_id)
    if as_json:
        payload = summary_dict(result)
        if evaluated is not None:
            payload["alerts"] = evaluated.to_dict()
        console().print_json(json.dumps(payload, default=str))
    else:
        print_summary(result, console())
        if evaluated is not None:
            from engine.cli._alerts_cmd import print_evaluation

            print_evaluation(evaluated)
    return 0


def runs(
    db: Annotated[Optional[str], typer.Option(help=DB_HELP_READ)] = None,
    limit: Annotated[int, typer.Option(min=1, help="Show the newest N runs.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print the runs as a JSON list.")] = False,
) -> int:
    """List the scoring runs kept in the database, newest first. Writes nothing."""
    from engine.cli._results import print_runs, runs_records

    with open_database(db, access="read") as database:
        records = runs_records(database, limit)
        where = database.display_url
    if as_json:
        console().print_json(json.dumps(records, default=str))
    else:
        print_runs(records, where, console())
    return 0


def show_account(
    account_id: Annotated[str, typer.Argument(help="The account, e.g. KA-000123.")],
    db: Annotated[Optional[str], typer.Option(help=DB_HELP_READ)] = None,
    run_id: Annotated[Optional[str], typer.Option(help="A given run (default: the latest; see `kam runs`).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the account as JSON.")] = False,
) -> int:
    """Show one account's latest scores: tier and why, churn risk, value at risk, reasons, open leads."""
    from engine.cli._results import account_record, print_account

    with open_database(db, access="read") as database:
        record = account_record(database, account_id, run_id)
    if as_json:
        console().print_json(json.dumps(record, default=str))
    else:
        print_account(record, console())
    return 0


def config(
    as_json: Annotated[bool, typer.Option("--json", help="Print the settings as JSON.")] = False,
) -> int:
    """Show the effective settings, where each came from (default, file, env, flag), secrets masked."""
    cli_state = state()
    settings = cli_state.settings
    rows = settings.describe()
    if as_json:
        payload = {"file": str(settings.file) if settings.file else None, "settings": rows}
        console().print_json(json.dumps(payload, default=str))
        return 0
    from rich.table import Table

    out = console()
    out.print(f"config file: {settings.file or '(none)'}")
    table = Table(title="settings", title_justify="left")
    for column in ("setting", "value", "source", "environment variable"):
        table.add_column(column)
    for row in rows:
        table.add_row(row["name"], "" if row["value"] is None else str(row["value"]), row["source"], row["env"])
    out.print(table)
    return 0


def _version(value: bool) -> None:
    if value:
        from engine import __version__

        console().print(f"kam {__version__}")
        raise typer.Exit()


def _root(
    config_file: Annotated[Optional[Path], typer.Option(
        "--config", metavar="FILE", help="TOML settings file (default: $KAM_CONFIG, else ./kam.toml if present).")] = None,
    log_level: Annotated[Optional[str], typer.Option(
        help="Least severe log records shown on standard error (default: log.level, WARNING).",
        **choice(LOG_LEVELS, case_sensitive=False))] = None,
    log_format: Annotated[Optional[str], typer.Option(
        help="text for people, json for a log collector (default: log.format, text).", **choice(LOG_FORMATS))] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """kam: tiers, routes and scores key accounts; warns before they churn."""
    from engine._config import load_config
    from engine._log import configure_logging
    from engine.cli._context import CliState

    ctx = _current_context()
    loaded = load_config(config_file, overrides={"log.level": log_level, "log.format": log_format})
    # engine.cli.main passes its own CliState as obj, to mask secrets in errors after the command ends
    cli_state = ctx.obj if isinstance(ctx.obj, CliState) else CliState(loaded)
    cli_state.config = loaded
    cli_state.secrets.extend(s for s in loaded.secrets() if s not in cli_state.secrets)
    cli_state.log_level = loaded.get("log.level")
    cli_state.log_format = loaded.get("log.format")

    def reconfigure(_secret: str | None = None) -> None:
        configure_logging(cli_state.log_level, cli_state.log_format, secrets=cli_state.secrets)

    cli_state.on_secret = reconfigure
    reconfigure()
    ctx.obj = cli_state
    _log.debug("configuration: file %s", loaded.file or "(none)")


def _current_context():
    from typer._click.globals import get_current_context  # typer ships its own click

    return get_current_context()


def register(app: typer.Typer) -> None:
    """Add every command to ``app``."""
    app.callback()(_root)
    app.command("demo")(demo)
    app.command("demo-db")(demo_db)
    app.command("validate")(validate)
    app.command("train")(train)
    app.command("score")(score)
    app.command("runs")(runs)
    app.command("config")(config)

    show = typer.Typer(help="Show results: one account's latest scores and reasons.", no_args_is_help=True)
    show.command("account")(show_account)
    app.add_typer(show, name="show")

    from engine.cli import _plan_cmd

    app.command("plan")(_plan_cmd.plan)

    from engine.cli import _route_cmd

    app.command("route")(_route_cmd.route)

    from engine.cli import _rules_cmd, _whatif_cmd

    rules = typer.Typer(
        help="Rule files: check them before they run; see what a change would do.",
        no_args_is_help=True,
    )
    rules.command("check")(_rules_cmd.check)
    rules.command("diff")(_whatif_cmd.rules_diff)
    app.add_typer(rules, name="rules")

    from engine.cli import _alerts_cmd

    app.add_typer(_alerts_cmd.app, name="alerts")

    from engine.cli import _report_cmd

    app.command("report")(_report_cmd.report)

    from engine.cli import _serve_cmd

    app.command("serve")(_serve_cmd.serve)

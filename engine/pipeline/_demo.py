"""``kam demo``: the whole job on the embedded SQLite demo database."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine._asof import default_as_of
from engine._log import get_logger
from engine._paths import as_path
from engine._progress import task
from engine.pipeline._ingest import ingest
from engine.pipeline._score import ScoreResult, score
from engine.pipeline._train import KINDS, describe_metrics, train_model
from engine.storage import Database

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["create_demo_database", "demo_artifacts_dir", "run_demo"]

_log = get_logger("demo")


def demo_artifacts_dir(path: Path) -> Path:
    """Where ``kam demo`` keeps the models it trains: a folder beside the demo database."""
    path = as_path(path, "the demo database file", "kam-demo.sqlite")
    path = Path(path)
    return path.with_name(path.stem + "-models")


def run_demo(path: Path, *, accounts: int = 20_000, seed: int = 0, out: Console | None = None,
             progress: Callable[[str, str], None] | None = None) -> ScoreResult:
    """Create the demo database if missing, train the models if missing, score, and report.

    The run is as of the day after the newest event in the demo data (the shared default rule
    of :func:`engine._asof.default_as_of`).

    Parameters
    ----------
    path : pathlib.Path
        SQLite file of the demo database.
    accounts, seed : int
        Size and seed used when the database has to be created.
    out : rich.console.Console, optional
        Where to print progress lines; nothing is printed when omitted.
    progress : callable, optional
        Stage progress callback for the scoring run.

    Returns
    -------
    ScoreResult
        The scoring run (written to the demo database).
    """
    path = as_path(path, "the demo database file", "kam-demo.sqlite")
    say = out.print if out is not None else (lambda *a, **k: None)
    path = Path(path)
    oracle = None
    if not path.exists():
        say(f"creating demo database {path} ({accounts:,} accounts, seed {seed}) ...")
        summary = create_demo_database(path, accounts=accounts, seed=seed)
        rows = sum(summary.row_counts.values())
        say(f"  {rows:,} rows in {len(summary.row_counts)} tables, {summary.seconds:.1f} s")
        from engine.demo import DEMO_END_DATE
        from engine.demo._oracle import demo_oracle  # the ceiling, for the model cards

        oracle = demo_oracle(accounts, seed, DEMO_END_DATE)
    artifacts = demo_artifacts_dir(path)
    with Database(path, create=False) as db:
        # The demo data ends on a fixed day in the past by design: its "today" is the day after
        # its newest event (the shared default rule), without the stale-data warning.
        as_of = default_as_of(db)
        missing = [kind for kind in KINDS if not (artifacts / f"{kind}.joblib").exists()]
        if missing:
            with task("reading and validating the demo data"):
                ingested = ingest(db, as_of=as_of)
            for kind in missing:
                say(f"training the {kind} model on the demo data ...")
                with task(f"training the {kind} model"):
                    trained = train_model(ingested.tables, kind, artifacts_dir=artifacts, oracle=oracle)
                say(
                    f"  {kind}: {trained.card.selected_candidate}, {trained.rows['train']:,} training rows, "
                    f"{trained.seconds['total']:.1f} s; out-of-time validation: {describe_metrics(trained.metrics)}"
                )
                say(f"  {_publish_sentence(kind, trained.decision, artifacts)}")
        say(f"scoring {path} as of {as_of.isoformat()} ...")
        result = score(db, as_of=as_of, artifacts_dir=artifacts, progress=progress)
        result = _with_alerts(db, result, path.with_name(path.stem + "-alerts.jsonl"))
        _demo_plan(db, result.run_id, say)  # after the alerts: plan lines carry the open alert
        return result


def _demo_plan(db: Database, run_id: str, say) -> None:
    """Plan next week from the run and say what the plan holds (docs/plan.md)."""
    from engine.plan import plan

    _, planned = plan(db, run_id=run_id)
    c = planned.counts
    share = c["value_at_risk_planned"] / c["value_at_risk_total"] if c["value_at_risk_total"] else 0.0
    say(
        f"call plan {planned.week}: {c['planned']:,} visits and calls for {c['people_planned']:,} reps and partners; "
        f"cadence obligations {c['obligations_met']:,} of {c['obligations_due']:,} met; {share:.0%} of the value at "
        f"risk is on a plan (`kam plan --db {db.display_url} --person ID` prints one person's list)"
    )


@dataclass(frozen=True)
class DemoResult(ScoreResult):
    """A scoring run of the demo with its early-warning alerts (``alerts``: what was evaluated and
    sent; ``alerts_path``: the JSON Lines file the digests were written to)."""

    alerts: Any = None
    alerts_sent: Any = None
    alerts_path: Path | None = None


def _with_alerts(db: Database, result: ScoreResult, jsonl: Path) -> DemoResult:
    from engine.alerts import evaluate_and_write_jsonl

    summary, sent = evaluate_and_write_jsonl(db, result.run_id, jsonl)
    fields = {f.name: getattr(result, f.name) for f in dataclasses.fields(result)}
    return DemoResult(**fields, alerts=summary, alerts_sent=sent, alerts_path=jsonl)


def create_demo_database(path, *, accounts: int, seed: int, end_date=None):
    """Write the demo database at ``path``, reporting each step as progress and logging the result."""
    from engine.demo import DEMO_END_DATE, generate_demo_database

    started = time.perf_counter()
    with task(f"creating the demo database ({accounts:,} accounts)") as progress:
        summary = generate_demo_database(
            path, accounts=accounts, seed=seed, end_date=end_date or DEMO_END_DATE,
            progress=lambda message: progress.describe(f"demo database: {message}"),
        )
    _log.info("demo database %s: %s rows (%s) in %.1f s", summary.url, sum(summary.row_counts.values()),
              ", ".join(f"{name} {rows}" for name, rows in summary.row_counts.items()), time.perf_counter() - started)
    return summary


def _publish_sentence(kind: str, decision, artifacts: Path) -> str:
    """What the publish gate did, in words that do not read like an error on a first run."""
    if decision.published and decision.current_score is None and not decision.forced:
        return f"published as the first {kind} model in {artifacts}"
    return decision.reason

"""``kam demo``: the whole job on the embedded SQLite demo database."""

from __future__ import annotations

from pathlib import Path

from engine.pipeline._ingest import ingest
from engine.pipeline._score import ScoreResult, score
from engine.pipeline._train import describe_metrics, train_model
from engine.storage import Database

__all__ = ["demo_artifacts_dir", "run_demo"]


def demo_artifacts_dir(path: Path) -> Path:
    """Where ``kam demo`` keeps the models it trains: a folder beside the demo database."""
    path = Path(path)
    return path.with_name(path.stem + "-models")


def run_demo(path: Path, *, accounts: int = 20_000, seed: int = 0, out=None, progress=None) -> ScoreResult:
    """Create the demo database if missing, train the models if missing, score, and report.

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
    from engine.demo import DEMO_END_DATE, generate_demo_database

    say = out.print if out is not None else (lambda *a, **k: None)
    path = Path(path)
    if not path.exists():
        say(f"creating demo database {path} ({accounts:,} accounts, seed {seed}) ...")
        summary = generate_demo_database(path, accounts=accounts, seed=seed, end_date=DEMO_END_DATE)
        rows = sum(summary.row_counts.values())
        say(f"  {rows:,} rows in {len(summary.row_counts)} tables, {summary.seconds:.1f} s")
    artifacts = demo_artifacts_dir(path)
    with Database(path) as db:
        as_of = _data_as_of(db)
        missing = [kind for kind in ("churn", "win") if not (artifacts / f"{kind}.joblib").exists()]
        if missing:
            ingested = ingest(db, as_of=as_of)
            for kind in missing:
                say(f"training the {kind} model on the demo data ...")
                trained = train_model(ingested.tables, kind, artifacts_dir=artifacts)
                say(
                    f"  {kind}: {trained.card.selected_candidate}, {trained.rows['train']:,} training rows, "
                    f"{trained.seconds['total']:.1f} s; out-of-time validation: {describe_metrics(trained.metrics)}"
                )
                say(f"  {trained.decision.reason}")
        say(f"scoring {path} as of {as_of.isoformat()} ...")
        result = score(db, as_of=as_of, artifacts_dir=artifacts, progress=progress)
        _demo_plan(db, result.run_id, say)
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


def _data_as_of(db: Database):
    """The day after the newest order: the demo data's 'today'."""
    import pandas as pd

    newest = db.max_value("orders", "order_date")
    if newest is None:
        return pd.Timestamp.now(tz="UTC").date()
    return (pd.Timestamp(str(newest)) + pd.Timedelta(days=1)).date()

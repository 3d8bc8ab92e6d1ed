"""``kam demo``: the whole job on the embedded SQLite demo database."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.pipeline._ingest import ingest
from engine.pipeline._score import ScoreResult, score
from engine.pipeline._train import describe_metrics, train_model
from engine.storage import Database

__all__ = ["run_demo", "demo_artifacts_dir"]


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
        return _with_alerts(db, result, path.with_name(path.stem + "-alerts.jsonl"))


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


def _data_as_of(db: Database):
    """The day after the newest order: the demo data's 'today'."""
    import pandas as pd

    newest = db.max_value("orders", "order_date")
    if newest is None:
        return pd.Timestamp.now(tz="UTC").date()
    return (pd.Timestamp(str(newest)) + pd.Timedelta(days=1)).date()

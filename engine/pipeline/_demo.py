"""``kam demo``: the whole job on the embedded SQLite demo database."""

from __future__ import annotations

from pathlib import Path

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
    oracle = None
    if not path.exists():
        say(f"creating demo database {path} ({accounts:,} accounts, seed {seed}) ...")
        summary = generate_demo_database(path, accounts=accounts, seed=seed, end_date=DEMO_END_DATE)
        rows = sum(summary.row_counts.values())
        say(f"  {rows:,} rows in {len(summary.row_counts)} tables, {summary.seconds:.1f} s")
        from engine.demo._oracle import demo_oracle  # the ceiling, for the model cards

        oracle = demo_oracle(accounts, seed, DEMO_END_DATE)
    artifacts = demo_artifacts_dir(path)
    with Database(path) as db:
        as_of = _data_as_of(db)
        missing = [kind for kind in ("churn", "win") if not (artifacts / f"{kind}.joblib").exists()]
        if missing:
            ingested = ingest(db, as_of=as_of)
            for kind in missing:
                say(f"training the {kind} model on the demo data ...")
                trained = train_model(ingested.tables, kind, artifacts_dir=artifacts, oracle=oracle)
                say(
                    f"  {kind}: {trained.card.selected_candidate}, {trained.rows['train']:,} training rows, "
                    f"{trained.seconds['total']:.1f} s; out-of-time validation: {describe_metrics(trained.metrics)}"
                )
                say(f"  {trained.decision.reason}")
        say(f"scoring {path} as of {as_of.isoformat()} ...")
        return score(db, as_of=as_of, artifacts_dir=artifacts, progress=progress)


def _data_as_of(db: Database):
    """The day after the newest order: the demo data's 'today'."""
    import pandas as pd

    newest = db.max_value("orders", "order_date")
    if newest is None:
        return pd.Timestamp.now(tz="UTC").date()
    return (pd.Timestamp(str(newest)) + pd.Timedelta(days=1)).date()

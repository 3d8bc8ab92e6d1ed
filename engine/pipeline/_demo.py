"""``kam demo``: the whole job on the embedded SQLite demo database."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pandas as pd

from engine.pipeline._ingest import ingest
from engine.storage import Database
from engine.validate import rejects_frame

__all__ = ["run_demo"]


def run_demo(path: Path, *, accounts: int = 20_000, seed: int = 0, out=None) -> int:
    """Create the demo database if missing, run every stage, print a summary; return exit status.

    Parameters
    ----------
    path : pathlib.Path
        SQLite file of the demo database.
    accounts, seed : int
        Size and seed used when the database has to be created.
    out : rich.console.Console, optional
        Where to print; nothing is printed when omitted.
    """
    from engine.demo import DEMO_END_DATE, generate_demo_database

    say = out.print if out is not None else (lambda *a, **k: None)
    path = Path(path)
    if not path.exists():
        say(f"creating demo database {path} ({accounts:,} accounts, seed {seed}) ...")
        summary = generate_demo_database(path, accounts=accounts, seed=seed, end_date=DEMO_END_DATE)
        say(f"  created in {summary.seconds:.1f} s")
    with Database(path) as db:
        as_of = _data_as_of(db)
        started = time.perf_counter()
        ingested = ingest(db, as_of=as_of)
        report = ingested.report
        run_id = f"demo-{as_of.isoformat()}"
        db.write_run(
            run_id,
            {
                "runs": pd.DataFrame(
                    {
                        "started_at": [pd.Timestamp.now(tz="UTC").tz_localize(None)],
                        "as_of": [as_of.isoformat()],
                        "rows_in": [int(report.counts["rows"].sum())],
                        "rows_quarantined": [report.n_quarantined],
                    }
                ),
                "rejects": rejects_frame(report, run_id),
            },
        )
        elapsed = time.perf_counter() - started
    say(f"demo database {path}: data as of {as_of.isoformat()}, run {run_id}")
    rows = report.counts
    say(
        f"  validated {int(rows['rows'].sum()):,} rows in {len(rows)} tables: "
        f"{int(rows['valid'].sum()):,} valid, {report.n_quarantined:,} quarantined "
        f"({ingested.seconds['load']:.1f} s load, {ingested.seconds['validate']:.1f} s validate)"
    )
    say(f"  done in {elapsed:.1f} s")
    return 0


def _data_as_of(db: Database) -> dt.date:
    """The day after the newest order: the demo data's 'today'."""
    latest = db.read_table("orders", columns=["order_date"])["order_date"]
    newest = pd.to_datetime(latest.astype(object), format="ISO8601", errors="coerce").max()
    return (newest + pd.Timedelta(days=1)).date()

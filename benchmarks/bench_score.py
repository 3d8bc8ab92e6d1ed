"""Time a whole ``kam score`` run on the demo database and compare it with the pandas floor.

Targets (issue 5): 1,000,000 accounts / ~10,000,000 orders in SQLite end to end <= 60 s with
peak RSS <= 4 GB on a 2-core machine; 20,000 accounts <= 5 s.

    python benchmarks/bench_score.py                          # 1,000,000 accounts
    python benchmarks/bench_score.py --accounts 20000
    python benchmarks/bench_score.py --accounts 20000 --backend dask --partitions 4
    python benchmarks/bench_score.py --db /data/demo.sqlite --models /data/models

The demo database is generated once (``engine.demo.generate_demo_database``) and reused from
``--db`` (default ``<work dir>/demo-<accounts>-seed<seed>.sqlite``). The models are trained once
with the shipped specs on a small demo database (``--train-accounts``) into ``--models`` and
reused. Only ``engine.pipeline.score(...)`` is timed; it writes its results, as every night
(not a dry run). Then the floor: reading the same source tables
with ``pd.read_sql`` and writing frames the size of the outputs with ``DataFrame.to_sql`` to a
scratch SQLite file, in this process, after the run.

Peak RSS is ``ru_maxrss`` of this process taken right after the run, before the floor, and,
with the dask backend, each worker's own ``ru_maxrss`` (asked of the workers of a LocalCluster
the benchmark starts before the timed run, as a deployed cluster would be running, or of
``--scheduler``); the peak so far is also taken when
each stage that reports progress ends (load and validate run table by table, interleaved; the
row-wise stages run inside the partitions and end before ``priority``), and the load average.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SOURCE_TABLES = (
    "reps", "partners", "customers", "ownership", "orders", "tickets", "contacts", "visits", "opportunities",
)


def _rss_mb(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # Linux: kilobytes


def _ensure_database(path: Path, accounts: int, seed: int) -> None:
    from engine.demo import DEMO_END_DATE, generate_demo_database

    if path.exists():
        print(f"reusing {path}")
        return
    started = time.perf_counter()
    summary = generate_demo_database(path, accounts=accounts, seed=seed, end_date=DEMO_END_DATE)
    print(f"generated {path} ({sum(summary.row_counts.values()):,} rows) in {time.perf_counter() - started:.0f} s")


def _ensure_models(models: Path, work: Path, train_accounts: int, seed: int) -> None:
    from engine.demo import DEMO_END_DATE
    from engine.pipeline import ingest, train_model
    from engine.storage import Database

    missing = [kind for kind in ("churn", "win") if not (models / f"{kind}.joblib").exists()]
    if not missing:
        print(f"reusing models in {models}")
        return
    train_db = work / f"demo-{train_accounts}-seed{seed}.sqlite"
    _ensure_database(train_db, train_accounts, seed)
    with Database(train_db) as db:
        tables = ingest(db, as_of=DEMO_END_DATE + dt.timedelta(days=1)).tables
    for kind in missing:
        started = time.perf_counter()
        trained = train_model(tables, kind, artifacts_dir=models, force=True)
        print(f"trained {kind} ({trained.card.selected_candidate}) in {time.perf_counter() - started:.0f} s")


def _worker_peaks(scheduler: str) -> dict[str, float]:
    """Peak RSS (MB) of every worker of the cluster at ``scheduler``, asked of the workers."""
    from distributed import Client

    def peak() -> float:
        import resource as worker_resource

        return worker_resource.getrusage(worker_resource.RUSAGE_SELF).ru_maxrss / 1024

    with Client(scheduler) as client:
        return client.run(peak)


def _floor(db_path: Path, outputs: dict[str, pd.DataFrame]) -> dict[str, float]:
    """Plain pandas: read the source tables, write frames the size of the outputs."""
    seconds = {}
    started = time.perf_counter()
    with sqlite3.connect(db_path) as conn:
        frames = {name: pd.read_sql(f"SELECT * FROM {name}", conn) for name in SOURCE_TABLES}
    seconds["read"] = time.perf_counter() - started
    rows = sum(len(frame) for frame in frames.values())
    del frames
    with tempfile.TemporaryDirectory() as scratch:
        started = time.perf_counter()
        with sqlite3.connect(Path(scratch) / "floor.sqlite") as conn:
            for name, frame in outputs.items():
                frame.to_sql(name, conn, index=False, chunksize=100_000)
        seconds["write"] = time.perf_counter() - started
    seconds["rows_read"] = rows
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "kam-bench")
    parser.add_argument("--db", type=Path, help="demo SQLite file to reuse (generated when missing)")
    parser.add_argument("--models", type=Path, help="folder with churn.joblib/win.joblib (trained when missing)")
    parser.add_argument("--train-accounts", type=int, default=3_000)
    parser.add_argument("--backend", choices=("local", "dask"), default="local")
    parser.add_argument("--scheduler")
    parser.add_argument("--partitions", type=int)
    parser.add_argument("--no-floor", action="store_true", help="skip the plain-pandas floor")
    args = parser.parse_args(argv)

    from engine.demo import DEMO_END_DATE
    from engine.pipeline import score

    args.work.mkdir(parents=True, exist_ok=True)
    db_path = args.db or args.work / f"demo-{args.accounts}-seed{args.seed}.sqlite"
    models = args.models or args.work / "models"
    _ensure_database(db_path, args.accounts, args.seed)
    _ensure_models(models, args.work, args.train_accounts, args.seed)
    as_of = DEMO_END_DATE + dt.timedelta(days=1)

    rss_before = _rss_mb(resource.RUSAGE_SELF)
    peaks: dict[str, float] = {}

    def progress(stage: str, state: str) -> None:
        if state == "done":
            peaks[stage] = _rss_mb(resource.RUSAGE_SELF)

    cluster = None
    scheduler = args.scheduler
    if args.backend == "dask" and scheduler is None:
        # the same LocalCluster the run would start (two single-thread worker processes), started
        # here so that the workers' own peak RSS can be asked for afterwards: RUSAGE_CHILDREN is
        # no measure of them (a spawned child counts its parent's pages until it execs)
        from distributed import LocalCluster

        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address=None)
        scheduler = cluster.scheduler_address

    load_average = os.getloadavg()
    started = time.perf_counter()
    result = score(
        db_path, as_of=as_of, artifacts_dir=models, backend=args.backend, scheduler=scheduler,
        partitions=args.partitions, progress=progress,
    )
    total = time.perf_counter() - started
    rss_self = _rss_mb(resource.RUSAGE_SELF)
    rss_workers = _worker_peaks(scheduler) if args.backend == "dask" else {}
    if cluster is not None:
        cluster.close()

    accounts = len(result.account_scores)
    target = 60.0 if args.accounts >= 1_000_000 else 5.0 if args.accounts <= 20_000 else None
    print(f"\nkam score: {accounts:,} accounts, {len(result.opportunity_routes):,} open opportunities, "
          f"backend={args.backend}, partitions={args.partitions or 'default'}, as of {as_of}")
    print(f"load average before the run: {' '.join(f'{x:.2f}' for x in load_average)}; "
          f"after: {' '.join(f'{x:.2f}' for x in os.getloadavg())} (2 cores: above 2 means shared)")
    print(f"{'stage':<10} {'seconds':>8} {'share':>6} {'peak RSS at its end':>20}")
    for stage, seconds in result.seconds.items():
        peak_text = f"{peaks[stage]:,.0f} MB" if stage in peaks else ""
        print(f"{stage:<10} {seconds:8.2f} {seconds / total:6.1%} {peak_text:>20}")
    other = total - sum(result.seconds.values())
    print(f"{'(other)':<10} {other:8.2f} {other / total:6.1%}   models/rules loading, run bookkeeping")
    print(f"{'total':<10} {total:8.2f}" + (f"   target <= {target:.0f} s: {'OK' if total <= target else 'MISSED'}"
                                            if target else ""))
    print(f"peak RSS: {rss_self:,.0f} MB this process (before the run {rss_before:,.0f} MB)"
          + (f"; target <= 4,096 MB: {'OK' if rss_self <= 4096 else 'MISSED'}" if args.accounts >= 1_000_000 else ""))
    if rss_workers:
        print("Dask workers' peak RSS (each its own process): "
              + ", ".join(f"{mb:,.0f} MB" for mb in rss_workers.values())
              + f"; this process + workers: {rss_self + sum(rss_workers.values()):,.0f} MB")

    if not args.no_floor:
        floor = _floor(db_path, {"account_scores": result.account_scores,
                                 "opportunity_routes": result.opportunity_routes})
        io = floor["read"] + floor["write"]
        print(f"\nfloor (plain pandas, same sizes): read {floor['rows_read']:,} rows {floor['read']:.2f} s "
              f"+ write outputs {floor['write']:.2f} s = {io:.2f} s")
        print(f"kam score load+write: {result.seconds.get('load', 0) + result.seconds.get('write', 0):.2f} s; "
              f"whole run = {total / io:.2f} x the floor")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

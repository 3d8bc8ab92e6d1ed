"""Benchmark the demo database: generation time, write time (SQLite), row counts and file size.

Usage::

    python benchmarks/bench_demo_db.py                      # 20,000 and 1,000,000 accounts
    python benchmarks/bench_demo_db.py --sizes 20000        # just the default size
    python benchmarks/bench_demo_db.py --sizes 1000000 --generate-only

Wall time is printed next to CPU time of this process: on a busy machine the CPU figure is the
fairer one for generation (numpy runs single-threaded here). Target: 1,000,000 accounts generated
and written in under 2 minutes on 2 cores; 20,000 in a few seconds.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.demo import generate_demo_database, generate_demo_tables, top_revenue_share  # noqa: E402


def _rates(tables) -> str:
    deals = tables["opportunities"]
    closed = deals[deals["outcome"] != "open"]
    win = (closed["outcome"] == "won").mean() if len(closed) else float("nan")
    status = tables["customers"]["status"].value_counts(normalize=True)
    return (
        f"win rate {win:.1%} of {len(closed):,} closed deals; status "
        + ", ".join(f"{k} {v:.1%}" for k, v in status.items())
    )


def bench(accounts: int, seed: int, folder: Path, generate_only: bool) -> None:
    print(f"\n== {accounts:,} accounts (seed {seed}) ==")
    if generate_only:
        wall, cpu = time.perf_counter(), time.process_time()
        tables = generate_demo_tables(accounts, seed)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        rows = {name: len(frame) for name, frame in tables.items()}
        print(f"generate: {wall:6.1f} s wall, {cpu:6.1f} s CPU")
        print(f"top-20% revenue share: {top_revenue_share(tables['orders'], accounts=accounts):.1%}")
        print(_rates(tables))
    else:
        path = folder / f"demo-{accounts}.sqlite"
        cpu = time.process_time()
        summary = generate_demo_database(path, accounts=accounts, seed=seed)
        cpu = time.process_time() - cpu
        rows = summary.row_counts
        print(f"generate: {summary.generate_seconds:6.1f} s wall")
        print(f"write:    {summary.write_seconds:6.1f} s wall (engine.storage, SQLite)")
        print(f"total:    {summary.seconds:6.1f} s wall, {cpu:6.1f} s CPU")
        print(f"file:     {summary.file_size / 1e6:,.1f} MB  {summary.url}")
        print(f"top-20% revenue share: {summary.top20_revenue_share:.1%}")
    total = sum(rows.values())
    print("rows:     " + ", ".join(f"{name} {count:,}" for name, count in rows.items()) + f"  (total {total:,})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 1_000_000], help="account counts")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dir", type=Path, default=None, help="where to write the SQLite files (default: temp)")
    parser.add_argument("--generate-only", action="store_true", help="time generation only, do not write")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as temp:
        folder = args.dir or Path(temp)
        folder.mkdir(parents=True, exist_ok=True)
        for accounts in args.sizes:
            bench(accounts, args.seed, folder, args.generate_only)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

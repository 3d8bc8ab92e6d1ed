"""Backtest of the shipped alert policies on the demo database (issue 10's targets).

    python benchmarks/bench_alerts.py [--db kam-demo.sqlite] [--accounts 20000] [--months 12] [--json]

Creates the demo database if it is missing (20,000 accounts, seed 0 or --seed), trains a churn model on
the data before the first replayed month (no look-ahead), replays the policies monthly over the
last 12 months and judges them against the demo simulator's own churn dates. Prints the shipped
policies beside the naive "churn probability above 0.5 on every run" policy, measured in the
same run, the trade-off as the churn-probability threshold varies, and which targets are met.
The load average is printed because the machine may be shared.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=Path("kam-demo.sqlite"))
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0, help="Seed of the demo database (another seed: out of sample).")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from engine.alerts._backtest import backtest, render_backtest
    from engine.demo import DEMO_END_DATE, generate_demo_database
    from engine.pipeline import ingest
    from engine.storage import Database

    if not args.db.exists():
        generate_demo_database(args.db, accounts=args.accounts, seed=args.seed, end_date=DEMO_END_DATE)
    started = time.perf_counter()
    with Database(args.db) as db:
        tables = ingest(db).tables
    result = backtest(tables, months=args.months, truth="demo", demo_seed=args.seed)
    load = os.getloadavg()
    if args.json:
        print(json.dumps({**result.to_dict(), "load_average": load}, default=str, indent=2))
    else:
        print(render_backtest(result))
        print(f"{time.perf_counter() - started:.0f} s in total; load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} "
              "(the machine may be shared)")
    return 0 if all(result.targets().values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())

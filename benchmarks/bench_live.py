"""Benchmark: route leads one by one (engine.live) against the batch's cost per opportunity.

Prints figures; not a test. On a copy of a scored demo database (the 20,000-account demo of
``kam demo``; the copy keeps the demo free of benchmark leads), in one run:

- the batch: ``engine.score`` of the whole database, its wall time per open opportunity, and
  the time of its routing stages (routes + assign + win) per open opportunity;
- the live path: loading a ``LiveRouter`` once, then ``router.route(lead)`` for N leads
  (existing accounts' deals re-sent under new ids, and prospects), one at a time: median,
  p90, p99 and max latency per lead, and a replay of an already routed lead;
- ``route_lead`` (the one-shot form, which loads everything per call) once.

With ``--before FOLDER`` (a checkout of an earlier kam, e.g. ``git archive REV | tar -x -C FOLDER``)
the one-by-one live measurement is also run with that checkout's ``engine`` in a subprocess, on
a copy of the same database with the same leads, right before this tree's: the two figures are
printed side by side with their ratio. With ``--rounds N`` as well, both trees are then measured
N more times in alternation (before, this tree, before, ...), each in a subprocess on a fresh copy
of the database with the same leads, and the pooled median / p99 of each are printed with their
ratio: on a machine shared with other jobs, load that comes and goes hits both alike.

Run: python benchmarks/bench_live.py [--db kam-demo.sqlite] [--models kam-demo-models] [--leads 500]
     [--before /tmp/kam-before [--rounds 3]]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="kam-demo.sqlite", help="scored demo SQLite file (kam demo)")
    parser.add_argument("--models", default="kam-demo-models", help="folder with churn.joblib and win.joblib")
    parser.add_argument("--leads", type=int, default=500, help="leads to route one by one")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--before", type=Path, help="checkout of an earlier kam to measure side by side")
    parser.add_argument("--rounds", type=int, default=0,
                        help="with --before: also measure both trees N times in alternation, in subprocesses")
    parser.add_argument("--live-only", action="store_true", help=argparse.SUPPRESS)  # the --before subprocess
    args = parser.parse_args()
    if args.live_only:
        _live_only(args)
        return

    import engine
    from engine.live import LiveRouter
    from engine.storage import Database

    warnings.simplefilter("ignore", engine.KamWarning)  # the demo data is weeks old on purpose
    folder = Path(tempfile.mkdtemp(prefix="kam-bench-live-"))
    copy = folder / "bench.sqlite"
    shutil.copyfile(args.db, copy)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} (shared with other jobs)")
    try:
        db = Database(copy, create=False)
        started = time.perf_counter()
        batch = engine.score(db, artifacts_dir=args.models)
        batch_seconds = time.perf_counter() - started
        n_open = len(batch.opportunity_routes)
        stages = sum(batch.seconds.get(name, 0.0) for name in ("routes", "assign", "win"))
        print(f"batch: kam score of {len(batch.account_scores):,} accounts, {n_open:,} open opportunities "
              f"in {batch_seconds:.1f} s = {batch_seconds / n_open * 1000:.2f} ms per opportunity "
              f"(routes + assign + win stages: {stages / n_open * 1000:.3f} ms per opportunity)")

        before = _before(args) if args.before else None
        started = time.perf_counter()
        router = LiveRouter(db, artifacts_dir=args.models)
        print(f"live: router loaded in {time.perf_counter() - started:.1f} s (rules, win model, features of "
              f"{len(router._snapshot.accounts):,} accounts)")
        leads = _leads(db, batch, args.leads, args.seed)
        latency = []
        outcomes: dict[str, int] = {}
        for lead in leads:
            began = time.perf_counter()
            decision = router.route(lead)
            latency.append(time.perf_counter() - began)
            outcomes[decision.status_reason or decision.status] = outcomes.get(decision.status_reason or decision.status, 0) + 1
        ms = np.array(latency) * 1000
        print(f"live: {len(ms):,} leads one by one: median {np.median(ms):.1f} ms, p90 {np.percentile(ms, 90):.1f} ms, "
              f"p99 {np.percentile(ms, 99):.1f} ms, max {ms.max():.1f} ms; {len(ms) / (ms.sum() / 1000):.0f} leads/s "
              f"on one thread; outcomes {dict(sorted(outcomes.items()))}")
        if before is not None:
            print(f"before ({args.before}): {before['line']}")
            print(f"ratio: before median / this tree's median = {before['median'] / np.median(ms):.1f}x; "
                  f"p99 {before['p99'] / np.percentile(ms, 99):.1f}x")
        began = time.perf_counter()
        replay = router.route(leads[0])
        print(f"live: replay of a routed lead {(time.perf_counter() - began) * 1000:.1f} ms (replayed={replay.replayed})")
        per_batch = batch_seconds / n_open * 1000
        print(f"ratio: live median / batch wall per opportunity = {np.median(ms) / per_batch:.1f}x; "
              f"live median / batch routing stages per opportunity = {np.median(ms) / (stages / n_open * 1000):.0f}x")
        router.close()
        began = time.perf_counter()
        engine.route_lead({**leads[1], "opportunity_id": "BENCH-ONE-SHOT"}, db, artifacts_dir=args.models)
        print(f"route_lead (one-shot, loads everything): {time.perf_counter() - began:.1f} s")
        db.dispose()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if args.before and args.rounds > 0:
        _alternate(args)


def _alternate(args) -> None:
    """Both trees ``args.rounds`` times in alternation, each in a subprocess on a fresh copy; pooled figures."""
    this_tree = Path(__file__).resolve().parents[1]
    pooled: dict[str, list[float]] = {"before": [], "this tree": []}
    for number in range(1, args.rounds + 1):
        for name, tree in (("before", args.before), ("this tree", this_tree)):
            figures = _before(args, tree)
            pooled[name] += figures["latency_ms"]
            print(f"round {number}, {name}: {figures['line']} (load average {os.getloadavg()[0]:.2f})")
    summary = {name: (float(np.median(values)), float(np.percentile(values, 99))) for name, values in pooled.items()}
    for name, (median, p99) in summary.items():
        print(f"pooled over {args.rounds} rounds, {name}: median {median:.1f} ms, p99 {p99:.1f} ms "
              f"({len(pooled[name]):,} leads)")
    print(f"ratio (pooled): before / this tree = {summary['before'][0] / summary['this tree'][0]:.2f}x at the median, "
          f"{summary['before'][1] / summary['this tree'][1]:.2f}x at p99")


def _before(args, tree: Path | None = None) -> dict:
    """Run the one-by-one live measurement with the ``engine`` of ``tree`` (default ``args.before``) in a subprocess."""
    import json
    import subprocess
    import sys

    command = [sys.executable, __file__, "--db", str(args.db), "--models", str(args.models),
               "--leads", str(args.leads), "--seed", str(args.seed), "--live-only"]
    env = {**os.environ, "PYTHONPATH": str((tree or args.before).resolve())}
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False, timeout=1800,
                          start_new_session=True)
    if done.returncode != 0:
        raise SystemExit(f"the run with the engine of {tree or args.before} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _live_only(args) -> None:
    """The --before subprocess: score a copy (for the leads), load a router, route the leads, print JSON."""
    import json

    import engine
    from engine.live import LiveRouter
    from engine.storage import Database

    warnings.simplefilter("ignore", engine.KamWarning)
    folder = Path(tempfile.mkdtemp(prefix="kam-bench-live-before-"))
    try:
        copy = folder / "bench.sqlite"
        shutil.copyfile(args.db, copy)
        db = Database(copy, create=False)
        batch = engine.score(db, artifacts_dir=args.models)
        router = LiveRouter(db, artifacts_dir=args.models)
        leads = _leads(db, batch, args.leads, args.seed)
        latency = []
        for lead in leads:
            began = time.perf_counter()
            router.route(lead)
            latency.append(time.perf_counter() - began)
        router.close()
        db.dispose()
        ms = np.array(latency) * 1000
        line = (f"{len(ms):,} leads one by one: median {np.median(ms):.1f} ms, p90 {np.percentile(ms, 90):.1f} ms, "
                f"p99 {np.percentile(ms, 99):.1f} ms, max {ms.max():.1f} ms; {len(ms) / (ms.sum() / 1000):.0f} leads/s "
                f"(engine from {engine.__file__})")
        print(json.dumps({"line": line, "median": float(np.median(ms)), "p99": float(np.percentile(ms, 99)),
                          "latency_ms": [round(float(v), 4) for v in ms]}))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _leads(db, batch, n: int, seed: int) -> list[dict]:
    """Half existing accounts' open deals re-sent under new ids, half prospects in random territories."""
    rng = np.random.default_rng(seed)
    opportunities = db.read_table("opportunities").set_index("opportunity_id", drop=False)
    open_ids = batch.opportunity_routes["opportunity_id"].to_numpy()
    chosen = rng.choice(open_ids, size=min(n - n // 2, len(open_ids)), replace=False)
    leads = []
    for number, opportunity_id in enumerate(chosen):
        row = opportunities.loc[opportunity_id]
        lead = {"opportunity_id": f"BENCH-A{number:05d}", "account_id": row["account_id"],
                "prospect_name": row["prospect_name"], "region": row["region"], "industry": row["industry"],
                "created_date": str(row["created_date"])[:10], "source": row["source"],
                "product_line": row["product_line"], "est_units": int(row["est_units"]),
                "est_amount": float(row["est_amount"]), "stage": row["stage"], "competitor": row["competitor"]}
        leads.append({k: v for k, v in lead.items() if isinstance(v, (int, float, str)) and v == v})
    customers = db.read_table("customers")
    for number in range(n - len(leads)):
        account = customers.iloc[int(rng.integers(len(customers)))]
        leads.append({"opportunity_id": f"BENCH-P{number:05d}", "prospect_name": f"Prospect {number}",
                      "region": account["region"], "industry": account["industry"], "source": "web",
                      "product_line": str(rng.choice(["desktop", "notebook", "server"])), "est_units": 5,
                      "est_amount": float(rng.choice([20_000, 120_000, 900_000])), "stage": "lead"})
    order = rng.permutation(len(leads))
    return [leads[i] for i in order]


if __name__ == "__main__":
    main()

"""Time the shipped tier and routing rules: vectorized engine on 1M rows vs durable_rules on a subset.

Targets (issue 3, "Performance"): the vectorized engine decides >= 5,000,000 rows/s (a 1M-row
evaluation in <= 0.2 s) and is >= 300x faster than the durable_rules engine, with identical
decisions, measured in one run and printed side by side.

    python benchmarks/bench_shipped_rules.py                    # resampled demo features (about 30 s)
    python benchmarks/bench_shipped_rules.py --source demo      # a real 1M-account demo (several minutes)
    python benchmarks/bench_shipped_rules.py --durable-rows 5000 --profile

Sources of the 1M rows:

* ``resample`` (default): a 20,000-account demo database is generated, validated and featurised;
  its account feature rows and its open-opportunity routing rows are drawn with replacement
  (seed 0) up to 1,000,000 rows each. Every row is a real demo row, so the distributions (and
  the dtypes: pandas ``str`` for text, float64, int64, bool) are those of the feature builder.
* ``demo``: ``engine.demo.generate_demo_tables(accounts=1_000_000)`` -> validate -> features.
  The accounts are the real 1M; the open opportunities (about 60,000) are resampled to 1M.

Only ``RuleSet.evaluate`` is timed (it includes typing the input columns, matching, the hit
policy and building the result frame). The routing input frame (tier of the linked account,
owner flags) is built once, before timing. When the vectorized engine misses its target, the
script prints where the time goes (cProfile of one evaluation, by function).
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import pstats
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.pipeline._decide import load_default_rules, routing_frame, tier_accounts  # noqa: E402

AS_OF = dt.date(2026, 10, 1)
TARGET_ROWS_PER_S = 5_000_000
TARGET_RATIO = 300


def _features(accounts: int, seed: int):
    from engine.demo import generate_demo_tables
    from engine.features import build_account_features, build_opportunity_features
    from engine.validate import validate_tables

    started = time.perf_counter()
    tables = generate_demo_tables(accounts=accounts, seed=seed)
    report = validate_tables(tables, as_of=AS_OF)
    del tables
    account_features = build_account_features(report.valid, AS_OF)
    opportunity_features = build_opportunity_features(report.valid, AS_OF, accounts=account_features)
    print(f"  demo with {accounts:,} accounts: generated, validated and featurised in "
          f"{time.perf_counter() - started:.1f} s ({len(opportunity_features):,} open opportunities)")
    return account_features, opportunity_features


def _resample(frame: pd.DataFrame, rows: int, seed: int) -> pd.DataFrame:
    if len(frame) == rows:
        return frame.reset_index(drop=True)
    take = np.random.default_rng(seed).integers(0, len(frame), rows)
    return frame.iloc[take].reset_index(drop=True)


def _time(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        out.append(time.perf_counter() - started)
    return out


def _profile(ruleset, frame: pd.DataFrame) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    ruleset.evaluate(frame, as_of=AS_OF)
    profiler.disable()
    buffer = io.StringIO()
    stats = pstats.Stats(profiler, stream=buffer)
    stats.sort_stats("tottime").print_stats(15)
    return buffer.getvalue()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", choices=["resample", "demo"], default="resample")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows evaluated by the vectorized engine")
    parser.add_argument("--accounts", type=int, default=None,
                        help="demo size (default 20,000 for resample, --rows for demo)")
    parser.add_argument("--durable-rows", type=int, default=20_000, help="rows evaluated by durable_rules")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="print the profile even when the target is met")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    rules = load_default_rules()
    accounts = args.accounts or (20_000 if args.source == "resample" else args.rows)
    print(f"source: {args.source} "
          + ("(real demo account rows drawn with replacement)" if args.source == "resample"
             else "(a generated 1M-account demo; open opportunities resampled)"))
    account_features, opportunity_features = _features(accounts, args.seed)
    tiers_small = tier_accounts(account_features, rules["tiers"], as_of=AS_OF)
    routing_input = routing_frame(opportunity_features, tiers_small)
    frames = {
        "tiers": _resample(account_features, args.rows, args.seed),
        "routing": _resample(routing_input, args.rows, args.seed + 1),
    }

    rows_out = []
    profiles = {}
    for name, frame in frames.items():
        ruleset = rules[name]
        ruleset.evaluate(frame.iloc[:1000], as_of=AS_OF)  # warm up imports and caches
        fast = _time(lambda: ruleset.evaluate(frame, as_of=AS_OF), args.repeats)  # noqa: B023 (timed here, within the iteration)
        subset = frame.iloc[: args.durable_rows]
        slow_started = time.perf_counter()
        slow = ruleset.evaluate(subset, engine="durable", as_of=AS_OF)
        slow_s = time.perf_counter() - slow_started
        expected = ruleset.evaluate(subset, as_of=AS_OF)
        pd.testing.assert_frame_equal(expected, slow)  # identical decisions on the subset
        best, median = min(fast), statistics.median(fast)
        fast_rate = len(frame) / median
        slow_rate = len(subset) / slow_s
        decided = expected["status"].astype(str).value_counts().to_dict()
        rows_out.append((name, len(frame), best, median, fast_rate, len(subset), slow_s, slow_rate,
                         fast_rate / slow_rate, decided))
        if fast_rate < TARGET_ROWS_PER_S or args.profile:
            profiles[name] = _profile(ruleset, frame)

    print()
    print(f"{'rule set':<9} {'rows':>10} {'vec best s':>10} {'vec med s':>10} {'vec rows/s':>12} | "
          f"{'durable rows':>12} {'durable s':>9} {'durable rows/s':>14} | {'speed ratio':>11}")
    for name, n, best, median, fast_rate, n_slow, slow_s, slow_rate, ratio, _ in rows_out:
        print(f"{name:<9} {n:>10,} {best:>10.3f} {median:>10.3f} {fast_rate:>12,.0f} | "
              f"{n_slow:>12,} {slow_s:>9.2f} {slow_rate:>14,.0f} | {ratio:>10,.0f}x")
    total_rows = sum(r[1] for r in rows_out)
    total_fast = sum(r[3] for r in rows_out)
    total_slow = sum(r[6] for r in rows_out) / sum(r[5] for r in rows_out)
    print(f"{'both':<9} {total_rows:>10,} {'':>10} {total_fast:>10.3f} {total_rows / total_fast:>12,.0f} | "
          f"{'':>12} {'':>9} {1 / total_slow:>14,.0f} | {(total_rows / total_fast) * total_slow:>10,.0f}x")
    print()
    for name, *_, decided in rows_out:
        print(f"{name}: durable and vectorized decisions identical on the subset; statuses {decided}")
    for name, *_, fast_rate, _n_slow, _slow_s, _slow_rate, ratio, _ in rows_out:
        speed_ok = "met" if fast_rate >= TARGET_ROWS_PER_S else "MISSED"
        ratio_ok = "met" if ratio >= TARGET_RATIO else "MISSED"
        print(f"{name}: {fast_rate:,.0f} rows/s vs target {TARGET_ROWS_PER_S:,} ({speed_ok}); "
              f"{ratio:,.0f}x vs target {TARGET_RATIO}x ({ratio_ok})")
    for name, text in profiles.items():
        print(f"\nprofile of one vectorized evaluation of {name} over {len(frames[name]):,} rows (by own time):")
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""How rule-set size costs: load, durable_rules compile and per-decision time.

Generates routing-style rule files of 10, 100, 500 and 2,000 rules (one rule per territory
cell ``region == ... and industry == ...`` or, as a second alternative, an amount threshold
of its own, so every rule is a two-alternative DNF; every fifth rule also tests a null), then
for each size prints the median of ``--repeat`` runs of:

* ``load``: ``RuleSet.from_text`` (YAML, schema, parse, type check, normal form);
* ``compile``: ``RuleSet.durable_engine()`` and the number of durable rulesets it packs into
  (durable_rules hangs on one ruleset past 512 tests below one test; see engine/rules/_durable.py);
* ``decide``: ``RuleSet.decide`` on the durable engine, per record (the live path);
* ``vectorized``: the batch engine per record on ``--rows`` rows, the baseline in the same run;
* ``agree``: whether both engines decided those records identically.

Usage::

    python benchmarks/bench_rule_size.py [--sizes 10 100 500 2000] [--rows 2000] [--records 300]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.rules import RuleSet

REGIONS = [f"region-{i:02d}" for i in range(18)]
INDUSTRIES = [f"industry-{i:02d}" for i in range(11)]


def rule_file(n_rules: int) -> str:
    """A routing-style rule file with ``n_rules`` two-alternative rules and a default."""
    lines = [
        "name: size_bench", "version: 1",
        "inputs: {region: string, industry: string, amount: number, is_locked: boolean, owner: string}",
        "outputs: {route: {type: enum, values: [owner, outside, inside, partner]}, team: string}",
        "hit_policy: first",
        "default: {then: {route: inside}, because: inside sales qualifies everything else}",
        "rules:",
    ]
    routes = ["owner", "outside", "partner"]
    for i in range(n_rules):
        region = REGIONS[i % len(REGIONS)]
        industry = INDUSTRIES[(i // len(REGIONS)) % len(INDUSTRIES)]
        when = f'(region == "{region}" and industry == "{industry}") or amount > {1_000_000 + 1_000 * i}'
        if i % 5 == 0:
            when = f"({when}) and owner is null"
        lines.append(f"  - id: r{i}")
        lines.append(f"    when: '{when}'")
        lines.append(f"    then: {{route: {routes[i % 3]}, team: team-{i}}}")
        lines.append(f"    because: territory cell {i}")
    return "\n".join(lines) + "\n"


def records(n: int, seed: int = 11) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "region": pd.Series(rng.choice(REGIONS, n), dtype=object),
        "industry": pd.Series(rng.choice(INDUSTRIES, n), dtype=object),
        "amount": rng.lognormal(12.5, 1.6, n),
        "is_locked": rng.random(n) < 0.1,
        "owner": pd.Series(np.where(rng.random(n) < 0.5, None, "rep"), dtype=object),
    })


def median_time(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def measure(text: str, frame: pd.DataFrame, sample: pd.DataFrame, repeat: int) -> dict:
    """Load, compile, per-decision and per-row vectorized times for one rule file."""
    load, rules = median_time(lambda: RuleSet.from_text(text), repeat)

    def compile_once():
        rules._durable = None
        return rules.durable_engine()

    compile_s, engine = median_time(compile_once, repeat)
    rows = sample.to_dict("records")
    decide_s, _ = median_time(lambda: [rules.decide(r, as_of="2024-06-30") for r in rows], repeat)
    vector_s, vectorized = median_time(lambda: rules.evaluate(frame, as_of="2024-06-30"), repeat)
    durable = rules.evaluate(sample, engine="durable", as_of="2024-06-30")
    return {"load": load, "compile": compile_s, "rulesets": len(engine.definitions),
            "decide_us": decide_s / len(rows) * 1e6, "vector_us": vector_s / len(frame) * 1e6,
            "agree": vectorized.head(len(sample)).equals(durable)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 500, 2000])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--records", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    frame = records(args.rows)
    sample = frame.head(args.records)
    print(f"load average {os.getloadavg()[0]:.2f} (machine shared); medians of {args.repeat} runs")
    print(f"{'rules':>6} {'load s':>8} {'compile s':>10} {'rulesets':>9} {'decide us':>10} "
          f"{'vector us':>10} {'ratio':>7} {'agree':>6}")
    for size in args.sizes:
        row = measure(rule_file(size), frame, sample, args.repeat)
        print(f"{size:>6} {row['load']:>8.3f} {row['compile']:>10.3f} {row['rulesets']:>9} {row['decide_us']:>10.0f} "
              f"{row['vector_us']:>10.2f} {row['decide_us'] / row['vector_us']:>7.0f} {row['agree']!s:>6}")
        agree = row["agree"]
        if not agree:
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

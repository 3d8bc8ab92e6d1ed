"""Benchmark: kam's rule language against the rule-engine library on the same condition (issue 15).

Prints figures; not a test. Run: python benchmarks/bench_rules_vs_rule_engine.py [ROWS] [REPEATS]
(default 200,000 records, 3 repeats; needs ``pip install rule-engine``).

One condition, ``amount > 500000 and region == 'east'``, over ROWS records of which 5% have a
null ``amount``. kam: ``RuleSet.evaluate`` (vectorized engine, one call for the frame).
rule-engine: ``Rule.matches`` per record (it has no batch evaluation); a null amount raises
``EvaluationError`` (its comparisons refuse ``None``), so each call is wrapped in try/except and
the record counted as not matching - what kam's three-valued logic does by definition.
Medians of REPEATS alternating runs; the machine is shared (load average printed).
"""

from __future__ import annotations

import os
import statistics
import sys
import time

import numpy as np
import pandas as pd

from engine.rules import RuleSet

RULES = """
name: bench
version: "1"
hit_policy: first
inputs:
  amount: number
  region: {type: enum, values: [east, west, north, south]}
outputs:
  big_east: boolean
rules:
  - id: big_east
    when: amount > 500000 and region == "east"
    then: {big_east: true}
    because: a large deal in the east
default:
  then: {big_east: false}
  because: anything else
"""


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    try:
        import rule_engine
    except ImportError:
        sys.exit("rule-engine is not installed: pip install rule-engine")
    rng = np.random.default_rng(0)
    amount = rng.uniform(0, 1_000_000, rows)
    amount[rng.random(rows) < 0.05] = np.nan
    frame = pd.DataFrame({"amount": amount, "region": rng.choice(["east", "west", "north", "south"], rows)})
    records = [{"amount": None if np.isnan(a) else float(a), "region": r}
               for a, r in zip(frame["amount"], frame["region"])]
    ruleset = RuleSet.from_text(RULES)
    rule = rule_engine.Rule("amount > 500000 and region == 'east'")

    def run_kam() -> int:
        return int((ruleset.evaluate(frame, as_of="2026-10-01")["rule_id"] == "big_east").sum())

    def run_rule_engine() -> int:
        hits = 0
        for record in records:
            try:
                hits += bool(rule.matches(record))
            except rule_engine.EvaluationError:  # a null amount: not a match
                pass
        return hits

    times: dict[str, list[float]] = {"kam": [], "rule-engine": []}
    hits = {}
    for _ in range(repeats):
        for name, run in (("kam", run_kam), ("rule-engine", run_rule_engine)):
            started = time.perf_counter()
            hits[name] = run()
            times[name].append(time.perf_counter() - started)
    print(f"{rows:,} records (5% null amount); rule-engine {rule_engine.__version__}; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (shared machine)")
    for name in times:
        median = statistics.median(times[name])
        print(f"{name:12}{median:10.3f} s{rows / median:14,.0f} records/s{hits[name]:10,} matches")
    print(f"rule-engine / kam time: {statistics.median(times['rule-engine']) / statistics.median(times['kam']):.1f}x; "
          f"same matches: {hits['kam'] == hits['rule-engine']}")


if __name__ == "__main__":
    main()

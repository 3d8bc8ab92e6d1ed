"""Benchmark the two rule engines on a realistic tier + routing workload.

Builds a synthetic frame of accounts/opportunities (numpy, fixed seed), evaluates the tier and
the routing rule sets with the vectorized engine over every row and with the durable_rules
engine over a subset, checks the decisions are identical on that subset, and prints rows/s
side by side. Also times the refusal of an absurdly nested condition.

Usage::

    python benchmarks/bench_rules.py [--tier PATH] [--routing PATH] [--rows N] [--durable-rows M]
                                     [--text-dtype str|category]

The defaults are the fixtures in ``benchmarks/rules/``; point ``--tier``/``--routing`` at the
shipped ``rules/`` files to measure those (``benchmarks/bench_shipped_rules.py`` measures them
on real demo rows). Inputs the generator does not know get generic values of their declared
type. Text and enum columns are stored as pandas ``str`` (pyarrow), like the feature builder's,
or with ``--text-dtype category`` as categoricals (the cheapest input for the engine).

Figures on the 2-core machine (1,000,000 rows, vectorized median of 3; ``--text-dtype str``):
see the "Performance" section of docs/rules.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine._errors import RuleSyntaxError  # noqa: E402
from engine.rules import RuleSet, load_rules  # noqa: E402
from engine.rules._expr import compile_condition  # noqa: E402


class _Number:
    type = "number"
    values = None

HERE = Path(__file__).resolve().parent
AS_OF = dt.date(2024, 6, 30)
INDUSTRIES = ["government", "education", "finance", "telecom", "manufacturing", "energy", "enterprise"]


def synthetic_frame(rules: list[RuleSet], rows: int, seed: int = 7, text_dtype: str = "str") -> pd.DataFrame:
    """A frame with every input of ``rules``: known names get realistic distributions, other
    inputs get generic values of their declared type (5% nulls everywhere). Text and enum
    columns are ``text_dtype`` ("str" or "category")."""
    rng = np.random.default_rng(seed)
    known = {
        "revenue_12m": lambda: rng.lognormal(12.5, 1.6, rows),
        "margin_12m": lambda: rng.lognormal(12.5, 1.6, rows) * rng.uniform(0.02, 0.3, rows),
        "potential": lambda: rng.lognormal(13.5, 1.5, rows),
        "share_of_wallet": lambda: rng.beta(2, 3, rows),
        "revenue_rank_in_territory": lambda: rng.integers(1, 400, rows),
        "amount": lambda: rng.lognormal(11.5, 1.4, rows),
    }
    columns: dict = {}
    inputs: dict = {}
    for rs in rules:
        for name, inp in rs.spec.inputs.items():
            inputs.setdefault(name, inp)
    for name, inp in inputs.items():
        if name in known:
            values = known[name]()
        elif inp.type in ("number", "integer"):
            values = rng.integers(0, 1000, rows) if inp.type == "integer" else rng.normal(100, 50, rows)
        elif inp.type == "boolean":
            values = rng.random(rows) < 0.1
        elif inp.type == "date":
            values = np.datetime64(AS_OF, "D") - rng.integers(0, 800, rows).astype("timedelta64[D]")
        elif inp.type == "enum":
            values = pd.Categorical.from_codes(rng.integers(0, len(inp.values), rows), categories=list(inp.values))
        else:
            values = pd.Categorical.from_codes(rng.integers(0, 50, rows), categories=[f"name {i}" for i in range(50)])
        col = pd.Series(values)
        null = rng.random(rows) < 0.05
        if inp.type == "integer":
            col = pd.Series(pd.array(col.to_numpy(), dtype="Int64"))
        elif inp.type == "boolean":
            col = pd.Series(pd.array(col.to_numpy(), dtype="boolean"))
        if inp.type in ("enum", "string"):
            col = col.where(~null)
            columns[name] = col.astype("str") if text_dtype == "str" else col
        else:
            columns[name] = col.mask(null)
    return pd.DataFrame(columns)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tier", type=Path, default=HERE / "rules" / "tier.yaml")
    parser.add_argument("--routing", type=Path, default=HERE / "rules" / "routing.yaml")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--durable-rows", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3, help="vectorized timing: median of N runs")
    parser.add_argument("--text-dtype", choices=["str", "category"], default="str",
                        help="storage of text and enum columns (str: pyarrow text, like the feature builder)")
    args = parser.parse_args(argv)

    rulesets = [load_rules(args.tier), load_rules(args.routing)]
    frame = synthetic_frame(rulesets, args.rows, text_dtype=args.text_dtype)
    subset = frame.iloc[: args.durable_rows]
    print(f"frame: {len(frame):,} rows x {frame.shape[1]} columns (text as {args.text_dtype}); "
          f"durable subset {len(subset):,} rows")
    print(f"{'rule set':<16} {'rules':>5} {'vectorized s':>13} {'rows/s':>14} {'durable s':>10} {'rows/s':>10} {'speed-up':>9}  same")
    total_vec = total_dur = 0.0
    for rs in rulesets:
        rs.evaluate(frame.iloc[:1000], as_of=AS_OF)  # warm up imports
        runs = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            result = rs.evaluate(frame, as_of=AS_OF)
            runs.append(time.perf_counter() - start)
        best = statistics.median(runs)
        rs.durable_engine()  # compile outside the timing
        start = time.perf_counter()
        durable = rs.evaluate(subset, engine="durable", as_of=AS_OF)
        dur = time.perf_counter() - start
        vec_subset = rs.evaluate(subset, as_of=AS_OF)
        pd.testing.assert_frame_equal(vec_subset, durable)
        pd.testing.assert_frame_equal(result.iloc[: len(subset)], vec_subset)
        vec_rate = len(frame) / best
        dur_rate = len(subset) / dur
        total_vec += best
        total_dur += dur * len(frame) / len(subset)
        print(f"{rs.name:<16} {len(rs.spec.rules):>5} {best:>13.3f} {vec_rate:>14,.0f} {dur:>10.2f} {dur_rate:>10,.0f} "
              f"{vec_rate / dur_rate:>8,.0f}x  yes")
        print(f"  statuses: {result['status'].value_counts().to_dict()}")
    print(f"tier + routing: vectorized {total_vec:.3f} s for {len(frame):,} rows each; "
          f"durable would take {total_dur:,.0f} s (extrapolated) -> {total_dur / total_vec:,.0f}x")

    nested = "(" * 100_000 + "revenue_12m > 1" + ")" * 100_000
    deep = "(" * 1_000 + "x > 1" + ")" * 1_000
    for label, text in (("200k-char nesting", nested), ("1k-deep nesting (over the length limit)", deep),
                        ("45-deep nesting", "(" * 45 + "x > 1" + ")" * 45)):
        start = time.perf_counter()
        try:
            RuleSet.from_text(f"name: n\nversion: 1\ninputs: {{x: number, revenue_12m: number}}\noutputs: {{o: string}}\n"
                              f"hit_policy: first\nrules: [{{id: r, when: '{text}', then: {{o: a}}, because: b}}]\n")
            refused = "ACCEPTED"
        except RuleSyntaxError:
            refused = "refused"
        print(f"hostile {label} in a rule file: {refused} in {(time.perf_counter() - start) * 1000:.1f} ms "
              "(YAML parse included; target <= 100 ms)")
        start = time.perf_counter()
        try:
            compile_condition(text, {"x": _Number(), "revenue_12m": _Number()}, {})
        except RuleSyntaxError:
            pass
        print(f"  the condition alone: refused in {(time.perf_counter() - start) * 1000:.2f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

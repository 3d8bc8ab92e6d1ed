"""How fast rule conditions compile, and the same against another checkout in one run.

Measures, as the median of ``--repeat`` rounds:

* ``compile``: ``compile_condition`` (tokenize, parse, type check, normal form, DNF bound) over
  every condition of the shipped rule files (rules/*.yaml) and of the 500-rule size-bench file,
  in microseconds per condition;
* ``load``: ``RuleSet.from_text`` of the 500-rule file of benchmarks/bench_rule_size.py (YAML,
  schema, conditions), in milliseconds;
* ``durable``: ``RuleSet.durable_engine()`` on that rule set (the durable_rules compiler), in ms.

With ``--against OTHER_CHECKOUT`` (for example the main worktree) each round runs once in a
fresh interpreter per checkout, alternating, so both see the same machine load; it prints both
medians and the ratio this/other (below 1.0: this checkout is faster).

Usage::

    python benchmarks/bench_rule_compile.py [--repeat 7] [--against /path/to/other/checkout]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
METRICS = ("compile", "load", "durable")
UNITS = {"compile": "us/condition", "load": "ms", "durable": "ms"}


def _round(root: Path) -> dict[str, float]:
    """One measurement round with the ``engine`` package of ``root`` (run in a fresh process)."""
    sys.path.insert(0, str(root))
    import yaml

    from engine.rules import RuleSet
    from engine.rules._expr import compile_condition

    spec = importlib.util.spec_from_file_location("bench_rule_size", root / "benchmarks" / "bench_rule_size.py")
    assert spec is not None and spec.loader is not None
    size_bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(size_bench)
    big = size_bench.rule_file(500)

    cases = []
    for text in [*(p.read_text(encoding="utf-8") for p in sorted((root / "rules").glob("*.yaml"))), big]:
        spec_ = RuleSet.from_text(text).spec
        whens = [rule["when"] for rule in yaml.safe_load(text)["rules"]]
        cases.extend((when, spec_.inputs, spec_.parameters) for when in whens)

    start = time.perf_counter()
    for when, inputs, parameters in cases:
        compile_condition(when, inputs, parameters)
    compile_us = (time.perf_counter() - start) / len(cases) * 1e6

    start = time.perf_counter()
    rules = RuleSet.from_text(big)
    load_ms = (time.perf_counter() - start) * 1e3

    start = time.perf_counter()
    rules.durable_engine()
    durable_ms = (time.perf_counter() - start) * 1e3
    return {"compile": compile_us, "load": load_ms, "durable": durable_ms, "conditions": len(cases)}


def _child(root: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--round", str(root)],
        capture_output=True, text=True, timeout=600, check=True,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--against", type=Path, help="another checkout to measure in the same run")
    parser.add_argument("--round", type=Path, help=argparse.SUPPRESS)  # internal: one round
    args = parser.parse_args(argv)
    if args.round is not None:
        print(json.dumps(_round(args.round)))
        return 0
    roots = {"this": ROOT} if args.against is None else {"this": ROOT, "other": args.against.resolve()}
    runs: dict[str, list[dict]] = {name: [] for name in roots}
    for _ in range(args.repeat):
        for name, root in roots.items():
            runs[name].append(_child(root))
    print(f"load average {os.getloadavg()[0]:.2f} (machine shared); medians of {args.repeat} rounds, "
          f"{runs['this'][0]['conditions']} conditions")
    for name, root in roots.items():
        print(f"  {name}: {root}")
    print(f"{'metric':>8} {'unit':>13} " + " ".join(f"{name:>9}" for name in roots)
          + ("  ratio this/other" if "other" in roots else ""))
    for metric in METRICS:
        medians = {name: statistics.median(r[metric] for r in runs[name]) for name in roots}
        ratio = f"  {medians['this'] / medians['other']:>17.2f}" if "other" in roots else ""
        print(f"{metric:>8} {UNITS[metric]:>13} " + " ".join(f"{medians[n]:>9.1f}" for n in roots) + ratio)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

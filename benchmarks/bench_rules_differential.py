"""Count the records on which the two rule engines, or two dtypes of the same values, disagree.

Runs the strategies of ``tests/rules/test_differential_dtypes.py`` (random pandas dtypes per
column, non-ASCII text, ``%``, quotes, backslashes, NUL, extreme dates, big integers and
Decimals) for ``N`` generated cases without stopping at the first difference, and prints how
many rule files loaded, how many records were decided, and the records where the vectorized
and the durable_rules engine disagree, where either crashed, and where the vectorized result
changes when the same values are given in object columns. docs/rules.md quotes its figures.

Usage (from the repository root)::

    PYTHONPATH=. python benchmarks/bench_rules_differential.py [N]    # default 600
"""

from __future__ import annotations

import collections
import sys
import warnings
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, Phase, given, settings

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.rules import RuleSet  # noqa: E402
from tests.rules.test_differential_dtypes import AS_OF, _as_objects, frames, rule_files  # noqa: E402


def rows_differ(a: pd.DataFrame, b: pd.DataFrame) -> int:
    """Rows of two result frames that differ in any column (nulls equal)."""
    diff = pd.Series(False, index=a.index)
    for column in a.columns:
        x, y = a[column].astype(object), b[column].astype(object)
        diff |= ~((x == y) | (x.isna() & y.isna()))
    return int(diff.sum())


def count(n: int) -> collections.Counter:
    stats: collections.Counter = collections.Counter()

    @settings(max_examples=n, derandomize=True, database=None, phases=[Phase.generate], deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(text=rule_files(), frame=frames())
    def run(text, frame):
        try:
            rules = RuleSet.from_text(text)
        except Exception:  # noqa: BLE001 - a refused file is counted, not an error here
            stats["rule files refused"] += 1
            return
        stats["rule files"] += 1
        stats["records"] += len(frame)
        try:
            vectorized = rules.evaluate(frame, as_of=AS_OF)
        except Exception:  # noqa: BLE001 - counted
            stats["vectorized crashes (records)"] += len(frame)
            return
        try:
            durable = rules.evaluate(frame, engine="durable", as_of=AS_OF)
            stats["engine disagreements (records)"] += rows_differ(vectorized, durable)
        except Exception:  # noqa: BLE001 - counted
            stats["durable crashes (records)"] += len(frame)
        try:
            objects = rules.evaluate(_as_objects(frame), as_of=AS_OF)
            stats["dtype disagreements (records)"] += rows_differ(vectorized, objects)
        except Exception:  # noqa: BLE001 - counted
            stats["object-column crashes (records)"] += len(frame)

    run()
    return stats


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    warnings.simplefilter("ignore")
    stats = count(int(argv[0]) if argv else 600)
    for key in ("rule files", "rule files refused", "records", "engine disagreements (records)",
                "dtype disagreements (records)", "vectorized crashes (records)", "durable crashes (records)",
                "object-column crashes (records)"):
        print(f"{key}: {stats[key]}")
    bad = sum(v for k, v in stats.items() if "disagreements" in k or "crashes" in k)
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Benchmark: kam's contract validator against a pandera schema of the same checks (issue 15).

Prints figures; not a test. Run: python benchmarks/bench_contract_vs_pandera.py [ORDERS] [REPEATS]
(default 1,000,000 orders, 3 repeats; pandera must be installed: ``pip install pandera``).

Both sides get the same typed frames (reps, partners, customers = ORDERS / 10 rows each;
orders = ORDERS rows with 1% of rows broken four ways: a negative ``units``, an unknown
``account_id``, a date after the as-of date, margin above amount) and must produce the same
thing a run needs: the valid rows of every table, with each failing row quarantined whole.

* kam: ``validate_tables(tables, contract=..., as_of=...)`` - the contract declares the
  references (``orders.account_id -> customers.account_id``), the not-future dates, the row
  check, and quarantines whole rows, parents first (an order of a quarantined customer goes too).
* pandera: one ``DataFrameSchema`` per table generated from the same contract (types,
  required, allowed values, ranges, unique keys, the row check as a wide check, not-future as a
  ``le`` check). pandera has no cross-table reference: it is written as an ``isin`` check over a
  closure on the parent's valid keys, so the schemas must be built and run table by table in
  dependency order by hand. ``lazy=True`` collects every failure; the valid frame is the input
  without the failing index labels (``failure_cases["index"]``; a wide check reports the row).

Medians of REPEATS alternating runs; the machine is shared (load average printed).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "validate"))
from contract_data import AS_OF, valid_tables  # noqa: E402

from engine.contract import CUSTOMER_DATABASE, Contract  # noqa: E402
from engine.validate import validate_tables  # noqa: E402

TABLES = ("reps", "partners", "customers", "orders")


def make_tables(orders: int, seed: int = 0) -> dict[str, pd.DataFrame]:
    contract = Contract(tuple(CUSTOMER_DATABASE[name] for name in TABLES))
    parents = valid_tables(rows=max(orders // 10, 100), seed=seed, contract=contract)
    small = parents.pop("orders")
    repeat = -(-orders // len(small))
    child = pd.concat([small] * repeat, ignore_index=True).iloc[:orders].reset_index(drop=True)
    child["order_id"] = pd.Series([f"ORD{i:09d}" for i in range(len(child))], dtype=object)
    rng = np.random.default_rng(seed)
    ids = parents["customers"]["account_id"].to_numpy()
    child["account_id"] = ids[rng.integers(0, len(ids), len(child))]
    broken = rng.choice(len(child), size=len(child) // 100, replace=False)
    quarter = np.array_split(broken, 4)
    child.loc[quarter[0], "units"] = -1
    child.loc[quarter[1], "account_id"] = "NO-SUCH-ACCOUNT"
    child.loc[quarter[2], "order_date"] = AS_OF + pd.Timedelta(days=30)
    child.loc[quarter[3], "margin"] = child.loc[quarter[3], "amount"] + 1
    return {**parents, "orders": child}


def pandera_schema(table, parent_keys: dict[str, pd.Series]):
    import pandera.pandas as pa

    columns = {}
    for column in table.columns:
        checks = []
        if column.allowed is not None and not column.multi:
            checks.append(pa.Check.isin(list(column.allowed)))
        if column.minimum is not None:
            checks.append(pa.Check.ge(column.minimum))
        if column.maximum is not None:
            checks.append(pa.Check.le(column.maximum))
        if column.not_future:
            checks.append(pa.Check.le(AS_OF))
        if column.references and column.references.split(".")[0] in parent_keys:
            # a closure over the parent's valid keys (plus the literal alternatives, e.g. 'direct')
            keys = set(parent_keys[column.references.split(".")[0]]) | set(column.references_or)
            checks.append(pa.Check.isin(keys))
        dtype = {"integer": "Int64", "number": "float64", "boolean": "boolean", "date": "datetime64[ns]"}.get(
            column.type)
        columns[column.name] = pa.Column(dtype, checks=checks, nullable=not column.required,
                                         unique=column.name == table.key, coerce=False)
    wide = [pa.Check(lambda frame, check=check: ~check.fails(frame).fillna(False).astype(bool), name=check.name)
            for check in table.checks]
    return pa.DataFrameSchema(columns, checks=wide, strict=False)


def run_pandera(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    import pandera.errors

    valid: dict[str, pd.DataFrame] = {}
    keys: dict[str, pd.Series] = {}
    for name in TABLES:  # dependency order, by hand
        table = CUSTOMER_DATABASE[name]
        frame = tables[name]
        try:
            pandera_schema(table, keys).validate(frame, lazy=True)
            kept = frame
        except pandera.errors.SchemaErrors as errors:
            bad = pd.to_numeric(errors.failure_cases["index"], errors="coerce").dropna().astype(int).unique()
            kept = frame.drop(index=bad)
        valid[name] = kept
        keys[name] = kept[table.key]
    return valid


def run_kam(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    contract = Contract(tuple(CUSTOMER_DATABASE[name] for name in TABLES))
    return validate_tables(tables, contract=contract, as_of=AS_OF).valid


def main() -> None:
    orders = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    try:
        import pandera
    except ImportError:
        sys.exit("pandera is not installed: pip install pandera")
    tables = make_tables(orders)
    print(f"{orders:,} orders, {len(tables['customers']):,} customers; pandera {pandera.__version__}; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (shared machine)")
    times: dict[str, list[float]] = {"kam": [], "pandera": []}
    results = {}
    for _ in range(repeats):
        for name, run in (("kam", run_kam), ("pandera", run_pandera)):
            started = time.perf_counter()
            results[name] = run(tables)
            times[name].append(time.perf_counter() - started)
    kam, pan = statistics.median(times["kam"]), statistics.median(times["pandera"])
    print(f"{'':10}{'median s':>10}{'orders kept':>14}{'rows/s':>14}")
    for name, median in (("kam", kam), ("pandera", pan)):
        kept = len(results[name]["orders"])
        print(f"{name:10}{median:10.2f}{kept:14,}{orders / median:14,.0f}")
    print(f"pandera / kam time: {pan / kam:.2f}x")
    same = set(results["kam"]["orders"]["order_id"]) == set(results["pandera"]["orders"]["order_id"])
    print(f"same orders kept: {same}")


if __name__ == "__main__":
    main()

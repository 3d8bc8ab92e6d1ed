"""Benchmark: validate a 1,000,000-row orders table (plus parents) against the contract.

Prints figures; not a test. Run: python benchmarks/bench_validate.py [N] [strings]
(``strings`` gives the dates as ISO text, as SQLite returns them).
"""

import sys, time
import numpy as np, pandas as pd
sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1] / "tests" / "validate"))
from contract_data import valid_tables, AS_OF
from engine.validate import validate_tables
N = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
as_strings = len(sys.argv) > 2
base = valid_tables(2000, seed=3)
rng = np.random.default_rng(0)
acc = base["customers"]["account_id"].to_numpy(dtype=object)
par = base["partners"]["partner_id"].to_numpy(dtype=object)
chan = np.where(rng.random(N) < 0.3, "direct", par[rng.integers(0, len(par), N)])
amount = np.round(rng.uniform(0, 1e5, N), 2)
orders = pd.DataFrame({
    "order_id": pd.Series([f"O{i:09d}" for i in range(N)], dtype="str"),
    "account_id": pd.Series(acc[rng.integers(0, len(acc), N)], dtype="str"),
    "order_date": pd.Series(pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 1200, N), unit="D")),
    "product_line": pd.Series(np.array(["desktop","notebook","server","tablet","services"], dtype=object)[rng.integers(0,5,N)], dtype="str"),
    "units": rng.integers(0, 500, N),
    "amount": amount,
    "margin": np.round(amount * rng.uniform(-0.1, 0.4, N), 2),
    "channel": pd.Series(chan, dtype="str"),
})
if as_strings:
    orders["order_date"] = orders["order_date"].dt.strftime("%Y-%m-%d").astype("str")
tables = dict(base, orders=orders)
t = time.perf_counter()
r = validate_tables(tables, as_of=AS_OF)
dt = time.perf_counter() - t
print(f"{N} orders ({'ISO-string dates' if as_strings else 'datetime64'}): validated in {dt:.2f}s; failures={len(r.failures)} valid={len(r.valid['orders'])}")
# 1% hostile: text in a number column (object column), unknown accounts, negative units
bad = rng.random(N) < 0.01
o = orders.copy()
amount_obj = o["amount"].astype(object); amount_obj[bad] = "abc"; o["amount"] = amount_obj
o.loc[np.roll(bad, 1), "account_id"] = "NOPE"
o.loc[np.roll(bad, 2), "units"] = -1
t = time.perf_counter()
r = validate_tables(dict(base, orders=o), as_of=AS_OF)
print(f"  same with ~3% bad rows (object amount column): {time.perf_counter() - t:.2f}s; failures={len(r.failures)} quarantined={len(r.quarantined['orders'])}")

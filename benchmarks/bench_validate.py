"""Benchmark: validate a 1,000,000-row orders table (plus parents) against the contract.

Prints figures; not a test. Run: python benchmarks/bench_validate.py [N] [strings]
(``strings`` gives the dates as ISO text, as SQLite returns them).

``python benchmarks/bench_validate.py dates [N]`` instead compares, side by side on N ISO date
strings (default 10,000,000), the strict reader validation and the features now share (Arrow's
own ``string -> date32`` cast, :func:`engine.validate.parse_iso_days`) with the hand-written
byte-matrix decoder it replaced (kept below only for this comparison), clean and with 1% bad
cells, and prints the medians of 5 alternating runs.
"""

import os
import statistics
import sys
import time

import numpy as np
import pandas as pd

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1] / "tests" / "validate"))
from validate_factories import AS_OF, valid_tables

from engine.validate import parse_iso_days, validate_tables
from engine.validate._coerce import DATE_MAX, DATE_MIN

# --- the hand-written decoder removed from engine/validate/_coerce.py (for comparison only) ---
_DATE_BLOCK = 262_144
_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int32)
_DAY_MIN = int((DATE_MIN - pd.Timestamp("1970-01-01")).days)
_DAY_MAX = int((DATE_MAX - pd.Timestamp("1970-01-01")).days)

def _iso_days(chunk) -> tuple[np.ndarray, np.ndarray]:
    """Days since 1970-01-01 of the plain ``YYYY-MM-DD`` cells of an Arrow text chunk.

    Returns ``(plain, days)``: ``plain`` marks the cells that are ten characters, digits and
    dashes in the ISO places, a real calendar date and within the datetime64[ns] range;
    ``days`` holds their day numbers (0 elsewhere). The cells are read as a ten-byte matrix
    (one pass over the bytes, integer arithmetic), so ten million dates take a fraction of a
    second; every other cell is left to the general parser.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(chunk)
    plain = np.zeros(n, dtype=bool)
    days = np.zeros(n, dtype=np.int64)
    ten = pc.equal(pc.binary_length(chunk), 10).fill_null(False).to_numpy(zero_copy_only=False)
    rows = np.flatnonzero(ten)
    if len(rows) == 0:
        return plain, days
    cells = chunk if len(rows) == n else chunk.filter(pa.array(ten))  # every cell 10 bytes: contiguous
    width = np.int64 if pa.types.is_large_string(cells.type) or pa.types.is_large_binary(cells.type) else np.int32
    first = int(np.frombuffer(cells.buffers()[1], dtype=width)[cells.offset])
    b = np.frombuffer(cells.buffers()[2], dtype=np.uint8)[first : first + 10 * len(cells)].reshape(-1, 10)
    d = [b[:, k] - np.uint8(48) for k in range(10)]  # strided views; non-digits wrap to >= 208
    digits = (b[:, 4] == 45) & (b[:, 7] == 45)
    for k in (0, 1, 2, 3, 5, 6, 8, 9):
        digits &= d[k] <= 9
    i32 = [v.astype(np.int32) for v in d]
    year = i32[0] * 1000 + i32[1] * 100 + i32[2] * 10 + i32[3]
    month = i32[5] * 10 + i32[6]
    day = i32[8] * 10 + i32[9]
    del d, i32
    month_ok = (month >= 1) & (month <= 12)
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    last = _DAYS_IN_MONTH[np.where(month_ok, month, 0)] + ((month == 2) & leap)
    real = digits & month_ok & (day >= 1) & (day <= last)
    # days from the civil date (H. Hinnant's algorithm), vectorized; int32 holds +-5.8M years
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    count = era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468
    ok = real & (count >= _DAY_MIN) & (count <= _DAY_MAX)
    plain[rows] = ok
    days[rows] = np.where(ok, count, 0)
    return plain, days


def _old_decoder(arrow):
    """The removed path: plain dates from the byte matrix; the rest went to pandas."""
    chunks = arrow.chunks if hasattr(arrow, "chunks") else [arrow]
    blocks = [c.slice(s, _DATE_BLOCK) for c in chunks for s in range(0, len(c), _DATE_BLOCK)]
    decoded = [_iso_days(b) for b in blocks]
    plain = np.concatenate([p for p, _ in decoded])
    rest = np.flatnonzero(~plain)
    if len(rest):  # what the removed code handed to pandas' (lenient) ISO parser
        import pyarrow as pa
        pd.to_datetime(pd.Series(arrow.take(pa.array(rest)).to_pylist(), dtype=object), format="ISO8601", errors="coerce")
    return plain


def compare_dates(n: int, repeats: int = 5) -> None:
    import pyarrow as pa

    rng = np.random.default_rng(1)
    days = rng.integers(18_000, 20_000, n).astype("datetime64[D]")
    text = np.datetime_as_string(days)
    clean = pa.chunked_array([pa.array(text[i : i + 1_048_576], type=pa.large_string()) for i in range(0, n, 1_048_576)])
    dirty_text = text.astype(object)
    bad = np.flatnonzero(rng.random(n) < 0.01)
    dirty_text[bad] = np.array(["2023/10/13", "20231013", "2023-10", "2023-02-30"], dtype=object)[bad % 4]
    dirty = pa.chunked_array([pa.array(dirty_text[i : i + 1_048_576], type=pa.large_string()) for i in range(0, n, 1_048_576)])
    print(f"{n:,} ISO date strings; load average {os.getloadavg()[0]:.1f} (the machine is shared)")
    for label, data in (("clean", clean), ("1% bad", dirty)):
        times = {"Arrow cast (parse_iso_days)": [], "hand-written decoder (removed)": []}
        for _ in range(repeats):  # alternate, so that load on the shared machine hits both alike
            t = time.perf_counter()
            parse_iso_days(data)
            times["Arrow cast (parse_iso_days)"].append(time.perf_counter() - t)
            t = time.perf_counter()
            _old_decoder(data)
            times["hand-written decoder (removed)"].append(time.perf_counter() - t)
        medians = {k: statistics.median(v) for k, v in times.items()}
        new, old_ = medians.values()
        print(f"  {label:7s}: " + "; ".join(f"{k} median {v:.3f}s" for k, v in medians.items()) + f"; ratio new/old {new / old_:.2f}")


if len(sys.argv) > 1 and sys.argv[1] == "dates":
    compare_dates(int(sys.argv[2]) if len(sys.argv) > 2 else 10_000_000)
    raise SystemExit(0)

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
amount_obj = o["amount"].astype(object)
amount_obj[bad] = "abc"
o["amount"] = amount_obj
o.loc[np.roll(bad, 1), "account_id"] = "NOPE"
o.loc[np.roll(bad, 2), "units"] = -1
t = time.perf_counter()
r = validate_tables(dict(base, orders=o), as_of=AS_OF)
print(f"  same with ~3% bad rows (object amount column): {time.perf_counter() - t:.2f}s; failures={len(r.failures)} quarantined={len(r.quarantined['orders'])}")

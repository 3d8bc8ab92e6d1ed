"""Valid tables generated from a contract (the base that the validation tests break on purpose).

Generation reads only the contract: keys are unique, enums take allowed values, numbers sit in
their range, dates are on or before ``as_of``, references point at generated parent keys. Rows
that a row check rejects are dropped before any child table is generated, so every row is valid.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.contract import CUSTOMER_DATABASE, Contract, Table

AS_OF = pd.Timestamp("2024-06-30")
_EPOCH = pd.Timestamp("2019-01-01")


def _column_values(table: Table, column, n: int, rng: np.random.Generator, parents: dict, keys: np.ndarray):
    if column.name == table.key:
        return keys
    if column.references:
        parent, parent_column = column.references.split(".", 1)
        if parent == table.name:  # self-reference: an earlier row or nobody
            pool = keys
        else:
            pool = parents[parent][parent_column].to_numpy(dtype=object)
        values = pool[rng.integers(0, len(pool), n)] if len(pool) else np.full(n, None, dtype=object)
        values = values.astype(object)
        if column.references_or:
            alt = rng.random(n) < 0.3
            values[alt] = np.asarray(column.references_or, dtype=object)[rng.integers(0, len(column.references_or), alt.sum())]
        return values
    if column.type == "enum":
        allowed = np.asarray(column.allowed, dtype=object)
        if column.multi:
            picks = [";".join(sorted(set(allowed[rng.integers(0, len(allowed), rng.integers(1, 4))]))) for _ in range(n)]
            return np.asarray(picks, dtype=object)
        return allowed[rng.integers(0, len(allowed), n)]
    if column.type == "string":
        return np.asarray([f"{column.name} {i} é" for i in rng.integers(0, 10**6, n)], dtype=object)
    if column.type in ("integer", "number"):
        low = column.minimum if column.minimum is not None else -1000
        high = column.maximum if column.maximum is not None else low + 100_000
        if column.type == "integer":
            return rng.integers(int(low), int(high) + 1, n)
        return np.round(rng.uniform(low, high, n), 2)
    if column.type == "boolean":
        return rng.random(n) < 0.5
    if column.type == "date":
        span = (AS_OF - _EPOCH).days
        return _EPOCH + pd.to_timedelta(rng.integers(0, span + 1, n), unit="D")
    raise AssertionError(column.type)


def _dtype_series(column, values) -> pd.Series:
    if column.type in ("string", "enum"):
        return pd.Series(values, dtype="str")
    if column.type == "integer":
        return pd.Series(values, dtype="int64" if column.required else "Int64")
    if column.type == "number":
        return pd.Series(values, dtype="float64")
    if column.type == "boolean":
        return pd.Series(values, dtype="bool" if column.required else "boolean")
    return pd.Series(pd.DatetimeIndex(values).astype("datetime64[ns]"))


def valid_tables(rows: int = 50, seed: int = 0, contract: Contract = CUSTOMER_DATABASE, null_share: float = 0.2) -> dict:
    """Valid typed tables for ``contract``: about ``rows`` rows per table (fewer after row checks).

    Optional columns are null in about ``null_share`` of rows.
    """
    rng = np.random.default_rng(seed)
    out: dict[str, pd.DataFrame] = {}
    for table in contract.tables:
        keys = np.asarray([f"{table.name[:3].upper()}{i:06d}" for i in range(rows)], dtype=object)
        data = {}
        for column in table.columns:
            values = _column_values(table, column, rows, rng, out, keys)
            series = _dtype_series(column, values)
            if not column.required:
                series = series.mask(pd.Series(rng.random(rows) < null_share))
            data[column.name] = series
        frame = pd.DataFrame(data)
        for check in table.checks:
            frame = frame[~check.fails(frame).to_numpy(dtype=bool)]
        frame = frame.reset_index(drop=True)
        for column in table.columns:  # self-references to rows a check dropped
            if column.references and column.references.split(".")[0] == table.name:
                gone = frame[column.name].notna() & ~frame[column.name].isin(frame[table.key])
                frame[column.name] = frame[column.name].mask(gone)
        out[table.name] = frame
    return out

"""Array helpers of the validator: Arrow-backed lookups and the dtypes of the valid frames.

pandas turns an Arrow-backed text column into Python objects for ``isin`` and ``duplicated``;
the helpers here ask Arrow directly, and fall back to pandas for every other dtype.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from engine._keys import strictly_increasing
from engine.contract import Column, Table

__all__ = ["arrow_strings", "duplicated", "empty_valid", "final_dtype", "isin", "row_reasons"]


def arrow_strings(series: pd.Series) -> Any:
    """The Arrow array behind a pyarrow-backed ``str`` Series, or None for other dtypes."""
    if isinstance(series.dtype, pd.StringDtype) and series.dtype.storage == "pyarrow":
        return series.array.__arrow_array__()
    return None


def isin(values: pd.Series, choices: Any) -> np.ndarray:
    """``values.isin(choices)`` as a numpy mask; Arrow's hash lookup for text columns.

    pandas turns the choices of an Arrow string column into Python objects one by one (seconds
    for a million keys); ``pyarrow.compute.is_in`` takes them as they are.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    arrow = arrow_strings(values)
    if arrow is not None:
        if isinstance(choices, pd.Series):
            keys = arrow_strings(choices)
            if keys is None:
                keys = pa.array(choices.dropna().astype("str").to_numpy(dtype=object), type=arrow.type)
        else:
            keys = pa.array([c for c in choices if isinstance(c, str)], type=arrow.type)
        if isinstance(keys, pa.ChunkedArray):
            keys = keys.combine_chunks()
        keys = keys.drop_null()
        found = pc.is_in(arrow, value_set=keys, skip_nulls=True)
        return found.to_numpy(zero_copy_only=False).astype(bool, copy=False) if len(values) else np.zeros(0, bool)
    return values.isin(choices).to_numpy(dtype=bool)


def duplicated(values: pd.Series) -> np.ndarray:
    """``values.duplicated(keep=False)`` as a numpy mask; nulls count as equal to each other."""
    import pyarrow.compute as pc

    arrow = arrow_strings(values)
    if arrow is not None and len(values):
        # The usual case, unique keys, is settled without hashing when the keys are in key
        # order; otherwise one hash pass; only when that finds copies does pandas factorize.
        if strictly_increasing(arrow):
            return np.zeros(len(values), dtype=bool)
        if len(pc.unique(arrow)) == len(values):  # null counts once, as in duplicated()
            return np.zeros(len(values), dtype=bool)
    return values.duplicated(keep=False).to_numpy()


def final_dtype(column: Column, values: pd.Series) -> pd.Series:
    if column.required and column.type == "integer":
        return values.astype("int64")
    if column.required and column.type == "boolean":
        return values.astype(bool)
    return values


def empty_valid(table: Table) -> pd.DataFrame:
    dtypes = {
        "string": "str",
        "enum": "str",
        "integer": "Int64",
        "number": "float64",
        "boolean": "boolean",
        "date": "datetime64[ns]",
    }
    data = {}
    for column in table.columns:
        series = pd.Series([], dtype=dtypes[column.type])
        data[column.name] = final_dtype(column, series)
    return pd.DataFrame(data)


def row_reasons(failures: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
    """Per quarantined row, its failures as ``reason:column`` tags joined by ``; `` (first seen first)."""
    if len(rows) == 0:
        return np.array([], dtype=object)
    tags = (failures["reason"] + ":" + failures["column"].fillna("")).to_numpy(dtype=object)
    row_of = failures["row"].to_numpy(dtype=np.int64, na_value=-1)
    joined = pd.Series(tags).groupby(row_of).agg(lambda t: "; ".join(dict.fromkeys(t)))
    return joined.reindex(rows).to_numpy(dtype=object)


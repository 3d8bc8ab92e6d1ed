"""Values between pandas and the drivers: Arrow arrays for ADBC, plain Python values for DB-API.

Writes refuse what no kam column should hold (an infinity; a fraction in a whole-number column)
with a :class:`StorageError` naming the column and row. Reads turn the driver's Arrow record
batches into a DataFrame without holding two copies of the data at once.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from engine._errors import StorageError
from engine._memory import give_back_memory

__all__ = [
    "arrow_to_pandas",
    "column_to_arrow",
    "column_to_python",
    "combine_columns",
    "drop_probe",
    "exact_integer_columns",
    "read_columns",
]

#: Record batches drained between two compactions of the columns read so far (see read_columns).
_COMPACT_BATCHES = 16


def read_columns(reader) -> dict[str, list]:
    """Drain a record-batch reader into per-column lists of compact arrays, text as ``large_string``.

    The driver's batches grow their buffers by doubling (up to twice the data) and share them
    with a cast; every ``_COMPACT_BATCHES`` batches the pending ones are concatenated into one
    exact-size chunk per column (pandas' ``str`` dtype holds ``large_string``) and released,
    so memory holds the data read so far plus a few batches, never the driver's copy of all.
    """
    import pyarrow as pa

    columns: dict[str, list] = {field.name: [] for field in reader.schema}
    pending: dict[str, list] = {field.name: [] for field in reader.schema}

    def compact() -> None:
        for name, chunks in pending.items():
            if chunks:
                columns[name].append(pa.concat_arrays(chunks))
                chunks.clear()
        give_back_memory()

    for number, batch in enumerate(reader, start=1):
        for field, array in zip(batch.schema, batch.columns):
            if pa.types.is_string(field.type):
                array = array.cast(pa.large_string())
            pending[field.name].append(array)
        del batch, array
        if number % _COMPACT_BATCHES == 0:
            compact()
    compact()
    return columns


def combine_columns(columns: dict[str, list]):
    """A table of the compacted chunks (about a million rows each: no further copy)."""
    import pyarrow as pa

    # emptied as it goes: the table must own the chunks so that to_pandas can free them
    return pa.table({name: pa.chunked_array(columns.pop(name)) for name in list(columns)})


def drop_probe(table):
    """``table`` without the typed probe row of :meth:`engine.storage._sessions.AdbcSession.read_typed`.

    SQLite returns the first arm of the ``UNION ALL`` first, so the probe is row 0 and a
    zero-copy slice drops it; a filter (a full copy of the table) is only the fallback.
    """
    import pyarrow.compute as pc

    marks = table["__kam_probe"]
    if len(table) and marks[0].as_py() == 0 and pc.sum(marks).as_py() == len(table) - 1:
        table = table.slice(1)
    else:
        table = table.filter(pc.equal(marks, 1))
    return table.drop_columns(["__kam_probe"])


def arrow_to_pandas(table) -> pd.DataFrame:
    """Arrow table -> DataFrame without holding both copies of the numeric columns at once.

    ``self_destruct`` frees each Arrow column as soon as it is converted, and ``split_blocks``
    skips consolidating numeric columns into one 2-D block (a second copy). Text columns stay in
    Arrow memory (pandas' ``str`` dtype). Memory the Arrow allocator no longer uses is handed
    back to the system, so the rest of the run (numpy) can reuse it.
    """
    import pyarrow as pa

    exact = {}
    for name in _unsafe_integer_columns(table):
        # a null among whole numbers past 2**53: pandas' float64 would round them, Int64 does not
        exact[name] = table[name].to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get)
    order = table.column_names
    if exact:
        table = table.drop_columns(list(exact))
    frame = table.to_pandas(self_destruct=True, split_blocks=True)
    del table
    give_back_memory()
    if not exact:
        return frame
    if len(frame.columns) == 0:
        return pd.DataFrame(exact)[order]
    return frame.assign(**exact)[order]


#: The largest magnitude below which every whole number is exact in float64.
_FLOAT_EXACT = 2**53


def _unsafe_integer_columns(table) -> list[str]:
    """Integer columns of an Arrow table holding a null and a value float64 cannot hold exactly."""
    import pyarrow as pa
    import pyarrow.compute as pc

    unsafe = []
    for field, column in zip(table.schema, table.columns):
        if pa.types.is_integer(field.type) and column.null_count and len(column) > column.null_count:
            bounds = pc.min_max(column)
            if max(abs(bounds["min"].as_py()), abs(bounds["max"].as_py())) > _FLOAT_EXACT:
                unsafe.append(field.name)
    return unsafe


def exact_integer_columns(frame: pd.DataFrame, rows: list) -> pd.DataFrame:
    """``frame`` built from DB-API ``rows`` with whole numbers past 2**53 beside a null kept exact.

    ``DataFrame.from_records`` turns a column of integers and ``None`` into float64, which rounds
    an id above 2**53. Only such columns (float64, a null, a magnitude past 2**53) are looked at
    again, from the rows (a rounded value may land on 2**53 itself): when every value there is a
    whole number, the column becomes Int64.
    """
    for position in range(frame.shape[1]):  # by position: a result may repeat a column name
        column = frame.iloc[:, position]
        if column.dtype != np.float64 or not column.isna().any() or not (column.abs() >= _FLOAT_EXACT).any():
            continue
        values = [row[position] for row in rows]
        if all(v is None or (isinstance(v, int) and not isinstance(v, bool)) for v in values):
            frame.isetitem(position, pd.array(values, dtype="Int64"))
    return frame


def column_to_arrow(series: pd.Series, logical_type: str | None):
    """Convert a column to an Arrow array for ADBC ingestion (dates as ISO text, no infinities)."""
    import pyarrow as pa

    if isinstance(series.dtype, pd.CategoricalDtype):
        if logical_type in (None, "string", "enum"):
            # decoded in Arrow (the codes index the categories): no Python object per row
            try:
                decoded = pa.array(series, from_pandas=True).dictionary_decode()
            except (pa.ArrowInvalid, pa.ArrowTypeError):  # categories of mixed Python types
                decoded = None
            if decoded is not None and (
                pa.types.is_string(decoded.type) or pa.types.is_large_string(decoded.type)
                or len(series.cat.categories) == 0
            ):
                return decoded.cast(pa.string())  # text categories, or none at all (every value null)
        categories = series.cat.categories
        if series.isna().any() and pd.api.types.is_bool_dtype(categories.dtype):
            series = series.astype("boolean")  # nullable: a missing value stays missing
        elif series.isna().any() and pd.api.types.is_integer_dtype(categories.dtype):
            series = series.astype("Int64")
        else:
            series = series.astype(categories.dtype if categories.dtype != object else object)
    if logical_type == "date" or pd.api.types.is_datetime64_any_dtype(series.dtype):
        # Arrow's date -> text cast is ~4x faster than numpy's datetime_as_string.
        unit = "datetime64[D]" if logical_type == "date" else "datetime64[s]"
        return pa.array(_as_datetime(series).to_numpy(dtype=unit), from_pandas=True).cast(pa.string())
    if pd.api.types.is_float_dtype(series.dtype):
        arr = series.to_numpy(dtype="float64", na_value=np.nan)
        _refuse_infinity(series.name, arr)
        if logical_type == "integer":
            _refuse_fraction(series.name, arr)
            return pa.array(arr, mask=np.isnan(arr)).cast(pa.int64())
        return pa.array(arr, mask=np.isnan(arr))
    if pd.api.types.is_bool_dtype(series.dtype) or pd.api.types.is_integer_dtype(series.dtype):
        _refuse_beyond_int64(series)
        mask = series.isna().to_numpy()
        # straight to int64, never through float64: an id above 2**53 would be rounded
        values = series.to_numpy(dtype="int64", na_value=0) if mask.any() else series.to_numpy().astype("int64")
        return pa.array(values, mask=mask if mask.any() else None)
    if pd.api.types.is_string_dtype(series.dtype) and not pd.api.types.is_object_dtype(series.dtype):
        return pa.array(series, from_pandas=True, type=pa.string())
    values = column_to_python(series, logical_type)
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        # Mixed Python types (a text among integers): send text and let SQLite's column
        # affinity store numbers as numbers; validation later reports the text as wrong_type.
        return pa.array([None if v is None else str(v) for v in values], type=pa.string())


def _as_datetime(series: pd.Series) -> pd.Series:
    values = series if pd.api.types.is_datetime64_any_dtype(series.dtype) else pd.to_datetime(
        series, errors="raise", format="ISO8601"
    )
    if getattr(values.dt, "tz", None) is not None:
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    return values


def _refuse_infinity(name: Any, arr: np.ndarray) -> None:
    if np.isinf(arr).any():
        position = int(np.flatnonzero(np.isinf(arr))[0])
        raise StorageError(
            f"column {name!r} holds an infinity at row {position}; kam stores finite numbers only. "
            "Quarantine the row or replace the value before writing."
        )


def _refuse_beyond_int64(series: pd.Series) -> None:
    """Refuse an unsigned value that a database's 64-bit signed integer cannot hold (no silent wrap)."""
    if not pd.api.types.is_unsigned_integer_dtype(series.dtype) or series.dtype.itemsize < 8:
        return
    limit = np.iinfo(np.int64).max
    too_big = (series > limit).fillna(False).to_numpy(dtype=bool)
    if too_big.any():
        position = int(np.flatnonzero(too_big)[0])
        raise StorageError(
            f"column {series.name!r} holds {int(series.iloc[position])} at row {position}; expected a whole "
            f"number from {np.iinfo(np.int64).min} to {limit} (the databases store 64-bit signed integers). "
            "Store such an identifier as text instead."
        )


def _refuse_fraction(name: Any, arr: np.ndarray) -> None:
    fraction = ~np.isnan(arr) & (arr != np.round(arr))
    if fraction.any():
        position = int(np.flatnonzero(fraction)[0])
        raise StorageError(
            f"column {name!r} is a whole-number column; got {float(arr[position])!r} at row {position}. "
            "Round the values (or validate the table first: engine.validate quarantines them)."
        )


def column_to_python(series: pd.Series, logical_type: str | None) -> list:
    """Convert a column to a list of plain Python values with ``None`` for nulls.

    Dates become ISO ``YYYY-MM-DD`` strings (contract dates) or ISO timestamps. NaN becomes
    ``None``; an infinity is refused, since no column of kam's should hold one.
    """
    if logical_type == "date" or pd.api.types.is_datetime64_any_dtype(series.dtype):
        arr = _as_datetime(series).to_numpy(dtype="datetime64[us]")
        text_values = np.datetime_as_string(arr, unit="D" if logical_type == "date" else "s")
        out = text_values.astype(object)
        out[np.isnat(arr)] = None
        return out.tolist()
    if pd.api.types.is_float_dtype(series.dtype):
        arr = series.to_numpy(dtype="float64", na_value=np.nan)
        _refuse_infinity(series.name, arr)
        if logical_type == "integer":
            _refuse_fraction(series.name, arr)
            return [None if math.isnan(v) else int(v) for v in arr.tolist()]
        return [None if v != v else v for v in arr.tolist()]
    if pd.api.types.is_bool_dtype(series.dtype) or pd.api.types.is_integer_dtype(series.dtype):
        _refuse_beyond_int64(series)
        return series.astype(object).where(series.notna(), None).tolist()
    values = series.astype(object).where(series.notna(), None).tolist()
    return [_plain(v) for v in values]


def _plain(value: Any) -> Any:
    """Turn numpy scalars and containers into values a DB-API driver accepts."""
    if isinstance(value, float) and math.isinf(value):
        raise StorageError("a value is infinite; kam stores finite numbers only.")
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, np.generic):
        return _plain(value.item())
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, (list, tuple, dict)):
        import json

        return json.dumps(value, default=str, ensure_ascii=False)
    return str(value)

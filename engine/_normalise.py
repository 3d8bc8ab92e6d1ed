"""Normalise inputs once: calendar dates to int64 day numbers, identifiers to integer codes.

Shared by the stages that work on plain arrays (features, the decision stage, partitioning),
beside :mod:`engine._keys`.

Every feature is computed on plain numpy arrays: a date becomes the number of days since
1970-01-01 (``int64``), an account identifier becomes its row position in the customers table.
Comparisons and windows are then integer arithmetic, and per-account aggregates are
``np.bincount`` / ``np.maximum.at`` over codes - no Timestamps, no string hashing per feature.

A null date becomes :data:`NULL_DAY`, a day number far in the future. That single choice gives
the right meaning everywhere a date is compared with the as-of day ``A``:

* a null *start* date (``order_date``, ``opened_date``, ...) is never ``< A``: the row is unseen;
* a null *end* date (``closed_date``, ``active_to``, ``end_date``) is never ``< A``: the
  ticket, contact or ownership is still open at ``A``.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from engine._asof import as_of_date
from engine._errors import DataError
from engine._keys import strictly_increasing
from engine.validate import date_hint, parse_iso_days

__all__ = ["NULL_DAY", "as_of_day", "day_numbers", "day_to_timestamp", "duplicate_keys", "encode_keys", "encode_many", "key_array", "table", "arrow_to_numpy", "typed_frame"]

#: Day number used for a null date: later than any real as-of day.
NULL_DAY = np.int64(1) << np.int64(40)

_EPOCH = pd.Timestamp("1970-01-01")


def arrow_to_numpy(array: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """numpy copy of an Arrow array or chunked array (booleans and nulls included)."""
    if isinstance(array, pa.ChunkedArray):
        return array.to_numpy()
    return array.to_numpy(zero_copy_only=False)


def as_of_day(as_of: Any, tables: Any = None) -> int:
    """Return the as-of date as a day number (days since 1970-01-01).

    ``as_of`` is read by :func:`engine._asof.as_of_date`, the one normaliser: a
    ``datetime.date``, ``datetime.datetime``, ``pandas.Timestamp``, ``numpy.datetime64`` or ISO
    text; a time of day is dropped (features see rows dated strictly before the date); ``None``
    is the default as-of date of ``tables`` (the day after their newest event; with none, today
    UTC); anything else raises :class:`~engine._errors.AsOfError`.

    Examples
    --------
    >>> as_of_day("1970-01-11")
    10
    >>> as_of_day(pd.Timestamp("1970-01-11 18:30"))
    10
    """
    return int((pd.Timestamp(as_of_date(as_of, tables)) - _EPOCH).days)


def day_to_timestamp(day: int) -> pd.Timestamp:
    """Return the calendar date of a day number (inverse of :func:`as_of_day`)."""
    return _EPOCH + pd.Timedelta(days=int(day))


def _arrow(values: pd.Series | np.ndarray | list) -> pa.Array | pa.ChunkedArray:
    if isinstance(values, pd.Series) and isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype(values.dtype.categories.dtype)
    return pa.array(values, from_pandas=True)


def day_numbers(values: pd.Series, *, where: str = "a date column") -> np.ndarray:
    """Return the dates in ``values`` as int64 day numbers; nulls become :data:`NULL_DAY`.

    ``values`` may be ``datetime64`` of any unit (timezone-aware values keep their wall-clock
    date), Arrow dates or timestamps, ISO ``YYYY-MM-DD`` strings (or full ISO 8601 timestamps),
    or ``datetime.date`` objects.

    Raises
    ------
    DataError
        When a value cannot be read as a date.

    Examples
    --------
    >>> day_numbers(pd.Series(["1970-01-02", None])).tolist() == [1, int(NULL_DAY)]
    True
    """
    series = values if isinstance(values, pd.Series) else pd.Series(values)
    dtype = series.dtype
    if len(series) == 0:
        return np.empty(0, dtype=np.int64)
    if isinstance(dtype, pd.DatetimeTZDtype):
        series = series.dt.tz_localize(None)
        dtype = series.dtype
    if isinstance(dtype, np.dtype) and dtype.kind == "M":
        raw = series.to_numpy().astype("datetime64[D]").view(np.int64)
        return np.where(raw == np.iinfo(np.int64).min, NULL_DAY, raw)
    array = _arrow(series)
    if pa.types.is_null(array.type):
        return np.full(len(series), NULL_DAY, dtype=np.int64)
    if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        # the strict ISO reader validation uses: 2023/10/13, 20231013 and 2023-10 are not dates
        days, ok, blank = parse_iso_days(array)
        wrong = ~ok & ~blank
        if wrong.any():
            shown = series.iloc[np.flatnonzero(wrong)[:3]].tolist()
            hint = date_hint(shown[0])
            raise DataError(
                f"expected ISO dates (YYYY-MM-DD, or a datetime YYYY-MM-DDTHH:MM[:SS]) in {where}; got "
                f"{int(wrong.sum())} other value(s) such as {shown}; "
                + (f"{hint}, " if hint else "")
                + "or validate the tables first (engine.validate.validate_tables quarantines such rows)"
            )
        return np.where(ok, days, NULL_DAY)
    elif pa.types.is_timestamp(array.type):
        if array.type.tz is not None:
            return day_numbers(pd.to_datetime(series), where=where)
        array = pc.cast(array, pa.date32())
    elif not pa.types.is_date(array.type):
        raise DataError(
            f"expected dates in {where}; got values of type {array.type}; pass datetime64 values or ISO strings"
        )
    if pa.types.is_date64(array.type):
        array = pc.cast(array, pa.date32())
    missing = np.iinfo(np.int32).min
    days = np.asarray(arrow_to_numpy(pc.fill_null(pc.cast(array, pa.int32()), missing)), dtype=np.int64)
    return np.where(days == missing, NULL_DAY, days)


def _large_strings(array: pa.Array | pa.ChunkedArray) -> pa.ChunkedArray:
    if isinstance(array, pa.Array):
        array = pa.chunked_array([array])
    if not pa.types.is_large_string(array.type):
        array = pc.cast(array, pa.large_string())
    return array


def encode_keys(values: pd.Series, keys: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Return the position of each value in ``keys`` (int64), or -1 when absent or null.

    ``keys`` is the Arrow array of the referenced key column (e.g. ``customers.account_id``).
    Arrow's hash lookup is several times faster than ``Index.get_indexer`` on ten million
    strings.
    """
    return encode_many({"values": values}, keys)["values"]


def encode_many(columns: dict[str, pd.Series], keys: pa.Array | pa.ChunkedArray) -> dict[str, np.ndarray]:
    """:func:`encode_keys` for several columns at once, in one hash lookup split over the cores.

    Building the lookup table from ``keys`` costs about as much as looking up a million values,
    so all columns are looked up together (zero-copy chunked array), in one slice per core:
    Arrow releases the GIL, so the slices run in parallel threads.
    """
    lengths = {name: len(series) for name, series in columns.items()}
    total = sum(lengths.values())
    if total == 0 or len(keys) == 0:
        return {name: np.full(length, -1, dtype=np.int64) for name, length in lengths.items()}
    value_set = _large_strings(keys).combine_chunks()
    chunks = [chunk for series in columns.values() if len(series) for chunk in _large_strings(_arrow(series)).chunks]
    values = pa.chunked_array(chunks, type=pa.large_string())
    workers = min(os.cpu_count() or 1, 4) if total >= 2_000_000 else 1
    size = -(-total // workers)
    slices = [values.slice(start, size) for start in range(0, total, size)]

    def lookup(part: pa.ChunkedArray) -> np.ndarray:
        found = pc.index_in(part, value_set=value_set, skip_nulls=True)  # a null key matches nothing
        return np.asarray(arrow_to_numpy(pc.fill_null(found, -1)), dtype=np.int64)

    if workers == 1:
        positions = lookup(values)
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            positions = np.concatenate(list(pool.map(lookup, slices)))
    out, start = {}, 0
    for name, length in lengths.items():
        out[name] = positions[start : start + length]
        start += length
    return out


def duplicate_keys(values: pd.Series, limit: int = 5) -> list:
    """Up to ``limit`` non-null values that occur more than once in ``values`` (none: []).

    Keys in strictly increasing order are settled without hashing (``strictly_increasing``).

    Examples
    --------
    >>> duplicate_keys(pd.Series(["A1", "A2", "A3"])), duplicate_keys(pd.Series(["A2", "A1", "A2", None, None]))
    ([], ['A2'])
    """
    present = values.dropna()
    if len(present) < 2:
        return []
    if strictly_increasing(_large_strings(_arrow(present.astype("str")))):
        return []
    counts = present.value_counts()
    return counts.index[counts.to_numpy() > 1][:limit].tolist()


def key_array(values: pd.Series) -> pa.Array | pa.ChunkedArray:
    """Return the Arrow array of a key column, strings kept as strings."""
    array = _arrow(values)
    if pa.types.is_null(array.type):
        return pa.array([], type=pa.large_string()) if len(values) == 0 else array
    return array


def table(tables: dict[str, pd.DataFrame], name: str, columns: tuple[str, ...]) -> pd.DataFrame:
    """Return ``tables[name]``, or an empty frame with ``columns`` when it is absent or empty.

    Raises
    ------
    DataError
        When the table has rows but lacks a column the features need.
    """
    frame = tables.get(name)
    if frame is None or len(frame) == 0:
        return pd.DataFrame({column: pd.Series([], dtype=object) for column in columns})
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise DataError(
            f"table {name!r} needs columns {list(columns)}; missing {missing}; "
            "load it through the data contract (engine.contract) so every column is present"
        )
    return frame


def typed_frame(values: dict[str, Any], dtypes: dict[str, str]) -> pd.DataFrame:
    """A frame of the columns named in ``dtypes``, in that order, each cast to its dtype.

    ``values`` maps a column to a Series (any index; its positions are kept) or an array.
    """
    columns = {}
    for name, dtype in dtypes.items():
        value = values[name]
        if isinstance(value, pd.Series):
            # one output dtype whatever the input held (object, str, categorical)
            columns[name] = value.reset_index(drop=True).astype(dtype)
        else:
            columns[name] = pd.Series(np.asarray(value).astype(dtype, copy=False))
    return pd.DataFrame(columns)

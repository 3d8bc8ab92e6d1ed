"""Reading SQLite cells that do not fit their column: one bad cell costs its row, not its table.

SQLite lets any cell hold any type. The fast path (ADBC) types each column from its first rows;
a later cell of another storage class makes the driver widen the *whole column* (a BLOB turns
every amount into bytes such as ``b'2.939427e+05'``, rounded to seven digits; a text turns every
number into text), and text that is not valid UTF-8 is handed over undecoded (pandas then
raises ``UnicodeDecodeError`` on the first access to it). Validation would then quarantine the
whole table, or the run would crash later.

So a fast read is checked column by column (:func:`suspect_columns`: the Arrow type differs
from the declared type's, or the text is not valid UTF-8), which costs one type comparison and
one UTF-8 validation per text column on clean data. Only a suspect column is read again, split
by storage class (:func:`split_select`, :func:`assemble_split`): integers and reals come back
exactly, valid text as ``str``, and a BLOB or undecodable text as ``bytes``, which validation
rejects as ``wrong_type`` for that row alone. :func:`decode_rows` does the same for rows read
through the Python ``sqlite3`` driver.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from engine._log import get_logger

__all__ = ["suspect_columns", "split_select", "assemble_split", "decode_rows", "text_or_bytes", "SPLIT_PROBE_KIND"]

#: Storage-class codes of :func:`split_select` (the probe row has ``SPLIT_PROBE_KIND``).
_NULL, _INTEGER, _REAL, _TEXT, _BLOB = 0, 1, 2, 3, 4
SPLIT_PROBE_KIND = -1

_log = get_logger("storage")

#: Text cells decoded per Arrow cast when reassembling (a failing block is decoded cell by cell).
_DECODE_BLOCK = 65_536


def _expected_type(declared: str):
    """The Arrow type ADBC gives a clean column of SQL type ``declared`` (None: anything goes)."""
    import pyarrow as pa

    declared = declared.upper()
    if declared in ("TEXT", "DATE", "TIMESTAMP"):
        return pa.large_string()
    if declared in ("BIGINT", "INTEGER", "BOOLEAN"):
        return pa.int64()
    if declared in ("REAL", "DOUBLE PRECISION"):
        return pa.float64()
    return None


def _valid_utf8(column) -> bool:
    import pyarrow as pa

    for chunk in column.chunks:
        try:
            chunk.validate(full=True)
        except pa.ArrowInvalid:
            return False
    return True


def suspect_columns(table, declared: Mapping[str, str]) -> list[str]:
    """Columns of an Arrow ``table`` read by ADBC that must be read again cell by cell.

    A column is suspect when its Arrow type is not the one its declared SQL type gives on clean
    data (the driver widened it because of a cell of another storage class), or when it holds
    text that is not valid UTF-8. A column of all nulls (type ``null``) is never suspect.

    Parameters
    ----------
    table : pyarrow.Table
        Text columns as ``large_string`` (see ``engine.storage._database._read_columns``).
    declared : mapping of str to str
        Column name -> declared SQL type (``pragma_table_info``); absent or unknown types only
        get the UTF-8 check.
    """
    import pyarrow as pa

    suspects = []
    for name in table.column_names:
        column = table[name]
        expected = _expected_type(str(declared.get(name) or ""))
        if pa.types.is_null(column.type):
            continue
        if expected is not None and column.type != expected:
            suspects.append(name)
        elif pa.types.is_binary(column.type) or pa.types.is_large_binary(column.type):
            suspects.append(name)
        elif pa.types.is_large_string(column.type) or pa.types.is_string(column.type):
            if not _valid_utf8(column):
                suspects.append(name)
    if suspects:
        _log.info(
            "re-reading column(s) %s cell by cell: they hold cells of another type than declared, or text "
            "that is not UTF-8 (validation rejects those rows alone)", ", ".join(suspects),
        )
    return suspects


def split_select(quoted_column: str, quoted_table: str) -> str:
    """SQL reading one column split by storage class, every output column of a single type.

    Columns: ``kind`` (0 null, 1 integer, 2 real, 3 text, 4 blob), ``i`` (the integer), ``r``
    (the real), ``b`` (text or blob as bytes, never decoded by the driver). A typed probe row
    (``kind`` = -1) comes first so that the driver types every column even when it starts with
    nulls; :func:`assemble_split` drops it.
    """
    c = quoted_column
    return (
        f"SELECT {SPLIT_PROBE_KIND} AS kind, 0 AS i, 0.5 AS r, X'' AS b UNION ALL "
        f"SELECT CASE typeof({c}) WHEN 'null' THEN {_NULL} WHEN 'integer' THEN {_INTEGER} "
        f"WHEN 'real' THEN {_REAL} WHEN 'text' THEN {_TEXT} ELSE {_BLOB} END, "
        f"CASE WHEN typeof({c}) = 'integer' THEN {c} END, "
        f"CASE WHEN typeof({c}) = 'real' THEN {c} END, "
        f"CASE WHEN typeof({c}) IN ('text', 'blob') THEN CAST({c} AS BLOB) END "
        f"FROM {quoted_table}"
    )


def _decode(raw: Sequence[bytes]) -> list[Any]:
    """Bytes -> str where they are UTF-8, else the bytes themselves (rejected by validation)."""
    out: list[Any] = []
    for value in raw:
        try:
            out.append(value.decode("utf-8"))
        except UnicodeDecodeError:
            out.append(value)
    return out


def _decode_texts(binary) -> np.ndarray:
    """An Arrow binary array of text cells -> object array of str (bytes where not UTF-8)."""
    import pyarrow as pa

    out = np.empty(len(binary), dtype=object)
    for start in range(0, len(binary), _DECODE_BLOCK):
        block = binary.slice(start, _DECODE_BLOCK)
        try:
            values = block.cast(pa.large_string()).to_numpy(zero_copy_only=False)
        except pa.ArrowInvalid:  # some cell is not UTF-8: decode this block cell by cell
            values = np.array(_decode(block.to_pylist()) + [None], dtype=object)[:-1]
        out[start : start + len(block)] = values
    return out


def assemble_split(table) -> pd.Series:
    """The column read by :func:`split_select` (probe row included) as one pandas Series.

    All text and valid UTF-8 -> pandas ``str``; otherwise an ``object`` Series of ``int``,
    ``float``, ``str`` and ``bytes`` (a BLOB, or text that is not UTF-8) with None for nulls,
    which :func:`engine.validate.coerce` judges cell by cell.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    table = table.combine_chunks()
    kinds = table["kind"].to_numpy()
    if len(kinds) == 0 or kinds[0] != SPLIT_PROBE_KIND or (kinds[1:] == SPLIT_PROBE_KIND).any():
        raise ValueError("the typed probe row of a split column read is not first")
    table = table.slice(1)
    kinds = kinds[1:]
    n = len(kinds)
    out = np.full(n, None, dtype=object)
    for kind, column in ((_INTEGER, "i"), (_REAL, "r")):
        rows = np.flatnonzero(kinds == kind)
        if len(rows):
            out[rows] = pc.take(table[column], pa.array(rows)).to_pylist()
    raw = table["b"].chunk(0) if table["b"].num_chunks else pa.array([], pa.binary())
    texts = np.flatnonzero(kinds == _TEXT)
    if len(texts):
        out[texts] = _decode_texts(pc.take(raw, pa.array(texts)))
    blobs = np.flatnonzero(kinds == _BLOB)
    if len(blobs):
        out[blobs] = pc.take(raw, pa.array(blobs)).to_pylist()
    if len(texts) + int((kinds == _NULL).sum()) == n and not any(isinstance(v, bytes) for v in out[texts]):
        return pd.Series(out, dtype="str")
    return pd.Series(out, dtype=object)


def decode_rows(rows: Sequence[tuple], columns: Sequence[str]) -> pd.DataFrame:
    """Rows of ``(typeof, value)`` pairs from the Python ``sqlite3`` driver -> a DataFrame.

    For a read whose text the driver could not decode: each column was selected as
    ``typeof(c)`` and ``CASE WHEN typeof(c) = 'text' THEN CAST(c AS BLOB) ELSE c END``; text
    is decoded here (bytes where it is not UTF-8), everything else is kept as the driver gave it.
    """
    data: dict[str, list] = {}
    for k, name in enumerate(columns):
        values = []
        for row in rows:
            kind, value = row[2 * k], row[2 * k + 1]
            if kind == "text":
                value = bytes(value)
                try:
                    value = value.decode("utf-8")
                except UnicodeDecodeError:
                    pass
            values.append(value)
        data[name] = values
    return pd.DataFrame(data, columns=list(columns), dtype=object) if rows else pd.DataFrame(columns=list(columns))


def text_or_bytes(raw: bytes) -> str | bytes:
    r"""A ``sqlite3`` ``text_factory``: the text decoded as UTF-8, or its bytes where it is not UTF-8.

    The same rule as :func:`decode_rows`, for a read streamed row by row through the driver
    (``Database.iter_table``), where the table cannot be read a second time.

    Examples
    --------
    >>> text_or_bytes("Zürich".encode())
    'Zürich'
    >>> text_or_bytes(b"Z\xfcrich")
    b'Z\xfcrich'
    """
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw

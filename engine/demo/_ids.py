"""Fast construction of identifier and text columns (millions of rows without Python loops).

Ids are fixed width (``A0001234``), so a column of them is one contiguous byte buffer handed to
Arrow. Digits for ``0..n-1`` are laid out like an odometer (repeat and tile, no division), and ids
for arbitrary numbers are gathered from that table - ten million ids take well under a second.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

__all__ = ["format_ids", "id_width", "to_str_series", "fixed_width_series"]

_STR = pd.StringDtype("pyarrow", na_value=np.nan)  # pandas 3's default ``str`` dtype


def id_width(count: int, minimum: int) -> int:
    """Digits needed to number ``0..count-1``, at least ``minimum``.

    Examples
    --------
    >>> id_width(20_000, 7), id_width(123_456_789, 7)
    (7, 9)
    """
    return max(minimum, len(str(max(int(count) - 1, 0))))


def _odometer(count: int, width: int) -> np.ndarray:
    """ASCII digits of ``0..count-1``, zero-padded to ``width``: shape ``(count, width)``."""
    columns = np.empty((width, count), dtype=np.uint8)
    for k in range(width):
        block = 10**k
        distinct = min(10, -(-count // block)) if count else 1
        pattern = np.repeat(np.arange(48, 48 + distinct, dtype=np.uint8), block)
        if pattern.size >= count:
            columns[width - 1 - k] = pattern[:count]
        else:
            columns[width - 1 - k] = np.tile(pattern, -(-count // pattern.size))[:count]
    return np.ascontiguousarray(columns.T)


def fixed_width_series(rows: np.ndarray, valid: np.ndarray | None = None) -> pd.Series:
    """Wrap a ``(n, width)`` uint8 array of ASCII rows as a ``str`` Series (null where not ``valid``)."""
    n, width = rows.shape
    offsets = np.arange(0, n * width + 1, width, dtype=np.int64)  # large_string: what pandas keeps
    mask_buffer = None
    null_count = 0
    if valid is not None:
        valid = np.asarray(valid, dtype=bool)
        null_count = int(n - np.count_nonzero(valid))
        if null_count:
            mask_buffer = pa.py_buffer(np.packbits(valid, bitorder="little"))
    arrow = pa.Array.from_buffers(
        pa.large_string(),
        n,
        [mask_buffer, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(rows).reshape(-1))],
        null_count=null_count,
    )
    return pd.Series(pd.array(arrow, dtype=_STR))


def format_ids(
    prefix: str,
    numbers: np.ndarray | None = None,
    *,
    width: int,
    count: int | None = None,
    valid: np.ndarray | None = None,
) -> pd.Series:
    """Return ``prefix`` + zero-padded number for each number, as a ``str`` Series.

    Parameters
    ----------
    prefix : str
        ASCII prefix, e.g. ``"A"``.
    numbers : array of int, optional
        Non-negative numbers; when omitted, ``0..count-1``.
    width : int
        Digits after the prefix.
    count : int, optional
        Row count when ``numbers`` is omitted.
    valid : array of bool, optional
        Rows to keep; the others become null (their number is ignored).

    Examples
    --------
    >>> format_ids("A", np.array([7, 1234]), width=7).tolist()
    ['A0000007', 'A0001234']
    >>> format_ids("C", width=2, count=3, valid=np.array([True, False, True])).tolist()
    ['C00', nan, 'C02']
    """
    head = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    if numbers is None:
        if count is None:
            raise ValueError("format_ids needs numbers or count")
        digits = _odometer(count, width)
    else:
        numbers = np.asarray(numbers, dtype=np.int64)
        if valid is not None:
            numbers = np.where(valid, numbers, 0)
        top = int(numbers.max()) + 1 if numbers.size else 1
        if top > 10**width:
            raise ValueError(f"number {top - 1} does not fit in {width} digits")
        table = _odometer(top, width)
        digits = np.take(table.view(np.dtype((np.void, width))).ravel(), numbers).view(np.uint8).reshape(-1, width)
    rows = np.empty((digits.shape[0], head.size + width), dtype=np.uint8)
    rows[:, : head.size] = head
    rows[:, head.size :] = digits
    return fixed_width_series(rows, valid)


def to_str_series(values) -> pd.Series:
    """Turn an array of Python/numpy strings (``None`` for null) into a ``str`` Series."""
    return pd.Series(pd.array(pa.array(np.asarray(values, dtype=object), type=pa.large_string()), dtype=_STR))

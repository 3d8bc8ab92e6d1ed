"""The one strict reader of ISO dates in text, used by validation and by the feature builder.

The contract's date is ``YYYY-MM-DD``; a datetime ``YYYY-MM-DD[T ]HH:MM[:SS[.fraction]]`` with
an optional ``Z`` or ``+HH:MM`` offset is also read, and keeps its wall-clock calendar date (an
offset is dropped, not converted). Nothing else is a date: ``2023/10/13``, ``20231013`` (ISO's
basic format), ``2023-10`` (a month), ``2023-1-5`` and ``2023-02-30`` are all refused, where
pandas' ISO 8601 parser would accept several of them and silently pick a day.

The calendar part is Arrow's own ``string -> date32`` cast, which is exactly that strict. The
whole column is cast at once; only when that fails (some cell is not a plain date) is the column
taken apart: surrounding blanks trimmed, the ten-character date and the time part checked
separately (the time part by a regular expression, the date by the same cast, bisecting to the
cells the cast refuses).
"""

from __future__ import annotations

import datetime as _dt
import re
from typing import TYPE_CHECKING

import numpy as np

from engine._arguments import check_type

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["parse_iso_days", "date_hint", "TIME_SUFFIX"]

#: What may follow ``YYYY-MM-DD`` in a datetime (the time and offset are checked, then dropped).
TIME_SUFFIX = r"^[T ](?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d{1,9})?)?(?:[zZ]|[+-](?:[01]\d|2[0-3])(?::?[0-5]\d)?)?$"


_DAYS_IN_MONTH = np.array([0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)


def _plain(text) -> tuple[np.ndarray, object]:
    """Cells shaped ``DDDD-DD-DD`` (ASCII digits) as a numpy mask, and the text without dashes."""
    import pyarrow.compute as pc

    digits = pc.replace_substring(text, "-", "")
    shaped = pc.and_(
        pc.and_(pc.equal(pc.binary_length(text), 10), pc.equal(pc.binary_length(digits), 8)),
        pc.and_(
            pc.and_(pc.equal(pc.utf8_slice_codeunits(text, 4, 5), "-"), pc.equal(pc.utf8_slice_codeunits(text, 7, 8), "-")),
            pc.ascii_is_decimal(digits),
        ),
    )
    return shaped.fill_null(False).to_numpy(zero_copy_only=False).astype(bool, copy=False), digits


def _cast_days(head, digits) -> tuple[np.ndarray, np.ndarray]:
    """Arrow's date32 cast of cells shaped ``DDDD-DD-DD``; impossible days (Feb 30) are not ok.

    ``digits`` holds the same cells without their dashes. The cast refuses a whole array for
    one impossible day, so those are found first from the digits (``YYYYMMDD`` as one integer)
    and left out of the cast.
    """
    import pyarrow as pa

    number = digits.cast(pa.int64()).to_numpy(zero_copy_only=False)
    year, month, day = number // 10_000, number // 100 % 100, number % 100
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_ok = (month >= 1) & (month <= 12)
    last = _DAYS_IN_MONTH[np.where(month_ok, month, 0)] - ((month == 2) & ~leap)
    ok = month_ok & (day >= 1) & (day <= last) & (year >= 1)
    days = np.zeros(len(head), dtype=np.int64)
    if ok.any():
        cast = (head if ok.all() else head.filter(pa.array(ok))).cast(pa.date32()).cast(pa.int32())
        days[ok] = cast.to_numpy(zero_copy_only=False)
    return days, ok


def _take(array, rows: np.ndarray, n: int):
    import pyarrow as pa

    return array if len(rows) == n else array.take(pa.array(rows))


def _parse_chunk(chunk) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(chunk)
    null = chunk.is_null().to_numpy(zero_copy_only=False).astype(bool, copy=False)
    try:  # the common case: every cell a plain date (or null)
        days = chunk.cast(pa.date32()).cast(pa.int32()).fill_null(0).to_numpy(zero_copy_only=False)
        return days.astype(np.int64), ~null, null
    except pa.ArrowInvalid:
        pass
    days = np.zeros(n, dtype=np.int64)
    ok = np.zeros(n, dtype=bool)
    blank = null.copy()
    plain, digits = _plain(chunk)
    rows = np.flatnonzero(plain)
    if len(rows):
        days[rows], ok[rows] = _cast_days(_take(chunk, rows, n), _take(digits, rows, n))
    rest = np.flatnonzero(~plain & ~null)  # blanks, datetimes and everything that is no date
    if len(rest):
        text = pc.utf8_trim_whitespace(_take(chunk, rest, n))
        blank[rest] = pc.equal(pc.binary_length(text), 0).fill_null(True).to_numpy(zero_copy_only=False)
        head = pc.utf8_slice_codeunits(text, 0, 10)
        tail = pc.utf8_slice_codeunits(text, 10)
        timed = pc.or_(pc.equal(pc.binary_length(tail), 0), pc.match_substring_regex(tail, TIME_SUFFIX))
        shaped, digits = _plain(head)
        inner = np.flatnonzero(shaped & timed.fill_null(False).to_numpy(zero_copy_only=False).astype(bool))
        if len(inner):
            days[rest[inner]], ok[rest[inner]] = _cast_days(_take(head, inner, len(rest)), _take(digits, inner, len(rest)))
    return days, ok, blank


def parse_iso_days(array: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Day numbers (days since 1970-01-01) of ISO dates in Arrow text; never raises on values.

    Parameters
    ----------
    array : pyarrow.Array or pyarrow.ChunkedArray
        Text (``string`` or ``large_string``).

    Returns
    -------
    days : numpy.ndarray of int64
        The day number where ``ok``, 0 elsewhere.
    ok : numpy.ndarray of bool
        The cell is a date (see the module docstring for the accepted forms).
    blank : numpy.ndarray of bool
        The cell is null, empty or only blanks (neither ok nor a wrong date).

    Examples
    --------
    >>> import pyarrow as pa
    >>> days, ok, blank = parse_iso_days(pa.array(["1970-01-02", "1970/01/02", "1970-01", " ", "1970-01-03T09:30Z"]))
    >>> days[ok].tolist(), ok.tolist(), blank.tolist()
    ([1, 2], [True, False, False, False, True], [False, False, False, True, False])
    """
    import pyarrow as pa

    check_type("parse_iso_days", "array", array, (pa.Array, pa.ChunkedArray),
               "pass the text column as Arrow, e.g. pa.array(['2025-01-31'])", described="a pyarrow string array")
    chunks = array.chunks if hasattr(array, "chunks") else [array]
    parts = [_parse_chunk(chunk) for chunk in chunks]
    if not parts:
        empty = np.zeros(0, dtype=bool)
        return np.zeros(0, dtype=np.int64), empty, empty
    return tuple(np.concatenate([part[k] for part in parts]) for k in range(3))  # type: ignore[return-value]


_SLASHED = re.compile(r"^\s*(\d{4})[/.](\d{1,2})[/.](\d{1,2})\s*$")
_BASIC = re.compile(r"^\s*(\d{4})(\d{2})(\d{2})\s*$")
_MONTH = re.compile(r"^\s*(\d{4})-(\d{1,2})\s*$")
_UNPADDED = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})\s*$")


def date_hint(value: object) -> str:
    """A short fix for a text cell that is not an ISO date ("" when none is obvious).

    Examples
    --------
    >>> date_hint("2023/10/13")
    'write it as 2023-10-13'
    >>> date_hint("2023-10")
    'a month is not a date: write the day too, e.g. 2023-10-01'
    """
    if not isinstance(value, str):
        return ""
    for pattern in (_SLASHED, _BASIC, _UNPADDED):
        found = pattern.match(value)
        if found:
            year, month, day = (int(part) for part in found.groups())
            try:
                _dt.date(year, month, day)
            except ValueError:
                return f"there is no day {day} in month {month} of {year}" if 1 <= month <= 12 else ""
            return f"write it as {year:04d}-{month:02d}-{day:02d}"
    found = _MONTH.match(value)
    if found:
        year_text, month_text = found.groups()
        return f"a month is not a date: write the day too, e.g. {year_text}-{int(month_text):02d}-01"
    return ""

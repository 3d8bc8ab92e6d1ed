"""Vectorized coercion of one input column to its logical contract type.

Every column goes through :func:`coerce`, which never raises on bad *values*: it returns the
coerced values (null where the input was null or unreadable) and boolean masks saying which
cells were null, unreadable (``wrong_type``), infinite (``non_finite``) or beyond the range the
type can hold (also ``wrong_type``, with a clearer message).

Typed input (``str``, ``int64``, ``float64``, ``bool``, ``datetime64``) takes a pure
numpy/pandas path. An ``object`` column that mixes Python types (hostile data, a loader that gave
up) is split by element type: its strings still go through the vectorized string parser and
only the non-string minority is converted element by element.
"""

from __future__ import annotations

import datetime as _dt
import decimal
from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine._errors import ConfigError
from engine.validate._dates import parse_iso_days

__all__ = ["Coerced", "coerce", "EXPECTED", "DATE_MIN", "DATE_MAX"]

#: How each logical type is described in a ``wrong_type`` message ("expected ...").
EXPECTED: dict[str, str] = {
    "string": "text",
    "enum": "text (one of the allowed values)",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "a boolean (true/false, 1/0, yes/no)",
    "date": "an ISO date YYYY-MM-DD (or a datetime)",
}

#: Dates kam can hold (``datetime64[ns]``), whole days.
DATE_MIN = pd.Timestamp("1677-09-22")
DATE_MAX = pd.Timestamp("2262-04-11")

_INT64_LIMIT = 2.0**63  # floats at or beyond this do not fit in int64
_TRUE = frozenset({"true", "t", "yes", "y", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "0"})

# element kinds of an object column
_NULL, _STR, _BOOL, _INT, _FLOAT, _DATE, _DECIMAL, _OTHER = range(8)


@dataclass
class Coerced:
    """The result of coercing one column (all arrays have the column's length).

    Attributes
    ----------
    values : pandas.Series
        Coerced values in the logical dtype (``Int64``, ``float64``, ``boolean``,
        ``datetime64[ns]``, ``str``), with a ``RangeIndex``; null wherever a mask below is set.
    null : numpy.ndarray of bool
        The input was null: None, NaN, NaT, ``pd.NA``, a blank string, or ``"nan"``/``"NaT"``
        in a numeric/date column.
    bad : numpy.ndarray of bool
        Not null but unreadable as the type (``wrong_type``).
    too_large : numpy.ndarray of bool
        Readable but beyond what the type holds (``wrong_type``, with its own message).
    nonfinite : numpy.ndarray of bool
        +/-inf in a numeric column (``non_finite``).
    late : numpy.ndarray of bool
        The part of ``too_large`` that is a date after the last one kam can hold (so it is
        certainly in the future).
    """

    values: pd.Series
    null: np.ndarray
    bad: np.ndarray
    too_large: np.ndarray
    nonfinite: np.ndarray
    late: np.ndarray

    @property
    def failed(self) -> np.ndarray:
        """Cells that are neither null nor usable."""
        return self.bad | self.too_large | self.nonfinite


class _Parts:
    """Full-length result arrays that typed sub-paths fill in by position."""

    def __init__(self, ctype: str, n: int):
        self.ctype = ctype
        if ctype == "integer":
            self.values = np.zeros(n, dtype=np.int64)
        elif ctype == "number":
            self.values = np.full(n, np.nan, dtype=np.float64)
        elif ctype == "boolean":
            self.values = np.zeros(n, dtype=bool)
        elif ctype == "date":
            self.values = np.full(n, np.datetime64("NaT", "ns"), dtype="datetime64[ns]")
        else:
            self.values = np.full(n, None, dtype=object)
        self.null = np.zeros(n, dtype=bool)
        self.bad = np.zeros(n, dtype=bool)
        self.too_large = np.zeros(n, dtype=bool)
        self.nonfinite = np.zeros(n, dtype=bool)
        self.late = np.zeros(n, dtype=bool)

    def fill(self, pos, values, null=None, bad=None, too_large=None, nonfinite=None) -> None:
        self.values[pos] = values
        for name, mask in (("null", null), ("bad", bad), ("too_large", too_large), ("nonfinite", nonfinite)):
            if mask is not None:
                getattr(self, name)[pos] = mask

    def result(self) -> Coerced:
        """The coerced column; the parts hand their arrays over (no copy: call it once, last)."""
        unusable = self.null | self.bad | self.too_large | self.nonfinite
        if self.ctype == "integer":
            values = pd.Series(pd.arrays.IntegerArray(self.values, unusable))
        elif self.ctype == "number":
            self.values[unusable] = np.nan
            values = pd.Series(self.values, copy=False)
        elif self.ctype == "boolean":
            values = pd.Series(pd.arrays.BooleanArray(self.values, unusable))
        elif self.ctype == "date":
            self.values[unusable] = np.datetime64("NaT", "ns")
            values = pd.Series(self.values, copy=False)
        else:
            self.values[unusable] = np.array(None, dtype=object)  # (None, typed for numpy)
            values = pd.Series(self.values, dtype="str")
        return Coerced(values, self.null, self.bad, self.too_large, self.nonfinite, self.late & self.too_large)


# --- from text ---------------------------------------------------------------------------------
def _to_str_series(values: np.ndarray) -> tuple[pd.Series, np.ndarray]:
    """Python strings -> ``str`` Series; strings that are not valid UTF-8 become bad (null)."""
    try:
        return pd.Series(values, dtype="str"), np.zeros(len(values), dtype=bool)
    except UnicodeEncodeError:
        # rare: lone surrogates cannot be stored anywhere downstream, so they are unreadable
        bad = np.fromiter((isinstance(v, str) and not _encodes(v) for v in values), dtype=bool, count=len(values))
        clean = values.copy()
        clean[bad] = None
        return pd.Series(clean, dtype="str"), bad


def _encodes(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _from_text(parts: _Parts, pos: np.ndarray, text: pd.Series) -> None:
    """Parse a ``str`` Series (may hold NA) into ``parts`` at positions ``pos``."""
    ctype = parts.ctype
    text = text.reset_index(drop=True)
    isna = text.isna().to_numpy()
    stripped = text.str.strip()
    blank = isna | (stripped == "").fillna(True).to_numpy(dtype=bool)
    n = len(text)
    if ctype in ("string", "enum"):
        parts.fill(pos, text.to_numpy(dtype=object, na_value=None), null=blank)
        return
    lowered = stripped.str.lower()
    if ctype == "boolean":
        is_true = lowered.isin(_TRUE).to_numpy(dtype=bool)
        is_false = lowered.isin(_FALSE).to_numpy(dtype=bool)
        parts.fill(pos, is_true, null=blank, bad=~blank & ~is_true & ~is_false)
        return
    if ctype == "date":
        _dates_from_text(parts, pos, stripped, blank | (lowered == "nat").fillna(False).to_numpy(dtype=bool))
        return
    # integer / number
    nan_literal = (lowered == "nan").fillna(False).to_numpy(dtype=bool)
    null = blank | nan_literal
    numbers = pd.to_numeric(stripped.where(~null, None), errors="coerce")
    floats = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
    unreadable = np.isnan(floats) & ~null
    nonfinite = np.isinf(floats)
    if ctype == "number":
        parts.fill(pos, floats, null=null, bad=unreadable, nonfinite=nonfinite)
        return
    ints = np.zeros(n, dtype=np.int64)
    too_large = np.zeros(n, dtype=bool)
    fraction = np.zeros(n, dtype=bool)
    exact = stripped.str.fullmatch(r"[+-]?[0-9]+").fillna(False).to_numpy(dtype=bool)
    # digit strings parse exactly (a float would round beyond 2**53)
    short = exact & (stripped.str.len().fillna(0).to_numpy() <= 18)
    if short.any():
        ints[short] = stripped[short].astype(np.int64).to_numpy()
    for i in np.flatnonzero(exact & ~short):  # 19+ digits: rare, checked exactly
        value = int(stripped.iat[i])
        if -(2**63) <= value < 2**63:
            ints[i] = value
        else:
            too_large[i] = True
    rest = ~exact & ~null & ~unreadable & ~nonfinite
    fraction[rest] = floats[rest] != np.floor(floats[rest])
    too_large[rest & ~fraction] = np.abs(floats[rest & ~fraction]) >= _INT64_LIMIT
    fine = rest & ~fraction & ~too_large
    ints[fine] = floats[fine].astype(np.int64)
    unreadable = unreadable & ~exact
    nonfinite = nonfinite & ~exact
    parts.fill(pos, ints, null=null, bad=unreadable | fraction, too_large=too_large, nonfinite=nonfinite)


def _dates_from_text(parts: _Parts, pos: np.ndarray, stripped: pd.Series, null: np.ndarray) -> None:
    import pyarrow as pa

    text = pa.array(stripped.where(~null, None).to_numpy(dtype=object, na_value=None), type=pa.large_string())
    _fill_iso_days(parts, pos, text, null)


def _fill_iso_days(parts: _Parts, pos: np.ndarray, text, null: np.ndarray | None = None) -> None:
    """Parse Arrow text with the strict ISO reader (:func:`parse_iso_days`) into ``parts``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    days, ok, blank = parse_iso_days(text)
    null = blank if null is None else (null | blank)
    unread = np.flatnonzero(~ok & ~null)
    if len(unread):  # the literal "NaT" (how pandas writes a missing date) is a null, not a wrong date
        words = pc.utf8_lower(pc.utf8_trim_whitespace(pc.take(text, pa.array(unread))))
        null[unread[pc.equal(words, "nat").fill_null(False).to_numpy(zero_copy_only=False)]] = True
    late = ok & (days > _DAY_MAX)
    too_large = late | (ok & (days < _DAY_MIN))
    usable = ok & ~too_large
    nat = np.datetime64("NaT", "ns").astype(np.int64)
    out = np.where(usable, days * 86_400_000_000_000, nat).view("datetime64[ns]")
    parts.late[pos] = late
    parts.fill(pos, out, null=null, bad=~ok & ~null, too_large=too_large)


def _dates_from_datetimes(parts: _Parts, pos: np.ndarray, parsed: pd.Series, null: np.ndarray) -> None:
    """``parsed`` is datetime64 of any unit/zone with NaT where unreadable (or null)."""
    parsed = parsed.reset_index(drop=True)
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        parsed = parsed.dt.tz_localize(None)
    nat = parsed.isna().to_numpy()
    unreadable = nat & ~null
    late = (~nat & (parsed > DATE_MAX).fillna(False)).to_numpy(dtype=bool)
    too_large = late | (~nat & (parsed < DATE_MIN).fillna(False)).to_numpy(dtype=bool)
    parts.late[pos] = late
    usable = ~nat & ~too_large
    out = np.full(len(parsed), np.datetime64("NaT", "ns"), dtype="datetime64[ns]")
    if usable.any():
        out[usable] = parsed[usable].dt.normalize().to_numpy().astype("datetime64[ns]")
    parts.fill(pos, out, null=null, bad=unreadable, too_large=too_large)


# --- from typed arrays -------------------------------------------------------------------------
def _from_ints(parts: _Parts, pos: np.ndarray, ints: np.ndarray) -> None:
    ctype = parts.ctype
    if ctype == "integer":
        parts.fill(pos, ints)
    elif ctype == "number":
        parts.fill(pos, ints.astype(np.float64))
    elif ctype == "boolean":
        parts.fill(pos, ints == 1, bad=(ints != 0) & (ints != 1))
    elif ctype in ("string", "enum"):
        parts.fill(pos, ints.astype(str).astype(object))
    else:  # a bare number is not a date (epoch guessing hides errors)
        parts.fill(pos, np.datetime64("NaT", "ns"), bad=np.ones(len(pos), dtype=bool))


def _from_floats(parts: _Parts, pos: np.ndarray, floats: np.ndarray) -> None:
    ctype = parts.ctype
    null = np.isnan(floats)
    nonfinite = np.isinf(floats)
    finite = ~null & ~nonfinite
    if ctype == "number":
        parts.fill(pos, floats, null=null, nonfinite=nonfinite)
        return
    if ctype == "date":
        parts.fill(pos, np.datetime64("NaT", "ns"), null=null, bad=~null)
        return
    whole = np.zeros(len(floats), dtype=bool)
    whole[finite] = floats[finite] == np.floor(floats[finite])
    if ctype == "boolean":
        parts.fill(pos, floats == 1.0, null=null, bad=~null & (floats != 0.0) & (floats != 1.0))
        return
    too_large = whole & (np.abs(np.where(whole, floats, 0.0)) >= _INT64_LIMIT)
    usable = whole & ~too_large
    ints = np.zeros(len(floats), dtype=np.int64)
    ints[usable] = floats[usable].astype(np.int64)
    if ctype == "integer":
        parts.fill(pos, ints, null=null, bad=finite & ~whole, too_large=too_large, nonfinite=nonfinite)
    else:  # string/enum: an id read as 123.0 because of a null elsewhere in the column
        text = np.full(len(floats), None, dtype=object)
        text[usable] = ints[usable].astype(str).astype(object)
        parts.fill(pos, text, null=null, bad=~null & ~usable)


def _from_bools(parts: _Parts, pos: np.ndarray, bools: np.ndarray) -> None:
    if parts.ctype == "boolean":
        parts.fill(pos, bools)
    else:  # True is not 1 here: a boolean in a numeric column is a mix-up
        parts.fill(pos, parts.values[pos], bad=np.ones(len(pos), dtype=bool))


def _all_bad(parts: _Parts, pos: np.ndarray, null: np.ndarray) -> None:
    parts.fill(pos, parts.values[pos], null=null, bad=~null)


# --- object columns ----------------------------------------------------------------------------
def _kind_of(tp: type) -> int:
    if tp is type(None) or tp is type(pd.NA) or tp is type(pd.NaT):
        return _NULL
    if issubclass(tp, str):
        return _STR
    if issubclass(tp, (bool, np.bool_)):
        return _BOOL
    if issubclass(tp, (int, np.integer)):
        return _INT
    if issubclass(tp, (float, np.floating)):
        return _FLOAT
    if issubclass(tp, (_dt.date, np.datetime64)):
        return _DATE
    if issubclass(tp, decimal.Decimal):
        return _DECIMAL
    return _OTHER


def _from_objects(parts: _Parts, values: np.ndarray) -> None:
    types = pd.Series(values, dtype=object).map(type)
    kinds = types.map({tp: _kind_of(tp) for tp in pd.unique(types)}).to_numpy(dtype=np.int8)
    for kind in np.unique(kinds):
        pos = np.flatnonzero(kinds == kind)
        sub = values[pos]
        if kind == _NULL:
            parts.fill(pos, parts.values[pos], null=np.ones(len(pos), dtype=bool))
        elif kind == _STR:
            text, unencodable = _to_str_series(sub)
            _from_text(parts, pos, text)
            parts.bad[pos] |= unencodable
            parts.null[pos] &= ~unencodable
        elif kind == _BOOL:
            _from_bools(parts, pos, sub.astype(bool))
        elif kind == _INT:
            _ints_from_objects(parts, pos, sub)
        elif kind in (_FLOAT, _DECIMAL):
            _from_floats(parts, pos, _floats_from_objects(sub) if kind == _DECIMAL else sub.astype(np.float64))
            if kind == _DECIMAL and parts.ctype in ("string", "enum"):
                parts.bad[pos] |= ~parts.null[pos]
        elif kind == _DATE:
            if parts.ctype == "date":
                nat = np.array([_is_nat(v) for v in sub], dtype=bool)
                stamps = [_timestamp_or_none(v) for v in sub]
                out_of_range = np.array([stamp is None for stamp in stamps], dtype=bool) & ~nat
                parsed = pd.to_datetime(pd.Series(stamps, dtype=object), errors="coerce")
                _dates_from_datetimes(parts, pos, parsed, nat | out_of_range)
                parts.null[pos] = nat
                parts.too_large[pos] |= out_of_range
                parts.late[pos[out_of_range]] = [_after_max(v) for v in sub[out_of_range]]
            else:
                _all_bad(parts, pos, np.array([_is_nat(v) for v in sub], dtype=bool))
        else:
            _all_bad(parts, pos, np.zeros(len(pos), dtype=bool))


def _is_nat(value) -> bool:
    return isinstance(value, np.datetime64) and np.isnat(value)


def _after_max(value) -> bool:
    try:
        return pd.Timestamp(value).tz_localize(None) > DATE_MAX
    except (ValueError, OverflowError, TypeError):
        return getattr(value, "year", 0) > DATE_MAX.year


def _timestamp_or_none(value):
    """A date/datetime as a ``Timestamp``, or None when it cannot be held (out of range)."""
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, OverflowError):
        return None
    if stamp is pd.NaT:
        return None
    if stamp.tzinfo is not None:
        stamp = stamp.tz_localize(None)
    if stamp < DATE_MIN or stamp > DATE_MAX:
        return None
    return stamp


def _floats_from_objects(sub: np.ndarray) -> np.ndarray:
    out = np.empty(len(sub), dtype=np.float64)
    for i, value in enumerate(sub):
        try:
            out[i] = float(value)
        except (OverflowError, ValueError, decimal.InvalidOperation):
            out[i] = np.inf if value > 0 else -np.inf
    return out


def _ints_from_objects(parts: _Parts, pos: np.ndarray, sub: np.ndarray) -> None:
    try:
        ints = sub.astype(np.int64)
    except OverflowError:
        # a Python int beyond 64 bits: keep it out of the arrays and say it is too large
        fits = np.array([-(2**63) <= int(v) < 2**63 for v in sub], dtype=bool)
        _ints_from_objects(parts, pos[fits], sub[fits])
        if parts.ctype == "number":
            floats = _floats_from_objects(sub[~fits])
            parts.fill(pos[~fits], floats, nonfinite=np.isinf(floats))
        elif parts.ctype in ("string", "enum"):
            parts.fill(pos[~fits], np.array([str(v) for v in sub[~fits]], dtype=object))
        else:
            big = np.ones(int((~fits).sum()), dtype=bool)
            parts.fill(pos[~fits], parts.values[pos[~fits]], too_large=big if parts.ctype == "integer" else None,
                       bad=None if parts.ctype == "integer" else big)
        return
    _from_ints(parts, pos, ints)


# --- entry point -------------------------------------------------------------------------------
def coerce(series: pd.Series, ctype: str) -> Coerced:
    """Coerce ``series`` to the logical type ``ctype``; never raises on bad values.

    Parameters
    ----------
    series : pandas.Series
        One input column, any dtype.
    ctype : {"string", "enum", "integer", "number", "boolean", "date"}
        The contract type.

    Returns
    -------
    Coerced
        Values and the null / bad / too-large / non-finite masks.

    Examples
    --------
    >>> c = coerce(pd.Series(["1", "x", None, "2.0"]), "integer")
    >>> c.values.tolist(), c.bad.tolist(), c.null.tolist()
    ([1, <NA>, <NA>, 2], [False, True, False, False], [False, False, True, False])
    """
    if ctype not in EXPECTED:
        raise ConfigError(f"expected a contract column type, one of {sorted(EXPECTED)}; got {ctype!r}. "
                          "Fix: correct the column's type in the contract")
    n = len(series)
    parts = _Parts(ctype, n)
    everything = np.arange(n)
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        series = series.astype(object)
        dtype = series.dtype
    if n == 0:
        return parts.result()
    if pd.api.types.is_bool_dtype(dtype):
        null = series.isna().to_numpy()
        parts.fill(everything, series.to_numpy(dtype=bool, na_value=False), null=null)
        if ctype != "boolean":
            parts.bad |= ~null
    elif pd.api.types.is_integer_dtype(dtype):
        null = series.isna().to_numpy()
        if dtype.kind == "u" or str(dtype) in ("UInt64", "uint64"):
            big = (series > np.iinfo(np.int64).max).fillna(False).to_numpy(dtype=bool)
            ints = series.where(~big, 0).to_numpy(dtype=np.int64, na_value=0)
        else:
            big = np.zeros(n, dtype=bool)
            ints = series.to_numpy(dtype=np.int64, na_value=0)
        _from_ints(parts, everything, ints)
        parts.null |= null
        if ctype in ("integer", "number"):
            parts.too_large |= big
        else:
            parts.bad |= big
    elif pd.api.types.is_float_dtype(dtype):
        _from_floats(parts, everything, series.to_numpy(dtype=np.float64, na_value=np.nan))
    elif pd.api.types.is_datetime64_any_dtype(dtype):
        null = series.isna().to_numpy()
        if ctype == "date":
            _dates_from_datetimes(parts, everything, series, null)
        else:
            _all_bad(parts, everything, null)
    elif isinstance(dtype, pd.StringDtype) and ctype in ("string", "enum"):
        # the common case stays in Arrow memory: no round trip through Python objects
        series = series.reset_index(drop=True)
        null = _blank_text(series)
        values = series.mask(pd.Series(null)) if null.any() else series
        if values.dtype != "str":
            values = values.astype("str")
        zeros = np.zeros(n, dtype=bool)
        return Coerced(values, null, zeros, zeros, zeros, zeros)
    elif isinstance(dtype, pd.StringDtype) and ctype == "date" and dtype.storage == "pyarrow":
        _dates_from_arrow_text(parts, series.reset_index(drop=True))
    elif isinstance(dtype, pd.StringDtype) or (dtype == object and _all_text(series)):
        text = series
        if not isinstance(dtype, pd.StringDtype):
            raw = series.to_numpy(dtype=object)
            text, unencodable = _to_str_series(raw)
            _from_text(parts, everything, text)
            parts.bad |= unencodable
            parts.null &= ~unencodable
            return parts.result()
        _from_text(parts, everything, text)
    elif dtype == object:
        _from_objects(parts, series.to_numpy(dtype=object))
    else:  # timedelta, complex, period, interval...: no contract type reads these
        _all_bad(parts, everything, series.isna().to_numpy())
    return parts.result()


def _blank_text(series: pd.Series) -> np.ndarray:
    """Null or blank (empty or only whitespace) cells of a ``str`` Series, as a numpy mask."""
    if series.dtype.storage != "pyarrow":
        return (series.isna() | (series.str.strip() == "")).fillna(True).to_numpy(dtype=bool)
    import pyarrow.compute as pc

    # classify in place: stripping would build a second copy of every string
    arrow = series.array.__arrow_array__()
    blank = pc.or_kleene(pc.equal(pc.binary_length(arrow), 0), pc.utf8_is_space(arrow))
    return blank.fill_null(True).to_numpy(zero_copy_only=False).astype(bool, copy=False)


_DAY_MIN = int((DATE_MIN - pd.Timestamp("1970-01-01")).days)
_DAY_MAX = int((DATE_MAX - pd.Timestamp("1970-01-01")).days)


def _dates_from_arrow_text(parts: _Parts, series: pd.Series) -> None:
    """Dates from Arrow text, read in place by the strict ISO reader (no copy through Python)."""
    _fill_iso_days(parts, np.arange(len(series)), series.array.__arrow_array__())


def _all_text(series: pd.Series) -> bool:
    return pd.api.types.infer_dtype(series, skipna=True) in ("string", "empty")

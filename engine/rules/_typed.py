"""The typed-input layer both engines share: raw data -> typed values, nulls and data errors.

A rule set declares typed inputs. Before any condition is evaluated, each record's inputs are
checked against those types. A value of the wrong type (text in a number input, a number in a
date input, an enum value that is not declared, an infinity) makes that *record* a data error
with a reason code; it is never a silent no-match and never an exception in the middle of a
batch. Nulls (None, NaN, NaT, pd.NA) are nulls.

Two implementations live here, one per shape of data, and the differential test holds them to
the same answers: :func:`prepare_frame` (whole columns, for the vectorized engine) and
:func:`prepare_record` (one dict, for the durable_rules engine and ``decide``).

Numbers are float64 in both engines (integers are exact up to 2**53). Dates become the number
of whole days from the date to the as-of date, which is what ``days_since`` reads.
"""

from __future__ import annotations

import datetime as _dt
import decimal
import math
import numbers
from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine._asof import as_of_date  # the one as-of normaliser (re-exported for _ruleset, _check)
from engine._errors import ColumnMismatchError
from engine.rules._spec import InputSpec, RuleSetSpec

__all__ = ["Column", "Prepared", "prepare_frame", "prepare_record", "as_of_date"]


def _reason(code: str, inp: InputSpec, got: str) -> str:
    expects = {"number": "a number", "integer": "an integer", "string": "text",
               "enum": "one of " + ", ".join(inp.values or ()), "boolean": "true or false",
               "date": "a date"}[inp.type]
    return f"{code}: input {inp.name!r} expects {expects}, got {got}"


def _kind(value) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "a boolean"
    if isinstance(value, str):
        return "text"
    if isinstance(value, (numbers.Number, np.number)):
        return "a number"
    if isinstance(value, (_dt.date, np.datetime64)):
        return "a date"
    return f"a {type(value).__name__}"


def _is_null(value) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if isinstance(value, np.floating) and np.isnan(value):
        return True
    if isinstance(value, np.datetime64) and np.isnat(value):
        return True
    return False


def _iso_day(text: str) -> _dt.date | None:
    if len(text) != 10:
        return None
    try:
        return _dt.date.fromisoformat(text)
    except ValueError:
        return None


# --- one record -----------------------------------------------------------------------------
def prepare_record(spec: RuleSetSpec, record: dict, as_of: _dt.date) -> tuple[dict, str | None]:
    """Typed values of one record.

    Returns
    -------
    (values, reason)
        ``values`` maps input name -> float | str | bool | None (dates as days since the
        input's date up to ``as_of``). ``reason`` is None, or the data-error reason
        ``"code: text"`` of the first bad input in declaration order.

    Raises
    ------
    ColumnMismatchError
        An input is missing from the record (a caller bug, not a data error).
    """
    values: dict = {}
    first_error = None
    missing = [name for name in spec.inputs if name not in record]
    if missing:
        raise _missing_error(missing, list(record), "record")
    for name, inp in spec.inputs.items():
        value = record[name]
        typed, error = _typed_value(inp, value, as_of)
        values[name] = typed
        if error and first_error is None:
            first_error = error
    return values, first_error


def _typed_value(inp: InputSpec, value, as_of: _dt.date):
    if _is_null(value):
        return None, None
    t = inp.type
    if t in ("number", "integer"):
        if isinstance(value, decimal.Decimal):
            # a Decimal is a number like any other: the nearest double (as an int past 2^53)
            if value.is_nan():
                return None, None
            if value.is_infinite():
                return None, _reason("non_finite", inp, "an infinite number")
            number = float(value)
            if math.isinf(number):
                return None, _reason("non_finite", inp, "a number beyond the double range (about 1.8e308)")
        elif isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.number)):
            return None, _reason("wrong_type", inp, _kind(value))
        else:
            try:
                number = float(value)
            except OverflowError:  # an int of more than 308 digits
                return None, _reason("non_finite", inp, "a number beyond the double range (about 1.8e308)")
        if math.isnan(number):
            return None, None
        if math.isinf(number):
            return None, _reason("non_finite", inp, "an infinite number")
        if t == "integer" and not number.is_integer():
            return None, _reason("wrong_type", inp, "a number with a fraction")
        return number, None
    if t in ("string", "enum"):
        if not isinstance(value, str):
            return None, _reason("wrong_type", inp, _kind(value))
        if t == "enum":
            assert inp.values is not None  # load_spec refuses an enum input without values
            if value not in inp.values:
                return None, _reason("unknown_enum_value", inp, repr(value))
        return value, None
    if t == "boolean":
        if isinstance(value, (bool, np.bool_)):
            return bool(value), None
        return None, _reason("wrong_type", inp, _kind(value))
    # date
    day = None
    if isinstance(value, (pd.Timestamp, _dt.datetime)):
        day = value.date()
    elif isinstance(value, _dt.date):
        day = value
    elif isinstance(value, np.datetime64):
        day = pd.Timestamp(value).date()
    elif isinstance(value, str):
        day = _iso_day(value)
        if day is None:
            return None, _reason("wrong_type", inp, "text that is not a YYYY-MM-DD date")
    if day is None:
        return None, _reason("wrong_type", inp, _kind(value))
    return float((as_of - day).days), None


# --- whole columns --------------------------------------------------------------------------
@dataclass
class Column:
    """Typed column. ``kind`` is 'num' (float64 ``values``), 'bool' (bool ``values``) or
    'str' (integer ``codes`` into ``uniques``, -1 for null). ``null`` marks nulls and errors.

    A 'num' column's ``values`` are NaN exactly where ``null`` is set (data-error rows
    included), so a comparison other than ``!=`` is false there without consulting ``null``.
    An enum column's ``uniques`` are the declared values, in declaration order."""

    kind: str
    null: np.ndarray
    values: np.ndarray | None = None
    codes: np.ndarray | None = None
    uniques: np.ndarray | None = None


@dataclass
class Prepared:
    columns: dict[str, Column]
    error: np.ndarray  # bool: the row is a data error
    reason: np.ndarray  # object: reason text for error rows, None otherwise
    n: int


def _missing_error(missing, present, what):
    from engine._suggest import with_suggestion

    hints = [with_suggestion(name, present) for name in missing]
    return ColumnMismatchError(
        f"the {what} lacks input(s) the rule set declares: {', '.join(hints)}. Expected columns "
        "named like the rule file's inputs; rename the columns or the inputs"
    )


def prepare_frame(spec: RuleSetSpec, df: pd.DataFrame, as_of: _dt.date) -> Prepared:
    """Typed columns of a frame (see :func:`prepare_record` for the rules)."""
    missing = [name for name in spec.inputs if name not in df.columns]
    if missing:
        raise _missing_error(missing, list(df.columns), "frame")
    n = len(df)
    error = np.zeros(n, dtype=bool)
    reason = np.empty(n, dtype=object)  # numpy fills an object array with None
    columns = {}
    for name, inp in spec.inputs.items():
        col, bad, why = _typed_column(inp, df[name], as_of)
        if why is None:  # no data error in this column
            columns[name] = col
            continue
        new = bad & ~error
        if new.any():
            reason[new] = why[new] if isinstance(why, np.ndarray) else why
            error |= new
        columns[name] = col
    return Prepared(columns, error, reason, n)


def _object_fallback(inp, series, as_of):
    """Per-element path for object columns (mixed types are exactly the error case)."""
    n = len(series)
    vals = series.to_numpy(dtype=object)
    typed = np.empty(n, dtype=object)
    why = np.full(n, None, dtype=object)
    for i, v in enumerate(vals):
        typed[i], why[i] = _typed_value(inp, v, as_of)
    bad = np.array([w is not None for w in why], dtype=bool)
    null = np.array([t is None for t in typed], dtype=bool)
    if inp.type in ("number", "integer", "date"):
        values = np.array([np.nan if t is None else t for t in typed], dtype=np.float64)
        return Column("num", null, values=values), bad, why
    if inp.type == "boolean":
        values = np.array([bool(t) if t is not None else False for t in typed], dtype=bool)
        return Column("bool", null, values=values), bad, why
    codes, uniques = pd.factorize(pd.Series(typed, dtype=object), use_na_sentinel=True)
    return Column("str", null, codes=np.asarray(codes, dtype=np.int64), uniques=np.asarray(uniques, dtype=object)), bad, why


def _typed_column(inp: InputSpec, series: pd.Series, as_of: _dt.date):
    n = len(series)
    dtype = series.dtype
    no = np.zeros(n, dtype=bool)
    t = inp.type
    is_bool_dtype = pd.api.types.is_bool_dtype(dtype)
    is_num_dtype = pd.api.types.is_numeric_dtype(dtype) and not is_bool_dtype
    is_dt_dtype = pd.api.types.is_datetime64_any_dtype(dtype)
    is_str_dtype = pd.api.types.is_string_dtype(dtype) and dtype != object
    is_cat = isinstance(dtype, pd.CategoricalDtype)

    if is_cat and t not in ("string", "enum"):
        return _object_fallback(inp, series, as_of)
    if t in ("number", "integer") and is_num_dtype:
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        null = np.isnan(values)
        inf = np.isinf(values)
        bad = inf
        why = None
        if inf.any():
            why = np.full(n, None, dtype=object)
            why[inf] = _reason("non_finite", inp, "an infinite number")
        if t == "integer" and not pd.api.types.is_integer_dtype(dtype):
            with np.errstate(invalid="ignore"):
                frac = ~null & ~inf & (values != np.floor(values))
            if frac.any():
                if why is None:
                    why = np.full(n, None, dtype=object)
                why[frac] = _reason("wrong_type", inp, "a number with a fraction")
                bad = bad | frac
        if why is None:
            return Column("num", null, values=values), no, None
        values = values.copy()  # may be a view of the caller's frame
        values[bad] = np.nan
        return Column("num", null | bad, values=values), bad, why
    if t == "boolean" and is_bool_dtype:
        if dtype == bool:
            return Column("bool", no, values=series.to_numpy(dtype=bool)), no, None
        null = series.isna().to_numpy()
        return Column("bool", null, values=series.to_numpy(dtype=bool, na_value=False)), no, None
    if t in ("string", "enum") and (is_str_dtype or is_cat):
        if is_cat and not all(isinstance(c, str) for c in series.cat.categories):
            # categories that are not all text (True, 1.5, a date): typed value by value, so
            # each of those rows is a wrong_type error as in an object column
            return _object_fallback(inp, series, as_of)
        if t == "enum":
            return _enum_column(inp, series, n)
        if is_cat:
            codes = series.cat.codes.to_numpy()
            uniques = np.asarray(series.cat.categories, dtype=object)
        else:
            codes, uniques = pd.factorize(series, use_na_sentinel=True)
            uniques = np.asarray(uniques, dtype=object)
        codes = _small_codes(np.asarray(codes), len(uniques))
        return Column("str", codes < 0, codes=codes, uniques=uniques), no, None
    if t == "date" and is_dt_dtype:
        s = series
        if getattr(dtype, "tz", None) is not None:
            s = s.dt.tz_localize(None)
        # straight from the column's own unit to days (datetime64[s] holds 1500-06-01, which
        # overflows nanoseconds); numpy floors, so a time of day never moves the date
        days_arr = s.to_numpy().astype("datetime64[D]")
        null = np.isnat(days_arr)
        as_of_day = np.datetime64(as_of, "D")
        values = (as_of_day - days_arr).astype("timedelta64[D]").astype(np.float64)
        values[null] = np.nan
        return Column("num", null, values=values), no, None
    if dtype == object or (t == "date" and is_str_dtype):
        return _object_fallback(inp, series, as_of)
    # a typed column of the wrong kind: every non-null value is a data error
    null = series.isna().to_numpy()
    got = ("a boolean" if is_bool_dtype else "a number" if is_num_dtype else
           "a date" if is_dt_dtype else "text" if (is_str_dtype or is_cat) else f"a {dtype}")
    bad = ~null
    kind = {"number": "num", "integer": "num", "date": "num", "boolean": "bool"}.get(t, "str")
    why = np.full(n, None, dtype=object)
    why[bad] = _reason("wrong_type", inp, got)
    if kind == "num":
        return Column("num", np.ones(n, bool), values=np.full(n, np.nan)), bad, why
    if kind == "bool":
        return Column("bool", np.ones(n, bool), values=np.zeros(n, bool)), bad, why
    return Column("str", np.ones(n, bool), codes=np.full(n, -1, np.int64), uniques=np.array([], dtype=object)), bad, why


def _small_codes(codes: np.ndarray, n_uniques: int) -> np.ndarray:
    """Codes in the smallest integer type that holds them (comparisons on int8 are the
    fastest part of matching text)."""
    dtype = np.int8 if n_uniques < 127 else np.int16 if n_uniques < 32_000 else np.int64
    return codes.astype(dtype, copy=False)


def _arrow_strings(series: pd.Series):
    """The column as a pyarrow string array when pandas already stores it so, else None."""
    dtype = series.dtype
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
        import pyarrow as pa

        return pa.array(series.array)
    if isinstance(dtype, pd.ArrowDtype):
        import pyarrow as pa

        if pa.types.is_string(dtype.pyarrow_dtype) or pa.types.is_large_string(dtype.pyarrow_dtype):
            return pa.array(series.array)
    return None


def _enum_column(inp: InputSpec, series: pd.Series, n: int):
    """An enum input as codes into its declared values.

    Text stored by pyarrow is looked up with ``pyarrow.compute.index_in`` against the declared
    values (no factorizing of a million strings), a categorical is mapped through its
    categories; other text columns are factorized. A value that is not declared is a data
    error (``unknown_enum_value``) for that row.
    """
    declared = inp.values or ()
    position = {v: i for i, v in enumerate(declared)}
    arrow = _arrow_strings(series)
    if arrow is not None:
        import pyarrow as pa
        import pyarrow.compute as pc

        found = pc.index_in(arrow, value_set=pa.array(declared, type=arrow.type))
        codes = _small_codes(np.asarray(pc.fill_null(found, -1).to_numpy(zero_copy_only=False)), len(declared))
        if arrow.null_count:
            null = np.asarray(arrow.is_null().to_numpy(zero_copy_only=False), dtype=bool)
        else:
            null = np.zeros(n, dtype=bool)
        unknown = (codes < 0) & ~null if found.null_count > arrow.null_count else None
    else:
        if isinstance(series.dtype, pd.CategoricalDtype):
            raw_codes = series.cat.codes.to_numpy()
            uniques = series.cat.categories
        else:
            raw_codes, uniques = pd.factorize(series, use_na_sentinel=True)
        table = np.array([position.get(u, -1) for u in uniques] + [-1], dtype=np.int64)
        null = np.asarray(raw_codes) < 0
        codes = _small_codes(table[raw_codes], len(declared))  # code -1 picks the trailing -1
        unknown = (codes < 0) & ~null if (table[:-1] < 0).any() else None
    values = np.asarray(declared, dtype=object)
    if unknown is None or not unknown.any():
        return Column("str", null, codes=codes, uniques=values), np.zeros(n, dtype=bool), None
    why = np.full(n, None, dtype=object)
    raw = series.to_numpy(dtype=object)[unknown]
    texts = {u: _reason("unknown_enum_value", inp, repr(u)) for u in set(raw.tolist())}
    why[unknown] = [texts[u] for u in raw.tolist()]
    return Column("str", null | unknown, codes=codes, uniques=values), unknown, why

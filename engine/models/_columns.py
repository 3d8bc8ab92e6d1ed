"""Column typing for raw DataFrames: what each column is, what to drop, how to encode it.

The estimators in this package take a raw pandas DataFrame. At ``fit`` every column is given one
of four kinds (numeric, boolean, datetime, categorical); identifier-like and constant columns are
dropped with a reason; datetimes become "days before the latest training date" of that column.
At scoring the same conversion is replayed, and a column diff is shown when the columns differ.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from engine._errors import ColumnMismatchError, DataError
from engine._suggest import suggestion, with_suggestion

__all__ = ["ColumnSchema", "infer_schema", "to_internal", "to_internal_matrix", "column_diff_message"]

NUMERIC = "numeric"
BOOLEAN = "boolean"
DATETIME = "datetime"
CATEGORICAL = "categorical"

# An integer column unique per row is only an identifier if its name says so or its values are a
# consecutive run (a row number); revenue in whole yuan is also unique per row and is a feature.
_ID_NAME = re.compile(r"(^|_)(id|key|uuid|guid|code|number|no|nr)$|^(id|key)_|id$", re.IGNORECASE)

_DAY = np.timedelta64(1, "D")


@dataclass
class ColumnSchema:
    """What :func:`infer_schema` learned about the columns of a training frame.

    Attributes
    ----------
    columns : list of str
        Every input column, in input order.
    kinds : dict
        Kept column -> kind (``numeric``, ``boolean``, ``datetime``, ``categorical``).
    dropped : dict
        Dropped column -> reason.
    dtypes : dict
        Input column -> dtype as text, for the model card and for error messages.
    datetime_reference : dict
        Datetime column -> the latest training value; the column becomes days before it.
    categories : dict
        Categorical column -> its training values (as text, sorted); the column becomes their
        codes, -1 for a value never seen in training, NaN for missing.
    """

    columns: list[str]
    kinds: dict[str, str]
    dropped: dict[str, str]
    dtypes: dict[str, str]
    datetime_reference: dict[str, pd.Timestamp] = field(default_factory=dict)
    categories: dict[str, list[str]] = field(default_factory=dict)

    @property
    def kept(self) -> list[str]:
        return [c for c in self.columns if c in self.kinds]

    def of_kind(self, *kinds: str) -> list[str]:
        return [c for c in self.kept if self.kinds[c] in kinds]


def _kind_of(series: pd.Series) -> str:
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return BOOLEAN
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return DATETIME
    if pd.api.types.is_timedelta64_dtype(dtype):
        return NUMERIC
    if pd.api.types.is_numeric_dtype(dtype):
        return NUMERIC
    if isinstance(dtype, pd.CategoricalDtype):
        return CATEGORICAL
    inferred = pd.api.types.infer_dtype(series, skipna=True)
    if inferred == "boolean":
        return BOOLEAN
    if inferred in ("datetime", "datetime64", "date"):
        return DATETIME
    if inferred in ("integer", "floating", "mixed-integer-float", "decimal"):
        return NUMERIC
    return CATEGORICAL


def _to_datetime(series: pd.Series) -> pd.Series:
    values = pd.to_datetime(series, errors="raise", utc=False)
    if getattr(values.dt, "tz", None) is not None:
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    return values


def _drop_reason(name: str, series: pd.Series, kind: str) -> str | None:
    n = len(series)
    nonnull = series.dropna()
    if nonnull.empty:
        return "all values missing"
    n_unique = nonnull.nunique()
    if n_unique == 1 and len(nonnull) == n:
        value = nonnull.iloc[0]
        return f"constant (every row is {value.item() if hasattr(value, 'item') else value!r})"
    if n < 20 or n_unique != len(nonnull) or len(nonnull) < 0.9 * n:
        return None
    if kind == CATEGORICAL:
        return "identifier-like (a different text value on every row)"
    if kind == NUMERIC and pd.api.types.is_integer_dtype(series.dtype):
        values = np.sort(nonnull.to_numpy(dtype=np.int64))
        consecutive = values[-1] - values[0] + 1 == len(values)
        if consecutive or _ID_NAME.search(str(name)):
            return "identifier-like (a different integer on every row)"
    return None


def infer_schema(X: pd.DataFrame, *, drop_identifiers: bool = True) -> ColumnSchema:
    """Type every column of a raw training frame and decide which to drop.

    Examples
    --------
    >>> frame = pd.DataFrame({"account_id": [f"A{i}" for i in range(30)],
    ...                       "region": ["north", "south", "east"] * 10,
    ...                       "revenue": np.arange(30) * 1.5,
    ...                       "currency": ["CNY"] * 30})
    >>> schema = infer_schema(frame)
    >>> schema.kinds
    {'region': 'categorical', 'revenue': 'numeric'}
    >>> sorted(schema.dropped)
    ['account_id', 'currency']
    """
    kinds: dict[str, str] = {}
    dropped: dict[str, str] = {}
    reference: dict[str, pd.Timestamp] = {}
    categories: dict[str, list[str]] = {}
    for name in X.columns:
        series = X[name]
        kind = _kind_of(series)
        reason = _drop_reason(name, series, kind)
        if reason is not None and (drop_identifiers or not reason.startswith("identifier")):
            dropped[name] = reason
            continue
        kinds[name] = kind
        if kind == DATETIME:
            reference[name] = _to_datetime(series).max()
        elif kind == CATEGORICAL:
            categories[name] = sorted(pd.unique(_as_text(series).dropna()).tolist())
    return ColumnSchema(
        columns=list(X.columns),
        kinds=kinds,
        dropped=dropped,
        dtypes={c: str(X[c].dtype) for c in X.columns},
        datetime_reference=reference,
        categories=categories,
    )


def _as_text(series: pd.Series) -> pd.Series:
    """The column as text values with missing kept missing (no copy for text dtypes)."""
    dtype = series.dtype
    if isinstance(dtype, pd.StringDtype) or str(dtype) == "str":
        return series
    if isinstance(dtype, pd.CategoricalDtype) and (
            pd.api.types.infer_dtype(dtype.categories, skipna=True) == "string"):
        return series.astype(object)
    return series.map(str, na_action="ignore").astype(object)


def _to_float(name: str, series: pd.Series, kind: str) -> np.ndarray:
    try:
        if pd.api.types.is_timedelta64_dtype(series.dtype):
            return (series / pd.Timedelta(days=1)).to_numpy(dtype=float, na_value=np.nan)
        if kind == BOOLEAN and not pd.api.types.is_bool_dtype(series.dtype):
            mapped = series.map({True: 1.0, False: 0.0, "true": 1.0, "false": 0.0,
                                 "True": 1.0, "False": 0.0}, na_action="ignore")
            return pd.to_numeric(mapped, errors="raise").to_numpy(dtype=float, na_value=np.nan)
        return pd.to_numeric(series, errors="raise").to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError) as error:
        bad = series[pd.to_numeric(series, errors="coerce").isna() & series.notna()].head(3)
        raise DataError(
            f"Column {name!r} was {kind} at training but holds values that are not numbers: "
            f"{list(bad)!r}. Expected numbers (or missing values); got dtype {series.dtype}. "
            "Fix the column's values or retrain on data of the same type."
        ) from error


def to_internal(X: pd.DataFrame, schema: ColumnSchema) -> pd.DataFrame:
    """Convert a raw frame to the model's internal all-float frame.

    Numeric and boolean columns become float64 with NaN for missing; datetime columns become
    float64 days before the training reference date; categorical columns become the codes of
    their training values (-1 for a value never seen in training, NaN for missing), so the
    encoders downstream work on numbers, which is many times faster than on Python strings.
    Columns come out in training order.
    """
    return pd.DataFrame(to_internal_matrix(X, schema), index=X.index, columns=schema.kept)


def to_internal_matrix(X: pd.DataFrame, schema: ColumnSchema,
                       out: np.ndarray | None = None) -> np.ndarray:
    """:func:`to_internal` as one float64 array (column-major), without building a frame.

    Scoring works column by column on it; the frame's index and block management cost more
    than the conversion itself on a million rows. ``out`` (float64, column-major, at least
    ``len(X)`` rows) is filled and its first ``len(X)`` rows returned: scoring converts chunk
    by chunk into one buffer, because first touching a fresh 1M x 48 array cost 0.75 s here.
    """
    if out is None or out.shape[0] < len(X) or out.shape[1] != len(schema.kept):
        out = np.empty((len(X), len(schema.kept)), order="F")
    out = out[:len(X)]
    for j, name in enumerate(schema.kept):
        series = X[name]
        kind = schema.kinds[name]
        if kind == DATETIME:
            days = (schema.datetime_reference[name] - _to_datetime(series)) / _DAY
            out[:, j] = np.asarray(days, dtype=float)
        elif kind in (NUMERIC, BOOLEAN):
            out[:, j] = _to_float(name, series, kind)
        else:
            out[:, j] = _category_codes(series, schema.categories[name])
    return out


def _category_codes(series: pd.Series, categories: list[str]) -> np.ndarray:
    """Training codes of a categorical column: -1 never seen in training, NaN missing."""
    # Factorise the column (fast, native), then map its few distinct values to the training
    # codes.
    local = pd.Categorical(_as_text(series))
    mapping = pd.Index(categories, dtype=object).get_indexer(
        local.categories.astype(object)).astype(float)
    # Missing (code -1) picks the appended NaN.
    return np.r_[mapping, np.nan][local.codes]


def column_diff_message(expected: list[str], got: list[str], *, required: list[str]) -> str | None:
    """Return a readable message when ``got`` lacks required columns or has unknown ones.

    Columns in ``expected`` but not ``required`` (dropped at fit) may be absent. Returns None
    when the columns are acceptable.

    Examples
    --------
    >>> print(column_diff_message(["revenue", "region"], ["revenue", "regoin"],
    ...                           required=["revenue", "region"]))
    Scoring data does not have the columns the model was trained on.
      expected (missing): region
      got (unknown): regoin
      renamed? 'regoin' (did you mean 'region'?)
    --- training columns
    +++ scoring columns
    @@ -1,2 +1,2 @@
     revenue
    -region
    +regoin
    fix: rename or add the missing columns (extra columns the model never saw must be removed), or retrain on data with these columns.
    """
    got_set, expected_set = set(got), set(expected)
    missing = [c for c in required if c not in got_set]
    unknown = [c for c in got if c not in expected_set]
    if not missing and not unknown:
        return None
    lines = ["Scoring data does not have the columns the model was trained on."]
    if missing:
        lines.append("  expected (missing): " + ", ".join(map(str, missing)))
    if unknown:
        lines.append("  got (unknown): " + ", ".join(map(str, unknown)))
    suggestions = [with_suggestion(name, missing) for name in unknown if suggestion(name, missing)]
    if suggestions:
        lines.append("  renamed? " + ", ".join(suggestions))
    diff = difflib.unified_diff(
        [str(c) for c in expected], [str(c) for c in got],
        fromfile="training columns", tofile="scoring columns", lineterm="",
    )
    lines.extend(diff)
    lines.append(
        "fix: rename or add the missing columns (extra columns the model never saw must be "
        "removed), or retrain on data with these columns."
    )
    return "\n".join(lines)


def check_columns(X: pd.DataFrame, schema: ColumnSchema) -> None:
    """Raise :class:`ColumnMismatchError` with a diff when ``X`` does not fit ``schema``."""
    message = column_diff_message(schema.columns, list(X.columns), required=schema.kept)
    if message is not None:
        raise ColumnMismatchError(message)

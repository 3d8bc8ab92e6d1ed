"""Reasons for a model's probability: which features move it, which way and by how much.

For every record and every used feature the feature is set to its *typical* training value
(median for numeric and datetime columns, mode for boolean and categorical ones) and the record
is re-scored. The contribution of the feature is the record's probability minus the probability
with that feature made typical: positive means the record's actual value *raises* the outcome
(churn risk, chance of winning), negative means it lowers it. The perturbations of all records
and features are scored in one batch.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import math
from typing import TYPE_CHECKING, Any, Literal, get_args

import numpy as np
import pandas as pd

from engine._arguments import check_type
from engine._errors import ArgumentError, DataError
from engine._suggest import did_you_mean
from engine.models._columns import BOOLEAN, CATEGORICAL, DATETIME
from engine.models._inputs import as_frame
from engine.models._types import Direction

if TYPE_CHECKING:  # pragma: no cover
    from engine.models._base import AutoClassifier

__all__ = ["explain", "generic_reason"]

#: Perturbed rows (records x features) scored at once; bounds memory for many records.
_EXPLAIN_BATCH_ROWS = 500_000

_COLUMNS = ["row", "rank", "feature", "value", "typical", "contribution", "direction",
            "probability", "text"]


def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return "missing"
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (float, np.floating)):
        number = float(value)
        return f"{number:.4g}" if abs(number) < 1e6 else f"{number:,.0f}"
    return str(value)


def reasons_list(value: object) -> list[str]:
    """The reasons of one record as a list of sentences.

    ``account_scores.top_reasons`` is stored as JSON text (a list of sentences, the reasons
    that raise the risk, strongest first) so every database keeps it; this reads it back.
    Null (an account that was not explained) gives an empty list; a list is returned as is.

    Parameters
    ----------
    value : str, list or tuple of str, numpy.ndarray, or null (None, NaN, pandas.NA)
        One cell of the ``top_reasons`` column; anything else raises :class:`engine.DataError`.

    Returns
    -------
    list of str

    Examples
    --------
    >>> reasons_list('["4 complaints in the last 90 days (typical 1), raises churn risk"]')
    ['4 complaints in the last 90 days (typical 1), raises churn risk']
    >>> reasons_list(None)
    []
    """
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return []
    if isinstance(value, (list, tuple, np.ndarray)):
        return [str(v) for v in value]
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError as error:
            raise DataError(
                f"top_reasons: expected a JSON list of sentences; got {value[:80]!r} ({error.msg}). "
                "Fix: read the column written by kam score, or pass a list."
            ) from error
        if isinstance(parsed, list) and all(isinstance(v, str) for v in parsed):
            return parsed
    raise DataError(f"top_reasons: expected a JSON list of sentences; got {value!r}. Fix: read "
                    "the column written by kam score, or pass a list.")


def generic_reason(feature: str, value: object, typical: object, direction: Literal["raises", "lowers"],
                   outcome: str) -> str:
    """Plain wording for any data set: ``"complaints_90d is 4 (typical 0), raises churn risk"``.

    Parameters
    ----------
    feature : str
        The column name.
    value, typical : object
        The record's value and the training's typical one (numbers, dates, booleans, text;
        missing words as "missing").
    direction : {"raises", "lowers"}
    outcome : str
        What the model predicts, e.g. ``"churn risk"`` or ``"chance of winning"``.

    Returns
    -------
    str

    Examples
    --------
    >>> generic_reason("complaints_90d", 4, 0.0, "raises", "churn risk")
    'complaints_90d is 4 (typical 0), raises churn risk'
    """
    return f"{feature} is {_fmt(value)} (typical {_fmt(typical)}), {direction} {outcome}"


def _describer():
    """Return ``(describe, catalog)`` from engine.features when it provides them, else Nones."""
    if importlib.util.find_spec("engine.features") is None:
        return None, None
    features = importlib.import_module("engine.features")  # its own errors must surface

    return getattr(features, "describe", None), getattr(features, "FEATURE_CATALOG", None)


def _catalogued(name: str, catalog) -> bool:
    return name in catalog or (name.startswith("account_") and name[len("account_"):] in catalog)


def _value_direction(value: Any, typical: Any) -> str | None:
    """'higher' / 'lower' when value and typical are comparable numbers or dates, else None."""
    if isinstance(value, (bool, np.bool_)) or pd.isna(value) or pd.isna(typical):
        return None
    if isinstance(value, (int, float, np.number, pd.Timestamp)) and isinstance(
            typical, (int, float, np.number, pd.Timestamp)) and not isinstance(typical, (bool, np.bool_)):
        if isinstance(value, pd.Timestamp) != isinstance(typical, pd.Timestamp):
            return None
        return "higher" if value >= typical else "lower"
    return None


def _raw_typical(model: AutoClassifier, name: str) -> Any:
    typical = model.typical_values_[name]
    kind = model.feature_types_[name]
    if isinstance(typical, float) and math.isnan(typical):
        return np.nan
    if kind == DATETIME:
        return (model.datetime_reference_[name] - pd.Timedelta(days=float(typical))).round("s")
    if kind == BOOLEAN:
        return bool(typical >= 0.5)
    if kind == CATEGORICAL:
        return model._schema.categories[name][int(typical)]
    return typical


def explain(model: AutoClassifier, X: pd.DataFrame, top: int = 3, *,
            direction: Direction = "both") -> pd.DataFrame:
    """Each record's top factors: feature, value, typical value, contribution and words.

    Parameters
    ----------
    model : AutoClassifier
        A fitted :class:`ChurnModel`, :class:`WinModel` or :class:`AutoClassifier`.
    X : pandas.DataFrame
        Records to explain, with the training columns.
    top : int, default=3
        Factors per record (fewer when fewer features move the probability).
    direction : {"both", "raises", "lowers"}, default="both"
        Rank factors by absolute contribution, or keep only those that raise (lower) it.

    Returns
    -------
    pandas.DataFrame
        One row per (record, factor): ``row`` (index label of ``X``), ``rank`` (1 = largest),
        ``feature``, ``value``, ``typical``, ``contribution`` (probability minus probability
        with the feature at its typical value), ``direction`` ("raises"/"lowers"),
        ``probability`` (the record's probability) and ``text``. For features in
        ``engine.features.FEATURE_CATALOG`` the text is ``engine.features.describe(feature,
        value, typical, "higher"/"lower")`` (how the value compares with typical) followed by
        ", raises churn risk" (or lowers; "chance of winning" for WinModel); for any other
        column it is :func:`generic_reason`.
    """
    from engine.models._scoring import ScoringMixin

    check_type("explain", "model", model, ScoringMixin, "pass the fitted model, e.g. engine.models.load_model(path)",
               described="a fitted kam model (ChurnModel, WinModel or AutoClassifier)")
    if direction not in get_args(Direction):
        raise ArgumentError(f"expected direction 'both', 'raises' or 'lowers'; got {direction!r}"
                            f"{did_you_mean(str(direction), ('both', 'raises', 'lowers'))}. Fix: pass "
                            "direction='raises' for the reasons that raise the score.")
    if not isinstance(top, (int, np.integer)) or top < 1:
        raise ArgumentError(f"expected top as a positive integer; got {top!r}. Fix: pass e.g. top=3.")
    internal = model._internal(X)
    features = list(model.feature_types_)
    n, n_features = len(internal), len(features)
    if n == 0:
        return pd.DataFrame({c: [] for c in _COLUMNS})

    # Every record with each feature in turn set to its typical value, scored in blocks of
    # records (the perturbed batch is records x features rows).
    typical = np.array([model.typical_values_[name] for name in features], dtype=float)
    differs = ~((internal == typical) | (np.isnan(internal) & np.isnan(typical)))
    base = np.empty(n)
    moved = np.empty((n, n_features))
    block = max(1, _EXPLAIN_BATCH_ROWS // n_features)

    from engine.models._threads import thread_limits

    with thread_limits(model.n_jobs):
        for start in range(0, n, block):
            part = internal[start:start + block]
            base[start:start + block] = model._calibrate(model._raw_scores(part))
            replaced = model._calibrate(model._replaced_scores(part, typical).ravel())
            moved[start:start + block] = replaced.reshape(n_features, len(part)).T
    contribution = np.where(differs, base[:, None] - moved, 0.0)

    if direction == "raises":
        eligible = contribution > 0
    elif direction == "lowers":
        eligible = contribution < 0
    else:
        eligible = contribution != 0
    score = np.where(eligible, np.abs(contribution), -1.0)
    k = min(top, n_features)
    # Stable sort: equal contributions keep column order, so output is deterministic.
    order = np.argsort(-score, axis=1, kind="stable")[:, :k]

    describe, catalog = _describer()
    outcome = getattr(model, "_outcome", "probability")
    raw_frame = as_frame(X)[0]
    if not getattr(model, "_fitted_on_frame", True) or not isinstance(X, pd.DataFrame):
        raw_frame = raw_frame.set_axis(model._schema.columns, axis=1)
    typical_raw = {name: _raw_typical(model, name) for name in features}
    # .array[i] is what .iloc[i] returns, without pandas' per-call indexing overhead.
    column_values = {name: raw_frame[name].array for name in features}

    records = []
    index = list(X.index) if isinstance(X, pd.DataFrame) else list(range(n))
    for i in range(n):
        rank = 0
        for j in order[i]:
            if not eligible[i, j]:
                break
            rank += 1
            name = features[j]
            value = column_values[name][i]
            typical = typical_raw[name]
            word: Literal["raises", "lowers"] = "raises" if contribution[i, j] > 0 else "lowers"
            if describe is not None and catalog is not None and _catalogued(name, catalog):
                # engine.features words the *value* (its direction: value above or below
                # typical); the effect on the outcome is appended here.
                phrase = describe(name, value, typical, _value_direction(value, typical))
                text = f"{phrase}, {word} {outcome}"
            else:
                text = generic_reason(name, value, typical, word, outcome)
            records.append((index[i], rank, name, value, typical, float(contribution[i, j]),
                            word, float(base[i]), text))
    return pd.DataFrame.from_records(records, columns=_COLUMNS)

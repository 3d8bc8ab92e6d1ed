"""Small helpers shared by the report's number modules: typed columns, counts, shares."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["as_float", "change", "counts_of", "numbers_of", "share_of", "text_of"]


def as_float(value: Any) -> float | None:
    """A plain float, or None for missing / not a number."""
    if value is None:
        return None
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(value) else value


def numbers_of(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame.columns:
        return pd.Series(np.full(len(frame), np.nan), index=frame.index, dtype=float)
    return pd.to_numeric(frame[column], errors="coerce").astype(float)


def text_of(frame: pd.DataFrame, column: str, missing: str = "(none)") -> pd.Series:
    """A text column as a categorical with ``missing`` for nulls (fast to group and compare)."""
    if column not in frame.columns:
        return pd.Series(pd.Categorical([missing] * len(frame)), index=frame.index)
    values = frame[column]
    if not isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype("category")
    if values.isna().any():
        if missing not in values.cat.categories:
            values = values.cat.add_categories([missing])
        values = values.fillna(missing)
    return values


def counts_of(values: pd.Series) -> pd.Series:
    """Value counts without the categories that do not occur, largest first."""
    counts = values.value_counts()
    return counts[counts > 0]


def change(now: float | None, before: float | None) -> float | None:
    return None if now is None or before is None else now - before


def share_of(part: float, whole: float) -> float | None:
    return part / whole if whole else None

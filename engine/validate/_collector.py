"""Failures collected as column blocks while a contract runs; one DataFrame is built at the end.

Also how a raw input value is shown in a failure: its ``repr``, numpy scalars unwrapped,
truncated to ``VALUE_WIDTH`` characters, bytes labelled as such.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

import numpy as np
import pandas as pd

from engine.validate._reasons import REASONS
from engine.validate._report import FAILURE_COLUMNS

__all__ = ["Collector", "VALUE_WIDTH", "empty_failures", "full_of", "show", "shows"]

VALUE_WIDTH = 80  # characters of repr(value) kept in a failure


# --- failures ----------------------------------------------------------------------------------
class Collector:
    """Collects failures as column blocks; one DataFrame is built at the end."""

    def __init__(self) -> None:
        self.blocks: list[dict[str, np.ndarray]] = []

    def add(self, table, rows, keys, column, reason, values, messages, hints) -> None:
        if reason not in REASONS:  # a typo here would write an undocumented code
            raise AssertionError(f"undocumented reason code {reason!r}")
        n = 1 if rows is None else len(rows)
        if n == 0:
            return
        block = {
            "table": full_of(n, table),
            "row": np.full(1, -1, dtype=np.int64) if rows is None else np.asarray(rows, dtype=np.int64),
            "key": full_of(n, None) if keys is None else _as_objects(keys, n),
            "column": full_of(n, column),
            "reason": full_of(n, reason),
            "value": _as_objects(values, n),
            "message": _as_objects(messages, n),
            "hint": _as_objects(hints, n),
        }
        self.blocks.append(block)

    def frame(self) -> pd.DataFrame:
        if not self.blocks:
            return empty_failures()
        data = {name: np.concatenate([b[name] for b in self.blocks]) for name in FAILURE_COLUMNS}
        rows = data["row"]
        frame = pd.DataFrame(
            {
                "table": pd.Series(data["table"], dtype="str"),
                "row": pd.Series(pd.arrays.IntegerArray(rows, rows < 0)),
                "key": pd.Series(data["key"], dtype="str"),
                "column": pd.Series(data["column"], dtype="str"),
                "reason": pd.Series(data["reason"], dtype="str"),
                "value": pd.Series(data["value"], dtype="str"),
                "message": pd.Series(data["message"], dtype="str"),
                "hint": pd.Series(data["hint"], dtype="str"),
            }
        )
        return frame


def empty_failures() -> pd.DataFrame:
    return pd.DataFrame(
        {
            name: pd.Series([], dtype="Int64" if name == "row" else "str")
            for name in FAILURE_COLUMNS
        }
    )


def full_of(n: int, value: Any) -> np.ndarray:
    return np.full(n, value, dtype=object)


def _as_objects(values, n: int) -> np.ndarray:
    if isinstance(values, str) or values is None:
        return full_of(n, values)
    return np.asarray(values, dtype=object).reshape(n)


def show(value) -> str:
    """repr of a raw input value, numpy scalars unwrapped, truncated."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (pd.Timestamp, _dt.datetime)) and not pd.isna(value):
        text = repr(value.isoformat())
    else:
        text = repr(value)
    if len(text) > VALUE_WIDTH:
        text = text[: VALUE_WIDTH - 1] + "…"
    if isinstance(value, (bytes, bytearray, memoryview)):
        # how SQLite hands over a BLOB cell, or a text cell that is not valid UTF-8
        text += " (bytes: a BLOB, or text that is not valid UTF-8)"
    return text


def shows(values) -> list[str]:
    return [show(v) for v in values]


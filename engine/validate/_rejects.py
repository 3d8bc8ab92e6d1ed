"""Rows for the ``rejects`` table: every failure of a run with the original record as JSON."""

from __future__ import annotations

import datetime as _dt
import decimal
import json
import math

import numpy as np
import pandas as pd

from engine._errors import ArgumentError
from engine.validate._report import ValidationReport

__all__ = ["rejects_frame", "REJECTS_COLUMNS"]

#: Columns of the ``rejects`` table, in order.
REJECTS_COLUMNS: tuple[str, ...] = (
    "run_id",
    "table_name",
    "row_number",
    "record_key",
    "column_name",
    "reason",
    "value",
    "message",
    "hint",
    "raw_record",
)


def _plain(value):
    """A JSON-safe stand-in for one raw cell (the original survives as faithfully as JSON allows)."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"  # JSON has no infinity; keep it visible
        return value
    if isinstance(value, np.datetime64):
        return None if np.isnat(value) else str(value)
    if isinstance(value, _dt.date | _dt.datetime | pd.Timestamp):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return repr(value)


def _record_json(record: dict) -> str:
    # ensure_ascii escapes everything outside ASCII, so even a lone surrogate is storable
    return json.dumps({str(k): _plain(v) for k, v in record.items()}, ensure_ascii=True, allow_nan=False)


def rejects_frame(report: ValidationReport, run_id: str) -> pd.DataFrame:
    """The rows to write into the ``rejects`` table for one run.

    One row per failure of ``report.failures`` (warnings are not rejects). ``raw_record`` is
    the whole original input row as a JSON object (dates as ISO text, NaN as null, +/-inf as
    the strings ``"inf"``/``"-inf"``, other non-JSON values as their repr); it is null for
    table-level failures (``missing_table``, ``missing_column`` on an empty table).

    Parameters
    ----------
    report : ValidationReport
        The result of :func:`engine.validate.validate_tables`.
    run_id : str
        The run's identifier, written on every row.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`REJECTS_COLUMNS`; ``row_number`` is the 0-based input position
        (nullable ``Int64``), every other column is text.

    Examples
    --------
    >>> import pandas as pd
    >>> from engine.contract import Column, Contract, Table
    >>> from engine.validate import validate_tables
    >>> t = Table("t", "demo", "id", (Column("id", "string", "id"), Column("n", "integer", "n")))
    >>> report = validate_tables({"t": pd.DataFrame({"id": ["a", "b"], "n": [1, "x"]})},
    ...                          contract=Contract((t,)), as_of="2024-01-01")
    >>> rejects_frame(report, "run-1")[["run_id", "row_number", "reason", "raw_record"]].to_dict("records")
    [{'run_id': 'run-1', 'row_number': 1, 'reason': 'wrong_type', 'raw_record': '{"id": "b", "n": "x"}'}]
    """
    if not isinstance(report, ValidationReport):
        raise ArgumentError(f"expected a ValidationReport; got {type(report).__name__}. "
                            "Fix: pass what engine.validate_tables returned")
    failures = report.failures
    raw = np.full(len(failures), None, dtype=object)
    rows = failures["row"].to_numpy(dtype=np.int64, na_value=-1)
    tables = failures["table"].to_numpy(dtype=object)
    for table, quarantined in report.quarantined.items():
        if quarantined.empty:
            continue
        mine = np.flatnonzero((tables == table) & (rows >= 0))
        if len(mine) == 0:
            continue
        columns = [c for c in quarantined.columns if c != "reasons"]
        records = quarantined[columns].to_dict("index")  # keyed by input position
        texts = {position: _record_json(record) for position, record in records.items()}
        raw[mine] = [texts.get(int(r)) for r in rows[mine]]
    return pd.DataFrame(
        {
            "run_id": pd.Series(np.full(len(failures), str(run_id), dtype=object), dtype="str"),
            "table_name": failures["table"].reset_index(drop=True),
            "row_number": failures["row"].reset_index(drop=True),
            "record_key": failures["key"].reset_index(drop=True),
            "column_name": failures["column"].reset_index(drop=True),
            "reason": failures["reason"].reset_index(drop=True),
            "value": failures["value"].reset_index(drop=True),
            "message": failures["message"].reset_index(drop=True),
            "hint": failures["hint"].reset_index(drop=True),
            "raw_record": pd.Series(raw, dtype="str"),
        },
        columns=list(REJECTS_COLUMNS),
    )

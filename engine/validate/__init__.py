"""Validation: execute the declarative data contract (:mod:`engine.contract`) over input tables.

One lazy, vectorized pass over every table collects every failure with a reason code, removes
failing rows (quarantine) and hands on the valid rows coerced to their logical types::

    report = validate_tables(tables, as_of="2024-06-30")
    report.valid["orders"]       # clean, typed
    report.failures              # one row per failure: table, row, key, column, reason, ...
    rejects_frame(report, run_id)  # rows for the ``rejects`` table

See ``docs/data-model.md`` for the tables, the reason codes and how quarantine works.
"""

from engine.validate._dates import date_hint, parse_iso_days
from engine.validate._executor import validate_tables
from engine.validate._reasons import REASONS, Reason
from engine.validate._rejects import REJECTS_COLUMNS, rejects_frame
from engine.validate._report import COUNT_COLUMNS, FAILURE_COLUMNS, ValidationReport

__all__ = [
    "validate_tables",
    "ValidationReport",
    "rejects_frame",
    "REASONS",
    "Reason",
    "FAILURE_COLUMNS",
    "COUNT_COLUMNS",
    "REJECTS_COLUMNS",
    "parse_iso_days",
    "date_hint",
]

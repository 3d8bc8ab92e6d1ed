"""The first stages of every run: load the customer database and validate it."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import pandas as pd

from engine.storage import Database
from engine.validate import ValidationReport, validate_tables

__all__ = ["Ingested", "ingest"]


@dataclass(frozen=True)
class Ingested:
    """Validated input of a run.

    Attributes
    ----------
    report : ValidationReport
        Valid (typed) tables, every failure, quarantined rows and counts.
    seconds : dict of str to float
        Wall time of each stage (``load``, ``validate``).
    """

    report: ValidationReport
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """The valid rows of each table, coerced to the contract's types."""
        return self.report.valid


def ingest(db: Database, *, as_of=None) -> Ingested:
    """Read every contract table of ``db`` and validate it as of ``as_of`` (default today).

    A table absent from the database is reported by validation (``missing_table``) rather than
    raised here, so one run lists every problem at once.
    """
    started = time.perf_counter()
    tables = db.read_tables()
    loaded = time.perf_counter()
    report = validate_tables(tables, as_of=as_of, source=db.display_url)
    done = time.perf_counter()
    return Ingested(report=report, seconds={"load": loaded - started, "validate": done - loaded})

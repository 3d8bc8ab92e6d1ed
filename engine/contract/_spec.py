"""The vocabulary of a data contract: columns, tables and row checks.

A contract only *states* what valid data looks like; :mod:`engine.validate` executes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Literal

import pandas as pd

from engine._errors import UnknownNameError
from engine._suggest import did_you_mean

__all__ = ["Column", "RowCheck", "Table", "Contract", "ColumnType"]

ColumnType = Literal["string", "integer", "number", "boolean", "date", "enum"]


@dataclass(frozen=True)
class Column:
    """One column of a contract table.

    Parameters
    ----------
    name : str
        Column name, a plain identifier.
    type : {"string", "integer", "number", "boolean", "date", "enum"}
        Logical type. Dates are calendar dates (ISO ``YYYY-MM-DD`` in the database).
    description : str
        What the column means (rendered into ``docs/data-model.md``).
    required : bool, default True
        A null is a ``null_required`` failure when True.
    allowed : tuple of str, optional
        Allowed values for ``enum`` columns (and, with ``multi``, for each element).
    multi : bool, default False
        The value is a ``;``-separated list of ``allowed`` values (e.g. a rep's industries).
    minimum, maximum : float, optional
        Inclusive bounds for numeric columns.
    not_future : bool, default False
        For dates: a value after the run's as-of date is a ``future_date`` failure.
    references : str, optional
        ``"table.column"`` this column points to; a value absent there is an ``orphan``.
    references_or : tuple of str, optional
        Literal values also accepted besides the reference (``"direct"`` for an order channel).
    """

    name: str
    type: ColumnType
    description: str
    required: bool = True
    allowed: tuple[str, ...] | None = None
    multi: bool = False
    minimum: float | None = None
    maximum: float | None = None
    not_future: bool = False
    references: str | None = None
    references_or: tuple[str, ...] = ()


@dataclass(frozen=True)
class RowCheck:
    """A rule that spans several columns of one row.

    Parameters
    ----------
    name : str
        Short name, shown in the failure.
    columns : tuple of str
        Columns the check reads; the failure is reported on the first one.
    description : str
        The rule in words (shown in the docs and the failure).
    fails : callable
        ``fails(frame) -> boolean Series``: True where the row breaks the rule. Rows with a
        null in a column the check reads are not failed by it (nullness is checked per column).
    hint : str
        How to fix a failing row.
    """

    name: str
    columns: tuple[str, ...]
    description: str
    fails: Callable[[pd.DataFrame], pd.Series]
    hint: str


@dataclass(frozen=True)
class Table:
    """A contract table: its columns, primary key and row checks."""

    name: str
    description: str
    key: str
    columns: tuple[Column, ...]
    checks: tuple[RowCheck, ...] = ()

    def column(self, name: str) -> Column:
        """Return the column called ``name``; raise ``KeyError`` if there is none."""
        for col in self.columns:
            if col.name == name:
                return col
        raise UnknownNameError(f"expected a column of table {self.name!r}; got {name!r}"
                               f"{did_you_mean(name, self.column_names)}. Fix: use one of {list(self.column_names)}")

    @property
    def column_names(self) -> tuple[str, ...]:
        """Names of the columns, in contract order."""
        return tuple(c.name for c in self.columns)

    @property
    def required_columns(self) -> tuple[str, ...]:
        """Columns that must be present in the input (all contract columns)."""
        return self.column_names


@dataclass(frozen=True)
class Contract:
    """A set of tables, validated in dependency order (referenced tables first)."""

    tables: tuple[Table, ...] = field(default_factory=tuple)

    def __getitem__(self, name: str) -> Table:
        for table in self.tables:
            if table.name == name:
                return table
        names = [table.name for table in self.tables]
        raise UnknownNameError(f"expected a contract table; got {name!r}{did_you_mean(name, names)}. "
                               f"Fix: use one of {names}")

    def __contains__(self, name: object) -> bool:
        return any(t.name == name for t in self.tables)

    @property
    def table_names(self) -> tuple[str, ...]:
        """Names of the tables, in validation order."""
        return tuple(t.name for t in self.tables)

"""Execute a :class:`~engine.contract.Contract` over a set of tables, in one lazy pass.

The entry point; the checks are in ``_checks``, the failure collector in ``_collector``, the
Arrow-backed array helpers in ``_arrays``.

Every check is a vectorized mask over a whole column; nothing loops over rows in Python except
the formatting of failure messages (one per *failure*, not per row). Tables are visited parents
first so that a reference can be checked against the parent's *valid* keys: a row whose parent
was quarantined is itself quarantined as an ``orphan`` (the cascade).

Memory stays bounded by the largest table, not the whole database: a table may be given as a
loader (a callable returning its frame), called just before the table is validated. Once a
table is done, its valid and quarantined frames are built and its raw input and coerced
columns are released; only the key columns that later tables reference are kept.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import pandas as pd

from engine._asof import AsOf, as_of_date
from engine._errors import ConfigError, ContractError
from engine.contract import CUSTOMER_DATABASE, Contract
from engine.validate._checks import Run, did_you_mean
from engine.validate._report import ValidationReport

__all__ = ["validate_tables"]


def _as_of(as_of, tables, contract: Contract) -> pd.Timestamp:
    """The run's as-of date by the one rule (engine/_asof.py); None: the default of ``tables``."""
    frames = {name: frame for name, frame in tables.items() if isinstance(frame, pd.DataFrame)} \
        if isinstance(tables, Mapping) else None
    return pd.Timestamp(as_of_date(as_of, frames, contract=contract))


def validate_tables(
    tables: Mapping[str, pd.DataFrame | Callable[[], pd.DataFrame]],
    *,
    as_of: AsOf = None,
    contract: Contract = CUSTOMER_DATABASE,
    source: str | None = None,
    columns: Mapping[str, Sequence[str]] | None = None,
) -> ValidationReport:
    """Validate ``tables`` against ``contract`` in one pass, collecting every failure.

    A row that fails anything is quarantined whole; rows that reference a quarantined or
    unknown row are quarantined as orphans (the cascade). Nothing raises for bad *data*: read
    :attr:`ValidationReport.failures`, or call :meth:`ValidationReport.raise_if_any`.

    Parameters
    ----------
    tables : mapping of str to pandas.DataFrame or to a function returning one
        Input tables by name, values as read (strings, numbers, datetimes...). A function (a
        loader, e.g. ``functools.partial(database.read_table, "orders")``) is called just
        before its table is validated, parents first, and its frame is released once the
        table is done: only one raw table is in memory at a time.
    as_of : str, date or datetime, optional
        The run's as-of date: a ``not_future`` date after it is a ``future_date``. Read by the
        one as-of rule (:func:`engine._asof.as_of_date`): default the day after the newest
        ``not_future`` date on or before today in ``tables`` (frames only, not loaders), else
        today (UTC); anything but a date raises :class:`~engine.AsOfError`.
    contract : Contract, default CUSTOMER_DATABASE
        The contract to execute.
    source : str, optional
        Where the tables came from (shown in messages and the summary). Never pass a URL that
        contains a password.
    columns : mapping of str to sequence of str, optional
        For the tables named, the valid frame keeps only these columns (in contract order).
        Every column is still validated, and quarantined rows keep every input column. Use it
        to leave out columns no later stage reads. Default: every contract column.

    Returns
    -------
    ValidationReport

    Raises
    ------
    ContractError
        When a value of ``tables`` is not a DataFrame.
    ConfigError
        When ``as_of`` is not a date, or ``columns`` names a table or column not in the contract.
    SpecError
        When the contract itself is broken (a reference cycle, a row check that raises).

    Examples
    --------
    >>> import pandas as pd
    >>> from engine.contract import Column, Contract, Table
    >>> t = Table("t", "demo", "id", (Column("id", "string", "id"), Column("n", "number", "n", minimum=0)))
    >>> report = validate_tables({"t": pd.DataFrame({"id": ["a", "b", "b"], "n": [1.5, -2, 3]})},
    ...                          contract=Contract((t,)), as_of="2024-01-01")
    >>> report.failures[["row", "key", "column", "reason"]].to_string(index=False)
    ' row key column         reason\\n   1   b     id  duplicate_key\\n   1   b      n negative_value\\n   2   b     id  duplicate_key'
    >>> report.valid["t"]
      id    n
    0  a  1.5
    """
    if not isinstance(tables, Mapping):
        raise ContractError(f"expected tables as a mapping of table name to DataFrame; got {type(tables).__name__}. "
                            "Fix: pass e.g. {'customers': customers, 'orders': orders}")
    run = Run(contract, _as_of(as_of, tables, contract), source, _kept_columns(contract, columns))
    return run.run(tables)


def _kept_columns(contract: Contract, columns: Mapping[str, Sequence[str]] | None) -> dict[str, tuple[str, ...]]:
    kept: dict[str, tuple[str, ...]] = {}
    for name, wanted in (columns or {}).items():
        if name not in contract:
            raise ConfigError(
                f"columns names table {name!r}, which is not in the contract; expected one of "
                f"{list(contract.table_names)}; {did_you_mean(str(name), contract.table_names)}".rstrip("; ")
            )
        if isinstance(wanted, str):
            raise ConfigError(f"columns[{name!r}] must be a sequence of column names; got the string {wanted!r}.")
        table = contract[name]
        unknown = [c for c in wanted if c not in table.column_names]
        if unknown:
            raise ConfigError(
                f"columns[{name!r}] names {unknown}, not columns of {name!r}; expected some of "
                f"{list(table.column_names)}; {did_you_mean(str(unknown[0]), table.column_names)}".rstrip("; ")
            )
        kept[name] = tuple(c for c in table.column_names if c in set(wanted))
    return kept

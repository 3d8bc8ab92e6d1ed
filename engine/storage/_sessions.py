"""Sessions: one transaction on one connection, through SQLAlchemy or (SQLite files) ADBC.

:func:`open_session` is the one place a connection is opened, a transaction begun, committed or
rolled back, and a driver error turned into a :class:`StorageError` (with the driver's error as
its cause). Both session kinds offer the same small interface (``execute``, ``read``,
``insert``, ``table_names``, ``columns``); SQL is written once, with ``:name`` parameters bound
by SQLAlchemy (for ADBC, compiled to the driver's ``?`` paramstyle).

The two drivers carry two copies of SQLite; :class:`~engine.storage._guard.SqliteGuard` keeps
them from sharing a file within one process.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from engine._errors import ConfigError
from engine.storage import _cells
from engine.storage._convert import (
    arrow_to_pandas,
    column_to_arrow,
    column_to_python,
    combine_columns,
    drop_probe,
    exact_integer_columns,
    read_columns,
)

if TYPE_CHECKING:
    from engine.storage._database import Database

__all__ = [
    "AdbcSession",
    "AlchemySession",
    "adbc_errors",
    "check_identifier",
    "driver_errors",
    "open_session",
    "rollback_quietly",
]

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")

#: Placeholder value of each SQL type for the typed first row of a fast read (see AdbcSession.read_typed).
_PROBE_VALUES = {"TEXT": "''", "DATE": "''", "TIMESTAMP": "''", "BIGINT": "0", "BOOLEAN": "0", "REAL": "0.5", "DOUBLE PRECISION": "0.5"}

#: ADBC SQLite statement option: rows per Arrow record batch (the driver's default is 1,024,
#: which gives ten thousand chunks per column for ten million rows, slow for every later take).
_ADBC_BATCH_ROWS = "adbc.sqlite.query.batch_rows"
_READ_BATCH_ROWS = 65_536


def driver_errors() -> tuple[type[BaseException], ...]:
    """Exception classes of SQLAlchemy and the drivers used underneath it (COPY, executemany)."""
    import sqlite3

    from sqlalchemy.exc import SQLAlchemyError

    errors: list[type[BaseException]] = [SQLAlchemyError, sqlite3.Error]
    try:
        import psycopg

        errors.append(psycopg.Error)
    except ImportError:
        pass
    return tuple(errors)


def adbc_errors() -> tuple[type[BaseException], ...]:
    """Exception classes of the ADBC driver manager (the SQLite fast path), when installed."""
    try:
        import adbc_driver_manager
    except ImportError:
        return ()
    return (adbc_driver_manager.Error,)


def rollback_quietly(session_or_transaction: Any, action: str) -> None:
    """Roll back after a failure without letting a failed rollback replace the real error.

    On a full disk or a file that became read-only, the ROLLBACK can fail too; the database
    then rolls back on its own when the connection closes (SQLite: from the journal on next
    open). The error that made the write fail is the one worth reporting.
    """
    try:
        if hasattr(session_or_transaction, "cursor"):
            session_or_transaction.cursor.execute("ROLLBACK")
        else:
            session_or_transaction.rollback()
    except Exception as exc:  # noqa: BLE001 - logged; the original error is re-raised by the caller
        from engine._log import get_logger, redact

        get_logger("storage").warning("rollback after a failed %s also failed: %s", action, redact(str(exc)))



def check_identifier(name: str, what: str) -> str:
    if not isinstance(name, str) or not _IDENTIFIER.match(name):
        raise ConfigError(
            f"{what} {name!r} is not a plain identifier. Expected letters, digits and underscores, "
            "starting with a letter or underscore, at most 63 characters."
        )
    return name



def bind(sql: str, params: Mapping[str, Any] | None) -> Any:
    """``sql`` as a SQLAlchemy text clause with ``params`` bound (a list or tuple expands for ``IN``)."""
    from sqlalchemy import bindparam, text

    statement = text(sql)
    for key, value in (params or {}).items():
        statement = statement.bindparams(bindparam(key, value, expanding=isinstance(value, (list, tuple))))
    return statement


def _qmark(sql: str, params: Mapping[str, Any] | None) -> tuple[str, tuple[Any, ...] | None]:
    """``sql`` with its ``:name`` parameters in SQLite's ``?`` paramstyle, and their values in order.

    SQLAlchemy's own compiler does it (the same parsing of ``:name`` as on the SQLAlchemy path;
    an empty list for ``IN`` becomes SQLAlchemy's empty-set expression).
    """
    if not params:
        return sql, None
    from sqlalchemy.dialects import sqlite

    compiled = bind(sql, params).compile(
        dialect=sqlite.dialect(paramstyle="qmark"), compile_kwargs={"render_postcompile": True}
    )
    order = compiled.positiontup or []
    return str(compiled), tuple(compiled.params[name] for name in order)


class AlchemySession:
    """A transaction on a SQLAlchemy connection (every dialect)."""

    def __init__(self, db: Database, conn: Any):
        self.db = db
        self.conn = conn

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> list[tuple]:
        result = self.conn.execute(bind(sql, params))
        return [tuple(row) for row in result.fetchall()] if result.returns_rows else []

    def table_names(self) -> set[str]:
        from sqlalchemy import inspect

        return set(inspect(self.conn).get_table_names())

    def columns(self, name: str) -> list[str]:
        from sqlalchemy import inspect

        return [c["name"] for c in inspect(self.conn).get_columns(name)]

    def insert(self, name: str, frame: pd.DataFrame, columns: list[str], types: Mapping[str, str]) -> None:
        rows = list(zip(*[column_to_python(frame[c], types.get(c)) for c in columns]))
        quoted_cols = ", ".join(self.db._quote(c) for c in columns)
        if self.db.dialect == "postgresql":
            dbapi = self.conn.connection.driver_connection
            with dbapi.cursor() as cursor:
                with cursor.copy(f"COPY {self.db._quote(name)} ({quoted_cols}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
        elif self.db.engine.dialect.paramstyle == "qmark":
            placeholders = ", ".join(["?"] * len(columns))
            self.conn.exec_driver_sql(f"INSERT INTO {self.db._quote(name)} ({quoted_cols}) VALUES ({placeholders})", rows)
        else:
            from sqlalchemy import column, insert, table

            statement = insert(table(name, *[column(c) for c in columns]))
            self.conn.execute(statement, [dict(zip(columns, row)) for row in rows])

    def read(self, sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        result = self.conn.execute(bind(sql, params))
        rows = result.fetchall()
        frame = pd.DataFrame.from_records(rows, columns=list(result.keys()), coerce_float=True)
        return exact_integer_columns(frame, rows)

    def stream(self, sql: str, chunksize: int) -> Iterator[pd.DataFrame]:
        """The rows of ``sql`` in frames of at most ``chunksize`` rows, fetched from the driver as they go.

        SQLAlchemy's ``yield_per`` keeps at most ``chunksize`` rows buffered: on PostgreSQL a
        server-side cursor, on SQLite the statement stepped as rows are fetched. At least one
        (possibly empty) frame, with the columns of the query.
        """
        result = self.conn.execution_options(yield_per=chunksize).execute(bind(sql, None))
        names = list(result.keys())
        empty = True
        for rows in result.partitions(chunksize):
            empty = False
            yield exact_integer_columns(pd.DataFrame.from_records(rows, columns=names, coerce_float=True), rows)
        if empty:
            yield pd.DataFrame.from_records([], columns=names)


class AdbcSession:
    """A transaction on an ADBC SQLite connection: the fast path for SQLite files."""

    def __init__(self, db: Database, conn: Any, action: str = "read", write: bool = False):
        self.db = db
        self.conn = conn
        self.cursor = conn.cursor()
        self.action = action
        self.write = write

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> list[tuple]:
        """Run ``sql`` and return its rows (none for a statement without a result set).

        An error while the rows are fetched (SQLite reports some only when it steps to the row
        that fails) is a :class:`StorageError` with the driver's error as its cause, never an
        empty result.
        """
        import adbc_driver_manager

        statement, values = _qmark(sql, params)
        self.cursor.execute(statement, parameters=values)
        if not self.cursor.description:  # DDL, DML, BEGIN/COMMIT: no result set
            return []
        try:
            return [tuple(r) for r in self.cursor.fetchall()]
        except (adbc_driver_manager.Error, OSError) as exc:  # the Arrow stream reports as OSError
            raise self.db._storage_error(self.action, exc, self.write) from exc

    def table_names(self) -> set[str]:
        rows = self.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {r[0] for r in rows}

    def columns(self, name: str) -> list[str]:
        return [r[0] for r in self.execute("SELECT name FROM pragma_table_info(:name)", {"name": name})]

    def insert(self, name: str, frame: pd.DataFrame, columns: list[str], types: Mapping[str, str]) -> None:
        import pyarrow as pa

        arrays = {c: column_to_arrow(frame[c], types.get(c)) for c in columns}
        self.cursor.adbc_ingest(name, pa.table(arrays), mode="append")

    def read(self, sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        import adbc_driver_manager
        import pyarrow as pa

        statement, values = _qmark(sql, params)
        self.cursor.execute(statement, parameters=values)
        try:
            table = self.cursor.fetch_arrow_table()
        except (adbc_driver_manager.Error, OSError, pa.ArrowException) as exc:  # an error found while stepping rows
            raise self.db._storage_error(self.action, exc, self.write) from exc
        return arrow_to_pandas(table)

    def read_typed(self, name: str, columns: list[str], where: tuple[str, tuple] | None = None) -> pd.DataFrame:
        """Read ``columns`` of table ``name``; a column holding cells of another type is read again on its own.

        ``where`` is an optional condition with ``?`` placeholders and its values (one run's rows).

        ADBC infers each column's Arrow type from the first rows it sees, so a column whose first
        values are NULL would be typed wrongly. A typed probe row (placeholder values of each
        declared type, marked and dropped) fixes the types. SQLite's dynamic typing can still put
        a BLOB or a text in a number column (the driver then widens the whole column, rounding
        every number) or store text that is not UTF-8: such a column, and only it, is read again
        split by storage class (:mod:`engine.storage._cells`), so validation rejects the bad
        cells row by row. Both reads share one transaction, hence one snapshot of the table.
        """
        import adbc_driver_manager

        stored = dict(self.execute("SELECT name, type FROM pragma_table_info(:name)", {"name": name}))
        declared = {c: str(stored.get(c) or "") for c in columns}
        self.execute("BEGIN")  # one snapshot for the table and any column read again
        try:
            try:
                table = self._fetch_typed(name, columns, declared, where)
                suspects = _cells.suspect_columns(table, declared)
            except (adbc_driver_manager.Error, OSError) as exc:
                if "type mismatch" not in str(exc).lower():
                    raise
                # the driver refused a widening mid-read: read column by column instead
                table, suspects = None, []
                for column in columns:
                    try:
                        single = self._fetch_typed(name, [column], declared, where)
                    except (adbc_driver_manager.Error, OSError) as single_exc:
                        if "type mismatch" not in str(single_exc).lower():
                            raise
                        suspects.append(column)
                        continue
                    suspects += _cells.suspect_columns(single, declared)
                    table = single if table is None else table.append_column(column, single[column])
            redone = {c: self._read_split(name, c, where) for c in suspects}
        except BaseException:
            try:
                self.cursor.execute("ROLLBACK")
            except Exception:  # noqa: BLE001 - the first error is the one to report
                pass
            raise
        self.execute("COMMIT")
        if table is None:
            frame = pd.DataFrame(index=pd.RangeIndex(len(next(iter(redone.values())))))
        else:
            frame = arrow_to_pandas(table.drop_columns([c for c in suspects if c in table.column_names]))
        for column in suspects:
            frame[column] = redone[column].to_numpy() if redone[column].dtype == object else redone[column]
        return frame[columns] if list(frame.columns) != columns else frame

    def _fetch_typed(
        self, name: str, columns: list[str], declared: Mapping[str, str], where: tuple[str, tuple] | None = None
    ) -> Any:
        """The Arrow table of ``columns`` of ``name`` read by ADBC, typed by a dropped probe row."""
        quote = self.db._quote
        probe = ", ".join(f"{_PROBE_VALUES.get(declared[c].upper(), 'NULL')} AS {quote(c)}" for c in columns)
        select = ", ".join(quote(c) for c in columns)
        sql = f"SELECT 0 AS __kam_probe, {probe} UNION ALL SELECT 1, {select} FROM {quote(name)}"
        if where is not None:  # applies to the table's SELECT, not the probe row
            sql += f" WHERE {where[0]}"
        self.cursor.adbc_statement.set_options(**{_ADBC_BATCH_ROWS: str(_READ_BATCH_ROWS)})
        self.cursor.execute(sql, parameters=where[1] if where is not None else None)
        return drop_probe(combine_columns(read_columns(self.cursor.fetch_record_batch())))

    def _read_split(self, name: str, column: str, where: tuple[str, tuple] | None = None) -> pd.Series:
        """Column ``column`` of ``name`` read cell by cell (see :mod:`engine.storage._cells`)."""
        sql = _cells.split_select(self.db._quote(column), self.db._quote(name))
        if where is not None:
            sql += f" WHERE {where[0]}"
        self.cursor.adbc_statement.set_options(**{_ADBC_BATCH_ROWS: str(_READ_BATCH_ROWS)})
        self.cursor.execute(sql, parameters=where[1] if where is not None else None)
        return _cells.assemble_split(self.cursor.fetch_arrow_table())


@contextmanager
def open_session(db: Database, action: str, *, write: bool, fast: bool) -> Iterator[AdbcSession | AlchemySession]:
    """A session on ``db``: one transaction when ``write`` (committed at the end, rolled back on error).

    ``fast`` opens an ADBC connection to the SQLite file, otherwise a SQLAlchemy connection. A
    driver error becomes a :class:`StorageError` naming ``action`` (the driver's error is its
    cause); when writing, it says nothing was written.
    """
    if fast:
        import adbc_driver_manager
        import adbc_driver_sqlite.dbapi as adbc

        db._ensure_sqlite_folder()
        conn = None
        session = None
        began = False
        try:
            # autocommit, with the transaction managed here: SQLite refuses the WAL pragma
            # inside the transaction ADBC would otherwise open implicitly.
            target = str(Path(db.url.database or "").expanduser()) if db.create else db._sqlite_uri()
            conn = adbc.connect(target, autocommit=True)
            session = AdbcSession(db, conn, action, write)
            session.execute("PRAGMA busy_timeout=30000")
            if not db.readonly:
                session.execute("PRAGMA journal_mode=WAL")
            if write:
                session.execute("BEGIN IMMEDIATE")
                began = True
            yield session
            if write:
                session.execute("COMMIT")
                began = False
        except adbc_driver_manager.Error as exc:
            if began:
                rollback_quietly(session, action)
            raise db._storage_error(action, exc, write) from exc
        except BaseException:
            if began:
                rollback_quietly(session, action)
            raise
        finally:
            if session is not None:
                session.cursor.close()
            if conn is not None:
                conn.close()
        return
    try:
        with db.engine.connect() as alchemy:
            if not write:
                yield AlchemySession(db, alchemy)
                return
            transaction = alchemy.begin()
            try:
                yield AlchemySession(db, alchemy)
            except BaseException:
                rollback_quietly(transaction, action)
                raise
            transaction.commit()
    except driver_errors() as exc:
        raise db._storage_error(action, exc, write) from exc

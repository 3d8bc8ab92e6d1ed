"""Database access: the only module that talks to SQLAlchemy and the database drivers.

Design
------
* Any SQLAlchemy URL works; a plain path means a SQLite file (the embedded default).
* Table names come from an allow-list (the contract's source tables and kam's result tables);
  column names must be plain identifiers. Values are always bound parameters.
* Source tables are replaced atomically (load into a new table, then drop and rename inside one
  transaction). Result tables are written per run inside one transaction that deletes the run's
  previous rows first, so a re-run replaces rather than duplicates, and a reader sees either the
  previous complete results or the new complete results.
* Connection URLs are only ever shown with the password masked.
* On a SQLite file, bulk reads and writes go through ADBC (Apache Arrow's database driver):
  measured here, it reads 1,000,000 order rows in 1.3 s against 8.4 s through SQLAlchemy, and
  writes them in 1.1 s against 5.7 s. Every other dialect goes through SQLAlchemy (PostgreSQL
  writes use ``COPY``). Both paths share the same SQL, the same transaction boundaries and the
  same tests.
"""

from __future__ import annotations

import math
import os
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from engine._errors import ConfigError, MissingDependencyError, StorageError
from engine._memory import give_back_memory
from engine.contract import CUSTOMER_DATABASE, Contract, Table
from engine.storage import _cells

__all__ = ["Database", "RESULT_TABLES", "mask_url", "SQL_TYPES"]

#: Placeholder value of each SQL type for the typed first row of a fast SQLite read (see _read_fast).
_PROBE_VALUES = {"TEXT": "''", "DATE": "''", "TIMESTAMP": "''", "BIGINT": "0", "BOOLEAN": "0", "REAL": "0.5", "DOUBLE PRECISION": "0.5"}

#: ADBC SQLite statement option: rows per Arrow record batch (the driver's default is 1,024,
#: which gives ten thousand chunks per column for ten million rows, slow for every later take).
_ADBC_BATCH_ROWS = "adbc.sqlite.query.batch_rows"
_READ_BATCH_ROWS = 65_536
_COMPACT_BATCHES = 16

#: Tables kam writes its results to, keyed by name, with the column that identifies a run.
RESULT_TABLES: dict[str, str] = {
    "runs": "run_id",
    "account_scores": "run_id",
    "opportunity_routes": "run_id",
    "rejects": "run_id",
    "model_drift": "run_id",
    "call_plans": "run_id",
}
# (The alert tables are kam's state across runs, not per-run results: engine/storage/_alerts.py.)

_ISO_DAY = re.compile(r"^\d{4}-[01]\d-[0-3]\d$")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_STAGING_SUFFIX = "__kam_staging"

#: Logical contract type -> portable SQL type name used in DDL.
SQL_TYPES: dict[str, str] = {
    "string": "TEXT",
    "enum": "TEXT",
    "integer": "BIGINT",
    "number": "DOUBLE PRECISION",
    "boolean": "BOOLEAN",
    "date": "DATE",
}


def mask_url(url: Any) -> str:
    """Return ``url`` as text with every credential in it replaced by ``***``.

    Masks the ``user:password@`` part and ``password=``/``token=``-style query parameters.

    Examples
    --------
    >>> mask_url("postgresql://kam:s3cret@db.example:5432/sales")
    'postgresql://kam:***@db.example:5432/sales'
    >>> mask_url("postgresql://kam@db.example/sales?password=s3cret")
    'postgresql://kam@db.example/sales?password=***'
    >>> mask_url("sqlite:///demo.sqlite")
    'sqlite:///demo.sqlite'
    """
    from sqlalchemy.engine import make_url

    from engine._log import redact

    try:
        parsed = make_url(str(url))
        return redact(parsed.render_as_string(hide_password=True), [parsed.password] if parsed.password else [])
    except Exception:  # not parseable as a URL: mask anything that looks like user:password@
        return redact(re.sub(r"(//[^:/@]+:)[^@]*@", r"\1***@", str(url)))


#: pip line for each database driver module SQLAlchemy may ask for (import name -> what to install).
_DRIVER_PACKAGES: dict[str, str] = {
    "psycopg": "pip install 'kam-engine[postgres]'",
    "psycopg2": "pip install psycopg2-binary",
    "asyncpg": "pip install asyncpg",
    "pg8000": "pip install pg8000",
    "MySQLdb": "pip install mysqlclient",
    "pymysql": "pip install PyMySQL",
    "mysql": "pip install mysql-connector-python",
    "mariadb": "pip install mariadb",
    "pyodbc": "pip install pyodbc",
    "pymssql": "pip install pymssql",
    "oracledb": "pip install oracledb",
    "cx_Oracle": "pip install cx-Oracle",
}

# user:password@host with no scheme: a URL whose "postgresql://" was forgotten, not a file path.
_SCHEMELESS_CREDENTIALS = re.compile(r"^[^/\\:@\s]+:[^@\s]*@[^@\s]+$")
_SQLITE_READONLY_QUERY = {"mode": "ro", "immutable": "1"}


def _check_driver(url) -> None:
    """Load the dialect and its driver now, so a missing one is a clear error, not a traceback."""
    from sqlalchemy.exc import NoSuchModuleError

    try:
        dialect = url.get_dialect()
    except NoSuchModuleError:
        raise ConfigError(
            f"database URL {mask_url(url)!r}: kam does not know the database kind {url.drivername!r}. "
            "Expected e.g. 'postgresql://user@host/db', 'sqlite:///kam.sqlite' or a SQLite file path."
        ) from None
    importer = getattr(dialect, "import_dbapi", None) or getattr(dialect, "dbapi", None)
    try:
        importer()
    except ImportError as exc:
        module = (exc.name or "").split(".")[0]
        line = _DRIVER_PACKAGES.get(module, f"pip install {module}" if module else "pip install the driver")
        raise MissingDependencyError(
            f"database URL {mask_url(url)!r} needs the {url.get_backend_name()} driver "
            f"{module or url.get_driver_name()!r}, which is not installed. Install with: {line}"
        ) from exc


def _normalise_url(target: Any):
    """Turn a path or URL into a SQLAlchemy URL object, choosing psycopg 3 for PostgreSQL."""
    from sqlalchemy.engine import URL, make_url

    if isinstance(target, URL):
        url = target
    elif isinstance(target, Path) or (isinstance(target, str) and "://" not in target):
        text = str(target)
        if isinstance(target, str) and _SCHEMELESS_CREDENTIALS.match(text.strip()):
            raise ConfigError(
                f"database {mask_url('x://' + text)[4:]!r} looks like a server URL without its scheme "
                "(user:password@host/db); a plain path means a SQLite file. Fix: start it with the "
                "database kind, e.g. 'postgresql://user@host/db', and give the password with KAM_DB_PASSWORD."
            )
        path = Path(target).expanduser()
        url = make_url(f"sqlite:///{path}")
    elif isinstance(target, str):
        try:
            url = make_url(target)
        except Exception as exc:
            raise ConfigError(
                f"database URL {mask_url(target)!r} is not a valid SQLAlchemy URL. Expected e.g. "
                "'sqlite:///kam.sqlite' or 'postgresql://user@host/db', or a file path for SQLite."
            ) from exc
    else:
        raise ConfigError(
            f"expected the database as a path, a URL string or a SQLAlchemy URL; got {type(target).__name__}. "
            "Fix: pass e.g. 'kam.sqlite' or 'postgresql://host/kam'."
        )
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    if url.drivername == "postgresql+psycopg":
        try:
            import psycopg  # noqa: F401
        except ImportError as exc:
            raise MissingDependencyError(
                "PostgreSQL support needs psycopg 3. Install with: pip install 'kam-engine[postgres]'"
            ) from exc
    elif url.drivername not in ("sqlite", "sqlite+pysqlite"):
        _check_driver(url)
    return url


def _sqlite_readonly_in_url(url) -> tuple[Any, bool]:
    """``url`` without SQLite's ``mode=ro``/``immutable=1``/``uri`` query, and whether it asked for read-only.

    kam opens SQLite files itself (both drivers, see :class:`_SqliteGuard`), so the request is
    carried as a flag rather than left in a query string one of the drivers would ignore.
    """
    query = dict(url.query)
    if str(query.get("mode", "")).lower() == "memory":
        return url, False
    readonly = any(str(query.get(key, "")).lower() == value for key, value in _SQLITE_READONLY_QUERY.items())
    database = url.database or ""
    if database.startswith("file:"):  # sqlite:///file:path?mode=ro&uri=true
        database = database[len("file:"):]
    for key in ("mode", "immutable", "uri"):
        query.pop(key, None)
    return url.set(database=database, query=query), readonly


def _driver_errors() -> tuple[type[BaseException], ...]:
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


class _SqliteGuard:
    """Sessions of one SQLite library at a time on one file, within this process.

    The ADBC driver carries its own copy of SQLite; SQLAlchemy's pysqlite uses the system's.
    SQLite's file locks are POSIX advisory locks, which belong to the process: two copies of
    the library in one process do not see each other's locks (a reader of one copy reads
    pages the other copy is writing: "database disk image is malformed"), and closing a file
    handle in one copy drops the locks the other holds (https://sqlite.org/howtocorrupt.html,
    section 2.2.1). So, per file, sessions of the same library run together (ADBC's parallel
    reads) and sessions of the other library wait until they are done. Other processes are
    unaffected: each of them sees this process's locks.
    """

    def __init__(self):
        self._cond = threading.Condition()
        self._library: str | None = None
        self._active = 0
        self._holders: dict[int, str] = {}

    @contextmanager
    def hold(self, library: str):
        me = threading.get_ident()
        with self._cond:
            held = self._holders.get(me)
            if held is not None and held != library:
                raise RuntimeError(
                    f"a {library} session was opened inside a {held} session on the same SQLite file; "
                    "open one after the other"
                )
            while self._active and self._library != library:
                self._cond.wait()
            self._library = library
            self._active += 1
            nested = held is not None
            self._holders[me] = library
        try:
            yield
        finally:
            with self._cond:
                self._active -= 1
                if not nested:
                    del self._holders[me]
                if self._active == 0:
                    self._library = None
                self._cond.notify_all()


#: One guard per SQLite file, for the whole process (POSIX locks are per process).
_SQLITE_GUARDS: dict[str, _SqliteGuard] = {}
_SQLITE_GUARDS_LOCK = threading.Lock()


def _sqlite_file(url) -> str | None:
    """The real path of a SQLite file URL; None for an in-memory database."""
    database = url.database or ""
    if database in ("", ":memory:") or "mode=memory" in str(url):
        return None
    return os.path.realpath(Path(database).expanduser())


def _sqlite_guard(url) -> _SqliteGuard | None:
    path = _sqlite_file(url)
    if path is None:
        return None
    with _SQLITE_GUARDS_LOCK:
        return _SQLITE_GUARDS.setdefault(path, _SqliteGuard())


def _adbc_errors() -> tuple[type[BaseException], ...]:
    """Exception classes of the ADBC driver manager (the SQLite fast path), when installed."""
    try:
        import adbc_driver_manager
    except ImportError:
        return ()
    return (adbc_driver_manager.Error,)


def _rollback_quietly(session_or_transaction, action: str) -> None:
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


def _check_identifier(name: str, what: str) -> str:
    if not isinstance(name, str) or not _IDENTIFIER.match(name):
        raise ConfigError(
            f"{what} {name!r} is not a plain identifier. Expected letters, digits and underscores, "
            "starting with a letter or underscore, at most 63 characters."
        )
    return name


class _AlchemySession:
    """A transaction on a SQLAlchemy connection (every dialect)."""

    def __init__(self, db: Database, conn):
        self.db = db
        self.conn = conn

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> list[tuple]:
        from sqlalchemy import bindparam, text

        statement = text(sql)
        if params:
            for key, value in params.items():
                if isinstance(value, (list, tuple)):
                    statement = statement.bindparams(bindparam(key, expanding=True))
        result = self.conn.execute(statement, dict(params or {}))
        return [tuple(row) for row in result.fetchall()] if result.returns_rows else []

    def table_names(self) -> set[str]:
        from sqlalchemy import inspect

        return set(inspect(self.conn).get_table_names())

    def columns(self, name: str) -> list[str]:
        from sqlalchemy import inspect

        return [c["name"] for c in inspect(self.conn).get_columns(name)]

    def insert(self, name: str, frame: pd.DataFrame, columns: list[str], types: Mapping[str, str]) -> None:
        rows = list(zip(*[_column_to_python(frame[c], types.get(c)) for c in columns]))
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

    def read(self, sql: str) -> pd.DataFrame:
        from sqlalchemy import text

        result = self.conn.execute(text(sql))
        return pd.DataFrame.from_records(result.fetchall(), columns=list(result.keys()), coerce_float=True)


class _AdbcSession:
    """A transaction on an ADBC SQLite connection: the fast path for SQLite files."""

    def __init__(self, db: Database, conn):
        self.db = db
        self.conn = conn
        self.cursor = conn.cursor()

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> list[tuple]:
        positional: list[Any] = []

        def bind(match: re.Match) -> str:
            value = (params or {})[match.group(1)]
            if isinstance(value, (list, tuple)):
                positional.extend(value)
                return "(" + ", ".join("?" * len(value)) + ")" if value else "(NULL)"
            positional.append(value)
            return "?"

        sql = re.sub(r":([A-Za-z_][A-Za-z0-9_]*)", bind, sql)
        self.cursor.execute(sql, parameters=tuple(positional) if positional else None)
        try:
            return [tuple(r) for r in self.cursor.fetchall()]
        except Exception:  # statements without a result set
            return []

    def table_names(self) -> set[str]:
        rows = self.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {r[0] for r in rows}

    def columns(self, name: str) -> list[str]:
        return [r[0] for r in self.execute("SELECT name FROM pragma_table_info(:name)", {"name": name})]

    def insert(self, name: str, frame: pd.DataFrame, columns: list[str], types: Mapping[str, str]) -> None:
        import pyarrow as pa

        arrays = {c: _column_to_arrow(frame[c], types.get(c)) for c in columns}
        self.cursor.adbc_ingest(name, pa.table(arrays), mode="append")

    def read(self, sql: str) -> pd.DataFrame:
        self.cursor.execute(sql)
        return _arrow_to_pandas(self.cursor.fetch_arrow_table())


class Database:
    """A customer database and kam's result tables, behind one SQLAlchemy engine.

    Parameters
    ----------
    target : str, pathlib.Path or sqlalchemy.engine.URL
        A SQLAlchemy URL (``sqlite:///kam.sqlite``, ``postgresql://user@host/db``) or a file path,
        which means a SQLite file.
    contract : Contract, default CUSTOMER_DATABASE
        The source tables that may be read and loaded, with their column types.
    extra_tables : sequence of str, optional
        Further table names to allow (checked as identifiers), e.g. for a custom result table.
    fast_sqlite : bool, default True
        Use ADBC for bulk reads and writes of a SQLite file. Off, everything goes through
        SQLAlchemy (the tests run both ways).
    readonly : bool, default False
        Open for reading only: every write is refused with a :class:`StorageError`, and a SQLite
        file is opened read-only by the drivers too (nothing is created, not even a journal).
        Also switched on by ``?mode=ro`` or ``?immutable=1`` in a SQLite URL.
    create : bool, default True
        Whether a SQLite file that does not exist may be created. With ``False`` (and always
        when read-only) a missing file is a :class:`StorageError` naming the path.

    Examples
    --------
    >>> import pandas as pd, tempfile, os
    >>> db = Database(os.path.join(tempfile.mkdtemp(), "example.sqlite"))
    >>> db.write_run("run-1", {"account_scores": pd.DataFrame({"account_id": ["A1"], "tier": ["A"]})})
    >>> db.read_results("account_scores")[["run_id", "account_id", "tier"]].to_dict("records")
    [{'run_id': 'run-1', 'account_id': 'A1', 'tier': 'A'}]
    >>> db.dispose()
    """

    def __init__(
        self,
        target: Any,
        *,
        contract: Contract = CUSTOMER_DATABASE,
        extra_tables: Sequence[str] = (),
        fast_sqlite: bool = True,
        readonly: bool = False,
        create: bool = True,
    ):
        url = _normalise_url(target)
        asked_readonly = False
        if url.get_backend_name() == "sqlite":
            url, asked_readonly = _sqlite_readonly_in_url(url)
        self.url = url
        self.readonly = bool(readonly) or asked_readonly
        self.create = bool(create) and not self.readonly
        path = _sqlite_file(url) if self.dialect == "sqlite" else None
        if path is not None and not self.create and not Path(path).is_file():
            what = "is not a file" if Path(path).exists() else "does not exist"
            raise StorageError(
                f"SQLite database {str(url.database)!r} {what} (resolved to {path}); this command reads an "
                "existing database and creates none. Fix: check the path given with --db, KAM_DB_URL or "
                "database.url, or create a demo database first with `kam demo-db PATH`."
            )
        self.contract = contract
        self._allowed = set(contract.table_names) | set(RESULT_TABLES)
        self._allowed |= {_check_identifier(t, "table name") for t in extra_tables}
        self._engine = None
        self._fast = bool(fast_sqlite) and self.dialect == "sqlite" and self.url.database not in (None, "", ":memory:")
        if self._fast:
            try:
                import adbc_driver_sqlite.dbapi  # noqa: F401
                import pyarrow  # noqa: F401
            except ImportError:
                self._fast = False

    # --- connection --------------------------------------------------------------------------
    @property
    def display_url(self) -> str:
        """The connection URL with every credential masked: safe for logs and errors."""
        return mask_url(self.url)

    @property
    def display_name(self) -> str:
        """The database without any URL: ``sqlite file 'x.sqlite'`` or ``postgresql database 'sales' on host``.

        What kam writes into tables (never a URL, even masked).
        """
        if self.dialect == "sqlite":
            return f"sqlite file {self.url.database!r}" if self.url.database else "in-memory sqlite database"
        host = f" on {self.url.host}" if self.url.host else ""
        return f"{self.dialect} database {self.url.database!r}{host}"

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"`` (or another SQLAlchemy dialect name)."""
        return self.url.get_backend_name()

    @property
    def reads_in_parallel(self) -> bool:
        """Whether two threads may read at once and see the same data.

        False for an in-memory SQLite database: each thread's connection would open a new,
        empty database. Every file or server database can be read from several threads
        (each read opens its own connection).
        """
        return self.dialect != "sqlite" or _sqlite_file(self.url) is not None

    @property
    def engine(self):
        """The SQLAlchemy engine, created on first use."""
        if self._engine is None:
            from sqlalchemy import create_engine, event

            self._ensure_sqlite_folder()
            if self.dialect == "sqlite" and _sqlite_file(self.url) is not None:
                # no idle pooled connections: a pysqlite file handle closed later, while an
                # ADBC session holds locks, would release those locks (see _SqliteGuard)
                from sqlalchemy.pool import NullPool

                options: dict[str, Any] = {}
                if self.readonly or not self.create:
                    import sqlite3

                    uri = self._sqlite_uri()
                    options["creator"] = lambda: sqlite3.connect(uri, uri=True, check_same_thread=False)
                engine = create_engine(self.url, poolclass=NullPool, **options)
            else:
                engine = create_engine(self.url)
            if self.dialect == "sqlite":
                # pysqlite does not open a transaction before DDL; take control of BEGIN so that
                # a whole write (DDL included) is one atomic transaction.
                @event.listens_for(engine, "connect")
                def _on_connect(dbapi_connection, _record):
                    dbapi_connection.isolation_level = None
                    cursor = dbapi_connection.cursor()
                    if not self.readonly:
                        cursor.execute("PRAGMA journal_mode=WAL")
                    cursor.execute("PRAGMA busy_timeout=30000")
                    cursor.close()

                @event.listens_for(engine, "begin")
                def _on_begin(connection):
                    connection.exec_driver_sql("BEGIN IMMEDIATE")

            self._engine = engine
        return self._engine

    def _ensure_sqlite_folder(self) -> None:
        path = _sqlite_file(self.url) if self.dialect == "sqlite" else None
        if path is not None and self.create:
            Path(path).parent.mkdir(parents=True, exist_ok=True)

    def _sqlite_uri(self) -> str:
        """``file:`` URI of the SQLite file: read-only, or read-write without creating it."""
        from urllib.parse import quote

        mode = "ro" if self.readonly else ("rwc" if self.create else "rw")
        return f"file:{quote(str(Path(self.url.database).expanduser()))}?mode={mode}"

    def dispose(self) -> None:
        """Close every pooled connection."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc) -> None:
        self.dispose()

    def __repr__(self) -> str:
        return f"Database({self.display_url!r})"

    def _storage_error(self, action: str, exc: BaseException, write: bool) -> StorageError:
        from engine._log import redact

        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0] if str(exc).strip() else ""
        detail = redact(detail, [self.url.password] if self.url.password else [])
        suffix = " Nothing was written; the previous results are intact." if write else ""
        return StorageError(f"could not {action} on {self.display_url}: {type(exc).__name__}: {detail}.{suffix}")

    @contextmanager
    def _session(self, action: str, *, write: bool = False, fast: bool | None = None):
        """Open a session (one transaction when ``write``); translate driver errors."""
        if write and self.readonly:
            raise StorageError(
                f"could not {action} on {self.display_url}: the database was opened read-only "
                "(by the command, or mode=ro / immutable=1 in the URL). Nothing was written."
            )
        use_fast = self._fast if fast is None else (fast and self._fast)
        guard = _sqlite_guard(self.url) if self.dialect == "sqlite" else None
        if guard is None:
            with self._open_session(action, write=write, use_fast=use_fast) as session:
                yield session
            return
        with guard.hold("adbc" if use_fast else "pysqlite"):
            with self._open_session(action, write=write, use_fast=use_fast) as session:
                yield session

    @contextmanager
    def _open_session(self, action: str, *, write: bool, use_fast: bool):
        if use_fast:
            import adbc_driver_manager
            import adbc_driver_sqlite.dbapi as adbc

            self._ensure_sqlite_folder()
            conn = None
            session = None
            began = False
            try:
                # autocommit, with the transaction managed here: SQLite refuses the WAL pragma
                # inside the transaction ADBC would otherwise open implicitly.
                target = str(Path(self.url.database).expanduser()) if self.create else self._sqlite_uri()
                conn = adbc.connect(target, autocommit=True)
                session = _AdbcSession(self, conn)
                session.execute("PRAGMA busy_timeout=30000")
                if not self.readonly:
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
                    _rollback_quietly(session, action)
                raise self._storage_error(action, exc, write) from exc
            except BaseException:
                if began:
                    _rollback_quietly(session, action)
                raise
            finally:
                if session is not None:
                    session.cursor.close()
                if conn is not None:
                    conn.close()
            return
        try:
            if write:
                with self.engine.connect() as conn:
                    transaction = conn.begin()
                    try:
                        yield _AlchemySession(self, conn)
                    except BaseException:
                        _rollback_quietly(transaction, action)
                        raise
                    transaction.commit()
            else:
                with self.engine.connect() as conn:
                    yield _AlchemySession(self, conn)
        except _driver_errors() as exc:
            raise self._storage_error(action, exc, write) from exc

    # --- names -------------------------------------------------------------------------------
    def _table(self, name: str) -> str:
        _check_identifier(name, "table name")
        if name not in self._allowed:
            from engine._suggest import did_you_mean

            raise ConfigError(
                f"table {name!r} is not one kam reads or writes{did_you_mean(name, sorted(self._allowed))} "
                f"Expected one of {sorted(self._allowed)}."
            )
        return name

    def _quote(self, name: str) -> str:
        return '"' + _check_identifier(name, "identifier") + '"'

    def table_names(self) -> set[str]:
        """Names of the tables present in the database."""
        with self._session("list tables") as session:
            return session.table_names()

    def relation_names(self) -> dict[str, str]:
        """Tables and views present, as stored: name -> ``"table"`` or ``"view"``.

        Source tables may be views (a view is how a database exposes its own schema under the
        contract's names); result tables are always tables.
        """
        with self._session("list tables and views") as session:
            if isinstance(session, _AdbcSession):
                rows = session.execute("SELECT name, type FROM sqlite_master WHERE type IN ('table', 'view')")
                return {str(name): str(kind) for name, kind in rows}
            from sqlalchemy import inspect

            inspector = inspect(session.conn)
            found = {name: "table" for name in inspector.get_table_names()}
            found.update({name: "view" for name in inspector.get_view_names()})
            return found

    def stored_name(self, name: str, relations: Mapping[str, str] | None = None) -> str | None:
        """The table or view that a query for ``name`` reads, as stored; None when there is none.

        SQLite compares names without regard to letter case (``SELECT ... FROM orders`` reads
        a table created as ``ORDERS``, and the two cannot coexist); every other database keeps
        them apart, so only the exact name counts.
        """
        relations = self.relation_names() if relations is None else relations
        if name in relations:
            return name
        if self.dialect == "sqlite":
            same = [found for found in relations if found.lower() == name.lower()]
            if len(same) == 1:
                return same[0]
        return None

    def has_table(self, name: str) -> bool:
        """True when ``name`` (an allowed table) exists in the database."""
        return self._table(name) in self.table_names()

    def columns(self, name: str) -> list[str]:
        """Column names of table ``name`` as stored."""
        self._table(name)
        with self._session(f"inspect table {name}") as session:
            return session.columns(name)

    # --- reading -----------------------------------------------------------------------------
    def count_rows(self, name: str) -> int:
        """Number of rows in table ``name``."""
        table = self._quote(self._table(name))
        with self._session(f"count rows of {name}") as session:
            return int(session.execute(f"SELECT COUNT(*) FROM {table}")[0][0])

    def estimate_rows(self, name: str) -> int:
        """About how many rows table ``name`` has, without scanning it (to plan reads).

        SQLite: the largest rowid (exact unless rows were deleted or rowids were chosen
        sparse); PostgreSQL: the planner's estimate (``pg_class.reltuples``) once the table has
        been analysed. Otherwise, and for tables without rowids, the exact :meth:`count_rows`.
        """
        table = self._quote(self._table(name))
        with self._session(f"estimate the rows of {name}") as session:
            try:
                if self.dialect == "sqlite":
                    found = session.execute(f"SELECT MAX(rowid) FROM {table}")[0][0]
                elif self.dialect == "postgresql":
                    found = session.execute(
                        "SELECT reltuples FROM pg_class WHERE oid = to_regclass(:name)", {"name": table}
                    )
                    found = found[0][0] if found and found[0][0] is not None and found[0][0] >= 0 else None
                else:
                    found = None
            except _driver_errors() + _adbc_errors():  # a WITHOUT ROWID table: count instead
                found = None
        return int(found) if found is not None else self.count_rows(name)

    def max_value(self, name: str, column: str) -> Any:
        """The largest non-null value of ``column`` in table ``name`` (None when there is none)."""
        table = self._quote(self._table(name))
        with self._session(f"read the newest {column} of {name}") as session:
            return session.execute(f"SELECT MAX({self._quote(column)}) FROM {table}")[0][0]

    def newest_date(self, name: str, column: str, *, not_after) -> Any:
        """The latest well-formed date of ``column`` in table ``name`` on or before ``not_after``.

        Cells that are not ISO dates (SQLite lets any cell hold anything) and dates after
        ``not_after`` (a typo such as 2062 for 2026) are skipped, so one bad cell cannot move
        the default as-of date. Returns a ``datetime.date`` or None when there is none.
        """
        import datetime as dt

        table = self._quote(self._table(name))
        quoted = self._quote(column)
        limit = pd.Timestamp(not_after).date()
        with self._session(f"read the newest {column} of {name}") as session:
            if self.dialect == "sqlite":
                # A plain MAX first (a third of the time of the careful form at 2 million rows); only
                # when its answer is not an ISO date, the form that skips every malformed cell.
                found = session.execute(f"SELECT MAX({quoted}) FROM {table} WHERE {quoted} <= :limit",
                                        {"limit": limit.isoformat()})[0][0]
                if not (isinstance(found, str) and _ISO_DAY.match(found)):
                    found = session.execute(
                        f"SELECT MAX(substr({quoted}, 1, 10)) FROM {table} WHERE typeof({quoted}) = 'text' "
                        f"AND {quoted} GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]*' "
                        f"AND substr({quoted}, 1, 10) <= :limit",
                        {"limit": limit.isoformat()},
                    )[0][0]
            else:
                found = session.execute(f"SELECT MAX({quoted}) FROM {table} WHERE {quoted} <= :limit",
                                        {"limit": limit})[0][0]
        if found is None:
            return None
        if isinstance(found, dt.datetime):
            return found.date()
        if isinstance(found, dt.date):
            return found
        try:
            return dt.date.fromisoformat(str(found)[:10])
        except ValueError:
            return None

    def read_table(self, name: str, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """Read a whole table into a DataFrame, as stored (no type coercion).

        Dates come back as ISO strings on SQLite and as ``datetime.date`` on PostgreSQL;
        :func:`engine.validate.validate_tables` coerces both to the contract's types.

        Parameters
        ----------
        name : str
            An allowed table name.
        columns : sequence of str, optional
            Columns to read (checked as identifiers); all when omitted.
        """
        self._table(name)
        if self.stored_name(name) is None:
            raise StorageError(f"table {name!r} does not exist in {self.display_url}.")
        stored = self.columns(name)
        wanted = list(stored if columns is None else columns)
        unknown = [c for c in wanted if c not in stored]
        if unknown:
            raise ConfigError(f"table {name!r} has no column(s) {unknown}; it has {stored}.")
        select = ", ".join(self._quote(c) for c in wanted)
        if self._fast:
            return self._read_fast(name, wanted)
        with self._session(f"read table {name}", fast=False) as session:
            try:
                return session.read(f"SELECT {select} FROM {self._quote(name)}")
            except _driver_errors() as exc:
                if self.dialect != "sqlite" or "decode" not in str(exc).lower():
                    raise
            # text that is not UTF-8: read it as bytes and decode here, cell by cell
            pairs = ", ".join(
                f"typeof({q}), CASE WHEN typeof({q}) = 'text' THEN CAST({q} AS BLOB) ELSE {q} END"
                for q in (self._quote(c) for c in wanted)
            )
            return _cells.decode_rows(session.execute(f"SELECT {pairs} FROM {self._quote(name)}"), wanted)

    def _read_fast(self, name: str, columns: list[str], where: tuple[str, tuple] | None = None) -> pd.DataFrame:
        """Read through ADBC; a column holding cells of another type is read again on its own.

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

        with self._session(f"read table {name}") as session:
            declared = dict(session.execute("SELECT name, type FROM pragma_table_info(:name)", {"name": name}))
            declared = {c: str(declared.get(c) or "") for c in columns}
            session.execute("BEGIN")  # one snapshot for the table and any column read again
            try:
                try:
                    table = self._fetch_fast(session, name, columns, declared, where)
                    suspects = _cells.suspect_columns(table, declared)
                except (adbc_driver_manager.Error, OSError) as exc:
                    if "type mismatch" not in str(exc).lower():
                        raise
                    # the driver refused a widening mid-read: read column by column instead
                    table, suspects = None, []
                    for column in columns:
                        try:
                            single = self._fetch_fast(session, name, [column], declared, where)
                        except (adbc_driver_manager.Error, OSError) as single_exc:
                            if "type mismatch" not in str(single_exc).lower():
                                raise
                            suspects.append(column)
                            continue
                        suspects += _cells.suspect_columns(single, declared)
                        table = single if table is None else table.append_column(column, single[column])
                redone = {c: self._read_split(session, name, c, where) for c in suspects}
            except BaseException:
                try:
                    session.cursor.execute("ROLLBACK")
                except Exception:  # noqa: BLE001 - the first error is the one to report
                    pass
                raise
            session.execute("COMMIT")
        if table is None:
            frame = pd.DataFrame(index=pd.RangeIndex(len(next(iter(redone.values())))))
        else:
            frame = _arrow_to_pandas(table.drop_columns([c for c in suspects if c in table.column_names]))
        for column in suspects:
            frame[column] = redone[column].to_numpy() if redone[column].dtype == object else redone[column]
        return frame[columns] if list(frame.columns) != columns else frame

    def _fetch_fast(self, session, name: str, columns: list[str], declared: Mapping[str, str], where=None):
        """The Arrow table of ``columns`` of ``name`` read by ADBC, typed by a dropped probe row."""
        probe = ", ".join(f"{_PROBE_VALUES.get(declared[c].upper(), 'NULL')} AS {self._quote(c)}" for c in columns)
        select = ", ".join(self._quote(c) for c in columns)
        sql = f"SELECT 0 AS __kam_probe, {probe} UNION ALL SELECT 1, {select} FROM {self._quote(name)}"
        if where is not None:  # applies to the table's SELECT, not the probe row
            sql += f" WHERE {where[0]}"
        session.cursor.adbc_statement.set_options(**{_ADBC_BATCH_ROWS: str(_READ_BATCH_ROWS)})
        session.cursor.execute(sql, parameters=where[1] if where is not None else None)
        return _drop_probe(_combine_columns(_read_columns(session.cursor.fetch_record_batch())))

    def _read_split(self, session, name: str, column: str, where=None) -> pd.Series:
        """Column ``column`` of ``name`` read cell by cell (see :mod:`engine.storage._cells`)."""
        sql = _cells.split_select(self._quote(column), self._quote(name))
        if where is not None:
            sql += f" WHERE {where[0]}"
        session.cursor.adbc_statement.set_options(**{_ADBC_BATCH_ROWS: str(_READ_BATCH_ROWS)})
        session.cursor.execute(sql, parameters=where[1] if where is not None else None)
        return _cells.assemble_split(session.cursor.fetch_arrow_table())

    def iter_table(
        self, name: str, *, columns: Sequence[str] | None = None, chunksize: int = 500_000
    ) -> Iterator[pd.DataFrame]:
        """Yield table ``name`` in chunks of at most ``chunksize`` rows (at least one chunk)."""
        frame = self.read_table(name, columns)
        if frame.empty:
            yield frame
            return
        for start in range(0, len(frame), chunksize):
            yield frame.iloc[start : start + chunksize].reset_index(drop=True)

    def read_tables(self, names: Sequence[str] | None = None) -> dict[str, pd.DataFrame]:
        """Read several source tables (all contract tables present, by default)."""
        present = self.table_names()
        if names is None:
            names = [t for t in self.contract.table_names if t in present]
        return {name: self.read_table(name) for name in names}

    # --- writing source tables ---------------------------------------------------------------
    def write_source_tables(self, tables: Mapping[str, pd.DataFrame]) -> None:
        """Create (or replace) contract tables with typed DDL and bulk-load them, atomically.

        All tables are written in one transaction: a reader sees the old tables or the new ones.

        Parameters
        ----------
        tables : mapping of str to DataFrame
            Contract table name -> rows with (at least) the contract's columns.
        """
        specs = {}
        for name, frame in tables.items():
            spec = self.contract[self._table(name)] if name in self.contract else None
            if spec is None:
                raise ConfigError(f"{name!r} is not a source table; expected one of {list(self.contract.table_names)}.")
            missing = [c for c in spec.column_names if c not in frame.columns]
            if missing:
                raise ConfigError(
                    f"table {name!r} is missing contract columns {missing}. Expected columns "
                    f"{list(spec.column_names)}; add the missing ones (null where unknown)."
                )
            specs[name] = spec
        with self._session("write source tables", write=True) as session:
            for name, frame in tables.items():
                spec = specs[name]
                staging = name + _STAGING_SUFFIX
                session.execute(f"DROP TABLE IF EXISTS {self._quote(staging)}")
                session.execute(self._create_sql(staging, spec))
                types = {c.name: c.type for c in spec.columns}
                if len(frame):
                    session.insert(staging, frame, list(spec.column_names), types)
                session.execute(f"DROP TABLE IF EXISTS {self._quote(name)}")
                session.execute(f"ALTER TABLE {self._quote(staging)} RENAME TO {self._quote(name)}")

    def _create_sql(self, name: str, spec: Table) -> str:
        # Deliberately no NOT NULL / PRIMARY KEY: the database may hold rows that break the
        # contract, and engine.validate is the one place that judges (and quarantines) them.
        cols = []
        for col in spec.columns:
            sql_type = SQL_TYPES[col.type]
            if self.dialect == "sqlite" and sql_type == "DOUBLE PRECISION":
                sql_type = "REAL"
            cols.append(f"{self._quote(col.name)} {sql_type}")
        return f"CREATE TABLE {self._quote(name)} ({', '.join(cols)})"

    # --- writing results ---------------------------------------------------------------------
    def write_run(
        self,
        run_id: str,
        tables: Mapping[str, pd.DataFrame],
        *,
        keep_runs: int | None = None,
    ) -> None:
        """Write one run's result tables atomically and idempotently.

        In a single transaction, for every table: create it if needed (columns from the frame,
        plus ``run_id``), add columns the frame has and the table lacks, delete the rows of
        ``run_id`` already there, insert the new rows. With ``keep_runs``, rows of all but the
        newest ``keep_runs`` runs (by ``runs.started_at``, then run id) are deleted from every
        result table in the same transaction. On any error nothing is written.

        Parameters
        ----------
        run_id : str
            Identifier of the run; every row written carries it.
        tables : mapping of str to DataFrame
            Result table name (see :data:`RESULT_TABLES`) -> rows.
        keep_runs : int, optional
            How many runs to keep (at least 1); all when omitted.
        """
        if keep_runs is not None and (isinstance(keep_runs, bool) or not isinstance(keep_runs, int) or keep_runs < 1):
            raise ConfigError(f"keep_runs must be a whole number >= 1; got {keep_runs!r}.")
        prepared = {}
        for name, frame in tables.items():
            self._table(name)
            frame = frame.drop(columns=["run_id"], errors="ignore")
            frame.insert(0, "run_id", run_id)
            for column in frame.columns:
                _check_identifier(str(column), f"column name in {name}")
            prepared[name] = frame
        with self._session(f"write results of run {run_id!r}", write=True) as session:
            existing = session.table_names()
            for name, frame in prepared.items():
                quoted = self._quote(name)
                if name not in existing:
                    cols = ", ".join(f"{self._quote(c)} {self._sql_type_for(frame[c])}" for c in frame.columns)
                    session.execute(f"CREATE TABLE {quoted} ({cols})")
                    session.execute(f"CREATE INDEX {self._quote(name + '_run_id_idx')} ON {quoted} (\"run_id\")")
                else:
                    present = set(session.columns(name))
                    for column in frame.columns:
                        if column not in present:
                            session.execute(
                                f"ALTER TABLE {quoted} ADD COLUMN {self._quote(column)} {self._sql_type_for(frame[column])}"
                            )
                session.execute(f'DELETE FROM {quoted} WHERE "run_id" = :run_id', {"run_id": run_id})
                if len(frame):
                    session.insert(name, frame, list(frame.columns), {})
            if keep_runs is not None:
                self._prune_runs(session, keep_runs, existing | set(prepared))

    def _prune_runs(self, session, keep_runs: int, tables: set[str]) -> None:
        if "runs" not in tables:
            return
        order = '"started_at" DESC, "run_id" DESC' if "started_at" in session.columns("runs") else '"run_id" DESC'
        ordered = [r[0] for r in session.execute(f'SELECT "run_id" FROM "runs" ORDER BY {order}')]
        stale = ordered[keep_runs:]
        if not stale:
            return
        for name in sorted(t for t in tables if t in RESULT_TABLES):
            session.execute(f'DELETE FROM {self._quote(name)} WHERE "run_id" IN :stale', {"stale": stale})

    def _sql_type_for(self, series: pd.Series) -> str:
        dtype = series.dtype
        if isinstance(dtype, pd.CategoricalDtype):  # stored as its values; no category: text
            dtype = dtype.categories.dtype if len(dtype.categories) else np.dtype(object)
        if pd.api.types.is_bool_dtype(dtype):
            return "BOOLEAN"
        if pd.api.types.is_integer_dtype(dtype):
            return "BIGINT"
        if pd.api.types.is_float_dtype(dtype):
            return "REAL" if self.dialect == "sqlite" else "DOUBLE PRECISION"
        if pd.api.types.is_datetime64_any_dtype(dtype):
            return "TIMESTAMP"
        return "TEXT"

    def list_runs(self) -> pd.DataFrame:
        """The ``runs`` table, newest first (empty when kam has not written any run)."""
        if "runs" not in self.table_names():
            return pd.DataFrame()
        with self._session("read runs") as session:
            order = '"started_at" DESC, "run_id" DESC' if "started_at" in session.columns("runs") else '"run_id" DESC'
            return session.read(f'SELECT * FROM "runs" ORDER BY {order}')

    def latest_run_id(self) -> str | None:
        """Identifier of the newest run, or None when there is none."""
        runs = self.list_runs()
        return None if runs.empty else str(runs["run_id"].iloc[0])

    def read_results(
        self,
        name: str,
        run_id: str | None = None,
        *,
        columns: Sequence[str] | None = None,
        missing_ok: bool = False,
        account_id: str | None = None,
    ) -> pd.DataFrame:
        """Read one run's rows of result table ``name`` (the latest run when ``run_id`` is None).

        The latest run is the newest in ``runs`` by ``started_at``; when there is no ``runs``
        table, all rows are returned. ``columns`` reads only those (an unknown one is an error,
        or is left out with ``missing_ok``, for runs written before a column was added).
        ``account_id`` keeps the rows of one account (a bound parameter; the table must have an
        ``account_id`` column).
        """
        quoted = self._quote(self._table(name))
        if name not in self.table_names():
            raise StorageError(f"result table {name!r} does not exist in {self.display_url}. Run `kam score` first.")
        select = "*"
        if columns is not None:
            stored = self.columns(name)
            unknown = [c for c in columns if c not in stored]
            if unknown and not missing_ok:
                raise ConfigError(f"result table {name!r} has no column(s) {unknown}; it has {stored}.")
            select = ", ".join(self._quote(c) for c in columns if c in stored)
        if run_id is None and name != "runs":
            run_id = self.latest_run_id()
        if self._fast and run_id is not None and account_id is None and select != "*":
            # A run of a million accounts: ADBC reads it as Arrow in a fraction of the time.
            return self._read_fast(name, [c for c in columns if c in stored], where=('"run_id" = ?', (run_id,)))
        conditions, params = [], {}
        if run_id is not None:
            conditions.append('"run_id" = :run_id')
            params["run_id"] = run_id
        if account_id is not None:
            conditions.append('"account_id" = :account_id')
            params["account_id"] = str(account_id)
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        with self._session(f"read results from {name}", fast=False) as session:
            if not params:
                return session.read(f"SELECT {select} FROM {quoted}")
            from sqlalchemy import text

            result = session.conn.execute(text(f"SELECT {select} FROM {quoted}{where}"), params)
            return pd.DataFrame.from_records(result.fetchall(), columns=list(result.keys()), coerce_float=True)


def _read_columns(reader) -> dict[str, list]:
    """Drain a record-batch reader into per-column lists of compact arrays, text as ``large_string``.

    The driver's batches grow their buffers by doubling (up to twice the data) and share them
    with a cast; every ``_COMPACT_BATCHES`` batches the pending ones are concatenated into one
    exact-size chunk per column (pandas' ``str`` dtype holds ``large_string``) and released,
    so memory holds the data read so far plus a few batches, never the driver's copy of all.
    """
    import pyarrow as pa

    columns: dict[str, list] = {field.name: [] for field in reader.schema}
    pending: dict[str, list] = {field.name: [] for field in reader.schema}

    def compact() -> None:
        for name, chunks in pending.items():
            if chunks:
                columns[name].append(pa.concat_arrays(chunks))
                chunks.clear()
        give_back_memory()

    for number, batch in enumerate(reader, start=1):
        for field, array in zip(batch.schema, batch.columns):
            if pa.types.is_string(field.type):
                array = array.cast(pa.large_string())
            pending[field.name].append(array)
        del batch, array
        if number % _COMPACT_BATCHES == 0:
            compact()
    compact()
    return columns


def _combine_columns(columns: dict[str, list]):
    """A table of the compacted chunks (about a million rows each: no further copy)."""
    import pyarrow as pa

    # emptied as it goes: the table must own the chunks so that to_pandas can free them
    return pa.table({name: pa.chunked_array(columns.pop(name)) for name in list(columns)})


def _drop_probe(table):
    """``table`` without the typed probe row of :meth:`Database._read_fast`.

    SQLite returns the first arm of the ``UNION ALL`` first, so the probe is row 0 and a
    zero-copy slice drops it; a filter (a full copy of the table) is only the fallback.
    """
    import pyarrow.compute as pc

    marks = table["__kam_probe"]
    if len(table) and marks[0].as_py() == 0 and pc.sum(marks).as_py() == len(table) - 1:
        table = table.slice(1)
    else:
        table = table.filter(pc.equal(marks, 1))
    return table.drop_columns(["__kam_probe"])


def _arrow_to_pandas(table) -> pd.DataFrame:
    """Arrow table -> DataFrame without holding both copies of the numeric columns at once.

    ``self_destruct`` frees each Arrow column as soon as it is converted, and ``split_blocks``
    skips consolidating numeric columns into one 2-D block (a second copy). Text columns stay in
    Arrow memory (pandas' ``str`` dtype). Memory the Arrow allocator no longer uses is handed
    back to the system, so the rest of the run (numpy) can reuse it.
    """
    frame = table.to_pandas(self_destruct=True, split_blocks=True)
    del table
    give_back_memory()
    return frame


def _column_to_arrow(series: pd.Series, logical_type: str | None):
    """Convert a column to an Arrow array for ADBC ingestion (dates as ISO text, no infinities)."""
    import pyarrow as pa

    if isinstance(series.dtype, pd.CategoricalDtype):
        if logical_type in (None, "string", "enum"):
            # decoded in Arrow (the codes index the categories): no Python object per row
            try:
                decoded = pa.array(series, from_pandas=True).dictionary_decode()
            except (pa.ArrowInvalid, pa.ArrowTypeError):  # categories of mixed Python types
                decoded = None
            if decoded is not None and (
                pa.types.is_string(decoded.type) or pa.types.is_large_string(decoded.type)
                or len(series.cat.categories) == 0
            ):
                return decoded.cast(pa.string())  # text categories, or none at all (every value null)
        categories = series.cat.categories
        if series.isna().any() and pd.api.types.is_bool_dtype(categories.dtype):
            series = series.astype("boolean")  # nullable: a missing value stays missing
        elif series.isna().any() and pd.api.types.is_integer_dtype(categories.dtype):
            series = series.astype("Int64")
        else:
            series = series.astype(categories.dtype if categories.dtype != object else object)
    if logical_type == "date" or pd.api.types.is_datetime64_any_dtype(series.dtype):
        # Arrow's date -> text cast is ~4x faster than numpy's datetime_as_string.
        unit = "datetime64[D]" if logical_type == "date" else "datetime64[s]"
        return pa.array(_as_datetime(series).to_numpy(dtype=unit), from_pandas=True).cast(pa.string())
    if pd.api.types.is_float_dtype(series.dtype):
        arr = series.to_numpy(dtype="float64", na_value=np.nan)
        _refuse_infinity(series.name, arr)
        if logical_type == "integer":
            _refuse_fraction(series.name, arr)
            return pa.array(arr, mask=np.isnan(arr)).cast(pa.int64())
        return pa.array(arr, mask=np.isnan(arr))
    if pd.api.types.is_bool_dtype(series.dtype) or pd.api.types.is_integer_dtype(series.dtype):
        mask = series.isna().to_numpy()
        filled = series.astype("float64").fillna(0) if mask.any() else series
        return pa.array(filled.to_numpy().astype("int64"), mask=mask if mask.any() else None)
    if pd.api.types.is_string_dtype(series.dtype) and not pd.api.types.is_object_dtype(series.dtype):
        return pa.array(series, from_pandas=True, type=pa.string())
    values = _column_to_python(series, logical_type)
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        # Mixed Python types (a text among integers): send text and let SQLite's column
        # affinity store numbers as numbers; validation later reports the text as wrong_type.
        return pa.array([None if v is None else str(v) for v in values], type=pa.string())


def _as_datetime(series: pd.Series) -> pd.Series:
    values = series if pd.api.types.is_datetime64_any_dtype(series.dtype) else pd.to_datetime(
        series, errors="raise", format="ISO8601"
    )
    if getattr(values.dt, "tz", None) is not None:
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    return values


def _refuse_infinity(name: Any, arr: np.ndarray) -> None:
    if np.isinf(arr).any():
        position = int(np.flatnonzero(np.isinf(arr))[0])
        raise StorageError(
            f"column {name!r} holds an infinity at row {position}; kam stores finite numbers only. "
            "Quarantine the row or replace the value before writing."
        )


def _refuse_fraction(name: Any, arr: np.ndarray) -> None:
    fraction = ~np.isnan(arr) & (arr != np.round(arr))
    if fraction.any():
        position = int(np.flatnonzero(fraction)[0])
        raise StorageError(
            f"column {name!r} is a whole-number column; got {float(arr[position])!r} at row {position}. "
            "Round the values (or validate the table first: engine.validate quarantines them)."
        )


def _column_to_python(series: pd.Series, logical_type: str | None) -> list:
    """Convert a column to a list of plain Python values with ``None`` for nulls.

    Dates become ISO ``YYYY-MM-DD`` strings (contract dates) or ISO timestamps. NaN becomes
    ``None``; an infinity is refused, since no column of kam's should hold one.
    """
    if logical_type == "date" or pd.api.types.is_datetime64_any_dtype(series.dtype):
        arr = _as_datetime(series).to_numpy(dtype="datetime64[us]")
        text_values = np.datetime_as_string(arr, unit="D" if logical_type == "date" else "s")
        out = text_values.astype(object)
        out[np.isnat(arr)] = None
        return out.tolist()
    if pd.api.types.is_float_dtype(series.dtype):
        arr = series.to_numpy(dtype="float64", na_value=np.nan)
        _refuse_infinity(series.name, arr)
        if logical_type == "integer":
            _refuse_fraction(series.name, arr)
            return [None if math.isnan(v) else int(v) for v in arr.tolist()]
        return [None if v != v else v for v in arr.tolist()]
    if pd.api.types.is_bool_dtype(series.dtype) or pd.api.types.is_integer_dtype(series.dtype):
        return series.astype(object).where(series.notna(), None).tolist()
    values = series.astype(object).where(series.notna(), None).tolist()
    return [_plain(v) for v in values]


def _plain(value: Any) -> Any:
    """Turn numpy scalars and containers into values a DB-API driver accepts."""
    if isinstance(value, float) and math.isinf(value):
        raise StorageError("a value is infinite; kam stores finite numbers only.")
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, np.generic):
        return _plain(value.item())
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, (list, tuple, dict)):
        import json

        return json.dumps(value, default=str, ensure_ascii=False)
    return str(value)

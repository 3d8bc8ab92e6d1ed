"""Connections to one database: its URL, the SQLAlchemy engine, SQLite's settings, sessions.

The connection half of :class:`engine.storage.Database` (which adds the tables: names,
reads, writes, runs). :class:`Connections` turns a URL or path into the engine (SQLite files
without a pool, with WAL and kam's own ``BEGIN IMMEDIATE``), opens sessions under the SQLite
file's guard (:class:`engine.storage._guard.SqliteGuard`), keeps idle connections open for
short writes (:meth:`Connections.keep_open`), and turns driver errors into
:class:`StorageError` with credentials masked.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from engine._errors import StorageError
from engine.storage._guard import KeptConnection, SqliteGuard, sqlite_guard
from engine.storage._sessions import AdbcSession, AlchemySession, open_session
from engine.storage._urls import mask_url, normalise_url, sqlite_file, sqlite_readonly_in_url

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from engine.storage._database import Database

__all__ = ["Connections"]

_UNKNOWN = object()

#: How long dispose() waits for a transaction on the kept writer to end before closing it anyway.
DISPOSE_WAIT_SECONDS = 5.0

#: Every Connections object of this process, so that a forked child can leave their connections behind.
_OPEN: weakref.WeakSet[Connections] = weakref.WeakSet()


def _forget_parent_connections() -> None:
    for connections in list(_OPEN):
        connections._after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_parent_connections)


class Connections:
    """How to reach one database: URL, engine, sessions, kept connections (the base of ``Database``).

    Parameters
    ----------
    target : str, pathlib.Path or sqlalchemy.engine.URL
        A SQLAlchemy URL or a file path (a SQLite file).
    fast_sqlite, readonly, create : bool
        As for :class:`engine.storage.Database`.
    """

    def __init__(self, target: Any, *, fast_sqlite: bool = True, readonly: bool = False, create: bool = True):
        url = normalise_url(target)
        asked_readonly = False
        if url.get_backend_name() == "sqlite":
            url, asked_readonly = sqlite_readonly_in_url(url)
        self.url = url
        self.readonly = bool(readonly) or asked_readonly
        self.create = bool(create) and not self.readonly
        path = sqlite_file(url) if self.dialect == "sqlite" else None
        if path is not None and not self.create and not Path(path).is_file():
            what = "is not a file" if Path(path).exists() else "does not exist"
            raise StorageError(
                f"SQLite database {str(url.database)!r} {what} (resolved to {path}); this command reads an "
                "existing database and creates none. Fix: check the path given with --db, KAM_DB_URL or "
                "database.url, or create a demo database first with `kam demo-db PATH`."
            )
        self._engine: Engine | None = None
        self._kept: list[KeptConnection] = []  # what keep_open() handed out, closed by dispose()
        self._writer: KeptConnection | None = None  # kept_writer()'s connection, once opened
        self._writer_lock = threading.Lock()  # one kept_writer() block at a time
        self._guard: object = _UNKNOWN  # _file_guard(), once looked up
        _OPEN.add(self)
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
        return self.dialect != "sqlite" or sqlite_file(self.url) is not None

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine, created on first use."""
        if self._engine is None:
            from sqlalchemy import create_engine, event

            self._ensure_sqlite_folder()
            if self.dialect == "sqlite" and sqlite_file(self.url) is not None:
                # no idle pooled connections: a pysqlite file handle closed later, while an
                # ADBC session holds locks, would release those locks (see engine.storage._guard.SqliteGuard)
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
        path = sqlite_file(self.url) if self.dialect == "sqlite" else None
        if path is not None and self.create:
            Path(path).parent.mkdir(parents=True, exist_ok=True)

    def _sqlite_uri(self) -> str:
        """``file:`` URI of the SQLite file: read-only, or read-write without creating it."""
        from urllib.parse import quote

        mode = "ro" if self.readonly else ("rwc" if self.create else "rw")
        return f"file:{quote(str(Path(self.url.database or '').expanduser()))}?mode={mode}"

    def keep_open(self) -> KeptConnection | None:
        """Hold one idle connection to this SQLite file open until ``close()`` is called on the result.

        For a process that writes a little, often, in short sessions (``kam serve``: one
        transaction per lead): without it each session's close is the file's last, which
        checkpoints and deletes the WAL, syncing the disk four times (see
        :meth:`engine.storage._guard.SqliteGuard.keep`). The connection runs no statement
        and is closed while a fast (ADBC) session of this process reads the file. Durability
        is unchanged: commits go to the WAL as before, and SQLite checkpoints it every 1,000
        pages.

        Returns
        -------
        KeptConnection or None
            None when there is nothing to keep: not a SQLite file, or opened read-only. A file
            that cannot be opened now is logged and tried again before each later session.
        """
        import sqlite3

        if self.dialect != "sqlite" or self.readonly or sqlite_file(self.url) is None:
            return None
        guard = sqlite_guard(self.url)
        assert guard is not None  # a SQLite file has its guard
        uri = self._sqlite_uri()
        # a short busy timeout: it is opened while the file's guard is held (a WAL reader
        # waits only during a crash recovery by another process)
        kept = guard.keep(lambda: sqlite3.connect(uri, uri=True, check_same_thread=False, timeout=0.5))
        self._kept.append(kept)
        return kept

    def _file_guard(self) -> SqliteGuard | None:
        """The process-wide guard of this SQLite file (None for another database or in memory).

        Looked up once: finding it resolves the file's real path (system calls, on every session).
        """
        if self._guard is _UNKNOWN:
            self._guard = sqlite_guard(self.url) if self.dialect == "sqlite" else None
        return cast("SqliteGuard | None", self._guard)

    @contextmanager
    def kept_writer(self) -> Iterator[KeptConnection | None]:
        """This SQLite file's connection for short write transactions, kept open, under the file's guard.

        For a process that writes one small transaction after another (``kam serve``, a
        :class:`~engine.live.LiveRouter`: one per lead). A new connection per transaction costs
        more than the transaction's statements (SQLAlchemy's connect, the connect-time pragmas,
        the file's open); this one is opened once, in autocommit mode (the caller begins and
        commits) with ``synchronous=NORMAL`` (what the live transactions use), and reused.
        It is a :class:`KeptConnection` of the file's guard: closed while an ADBC session of
        this process has the file and opened again before the next pysqlite session, so the
        guard's rule holds; while the caller is inside this block, the guard is held for
        pysqlite, so it stays open. One thread at a time is inside the block (it is not
        re-entrant). :meth:`dispose` closes the connection.

        Yields
        ------
        KeptConnection or None
            None when there is none to keep (not a SQLite file, or read-only); its
            ``connection`` is None when it could not be opened now (logged): then the caller
            opens a session of its own.
        """
        guard = self._file_guard() if not self.readonly else None
        if guard is None:
            yield None
            return
        # One block at a time on the one connection (two live stores of one database - a
        # service's routers before and after a reload - would otherwise interleave their
        # transactions on it); taken before the guard, so a waiting writer blocks no ADBC read.
        with self._writer_lock, guard.hold("pysqlite"):
            writer = self._writer
            if writer is None or writer.closed:
                writer = self._writer = guard.keep(self._open_writer)
                self._kept.append(writer)
            yield writer

    def _open_writer(self) -> Any:
        import sqlite3

        # a short busy timeout: it is opened while the file's guard is held (the transactions
        # wait for the write lock in their own way: engine.storage._live_sqlite.begin_immediate)
        connection = sqlite3.connect(self._sqlite_uri(), uri=True, check_same_thread=False, timeout=0.5,
                                     isolation_level=None)
        try:
            connection.execute("PRAGMA journal_mode=WAL").fetchall()
            connection.execute("PRAGMA synchronous=NORMAL")
        except BaseException:
            connection.close()
            raise
        return connection

    def _after_fork(self) -> None:
        """In a forked child: start with no connection of the parent's (see engine.storage._guard._INHERITED)."""
        self._kept = []
        self._writer = None
        self._writer_lock = threading.Lock()  # a parent thread may have held it at the fork
        self._guard = _UNKNOWN  # the child's guards are its own
        if self._engine is not None:  # SQLAlchemy's advice: the child's pool starts empty, the parent's stay open
            self._engine.dispose(close=False)

    def dispose(self) -> None:
        """Close every pooled connection, the idle ones :meth:`keep_open` holds and :meth:`kept_writer`'s.

        The writer is closed after the transaction running on it, if any, ends (waiting at most
        :data:`DISPOSE_WAIT_SECONDS`; after that it is closed under it, which rolls it back).
        """
        held = self._writer_lock.acquire(timeout=DISPOSE_WAIT_SECONDS)
        try:
            while self._kept:
                self._kept.pop().close()
        finally:
            if held:
                self._writer_lock.release()
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def _storage_error(self, action: str, exc: BaseException, write: bool) -> StorageError:
        from engine._log import redact

        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0] if str(exc).strip() else ""
        detail = redact(detail, [self.url.password] if self.url.password else [])
        suffix = " Nothing was written; the previous results are intact." if write else ""
        return StorageError(f"could not {action} on {self.display_url}: {type(exc).__name__}: {detail}.{suffix}")

    @contextmanager
    def _session(
        self, action: str, *, write: bool = False, fast: bool | None = None
    ) -> Iterator[AdbcSession | AlchemySession]:
        """Open a session (one transaction when ``write``); translate driver errors."""
        if write and self.readonly:
            raise StorageError(
                f"could not {action} on {self.display_url}: the database was opened read-only "
                "(by the command, or mode=ro / immutable=1 in the URL). Nothing was written."
            )
        use_fast = self._fast if fast is None else (fast and self._fast)
        database = cast("Database", self)  # the sessions quote names with the facade's rules
        guard = self._file_guard()
        if guard is None:
            with open_session(database, action, write=write, fast=use_fast) as session:
                yield session
            return
        with guard.hold("adbc" if use_fast else "pysqlite"):
            with open_session(database, action, write=write, fast=use_fast) as session:
                yield session

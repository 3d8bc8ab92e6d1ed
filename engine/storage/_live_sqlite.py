"""The live transaction on SQLite: ``BEGIN IMMEDIATE`` with short retries, and statements on the driver's connection.

Part of :mod:`engine.storage._live` (the live tables), split off as the SQLite driver-level
half: how a decision waits for the write lock another process holds, the transaction around a
decision, and the thin session that runs its statements straight on the ``sqlite3`` connection.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from engine.storage._sessions import driver_errors, rollback_quietly

if TYPE_CHECKING:
    from engine.storage._database import Database

__all__ = ["WRITE_LOCK_WAIT_SECONDS", "begin_immediate", "SqliteSession", "sqlite_transaction"]

#: How long a live decision waits for SQLite's write lock held by another process before failing.
WRITE_LOCK_WAIT_SECONDS = 30.0
_FIRST_PAUSE, _LONGEST_PAUSE = 0.0002, 0.002


def begin_immediate(raw: SqliteSession, wait_seconds: float = WRITE_LOCK_WAIT_SECONDS) -> None:
    """``BEGIN IMMEDIATE``, waiting for another process's write lock in steps of 0.2-2 ms.

    Threads of one process queue on the store's own lock; other processes (``kam serve
    --workers N``, a batch run) meet at SQLite's write lock, whose busy handler sleeps 1, 2, 5,
    10 ... 100 ms between tries: a decision that found the lock taken could wait 100 ms after it
    was released (the tail latency with two workers). Here SQLite's handler waits at most 1 ms
    and the retries follow at 0.2 ms growing to 2 ms, up to ``wait_seconds`` in all; then the
    lock error is raised (a decision is never dropped silently: it fails with the storage error).
    """
    import sqlite3

    raw.execute("PRAGMA busy_timeout=1")
    deadline = time.monotonic() + wait_seconds
    pause = _FIRST_PAUSE
    try:
        while True:
            try:
                raw.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as error:
                busy = getattr(error, "sqlite_errorcode", None) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) \
                    or "locked" in str(error)
                if not busy or time.monotonic() >= deadline:
                    raise
            time.sleep(pause)
            pause = min(pause * 2, _LONGEST_PAUSE)
    finally:  # statements inside the transaction (and the checkpoint at close) wait as before
        raw.execute(f"PRAGMA busy_timeout={int(wait_seconds * 1000)}")


class SqliteSession:
    """The live transaction's statements straight on the ``sqlite3`` connection.

    The few statements of a decision cost more in SQLAlchemy's per-statement work (building,
    caching and binding a ``text()`` clause, wrapping results) than in SQLite; on SQLite they
    run on the driver's connection (taken from the SQLAlchemy engine, in autocommit mode: the
    transaction is begun and committed here). The statements are the same text; a sequence
    parameter (``IN :ids``) is expanded to one named parameter per value.
    """

    def __init__(self, connection):
        self.connection = connection
        self.cursor = connection  # what _rollback_quietly calls execute("ROLLBACK") on

    def _run(self, sql: str, params: Mapping[str, Any] | None):
        bound = dict(params or {})
        for key, value in list(bound.items()):
            if isinstance(value, (list, tuple)):
                names = [f"{key}__{i}" for i in range(len(value))]
                sql = sql.replace(f":{key}", "(" + ", ".join(f":{n}" for n in names) + ")")
                del bound[key]
                bound.update(zip(names, value))
        return self.connection.execute(sql, bound)

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> list[tuple]:
        return [tuple(row) for row in self._run(sql, params).fetchall()]

    def one(self, sql: str, params: Mapping[str, Any]) -> dict[str, Any] | None:
        cursor = self._run(sql, params)
        row = cursor.fetchone()
        return None if row is None else dict(zip([d[0] for d in cursor.description], row))

    def table_names(self) -> set[str]:
        return {str(r[0]) for r in self.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}

    def columns(self, name: str) -> list[str]:
        return [str(r[0]) for r in self.execute("SELECT name FROM pragma_table_info(:name)", {"name": name})]


@contextmanager
def sqlite_transaction(db: Database, connection: Any, action: str, *, normal_sync_here: bool = False,
                        on_driver_error: Callable[[], None] | None = None) -> Iterator[SqliteSession]:
    """``BEGIN IMMEDIATE`` (the live lock) ... ``COMMIT`` on a ``sqlite3`` connection in autocommit mode.

    Rolled back on any error; a driver error becomes the :class:`StorageError` naming
    ``action``, after ``on_driver_error()`` (the kept connection is then replaced by a fresh
    one; so it is when the rollback failed and left the transaction open).
    ``normal_sync_here`` sets ``synchronous=NORMAL`` for this transaction and restores the
    connection's own setting after it.
    """
    raw = SqliteSession(connection)
    began = False
    # for this transaction only: the pooled connection's later writes (a scoring run's
    # results) keep the durability they had
    previous = int(raw.execute("PRAGMA synchronous")[0][0]) if normal_sync_here else None
    try:
        if normal_sync_here:
            raw.execute("PRAGMA synchronous=NORMAL")
        begin_immediate(raw)  # the live lock: SQLite's write lock
        began = True
        yield raw
        raw.execute("COMMIT")
    except BaseException as exc:
        if began:
            rollback_quietly(raw, action)
        failed_in_driver = isinstance(exc, driver_errors())
        if on_driver_error is not None and (failed_in_driver or connection.in_transaction):
            on_driver_error()  # also when the rollback itself failed: SQLite rolls back at the close
        if failed_in_driver:
            raise db._storage_error(action, exc, True) from exc
        raise
    finally:
        if previous is not None:
            raw.execute(f"PRAGMA synchronous={previous}")

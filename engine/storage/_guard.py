"""The SQLite file guard: sessions of one SQLite library at a time on one file, and the
connections kept open between sessions.

Split from :mod:`engine.storage._sessions`, which opens the sessions the guard admits.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from engine.storage._urls import sqlite_file

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

__all__ = ["KeptConnection", "SqliteGuard", "sqlite_guard"]


class SqliteGuard:
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

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._library: str | None = None
        self._active = 0
        self._holders: dict[int, str] = {}
        self._kept: list[KeptConnection] = []

    def keep(self, opener: Callable[[], Any]) -> KeptConnection:
        """Keep an idle pysqlite connection (``opener()``) open between this file's sessions.

        In WAL mode, the last connection to a file to close checkpoints the WAL into the
        database, syncs both and deletes the WAL (four ``fsync`` calls, 1-2 ms on an idle disk,
        tens of ms on a busy one); the next write creates it again. A caller that opens one
        short session per small write (the live path: one per lead) pays that on every write;
        with one idle connection kept, a session's close is never the last one, and the WAL is
        checkpointed by SQLite's own automatic checkpoint (every 1,000 pages) instead.
        The kept connection is a pysqlite handle: it is closed before a session of the other
        library starts (closing it later would drop that session's locks) and opened again
        before the next pysqlite session, so the guard's rule holds.

        It is an optimisation only: a connection that cannot be opened (now or before a later
        session) is logged at WARNING and tried again before the next pysqlite session; the
        sessions themselves report what is wrong with the file. ``opener`` should return a
        connection with a short busy timeout: it is opened while this guard is held.

        Returns
        -------
        KeptConnection
            ``close()`` it when done (closing twice is harmless).
        """
        kept = KeptConnection(self, opener)
        with self._cond:
            self._kept.append(kept)
            if self._library != "adbc":
                kept._reopen()
        return kept

    def _release(self, kept: KeptConnection) -> None:
        with self._cond:
            if kept in self._kept:
                self._kept.remove(kept)
            kept._park()

    @contextmanager
    def hold(self, library: str) -> Iterator[None]:
        me = threading.get_ident()
        with self._cond:
            held = self._holders.get(me)
            if held is not None and held != library:
                from engine._errors import StorageError

                raise StorageError(
                    f"expected one kind of session at a time on a SQLite file; got a {library} session "
                    f"opened inside a {held} session (e.g. reading another table inside a loop over "
                    "Database.iter_table, which holds the file until it ends). Fix: finish or close "
                    "the loop first, or read the table whole with read_table"
                )
            while self._active and self._library != library:
                self._cond.wait()
            for kept in self._kept:  # open only while no session of the other library runs
                if library == "pysqlite":
                    kept._reopen()
                else:
                    kept._park()
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


class KeptConnection:
    """A pysqlite connection held open between sessions by :meth:`SqliteGuard.keep`.

    Idle (:meth:`engine.storage.Database.keep_open`), or the connection of short write
    transactions, used only inside a pysqlite session of the guard
    (:meth:`engine.storage.Database.kept_writer`).

    ``connection`` is the open ``sqlite3`` connection, or None while a session of the other
    library runs (or after :meth:`close`).
    """

    def __init__(self, guard: SqliteGuard, opener: Callable[[], Any]):
        self._guard = guard
        self._opener = opener
        self.connection: Any = None
        self._closed = False
        self._inherited = False  # a forked child's copy of its parent's kept connection

    def _left_behind(self) -> None:
        """In a forked child: the parent's connection is never used, nor closed, here (see :data:`_INHERITED`)."""
        if self.connection is not None:
            _INHERITED.append(self.connection)
        self.connection = None
        self._closed = self._inherited = True

    def _open(self) -> None:
        if self.connection is not None or self._closed:
            return
        connection = self._opener()
        try:
            # a connection takes part in the WAL (holds its shared lock) once it has read the file
            connection.execute("SELECT count(*) FROM sqlite_master").fetchall()
        except BaseException:
            connection.close()
            raise
        self.connection = connection

    def _reopen(self) -> None:
        """Open (again) before a pysqlite session; a failure leaves it closed (the session reports the problem)."""
        try:
            self._open()
        except Exception as error:  # noqa: BLE001 -- the session that follows opens the same file and raises
            from engine._log import get_logger

            get_logger("storage").warning("could not reopen the idle SQLite connection kept open between "
                                          "sessions (%s: %s); sessions close the WAL again until it reopens",
                                          type(error).__name__, error)

    def _park(self) -> None:
        connection, self.connection = self.connection, None
        if connection is not None:
            connection.close()

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called (it is then never opened again)."""
        return self._closed

    def reset(self) -> None:
        """Close the connection now; it is opened again before the next pysqlite session.

        For a kept connection that ran a transaction which failed in the driver: a fresh
        connection, rather than one in whatever state the failure left.
        """
        if self._inherited:
            return
        with self._guard._cond:
            self._park()

    def close(self) -> None:
        """Close the connection and stop keeping it (the last session's close then checkpoints the WAL)."""
        self._closed = True
        if not self._inherited:
            self._guard._release(self)


#: One guard per SQLite file, for the whole process (POSIX locks are per process).
_SQLITE_GUARDS: dict[str, SqliteGuard] = {}
_SQLITE_GUARDS_LOCK = threading.Lock()

#: The ``sqlite3`` connections a forked child inherited from its parent's kept connections. SQLite
#: must not carry a connection across ``fork()`` (https://sqlite.org/howtocorrupt.html, 2.6): the
#: child holds none of the parent's file locks, and a close in the child could be taken for the
#: file's last one, checkpointing and deleting the WAL the parent still writes (the child's later
#: commits then went to a deleted file). So the child never uses or closes them; they stay
#: referenced here so that garbage collection cannot close them either.
_INHERITED: list[Any] = []


def _forget_parent_connections() -> None:
    """After ``fork()``, in the child: the guards and kept connections of the parent are left behind.

    The child starts with no guard (a guard's lock may have been held by a parent thread at the
    fork) and opens its own connections when it needs them.
    """
    global _SQLITE_GUARDS_LOCK
    for guard in _SQLITE_GUARDS.values():
        for kept in guard._kept:
            kept._left_behind()
    _SQLITE_GUARDS.clear()
    _SQLITE_GUARDS_LOCK = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_parent_connections)



def sqlite_guard(url: URL) -> SqliteGuard | None:
    """The process-wide guard of the SQLite file ``url`` names; None for an in-memory database."""
    path = sqlite_file(url)
    if path is None:
        return None
    with _SQLITE_GUARDS_LOCK:
        return _SQLITE_GUARDS.setdefault(path, SqliteGuard())

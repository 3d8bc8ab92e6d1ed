"""Database.keep_open: an idle connection that keeps a SQLite file's WAL between short sessions,
and steps aside for the other SQLite library (SqliteGuard's rule)."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.storage import Database
from engine.storage._guard import SqliteGuard


def _write(db: Database, value: int) -> None:
    with db._session("write a row", write=True, fast=False) as session:
        session.execute("CREATE TABLE IF NOT EXISTS probe (v INTEGER)")
        session.execute(f"INSERT INTO probe VALUES ({int(value)})")


def _wal(path: Path) -> Path:
    return Path(str(path) + "-wal")


def test_the_wal_outlives_each_session_only_while_a_connection_is_kept(tmp_path):
    path = tmp_path / "kam.sqlite"
    with Database(path) as db:
        _write(db, 1)
        assert not _wal(path).exists()  # the last close checkpointed and deleted it
        kept = db.keep_open()
        assert kept is not None and kept.connection is not None
        _write(db, 2)
        assert _wal(path).exists()  # not the last close: no checkpoint, no fsync
        with db._session("read", fast=True) as session:  # ADBC (the fast path) when installed
            assert kept.connection is None or not db._fast  # closed while the other library reads
            assert session.execute("SELECT COUNT(*) FROM probe")[0][0] == 2
        _write(db, 3)
        assert kept.connection is not None  # reopened for the next pysqlite session
        kept.close()
        kept.close()  # twice is harmless
        assert kept.connection is None
        _write(db, 4)
        assert not _wal(path).exists()
    with sqlite3.connect(path) as check:
        assert [r[0] for r in check.execute("SELECT v FROM probe ORDER BY v")] == [1, 2, 3, 4]


def test_nothing_is_kept_for_a_read_only_or_server_database(tmp_path):
    path = tmp_path / "kam.sqlite"
    with Database(path) as db:
        _write(db, 1)
    with Database(path, readonly=True) as db:
        assert db.keep_open() is None
    assert Database("postgresql://u@localhost/kam").keep_open() is None


class _Connection:
    """A stand-in for a sqlite3 connection that records whether it is open."""

    def __init__(self, log: list[str]):
        self.log = log
        self.inner = sqlite3.connect(":memory:", check_same_thread=False)
        log.append("open")

    def execute(self, sql: str):
        return self.inner.execute(sql)

    def close(self) -> None:
        self.inner.close()
        self.log.append("close")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["adbc", "pysqlite", "nested-adbc", "nested-pysqlite"]), max_size=25))
def test_a_kept_connection_is_never_open_while_the_other_library_holds_the_file(sessions):
    guard = SqliteGuard()
    log: list[str] = []
    kept = guard.keep(lambda: _Connection(log))
    for session in sessions:
        library = session.removeprefix("nested-")
        with guard.hold(library):
            assert (kept.connection is None) == (library == "adbc")
            if session.startswith("nested-"):
                with guard.hold(library):
                    assert (kept.connection is None) == (library == "adbc")
    kept.close()
    assert kept.connection is None
    assert log.count("open") == log.count("close") >= 1  # every connection opened was closed
    with guard.hold("pysqlite"):
        assert kept.connection is None  # closed for good: not reopened


def test_threads_of_both_libraries_never_meet_the_kept_connection():
    guard = SqliteGuard()
    kept = guard.keep(lambda: _Connection([]))
    seen: list[tuple[str, bool]] = []
    lock = threading.Lock()

    def sessions(library: str) -> None:
        for _ in range(30):
            with guard.hold(library):
                with lock:
                    seen.append((library, kept.connection is not None))

    threads = [threading.Thread(target=sessions, args=(lib,)) for lib in ["adbc", "pysqlite"] * 3]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
        assert not thread.is_alive()
    kept.close()
    assert len(seen) == 180
    assert all(is_open == (library == "pysqlite") for library, is_open in seen)


def test_a_connection_that_cannot_be_opened_is_logged_and_tried_again(caplog):
    guard = SqliteGuard()
    failing = {"now": True}

    def opener():
        if failing["now"]:
            raise sqlite3.OperationalError("database is locked")
        return _Connection([])

    with caplog.at_level("WARNING", logger="kam.storage"):
        kept = guard.keep(opener)
    assert kept.connection is None
    assert "could not reopen the idle SQLite connection" in caplog.text and "database is locked" in caplog.text
    with guard.hold("pysqlite"):  # still failing: the session itself goes on
        assert kept.connection is None
    failing["now"] = False
    with guard.hold("pysqlite"):
        assert kept.connection is not None
    kept.close()

"""Database.kept_writer: one SQLite connection reused by the short write transactions (the live
path's), which steps aside for the other SQLite library like every kept connection."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from engine._errors import StorageError
from engine.storage import Database, LiveStore
from engine.storage._live_sqlite import sqlite_transaction


def _write(db: Database, value: int) -> None:
    with db.kept_writer() as writer:
        assert writer is not None and writer.connection is not None
        with sqlite_transaction(db, writer.connection, "write a row", on_driver_error=writer.reset) as session:
            session.execute("CREATE TABLE IF NOT EXISTS probe (v INTEGER)")
            session.execute("INSERT INTO probe VALUES (:v)", {"v": int(value)})


def test_one_connection_serves_every_transaction_with_normal_sync(tmp_path):
    path = tmp_path / "kam.sqlite"
    with Database(path) as db:
        _write(db, 1)
        with db.kept_writer() as writer:
            assert writer is not None
            first = writer.connection
            assert first.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
            assert first.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert first.isolation_level is None  # autocommit: the caller begins and commits
        for value in range(2, 6):
            _write(db, value)
        with db.kept_writer() as writer:
            assert writer is not None and writer.connection is first  # reused, not reopened
        with db._session("read back", fast=False) as session:  # kam's other connections keep FULL
            assert session.execute("PRAGMA synchronous")[0][0] == 2
            assert [r[0] for r in session.execute("SELECT v FROM probe ORDER BY v")] == [1, 2, 3, 4, 5]
    assert writer.closed and writer.connection is None  # dispose closed it
    with sqlite3.connect(path) as check:
        assert check.execute("SELECT COUNT(*) FROM probe").fetchone()[0] == 5


def test_there_is_no_writer_for_a_read_only_in_memory_or_server_database(tmp_path):
    path = tmp_path / "kam.sqlite"
    with Database(path) as db:
        _write(db, 1)
    with Database(path, readonly=True) as db, db.kept_writer() as writer:
        assert writer is None
    with Database("sqlite://") as db, db.kept_writer() as writer:
        assert writer is None
    with Database("postgresql://u@localhost/kam").kept_writer() as writer:
        assert writer is None


def test_the_writer_is_closed_while_the_other_library_reads_and_back_after(tmp_path):
    path = tmp_path / "kam.sqlite"
    with Database(path) as db:
        if not db._fast:
            pytest.skip("the ADBC driver is not installed")
        _write(db, 1)
        with db.kept_writer() as writer:
            assert writer is not None
        with db._session("read", fast=True) as session:  # ADBC
            assert writer.connection is None
            assert session.execute("SELECT COUNT(*) FROM probe")[0][0] == 1
        _write(db, 2)  # opened again for the next pysqlite session
        assert writer.connection is not None


def test_threads_of_decisions_and_fast_reads_never_meet_the_writer(tmp_path):
    """Live decisions (on the writer) and ADBC reads in threads: the writer is never open while
    an ADBC session has the file, and every decision is written."""
    path = tmp_path / "kam.sqlite"
    with Database(path) as db:
        if not db._fast:
            pytest.skip("the ADBC driver is not installed")
        _write(db, 0)
        seen: list[bool] = []
        errors: list[BaseException] = []
        lock = threading.Lock()

        def decisions(offset: int) -> None:
            try:
                for k in range(25):
                    _write(db, offset + k)
            except BaseException as error:  # noqa: BLE001 -- reported by the assertion below
                errors.append(error)

        def reads() -> None:
            try:
                for _ in range(25):
                    with db._session("read", fast=True) as session:
                        session.execute("SELECT COUNT(*) FROM probe")
                        with lock:
                            seen.append(db._writer is not None and db._writer.connection is not None)
            except BaseException as error:  # noqa: BLE001
                errors.append(error)

        threads = [threading.Thread(target=decisions, args=(1000 * (i + 1),)) for i in range(3)]
        threads += [threading.Thread(target=reads) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
            assert not thread.is_alive()
        assert errors == []
        assert len(seen) == 75 and not any(seen)
        with db._session("count", fast=False) as session:
            assert session.execute("SELECT COUNT(*) FROM probe")[0][0] == 1 + 75


def test_a_driver_error_replaces_the_writer_and_the_next_transaction_works(tmp_path):
    path = tmp_path / "kam.sqlite"
    with Database(path) as db:
        _write(db, 1)
        with db.kept_writer() as writer:
            assert writer is not None
            before = writer.connection
        with pytest.raises(StorageError, match="could not write on .*no such table: missing. Nothing was written"):
            with db.kept_writer() as writer:
                with sqlite_transaction(db, writer.connection, "write", on_driver_error=writer.reset) as session:
                    session.execute("INSERT INTO probe VALUES (2)")
                    session.execute("INSERT INTO missing VALUES (3)")
        assert writer.connection is None  # closed after the failure ...
        _write(db, 4)
        assert writer.connection is not None and writer.connection is not before  # ... a fresh one now
        with db._session("read back", fast=False) as session:
            assert [r[0] for r in session.execute("SELECT v FROM probe ORDER BY v")] == [1, 4]  # 2 rolled back


def test_live_decisions_run_on_the_writer(tmp_path):
    """The live store's transactions reuse the database's kept writer (no connection per decision)."""
    path = tmp_path / "kam.sqlite"
    with Database(path) as db:
        store = LiveStore(db)
        store.ensure_tables()
        connections = []
        for k in range(3):
            with store._transaction(f"decision {k}") as session:
                connections.append(session.connection)
                session.execute('SELECT "id" FROM "live_meta"')
        assert db._writer is not None and connections == [db._writer.connection] * 3


def test_two_live_stores_of_one_database_take_turns_on_the_writer(tmp_path):
    """A service's routers before and after a reload share one Database: their transactions
    must not interleave on its one connection."""
    path = tmp_path / "kam.sqlite"
    with Database(path) as db:
        stores = [LiveStore(db), LiveStore(db)]
        stores[0].ensure_tables()
        with db._session("create", write=True, fast=False) as session:
            session.execute("CREATE TABLE probe (v INTEGER)")
        errors: list[BaseException] = []

        def decide(store: LiveStore, offset: int) -> None:
            try:
                for _ in range(40):
                    with store._transaction("a decision") as session:
                        count = session.execute("SELECT COUNT(*) FROM probe")[0][0]
                        session.execute("INSERT INTO probe VALUES (:v)", {"v": offset + count})
            except BaseException as error:  # noqa: BLE001 -- reported by the assertion below
                errors.append(error)

        threads = [threading.Thread(target=decide, args=(stores[i % 2], 1000 * i)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
            assert not thread.is_alive()
        assert errors == []
        with db._session("count", fast=False) as session:
            assert session.execute("SELECT COUNT(*) FROM probe")[0][0] == 160


def test_a_second_store_waits_for_the_first_ones_transaction_on_the_writer(tmp_path):
    path = tmp_path / "kam.sqlite"
    with Database(path) as db:
        stores = [LiveStore(db), LiveStore(db)]
        stores[0].ensure_tables()
        with db._session("create", write=True, fast=False) as session:
            session.execute("CREATE TABLE probe (v INTEGER)")
        first_inside, second_inside = threading.Event(), threading.Event()
        overlapped: list[bool] = []
        errors: list[BaseException] = []

        def first() -> None:
            try:
                with stores[0]._transaction("first") as session:
                    session.execute("INSERT INTO probe VALUES (1)")
                    first_inside.set()
                    overlapped.append(second_inside.wait(0.5))  # the second must not get in meanwhile
            except BaseException as error:  # noqa: BLE001
                errors.append(error)

        def second() -> None:
            try:
                assert first_inside.wait(60)
                with stores[1]._transaction("second") as session:
                    second_inside.set()
                    session.execute("INSERT INTO probe VALUES (2)")
            except BaseException as error:  # noqa: BLE001
                errors.append(error)

        threads = [threading.Thread(target=first), threading.Thread(target=second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
            assert not thread.is_alive()
        assert errors == [] and overlapped == [False]
        with db._session("count", fast=False) as session:
            assert [r[0] for r in session.execute("SELECT v FROM probe ORDER BY v")] == [1, 2]

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


_UNASSIGNED = {"status": "unassigned", "assignee_type": "none", "load_claimed": 0}


def _live_store(path):
    """``(database, decide)``: a live store on ``path``; ``decide(lead, choose=None)`` records ``lead`` unassigned."""
    db = Database(path)
    store = LiveStore(db)
    store.ensure_tables()

    def decide(lead: str, choose=None):
        return store.decide(lead, base_run_key=None,
                            choose=choose or (lambda load_of: dict(_UNASSIGNED, lead_id=lead)),
                            capacity_of=lambda *_: 1)

    return db, decide


def _wait_child(pid: int, seconds: float = 60.0) -> int:
    """The exit status of the forked child ``pid``, waiting at most ``seconds`` (then it is killed)."""
    import os
    import signal
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    raise AssertionError(f"the forked child did not finish within {seconds} s")


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs os.fork")
def test_a_forked_child_opens_its_own_writer_and_its_commits_survive_the_parents_close(tmp_path):
    """SQLite must not carry a connection across fork(): the child of a process that had used its
    writer (a pre-forking server's warm-up decision) inherited the open connection; when the
    parent then closed its database, its close checkpointed and deleted the WAL, and the child's
    later commits went to the deleted file - lost, though each had returned normally."""
    import os

    path = tmp_path / "live.sqlite"
    db, decide = _live_store(path)
    decide("L-1")
    with db.kept_writer() as writer:
        inherited = writer.connection
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: wait until the parent has closed its database, then decide
        code = 1
        try:
            os.close(write_end)
            os.read(read_end, 1)
            decide("L-2")
            with db.kept_writer() as writer:
                code = 0 if writer.connection is not inherited else 2
        finally:
            os._exit(code)
    os.close(read_end)
    db.dispose()  # the parent closes its database (router.close(), exit)
    os.write(write_end, b"x")
    os.close(write_end)
    assert _wait_child(pid) == 0, "the child failed to decide, or reused its parent's connection"
    with sqlite3.connect(path) as check:
        leads = [r[0] for r in check.execute("SELECT lead_id FROM live_assignments ORDER BY lead_id")]
    assert leads == ["L-1", "L-2"]


def test_dispose_waits_for_the_transaction_on_the_writer_to_end(tmp_path):
    """dispose() from another thread (a worker's exit while a decision runs) closes the writer
    after the transaction, not under it."""
    path = tmp_path / "kam.sqlite"
    db = Database(path)
    _write(db, 1)
    inside, release = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def transaction() -> None:
        try:
            with db.kept_writer() as writer:
                assert writer is not None and writer.connection is not None
                with sqlite_transaction(db, writer.connection, "write", on_driver_error=writer.reset) as session:
                    session.execute("INSERT INTO probe VALUES (2)")
                    inside.set()
                    assert release.wait(30)
                    session.execute("INSERT INTO probe VALUES (3)")
        except BaseException as exc:  # noqa: BLE001 -- reported by the assertion below
            failures.append(exc)

    thread = threading.Thread(target=transaction)
    thread.start()
    assert inside.wait(30)
    disposer = threading.Thread(target=db.dispose)
    disposer.start()
    disposer.join(0.3)
    assert disposer.is_alive(), "dispose() closed the writer under a running transaction"
    release.set()
    thread.join(30)
    disposer.join(30)
    assert not thread.is_alive() and not disposer.is_alive()
    assert not failures, failures
    with sqlite3.connect(path) as check:
        assert [r[0] for r in check.execute("SELECT v FROM probe ORDER BY v")] == [1, 2, 3]


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs os.fork")
def test_a_child_forked_while_another_thread_decides_is_refused_at_once_not_left_waiting(tmp_path):
    """A thread inside decide() at the fork held the store's lock and SQLite's write lock: the
    child's first decision waited for the store's lock forever (and SQLite's lock, which the
    child's copy of the library counts as its own, could never be released in the child). The
    child now gets a StorageError saying to open the store after forking; the parent is unharmed."""
    import os
    import time

    path = tmp_path / "live.sqlite"
    db, decide = _live_store(path)
    inside, release = threading.Event(), threading.Event()

    def slowly(load_of):
        inside.set()
        assert release.wait(30)
        return dict(_UNASSIGNED, lead_id="L-slow")

    decide("L-1")
    thread = threading.Thread(target=decide, args=("L-slow", slowly))
    thread.start()
    assert inside.wait(30)
    pid = os.fork()
    if pid == 0:  # the child: its copy of the store's lock and of SQLite's lock were taken at the fork
        code = 1
        try:
            started = time.monotonic()
            try:
                decide("L-child")
                code = 2  # decided on a file whose lock it cannot release: must not happen
            except StorageError as error:
                code = 0 if "after forking" in str(error) and time.monotonic() - started < 5 else 3
        finally:
            os._exit(code)
    release.set()  # the parent's decision ends
    thread.join(30)
    assert not thread.is_alive()
    assert _wait_child(pid) == 0, "the forked child waited, decided, or failed without saying to open after forking"
    decide("L-2")  # the parent goes on deciding
    db.dispose()
    with sqlite3.connect(path) as check:
        leads = sorted(r[0] for r in check.execute("SELECT lead_id FROM live_assignments"))
    assert leads == ["L-1", "L-2", "L-slow"]

"""The live store's one transaction: all or nothing, on SQLite (driver connection) and PostgreSQL."""

from __future__ import annotations

from contextlib import contextmanager

import pytest

from engine._errors import StorageError
from engine.storage import LiveStore


class _Refused(Exception):
    pass


def test_a_failure_inside_the_decision_writes_nothing(live_db):
    """The claim and the row are written in one transaction; an error after the claim undoes both."""
    store = LiveStore(live_db)
    store.sync()
    person = ("rep", "R-TEST")
    row = {"lead_id": "L-1", "status": "assigned", "assignee_type": "rep", "assignee_id": "R-TEST",
           "load_claimed": 1}
    claim = store.decide("L-1", base_run_key=None, choose=lambda load_of: dict(row), capacity_of=lambda *_: 3)
    assert not claim.replayed and store.loads() == {person: 1}

    def choose_then_fail(load_of):
        assert load_of([person, ("rep", "R-NONE")]) == {person: 1, ("rep", "R-NONE"): 0}  # IN (...) of two ids
        return {**row, "lead_id": "L-2", "lead": object()}  # not storable: the INSERT fails after the claim

    with pytest.raises(StorageError, match="route lead 'L-2'.*Nothing was written"):
        store.decide("L-2", base_run_key=None, choose=choose_then_fail, capacity_of=lambda *_: 3)
    assert store.loads() == {person: 1}  # the claim of L-2 was rolled back with it
    assert store.recorded("L-2") is None
    assert list(store.assignments()["lead_id"]) == ["L-1"]

    def refuse(load_of):
        raise _Refused("the caller's own error")

    with pytest.raises(_Refused):
        store.decide("L-3", base_run_key=None, choose=refuse, capacity_of=lambda *_: 3)
    # the lock was released: the next decision goes through
    again = store.decide("L-3", base_run_key=None, choose=lambda load_of: {**row, "lead_id": "L-3"},
                         capacity_of=lambda *_: 3)
    assert again.row["seq"] == 2 and store.loads() == {person: 2}


@pytest.mark.postgres
def test_workers_creating_the_live_tables_at_once_all_succeed(new_postgres_database):
    """Several workers starting together on a fresh PostgreSQL database all create the live
    tables without error (CREATE TABLE IF NOT EXISTS alone races on the catalog: without the
    creation lock three of the four workers failed on pg_type's unique index, every time)."""
    import threading

    from engine.storage import Database

    url = new_postgres_database("kam_live_ddl")
    workers = 4
    start = threading.Barrier(workers, timeout=60)
    errors: list[BaseException] = []

    def create() -> None:
        database = Database(url)
        try:
            database.table_names()  # connected before the barrier: the DDL itself starts together
            start.wait()
            LiveStore(database).ensure_tables()
        except BaseException as error:  # reported below, with the thread's error
            errors.append(error)
        finally:
            database.dispose()

    threads = [threading.Thread(target=create, daemon=True) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
        assert not thread.is_alive(), "a worker creating the live tables did not finish in 120 s"
    assert errors == []
    with Database(url) as database:
        assert {"live_assignments", "live_load", "live_meta"} <= database.table_names()
        store = LiveStore(database)
        assert store.loads() == {} and len(store.assignments()) == 0
        assert store.sync() is None  # the one live_meta row is there; no scoring run yet


@contextmanager
def _live_lock_held_elsewhere(database):
    """Another connection holds the PostgreSQL live lock (the ``live_meta`` row) inside the block."""
    import sqlalchemy

    holder = sqlalchemy.create_engine(database.url)
    try:
        with holder.connect() as connection, connection.begin():
            connection.execute(sqlalchemy.text('SELECT "id" FROM "live_meta" WHERE "id" = 1 FOR UPDATE'))
            yield
    finally:
        holder.dispose()


@pytest.mark.postgres
def test_a_live_transaction_waits_a_bounded_time_for_the_live_lock(new_postgres_database, monkeypatch):
    """A scoring run's commit holds the live lock while it writes: a live transaction then fails
    after LIVE_LOCK_WAIT_SECONDS with what to do, instead of waiting as long as the commit."""

    from engine.storage import Database, _live_postgres

    url = new_postgres_database("kam_live_lock_wait")
    monkeypatch.setattr(_live_postgres, "LIVE_LOCK_WAIT_SECONDS", 0.5)
    with Database(url) as database:
        store = LiveStore(database)
        store.ensure_tables()
        with _live_lock_held_elsewhere(database):
            with pytest.raises(StorageError, match=r"expected the live lock within 0.5 s; got none.*Fix: send"):
                store.sync()
        assert store.sync() is None  # the lock released: the same call goes through


@pytest.mark.postgres
def test_a_decision_waits_a_bounded_time_for_the_live_lock_and_the_bound_ends_with_it(new_postgres_database,
                                                                                    monkeypatch):
    """decide() bounds its wait in the statement that takes the lock (one round trip, no SET LOCAL
    before it); the bound is the transaction's own: the pooled connection keeps the server's."""

    from engine.storage import Database, _live_postgres

    url = new_postgres_database("kam_live_decide_wait")
    monkeypatch.setattr(_live_postgres, "LIVE_LOCK_WAIT_SECONDS", 0.5)
    row = {"lead_id": "L-1", "status": "unassigned", "assignee_type": "none", "load_claimed": 0}
    with Database(url) as database:
        store = LiveStore(database)
        store.sync()
        with _live_lock_held_elsewhere(database):
            with pytest.raises(StorageError, match=r"route lead 'L-1'.*expected the live lock within 0.5 s"):
                store.decide("L-1", base_run_key=None, choose=lambda load_of: dict(row), capacity_of=lambda *_: 1)
        assert store.recorded("L-1") is None
        claim = store.decide("L-1", base_run_key=None, choose=lambda load_of: dict(row), capacity_of=lambda *_: 1)
        assert not claim.replayed and store.recorded("L-1") is not None
        with database._session("read the setting", fast=False) as session:
            assert session.execute("SHOW lock_timeout")[0][0] == "0"  # set_config(..., true) ended with its transaction


@pytest.mark.postgres
def test_the_run_reconciliation_refuses_a_snapshot_isolation_it_cannot_see_through(new_postgres_database):
    from engine.storage import Database
    from engine.storage._live_postgres import require_read_committed

    url = new_postgres_database("kam_live_isolation")
    with Database(url) as database:
        with database._session("check the isolation", write=True, fast=False) as session:
            require_read_committed(database, session)  # the server's default
        with pytest.raises(StorageError, match="expected the transaction isolation 'read committed'"):
            with database._session("check the isolation", write=True, fast=False) as session:
                session.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                require_read_committed(database, session)

"""A failed rollback (full disk, a file made immutable) never hides the error that caused it."""

from __future__ import annotations

import sqlite3

import pandas as pd
import pytest

from engine._errors import StorageError
from engine.storage import Database
from engine.storage import _sessions as storage


def _write(db: Database, run_id: str, rows: int = 3) -> None:
    db.write_run(run_id, {"runs": pd.DataFrame({"started_at": [pd.Timestamp("2026-10-01")]}),
                          "account_scores": pd.DataFrame({"account_id": [f"A{i}" for i in range(rows)]})})


@pytest.mark.parametrize("fast", [True, False], ids=["adbc", "pysqlite"])
def test_failed_rollback_never_hides_the_real_error(fast, tmp_path, monkeypatch):
    path = tmp_path / "kam.sqlite"
    with Database(path, fast_sqlite=fast) as db:
        _write(db, "run-1")

    def disk_full(self, name, frame, columns, types):
        raise sqlite3.OperationalError("database or disk is full")

    if fast:
        import adbc_driver_manager

        def error(message):
            return adbc_driver_manager.OperationalError(message, status_code=adbc_driver_manager.AdbcStatusCode.IO)

        def disk_full_adbc(self, name, frame, columns, types):
            raise error("IO: database or disk is full")

        class RollbackFails:
            """The real cursor, except that ROLLBACK (after really rolling back) reports a failure."""

            def __init__(self, cursor):
                self._cursor = cursor

            def __getattr__(self, name):
                return getattr(self._cursor, name)

            def execute(self, sql, *args, **kwargs):
                result = self._cursor.execute(sql, *args, **kwargs)
                if sql.strip().upper() == "ROLLBACK":
                    raise error("IO: disk I/O error during rollback")
                return result

        real_init = storage.AdbcSession.__init__

        def init(self, *args, **kwargs):
            real_init(self, *args, **kwargs)
            self.cursor = RollbackFails(self.cursor)

        monkeypatch.setattr(storage.AdbcSession, "insert", disk_full_adbc)
        monkeypatch.setattr(storage.AdbcSession, "__init__", init)
    else:
        monkeypatch.setattr(storage.AlchemySession, "insert", disk_full)
        from sqlalchemy.engine import RootTransaction

        real_rollback = RootTransaction.rollback

        def broken_rollback(self):
            real_rollback(self)  # the database rolls back; the driver still reports a failure
            raise sqlite3.OperationalError("disk I/O error during rollback")

        monkeypatch.setattr(RootTransaction, "rollback", broken_rollback)

    with Database(path, fast_sqlite=fast) as db:
        with pytest.raises(StorageError, match="database or disk is full") as caught:
            _write(db, "run-2")
        assert "previous results are intact" in str(caught.value)
    monkeypatch.undo()
    with Database(path, readonly=True) as db:
        assert list(db.list_runs()["run_id"]) == ["run-1"]


def test_readonly_database_refuses_every_write(tmp_path):
    path = tmp_path / "kam.sqlite"
    with Database(path) as db:
        _write(db, "run-1")
    for target in (Database(path, readonly=True), Database(f"sqlite:///{path}?mode=ro"),
                   Database(f"sqlite:///file:{path}?mode=ro&uri=true")):
        with target as db:
            assert db.readonly
            with pytest.raises(StorageError, match="read-only"):
                _write(db, "run-2")
            assert list(db.list_runs()["run_id"]) == ["run-1"]


@pytest.mark.parametrize("fast", [True, False], ids=["adbc", "pysqlite"])
def test_readonly_and_no_create_never_create_a_file(fast, tmp_path):
    for options in ({"readonly": True}, {"create": False}):
        missing = tmp_path / "a" / "missing.sqlite"
        with pytest.raises(StorageError, match="does not exist"):
            Database(missing, fast_sqlite=fast, **options)
        assert not (tmp_path / "a").exists()


def test_a_password_in_the_query_is_masked():
    db = Database("postgresql://kam@127.0.0.1:1/sales?password=s3cr3t-q")
    assert "s3cr3t-q" not in db.display_url and "s3cr3t-q" not in repr(db)
    assert "s3cr3t-q" not in db.display_name and "://" not in db.display_name

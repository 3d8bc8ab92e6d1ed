"""Sessions: driver errors are never swallowed, parameters are bound by SQLAlchemy, streams stream."""

from __future__ import annotations

import sqlite3
import tracemalloc

import pandas as pd
import pytest

from engine import ConfigError, StorageError
from engine.storage import Database
from engine.storage._sessions import _qmark

# 5,000 rows; SQLite reports the malformed JSON only when it steps to row 4,001, after the
# driver has handed over the first record batches: an error while the rows are fetched.
_FAILS_WHILE_FETCHING = (
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000) "
    "SELECT CASE WHEN i > 4000 THEN json('not json') ELSE i END FROM n"
)


def test_an_adbc_fetch_error_is_a_storage_error_with_its_cause(tmp_path):
    """It used to be swallowed (``except Exception: return []``): a failed read looked empty."""
    import adbc_driver_manager

    with Database(tmp_path / "kam.sqlite") as db:
        db.write_run("run-1", {"account_scores": pd.DataFrame({"account_id": ["A1"]})})
        with pytest.raises(StorageError, match="malformed JSON") as caught:
            with db._session("read the failing query") as session:
                assert type(session).__name__ == "AdbcSession"
                session.execute(_FAILS_WHILE_FETCHING)
        assert isinstance(caught.value.__cause__, (adbc_driver_manager.Error, OSError))
        assert "read the failing query" in str(caught.value)


def test_a_write_whose_fetch_fails_rolls_back(tmp_path):
    with Database(tmp_path / "kam.sqlite") as db:
        db.write_run("run-1", {"account_scores": pd.DataFrame({"account_id": ["A1"]})})
        with pytest.raises(StorageError, match="Nothing was written"):
            with db._session("write and then fail", write=True) as session:
                session.execute('DELETE FROM "account_scores"')
                session.execute(_FAILS_WHILE_FETCHING)
        assert db.count_rows("account_scores") == 1


def test_statements_without_a_result_set_return_no_rows(tmp_path):
    with Database(tmp_path / "kam.sqlite") as db, db._session("ddl", write=True) as session:
        assert session.execute('CREATE TABLE "t" ("a" BIGINT)') == []
        assert session.execute('INSERT INTO "t" VALUES (:a)', {"a": 7}) == []
        assert session.execute('SELECT "a" FROM "t"') == [(7,)]


@pytest.mark.parametrize(
    ("sql", "params", "expected_sql", "expected_values"),
    [
        ("SELECT 1 WHERE :a = :a", {"a": 1}, "SELECT 1 WHERE ? = ?", (1, 1)),
        ('SELECT 1 WHERE "x" IN :ids', {"ids": ["A", "B"]}, 'SELECT 1 WHERE "x" IN (?, ?)', ("A", "B")),
        ("PRAGMA busy_timeout=30000", None, "PRAGMA busy_timeout=30000", None),
        # a colon SQLAlchemy is told is not a parameter stays in the text
        ("SELECT '12\\:30' WHERE :a", {"a": 1}, "SELECT '12:30' WHERE ?", (1,)),
    ],
)
def test_named_parameters_become_the_drivers_paramstyle(sql, params, expected_sql, expected_values):
    assert _qmark(sql, params) == (expected_sql, expected_values)


def test_list_parameters_bind_on_every_path(database):
    """``IN :ids`` with a list means the same through ADBC and SQLAlchemy; a name may repeat."""
    database.write_run("run-1", {"account_scores": pd.DataFrame({"account_id": ["A1", "A2", "A3"]})})
    with database._session("read with a list") as session:
        select = 'SELECT "account_id" FROM "account_scores" WHERE "account_id" IN :ids ORDER BY 1'
        assert session.execute(select, {"ids": ["A1", "A3", "nope"]}) == [("A1",), ("A3",)]
        if database.dialect == "sqlite":  # (PostgreSQL types SQLAlchemy's empty set as integer)
            assert session.execute(select, {"ids": []}) == []
        twice = 'SELECT COUNT(*) FROM "account_scores" WHERE "account_id" = :id OR "account_id" > :id'
        assert session.execute(twice, {"id": "A2"}) == [(2,)]


def _orders(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "order_id": [f"O{i:07d}" for i in range(n)],
            "account_id": [f"A{i % 97}" for i in range(n)],
            "order_date": pd.Timestamp("2025-01-01") + pd.to_timedelta([i % 365 for i in range(n)], unit="D"),
            "product_line": ["desktop"] * n,
            "units": [i % 13 for i in range(n)],
            "amount": [float(i) for i in range(n)],
            "margin": [0.5] * n,
            "channel": ["direct"] * n,
        }
    )


def test_iter_table_yields_the_table_in_chunks(database):
    database.write_source_tables({"orders": _orders(25)})
    chunks = list(database.iter_table("orders", columns=["order_id", "units"], chunksize=10))
    assert [len(c) for c in chunks] == [10, 10, 5]
    assert all(list(c.columns) == ["order_id", "units"] for c in chunks)
    streamed = pd.concat(chunks, ignore_index=True).sort_values("order_id", ignore_index=True)
    whole = database.read_table("orders", ["order_id", "units"]).sort_values("order_id", ignore_index=True)
    assert streamed["order_id"].tolist() == whole["order_id"].tolist()
    assert streamed["units"].astype(int).tolist() == whole["units"].astype(int).tolist()


def test_iter_table_of_an_empty_table_yields_one_empty_chunk(database):
    database.write_source_tables({"orders": _orders(0)})
    chunks = list(database.iter_table("orders", columns=["order_id"]))
    assert len(chunks) == 1 and chunks[0].empty and list(chunks[0].columns) == ["order_id"]


def test_iter_table_holds_one_chunk_not_the_table(tmp_path):
    """Memory while streaming is bounded by the chunk: it used to read the whole table first.

    Measured with tracemalloc (the Python objects the driver hands over are all allocated
    through it): the peak while taking the first chunk of 200 rows is a small fraction of the
    peak of reading the whole 40,000-row table through the same driver.
    """
    with Database(tmp_path / "kam.sqlite", fast_sqlite=False) as db:
        db.write_source_tables({"orders": _orders(40_000)})
        tracemalloc.start()
        try:
            db.read_table("orders")
            whole_peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.reset_peak()
            stream = db.iter_table("orders", chunksize=200)
            first = next(stream)
            chunk_peak = tracemalloc.get_traced_memory()[1]
            stream.close()
        finally:
            tracemalloc.stop()
    assert len(first) == 200
    assert chunk_peak < whole_peak / 10, (chunk_peak, whole_peak)


def test_iter_table_gives_undecodable_text_as_bytes(tmp_path):
    path = tmp_path / "kam.sqlite"
    with Database(path) as db:
        db.write_source_tables({"orders": _orders(3)})
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE orders SET product_line = CAST(X'5AFC72696368' AS TEXT) WHERE order_id = 'O0000001'")
    with Database(path) as db:
        frame = pd.concat(db.iter_table("orders", columns=["order_id", "product_line"], chunksize=2))
        # the connection's text handling is put back: a later read on it decodes as usual
        assert db.read_table("orders", ["product_line"]).shape == (3, 1)
    assert frame["product_line"].tolist() == ["desktop", b"Z\xfcrich", "desktop"]


@pytest.mark.parametrize("chunksize", [0, -1, 2.5, True])
def test_iter_table_refuses_a_chunksize_that_is_not_a_positive_whole_number(tmp_path, chunksize):
    with Database(tmp_path / "kam.sqlite") as db:
        db.write_source_tables({"orders": _orders(1)})
        with pytest.raises(ConfigError, match="chunksize"):
            next(db.iter_table("orders", chunksize=chunksize))

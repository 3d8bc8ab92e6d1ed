"""A contract table that is missing stops the run with a DataError; a view or (SQLite) another case is read."""

from __future__ import annotations

import shutil
import sqlite3

import pytest

from engine import DataError
from engine._errors import exit_code_for
from engine.demo import generate_demo_database
from engine.pipeline import ingest
from engine.pipeline._ingest import source_tables
from engine.storage import Database

AS_OF = "2026-10-01"


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("tables") / "demo.sqlite"
    generate_demo_database(path, accounts=10, seed=2)
    return path


@pytest.fixture
def altered(demo_file, tmp_path):
    """Copy the demo database and run SQL on the copy; yields a function returning a Database."""
    opened = []

    def alter(*statements: str) -> Database:
        target = tmp_path / "altered.sqlite"
        shutil.copyfile(demo_file, target)
        with sqlite3.connect(target) as con:
            for statement in statements:
                con.execute(statement)
        con.close()
        db = Database(target)
        opened.append(db)
        return db

    yield alter
    for db in opened:
        db.dispose()


def test_missing_tickets_table_is_a_data_error_naming_it(altered):
    db = altered("DROP TABLE tickets")
    with pytest.raises(DataError, match=r"'tickets' is missing; load it") as caught:
        ingest(db, as_of=AS_OF)
    assert exit_code_for(caught.value) == 4
    assert "Nothing was read" in str(caught.value)


def test_every_missing_table_is_named_at_once(altered):
    db = altered("DROP TABLE tickets", "DROP TABLE visits")
    with pytest.raises(DataError, match="got 2 missing") as caught:
        source_tables(db)
    assert "'tickets'" in str(caught.value) and "'visits'" in str(caught.value)


def test_orders_only_as_a_view_is_read_like_the_table(altered, demo_file):
    with Database(demo_file) as original:
        expected = ingest(original, as_of=AS_OF).report
    db = altered(
        "ALTER TABLE orders RENAME TO orders_raw",
        "CREATE VIEW orders AS SELECT * FROM orders_raw",
    )
    report = ingest(db, as_of=AS_OF).report
    assert db.relation_names()["orders"] == "view"
    assert report.counts.equals(expected.counts)
    assert report.valid["orders"].equals(expected.valid["orders"])


def test_orders_under_another_letter_case_is_read_on_sqlite(altered, demo_file):
    """SQLite ignores case in names (and cannot rename ORDERS to orders); it is the same table."""
    with Database(demo_file) as original:
        expected = ingest(original, as_of=AS_OF).report
    db = altered("ALTER TABLE orders RENAME TO orders_tmp", "ALTER TABLE orders_tmp RENAME TO ORDERS")
    assert "orders" not in db.relation_names()
    report = ingest(db, as_of=AS_OF).report
    assert report.valid["orders"].equals(expected.valid["orders"])


def test_another_letter_case_is_refused_where_names_keep_case(altered, monkeypatch):
    """On a database that keeps ``Orders`` and ``orders`` apart, the case is not guessed."""
    db = altered("ALTER TABLE orders RENAME TO orders_tmp", "ALTER TABLE orders_tmp RENAME TO Orders")
    monkeypatch.setattr(type(db), "dialect", property(lambda self: "postgresql"))
    with pytest.raises(DataError, match=r"'orders' is present only as 'Orders'.*RENAME TO orders"):
        source_tables(db)

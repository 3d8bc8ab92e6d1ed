"""One corrupted cell of a SQLite database costs exactly its row (and the rows that depend on it).

SQLite lets any cell hold any type. The database is a small demo database written by
``generate_demo_database``; one cell of one contract table is overwritten with ``sqlite3``, the
database is read back through :func:`engine.pipeline.ingest` (the fast ADBC read path and
validation), and the valid rows are compared with what validation gives when that row is simply
left out of the untouched tables: no other row may be lost, and no other value may change.
"""

from __future__ import annotations

import shutil
import sqlite3

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.contract import CUSTOMER_DATABASE
from engine.demo import generate_demo_database
from engine.pipeline import ingest
from engine.storage import Database
from engine.validate import validate_tables

AS_OF = "2026-10-01"
TABLES = CUSTOMER_DATABASE.table_names
#: A text longer than any real name (kept moderate so that the test stays fast).
HUGE = 400_000

#: Corruptions: SQL expression for the new cell (``?`` is bound to the parameter), parameter.
CORRUPTIONS = {
    "blob": ("?", b"\x00\xffblob"),
    "invalid_utf8": ("CAST(? AS TEXT)", b"A\xff\xfeB"),
    "huge_text": ("printf('%.*c', ?, 'x')", HUGE),
    "nan": ("?", float("nan")),
    "text": ("?", "not a value"),
    "integer": ("?", 7),
    "real": ("?", 3.25),
    "huge_integer": ("?", 2**63 - 1),
    "negative_zero_text": ("?", "-0.0e0"),
}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """A 12-account demo database, its raw tables and the valid rows of each table by key."""
    folder = tmp_path_factory.mktemp("corrupt")
    path = folder / "demo.sqlite"
    generate_demo_database(path, accounts=12, seed=3)
    db = Database(path)
    try:
        raw = db.read_tables()
    finally:
        db.dispose()
    return path, raw


def _corrupt(source, target, table: str, column: str, position: int, kind: str) -> None:
    shutil.copyfile(source, target)
    expression, parameter = CORRUPTIONS[kind]
    with sqlite3.connect(target) as con:
        rowid = con.execute(f'SELECT rowid FROM "{table}" LIMIT 1 OFFSET ?', (position,)).fetchone()[0]
        con.execute(f'UPDATE "{table}" SET "{column}" = {expression} WHERE rowid = ?', (parameter, rowid))
    con.close()


def _valid_by_key(valid: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    out = {}
    for table in CUSTOMER_DATABASE.tables:
        frame = valid[table.name]
        out[table.name] = frame.set_index(frame[table.key].astype(str)).sort_index()
    return out


def _check_costs_at_most_the_row(path, raw, table: str, position: int, report) -> None:
    """Valid rows now == valid rows of the untouched tables, at most minus that row's cascade."""
    without_row = dict(raw, **{table: raw[table].drop(index=raw[table].index[position])})
    expected = _valid_by_key(validate_tables(without_row, as_of=AS_OF).valid)
    actual = _valid_by_key(report.valid)
    for name in TABLES:
        missing = expected[name].index.difference(actual[name].index)
        assert missing.empty, f"{name}: rows {list(missing)[:5]} lost beyond the corrupted row's cascade"
        kept = actual[name].loc[expected[name].index]
        pd.testing.assert_frame_equal(kept, expected[name], check_dtype=False, obj=f"valid {name}")


@settings(max_examples=40)
@given(data=st.data())
def test_any_one_corrupted_cell_costs_at_most_its_row_and_dependants(demo, tmp_path_factory, data):
    path, raw = demo
    table = data.draw(st.sampled_from(TABLES), label="table")
    column = data.draw(st.sampled_from(CUSTOMER_DATABASE[table].column_names), label="column")
    position = data.draw(st.integers(0, len(raw[table]) - 1), label="row")
    kind = data.draw(st.sampled_from(sorted(CORRUPTIONS)), label="corruption")
    target = tmp_path_factory.mktemp("cell") / "corrupt.sqlite"
    _corrupt(path, target, table, column, position, kind)
    db = Database(target)
    try:
        report = ingest(db, as_of=AS_OF).report
    finally:
        db.dispose()
    _check_costs_at_most_the_row(path, raw, table, position, report)
    failures = report.failures
    # whatever failed did so with a documented reason code, on the corrupted row or its dependants
    assert set(failures["reason"]) <= {"wrong_type", "null_required", "empty_key", "unknown_category", "orphan",
                                       "non_finite", "out_of_range", "negative_value", "future_date", "row_check",
                                       "duplicate_key"}
    own = failures[failures["table"] == table]
    assert set(own["row"].dropna().astype(int)) <= {position}


# --- the symptoms of issue 11, one regression test each --------------------------------------------
def _ingest_corrupted(demo, tmp_path, table, column, position, kind):
    path, raw = demo
    target = tmp_path / "corrupt.sqlite"
    _corrupt(path, target, table, column, position, kind)
    db = Database(target)
    try:
        report = ingest(db, as_of=AS_OF).report
    finally:
        db.dispose()
    _check_costs_at_most_the_row(path, raw, table, position, report)
    return report


def test_customer_name_as_blob_quarantines_its_row_not_the_customers_table(demo, tmp_path):
    report = _ingest_corrupted(demo, tmp_path, "customers", "name", 2, "blob")
    own = report.failures[report.failures["table"] == "customers"]
    assert own[["row", "column", "reason"]].values.tolist() == [[2, "name", "wrong_type"]]
    assert "BLOB" in own["value"].iloc[0]
    assert len(report.valid["customers"]) == len(demo[1]["customers"]) - 1


def test_customer_name_as_huge_text_is_read_and_costs_nothing(demo, tmp_path):
    report = _ingest_corrupted(demo, tmp_path, "customers", "name", 2, "huge_text")
    assert report.failures.empty
    assert report.valid["customers"]["name"].str.len().max() == HUGE


def test_order_amount_as_blob_changes_no_other_amount(demo, tmp_path):
    """The driver widened the whole column to text rounded to 7 digits; every amount changed."""
    report = _ingest_corrupted(demo, tmp_path, "orders", "amount", 3, "blob")
    assert report.counts.loc["orders", "quarantined"] == 1
    amounts = report.valid["orders"]["amount"]
    assert amounts.dtype == np.float64
    original = demo[1]["orders"]["amount"].drop(index=demo[1]["orders"].index[3])
    np.testing.assert_array_equal(amounts.to_numpy(), original.to_numpy(dtype=float))


@pytest.mark.parametrize(("table", "column"), [("customers", "name"), ("opportunities", "competitor")])
def test_invalid_utf8_text_quarantines_its_row_without_a_crash(demo, tmp_path, table, column):
    position = int(np.flatnonzero(demo[1][table][column].notna().to_numpy())[0])
    report = _ingest_corrupted(demo, tmp_path, table, column, position, "invalid_utf8")
    own = report.failures[report.failures["table"] == table]
    assert own[["row", "column", "reason"]].values.tolist() == [[position, column, "wrong_type"]]
    assert "not valid UTF-8" in own["value"].iloc[0]
    for frame in report.valid.values():  # every text left is decodable (the crash came later)
        for name in frame.columns:
            if frame[name].dtype == "str":
                frame[name].tolist()


def test_invalid_utf8_on_the_sqlalchemy_path_quarantines_its_row(demo, tmp_path):
    """Without the fast path, pysqlite raised 'Could not decode to UTF-8' for the whole read."""
    path, raw = demo
    target = tmp_path / "corrupt.sqlite"
    _corrupt(path, target, "customers", "name", 1, "invalid_utf8")
    db = Database(target, fast_sqlite=False)
    try:
        frame = db.read_table("customers")
    finally:
        db.dispose()
    assert frame["name"].iloc[1] == b"A\xff\xfeB"
    assert frame["name"].iloc[0] == raw["customers"]["name"].iloc[0]

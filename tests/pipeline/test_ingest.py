"""Reading ahead while validating: same report as reading first, largest table first, bounded."""

from __future__ import annotations

import threading
import time

import pandas as pd
import pytest

from engine.demo import generate_demo_tables
from engine.pipeline._ingest import ReadAhead, ingest, read_and_validate
from engine.storage import Database
from engine.validate import validate_tables

AS_OF = "2026-10-01"


#: Longest a test waits for another thread to reach a point (only reached on a failure).
_PATIENCE = 10.0


class _Source:
    """Fake tables whose reads take time and record which thread did them, in which order.

    Ordering is observed with events, never with sleeps: ``started[name]`` and ``finished[name]``
    are set when a read of ``name`` begins and ends, ``any_started`` at the first read, and a
    read of a table in ``gates`` waits for its event before it begins (to hold the caller back
    until the background thread has reached a given point).
    """

    def __init__(self, sizes: dict[str, int], seconds: float = 0.02, fail: str | None = None):
        self.sizes = sizes
        self.seconds = seconds
        self.fail = fail
        self.lock = threading.Lock()
        self.log: list[tuple[str, str]] = []
        self.running = 0
        self.most_running = 0
        self.started = {name: threading.Event() for name in sizes}
        self.finished = {name: threading.Event() for name in sizes}
        self.any_started = threading.Event()
        self.gates: dict[str, threading.Event] = {}

    def read(self, name: str) -> pd.DataFrame:
        gate = self.gates.get(name)
        if gate is not None:
            assert gate.wait(_PATIENCE), f"reading {name!r} waited for an event that never came"
        with self.lock:
            self.log.append((name, threading.current_thread().name))
            self.running += 1
            self.most_running = max(self.most_running, self.running)
            self.any_started.set()
            self.started[name].set()
        try:
            time.sleep(self.seconds * (3 if self.sizes[name] >= 1000 else 1))
            if name == self.fail:
                raise OSError(f"disk error reading {name}")
            return pd.DataFrame({"x": range(self.sizes[name])})
        finally:
            with self.lock:
                self.running -= 1
            self.finished[name].set()


def test_every_table_is_read_once_and_handed_over_whole():
    source = _Source({"a": 3, "b": 5000, "c": 7, "d": 11})
    with ReadAhead(source.read, list(source.sizes), size=source.sizes.__getitem__) as reader:
        got = {name: len(reader.take(name)) for name in source.sizes}
    assert got == source.sizes
    assert sorted(name for name, _ in source.log) == sorted(source.sizes)


def test_the_largest_table_is_read_first_in_the_background():
    source = _Source({"parent": 10, "child": 5000, "other": 20})
    # the caller's own read of "parent" begins only once the background has begun "child"
    source.gates["parent"] = source.started["child"]
    with ReadAhead(source.read, list(source.sizes), size=source.sizes.__getitem__) as reader:
        for name in source.sizes:
            reader.take(name)
    assert reader.readers["child"] == "background"
    assert reader.readers["parent"] == "caller"  # never waited behind the big read


def test_no_more_than_ahead_tables_are_held_for_the_caller():
    sizes = {f"t{i}": 10 for i in range(8)}
    source = _Source(sizes, seconds=0.005)
    with ReadAhead(source.read, list(sizes), size=sizes.__getitem__, ahead=2) as reader:
        reader.take("t0")
        assert source.finished["t1"].wait(_PATIENCE) and source.finished["t2"].wait(_PATIENCE)
        # held: t1 and t2; a third read would begin at once were it not bounded
        assert not source.started["t3"].wait(0.2)
        assert sorted(name for name, _ in source.log if name != "t0") == ["t1", "t2"]
        for name in list(sizes)[1:]:
            reader.take(name)
    assert len(source.log) == 8


def test_a_failed_background_read_is_raised_to_the_caller():
    source = _Source({"small": 1, "big": 5000}, fail="big")
    with ReadAhead(source.read, ["small", "big"], size=source.sizes.__getitem__) as reader:
        reader.take("small")
        with pytest.raises(OSError, match="disk error reading big"):
            reader.take("big")


def test_a_table_is_taken_once():
    source = _Source({"a": 1})
    with ReadAhead(source.read, ["a"]) as reader:
        reader.take("a")
        with pytest.raises(ValueError, match="already taken"):
            reader.take("a")
        with pytest.raises(KeyError, match="not one of the tables"):
            reader.take("zzz")


def test_failed_sizing_falls_back_to_the_callers_order():
    source = _Source({"a": 1, "b": 2})

    def size(name):
        raise OSError("no COUNT(*) here")

    with ReadAhead(source.read, ["a", "b"], size=size) as reader:
        assert [len(reader.take(name)) for name in ["a", "b"]] == [1, 2]
    assert isinstance(reader.sizing_error, OSError)


def test_closing_early_stops_reading_ahead():
    sizes = {f"t{i}": 10 for i in range(6)}
    source = _Source(sizes, seconds=0.02)
    with ReadAhead(source.read, list(sizes), ahead=1) as reader:
        reader.take("t0")
    # close() has joined the background thread: nothing can be read after it
    assert reader._thread is None or not reader._thread.is_alive()
    assert len(source.log) <= 3  # t0 (taken), at most one more in flight, nothing after close


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    tables = generate_demo_tables(accounts=400, seed=5)
    tables["orders"].loc[tables["orders"].index[:3], "amount"] = -1.0  # quarantined
    db = Database(tmp_path_factory.mktemp("ingest") / "demo.sqlite")
    db.write_source_tables(tables)
    yield db
    db.dispose()


def test_read_ahead_gives_the_report_of_reading_first_on_every_backend(demo_db):
    """SQLite and PostgreSQL: the background reader and the caller read side by side."""
    ahead = read_and_validate(demo_db, as_of=AS_OF)
    first = validate_tables(demo_db.read_tables(), as_of=AS_OF, source=demo_db.display_url)
    pd.testing.assert_frame_equal(ahead.report.counts, first.counts)
    for name, frame in first.valid.items():
        pd.testing.assert_frame_equal(ahead.report.valid[name], frame)


def test_read_ahead_gives_the_report_of_reading_first(database):
    ahead = read_and_validate(database, as_of=AS_OF, columns={"visits": ["account_id", "visit_date"]})
    first = validate_tables(database.read_tables(), as_of=AS_OF, source=database.display_url,
                            columns={"visits": ["account_id", "visit_date"]})
    pd.testing.assert_frame_equal(ahead.report.failures, first.failures)
    pd.testing.assert_frame_equal(ahead.report.counts, first.counts)
    for name, frame in first.valid.items():
        pd.testing.assert_frame_equal(ahead.report.valid[name], frame)
    assert (ahead.report.counts.loc["orders", "quarantined"]) >= 3
    assert set(ahead.seconds) == {"load", "validate"} and min(ahead.seconds.values()) >= 0


def test_ingest_keeps_every_column(database):
    ingested = ingest(database, as_of=AS_OF)
    assert list(ingested.tables["visits"].columns) == list(database.contract["visits"].column_names)


def test_nothing_is_read_before_the_first_take():
    source = _Source({"a": 1, "big": 5000})
    with ReadAhead(source.read, ["a", "big"], size=source.sizes.__getitem__):
        assert not source.any_started.wait(0.05)
        assert source.log == []  # a caller failing on its own arguments never waits for a read


def test_ahead_zero_reads_everything_in_the_caller():
    source = _Source({"a": 1, "big": 5000})
    with ReadAhead(source.read, ["a", "big"], size=source.sizes.__getitem__, ahead=0) as reader:
        assert [len(reader.take(name)) for name in ["a", "big"]] == [1, 5000]
    assert reader.readers == {"a": "caller", "big": "caller"}


def test_a_closed_reader_refuses_to_hand_out_tables():
    source = _Source({"a": 1, "b": 2})
    reader = ReadAhead(source.read, ["a", "b"])
    reader.take("a")
    reader.close()
    with pytest.raises(ValueError, match="closed"):
        reader.take("b")


def test_bad_arguments_fail_before_any_read(database, monkeypatch):
    reads = []
    monkeypatch.setattr(database, "read_table", lambda name, columns=None: reads.append(name))
    with pytest.raises(Exception, match="as_of"):
        read_and_validate(database, as_of="not a date")
    assert reads == []


def test_an_in_memory_database_is_read_by_one_thread():
    db = Database("sqlite://")
    try:
        assert not db.reads_in_parallel
        db.write_source_tables(generate_demo_tables(accounts=50, seed=1))
        ingested = ingest(db, as_of=AS_OF)
        assert len(ingested.tables["customers"]) == 50 and len(ingested.tables["orders"]) > 0
    finally:
        db.dispose()

"""engine._progress: tasks report to the innermost reporter, log their duration, and cost nothing otherwise."""

from __future__ import annotations

import logging
import threading

import pytest

from engine._progress import current_reporter, reporting, task


class Recorder:
    def __init__(self):
        self.events = []

    def start(self, task_id, description, total):
        self.events.append(("start", description, total))

    def advance(self, task_id, steps, description):
        self.events.append(("advance", steps, description))

    def finish(self, task_id, seconds, failed):
        self.events.append(("finish", failed))


def test_no_reporter_is_a_no_op():
    assert current_reporter() is None
    with task("work", total=2) as t:
        t.advance()
        t.advance()
    assert t.done == 2


def test_reporter_sees_start_steps_and_finish():
    recorder = Recorder()
    with reporting(recorder), task("fold", total=2) as t:
        t.advance()
        t.advance(description="fold 2/2")
    assert recorder.events == [("start", "fold", 2), ("advance", 1, None), ("advance", 1, "fold 2/2"), ("finish", False)]
    assert current_reporter() is None


def test_failure_is_reported_and_propagates():
    recorder = Recorder()
    with reporting(recorder), pytest.raises(ValueError), task("boom"):
        raise ValueError("x")
    assert recorder.events[-1] == ("finish", True)


def test_duration_is_logged(caplog):
    with caplog.at_level(logging.INFO, logger="kam.progress"):
        with task("reading orders"):
            pass
    assert any("reading orders: done in" in r.getMessage() for r in caplog.records)


def test_reporter_does_not_leak_into_other_threads():
    recorder = Recorder()
    seen = []
    with reporting(recorder):
        thread = threading.Thread(target=lambda: seen.append(current_reporter()))
        thread.start()
        thread.join()
    assert seen == [None]

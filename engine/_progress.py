"""Progress of long-running work: reported by the library, shown by whoever installed a reporter.

Library code marks work that may take more than a second with :func:`task`::

    with task("training churn: candidates", total=len(candidates)) as t:
        for candidate in candidates:
            ...
            t.advance()

Nothing is shown unless a caller installed a :class:`Reporter` with :func:`reporting` (the CLI
installs a rich progress display when standard error is a terminal). Every task also logs its
start (DEBUG) and its end with the duration (INFO) on the ``kam.progress`` logger, so a nightly
job's log shows the same stages a person sees on screen.

The active reporter is held in a :class:`contextvars.ContextVar`: it is scoped to the ``with
reporting(...)`` block (and its thread), never a process-wide registry.
"""

from __future__ import annotations

import contextvars
import itertools
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from engine._log import get_logger

__all__ = ["Reporter", "Task", "current_reporter", "reporting", "task"]

_log = get_logger("progress")
_ids = itertools.count(1)


class Reporter(Protocol):
    """What a progress display implements. Calls come from the thread that runs the task."""

    def start(self, task_id: int, description: str, total: int | None) -> None:
        """A task began; ``total`` steps are expected (``None``: unknown)."""

    def advance(self, task_id: int, steps: int, description: str | None) -> None:
        """``steps`` more steps are done; ``description`` replaces the text when given."""

    def finish(self, task_id: int, seconds: float, failed: bool) -> None:
        """The task ended after ``seconds`` (``failed``: it raised)."""


_reporter: contextvars.ContextVar[Reporter | None] = contextvars.ContextVar("kam_progress_reporter", default=None)


def current_reporter() -> Reporter | None:
    """The reporter installed by the innermost :func:`reporting` block, or ``None``."""
    return _reporter.get()


@contextmanager
def reporting(reporter: Reporter | None) -> Iterator[None]:
    """Send the progress of every :func:`task` inside the block to ``reporter``.

    ``None`` switches reporting off inside the block.
    """
    token = _reporter.set(reporter)
    try:
        yield
    finally:
        _reporter.reset(token)


class Task:
    """Handle of one running task (see :func:`task`)."""

    __slots__ = ("_reporter", "description", "done", "id", "total")

    def __init__(self, task_id: int, description: str, total: int | None, reporter: Reporter | None):
        self.id = task_id
        self.description = description
        self.total = total
        self.done = 0
        self._reporter = reporter

    def advance(self, steps: int = 1, description: str | None = None) -> None:
        """Mark ``steps`` more steps done, optionally with a new description."""
        self.done += steps
        if description is not None:
            self.description = description
        if self._reporter is not None:
            self._reporter.advance(self.id, steps, description)

    def describe(self, description: str) -> None:
        """Change the text shown for the task without advancing it."""
        self.advance(0, description)


@contextmanager
def task(description: str, total: int | None = None) -> Iterator[Task]:
    """Report a piece of work that may take more than a second.

    Parameters
    ----------
    description : str
        What is being done, in words a person reads ("reading orders", "training churn: fold 2/4").
    total : int, optional
        How many steps to expect; ``None`` shows a spinner instead of a bar.

    Yields
    ------
    Task
        Call ``advance()`` after each step.

    Examples
    --------
    >>> with task("counting", total=3) as t:
    ...     for _ in range(3):
    ...         t.advance()
    >>> t.done
    3
    """
    reporter = _reporter.get()
    handle = Task(next(_ids), description, total, reporter)
    _log.debug("%s: started", description)
    started = time.perf_counter()
    if reporter is not None:
        reporter.start(handle.id, description, total)
    failed = True
    try:
        yield handle
        failed = False
    finally:
        seconds = time.perf_counter() - started
        if reporter is not None:
            reporter.finish(handle.id, seconds, failed)
        if failed:
            _log.info("%s: failed after %.1f s", handle.description, seconds)
        else:
            _log.info("%s: done in %.1f s", handle.description, seconds)

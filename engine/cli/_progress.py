"""The CLI's progress display: a rich live view of every library :func:`engine._progress.task`."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from engine._progress import reporting
from engine.cli._output import is_interactive

__all__ = ["RichReporter", "show_progress"]


class RichReporter:
    """Shows each task as a spinner (unknown length) or a bar, with its elapsed time.

    Thread-safe: the library may report from a read-ahead thread.
    """

    def __init__(self, bar: Any):
        self._bar = bar
        self._tasks: dict[int, Any] = {}
        self._lock = threading.Lock()

    def start(self, task_id: int, description: str, total: int | None) -> None:
        with self._lock:
            self._tasks[task_id] = self._bar.add_task(description, total=total)

    def advance(self, task_id: int, steps: int, description: str | None) -> None:
        with self._lock:
            rich_id = self._tasks.get(task_id)
            if rich_id is None:
                return
            if description is None:
                self._bar.advance(rich_id, steps)
            else:
                self._bar.update(rich_id, advance=steps, description=description)

    def finish(self, task_id: int, seconds: float, failed: bool) -> None:
        with self._lock:
            rich_id = self._tasks.pop(task_id, None)
            if rich_id is None:
                return
            task = self._bar.tasks[[t.id for t in self._bar.tasks].index(rich_id)]
            total = task.total if task.total is not None else 1
            suffix = " [failed]" if failed else ""
            self._bar.update(rich_id, total=total, completed=total, description=f"{task.description}{suffix}")


@contextmanager
def show_progress(enabled: bool = True) -> Iterator[RichReporter | None]:
    """Show the progress of library tasks inside the block on standard error.

    Shown only when ``enabled`` and standard error is a terminal; otherwise tasks still log
    their durations (``--log-level INFO``) and nothing is drawn.
    """
    if not enabled or not is_interactive():
        with reporting(None):
            yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    console = Console(stderr=True, highlight=False, markup=False)
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}", markup=False),
        BarColumn(bar_width=24),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as bar:
        reporter = RichReporter(bar)
        with reporting(reporter):
            yield reporter

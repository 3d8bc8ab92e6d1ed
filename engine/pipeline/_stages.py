"""The stage clock of a scoring run: each stage timed, shown as a progress task, reported to a callback.

Shared by the run (:mod:`engine.pipeline._score`) and the stages that need every account at once
(:mod:`engine.pipeline._combine`); the stage names are :data:`engine.pipeline._score.STAGES`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import contextmanager

from engine._progress import task

__all__ = ["_Stages"]


class _Stages:
    """Times each stage, shows it as a progress task, and calls the optional ``(stage, state)`` callback."""

    def __init__(self, progress: Callable[[str, str], None] | None):
        self.seconds: dict[str, float] = {}
        self.progress = progress

    @contextmanager
    def stage(self, name: str, description: str | None = None):
        if self.progress is not None:
            self.progress(name, "start")
        started = time.perf_counter()
        with task(description or f"scoring: {name}"):
            yield
        self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started
        if self.progress is not None:
            self.progress(name, "done")

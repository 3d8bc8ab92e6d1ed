"""What the service routes with: an immutable snapshot, swapped atomically on reload.

A :class:`Snapshot` holds the loaded router (rules, win model, the database snapshot it
routes against) and the fingerprint of the files it was loaded from. :class:`SnapshotHolder`
keeps the current one. A request reads ``holder.current`` once and uses that object to the
end, so a reload never changes what an in-flight request sees: the new snapshot is built in
full beside the old one, then swapped in with one assignment (atomic in CPython), and the old
one is dropped when its last request finishes. A reload that fails leaves the old snapshot in
place, logs why, and is counted (``failed_reloads``, ``last_error``).

Reloads happen on request (:meth:`ReloadWatcher.request_reload`, which the server calls on
SIGHUP) and when the watched files change (:func:`files_fingerprint`, polled by
:class:`ReloadWatcher`, which loads a change once the files stayed the same for one poll). One
thread does every reload, so two never run at once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine._arguments import check_number, check_type
from engine._errors import ArgumentError
from engine._log import get_logger
from engine._paths import as_path

__all__ = ["ReloadWatcher", "Snapshot", "SnapshotHolder", "files_fingerprint"]

_log = get_logger("serve")

#: Files whose content is hashed (small: rule files, model cards); others by size and mtime only.
_HASHED_SUFFIXES = (".yaml", ".yml", ".json", ".toml")
_HASH_LIMIT = 4 * 1024 * 1024


def _paths(where: str, name: str, paths: object) -> tuple[Path, ...]:
    """``paths`` (files or folders) as a tuple of Paths, or ArgumentError (expected / got / fix)."""
    if isinstance(paths, (str, os.PathLike)) or not isinstance(paths, Iterable):
        raise ArgumentError(f"{where}: expected {name} as a list of files or folders; got "
                            f"{type(paths).__name__}. Fix: pass e.g. [Path('rules'), Path('models/artifacts')].")
    return tuple(as_path(path, f"each of {name}", "rules") for path in paths)


def files_fingerprint(paths: Iterable[Path], suffixes: Sequence[str] = (".yaml", ".yml", ".json", ".joblib")) -> str:
    """A digest of the files under ``paths`` (folders: their direct files with ``suffixes``).

    Every file contributes its name, size and modification time; rule files and model cards
    (small text) also their content, so an edit within one mtime tick is still seen. A missing
    path contributes ``missing`` (its later appearance is a change).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> before = files_fingerprint([folder])
    >>> _ = (folder / "routing.yaml").write_text("rules: []")
    >>> files_fingerprint([folder]) != before
    True
    """
    roots = _paths("files_fingerprint", "paths", paths)
    digest = hashlib.sha256()
    for root in roots:
        if root.is_dir():
            files = sorted(p for p in root.iterdir() if p.is_file() and p.suffix in suffixes)
        elif root.exists():
            files = [root]
        else:
            digest.update(f"{root}\0missing\n".encode())
            continue
        for path in files:
            try:
                stat = path.stat()
                digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
                if path.suffix in _HASHED_SUFFIXES and stat.st_size <= _HASH_LIMIT:
                    digest.update(hashlib.sha256(path.read_bytes()).digest())
            except OSError:  # replaced while we looked: the next poll sees the new file
                digest.update(f"{path}\0vanished\n".encode())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class Snapshot:
    """One loaded state of the service: never changed after it is built.

    Attributes
    ----------
    router : object
        What routes a lead (an :class:`engine.live.LiveRouter`).
    fingerprint : str
        :func:`files_fingerprint` of the watched files, taken *before* loading (a file written
        during the load is seen as a change by the next poll).
    generation : int
        1 for the snapshot loaded at start, +1 for each successful reload.
    loaded_at : datetime
        When the load finished (UTC).
    load_seconds : float
        How long the load took.
    """

    router: Any
    fingerprint: str
    generation: int
    loaded_at: dt.datetime
    load_seconds: float


class SnapshotHolder:
    """Holds the current :class:`Snapshot` and replaces it as a whole on reload.

    Parameters
    ----------
    load : callable
        ``load() -> router``: builds a new router from the files; raises on any problem.
    watched : sequence of Path
        Files and folders whose change triggers a reload (rule files, published models).
    """

    def __init__(self, load: Callable[[], Any], watched: Sequence[Path]):
        if not callable(load):
            raise ArgumentError(f"SnapshotHolder: expected load as a function that builds a router; got "
                                f"{type(load).__name__}. Fix: pass e.g. lambda: LiveRouter(db).")
        self._load = load
        self.watched = _paths("SnapshotHolder", "watched", watched)
        self._current: Snapshot | None = None
        self._reload_lock = threading.Lock()
        self.reloads = 0
        self.failed_reloads = 0
        self.last_error: str | None = None
        self.last_failed_fingerprint: str | None = None
        self._on_reload: list[Callable[[str, Snapshot | None], None]] = []

    @property
    def current(self) -> Snapshot:
        """The snapshot to use for one request (read it once per request)."""
        snapshot = self._current
        if snapshot is None:
            raise RuntimeError("SnapshotHolder.start() has not loaded a snapshot yet")
        return snapshot

    def on_reload(self, callback: Callable[[str, Snapshot | None], None]) -> None:
        """Call ``callback(outcome, snapshot)`` after every reload (``"ok"`` or ``"failed"``)."""
        self._on_reload.append(callback)

    def start(self) -> Snapshot:
        """Load the first snapshot; any error propagates (the service must not start without one)."""
        snapshot = self._build(generation=1)
        self._current = snapshot
        return snapshot

    def _build(self, generation: int) -> Snapshot:
        fingerprint = files_fingerprint(self.watched)
        started = time.perf_counter()
        router = self._load()
        seconds = time.perf_counter() - started
        return Snapshot(router=router, fingerprint=fingerprint, generation=generation,
                        loaded_at=dt.datetime.now(dt.UTC), load_seconds=seconds)

    def changed(self) -> bool:
        """True when the watched files differ from the current snapshot's and from the last failed load's."""
        return self._changed_to() is not None

    def _changed_to(self) -> str | None:
        """The watched files' fingerprint when :meth:`changed`, else None."""
        now = files_fingerprint(self.watched)
        return now if now != self.current.fingerprint and now != self.last_failed_fingerprint else None

    def reload(self, reason: str) -> bool:
        """Build a new snapshot and swap it in; on failure keep the old one and log why.

        Returns
        -------
        bool
            True when the new snapshot is in place.
        """
        with self._reload_lock:
            old = self.current
            fingerprint = files_fingerprint(self.watched)
            _log.info("reloading rules and models (%s); snapshot %d keeps serving meanwhile", reason, old.generation)
            try:
                snapshot = self._build(generation=old.generation + 1)
            except Exception as error:  # noqa: BLE001 -- any failure: keep serving what works
                why = f"{type(error).__name__}: {error}"
                # logged before the counters change: whoever watches `failed_reloads` finds the record written
                _log.error("reload (%s) failed; still serving snapshot %d loaded %s. Why: %s", reason,
                           old.generation, old.loaded_at.isoformat(timespec="seconds"), why)
                self.last_error = why
                self.last_failed_fingerprint = fingerprint
                self.failed_reloads += 1
                self._notify("failed", None)
                return False
            self._current = snapshot
            self.reloads += 1
            self.last_error = None
            self.last_failed_fingerprint = None
            _log.info("snapshot %d in place (%s) after %.1f s; snapshot %d retires when its requests finish",
                      snapshot.generation, reason, snapshot.load_seconds, old.generation)
            self._notify("ok", snapshot)
            return True

    def _notify(self, outcome: str, snapshot: Snapshot | None) -> None:
        for callback in self._on_reload:
            callback(outcome, snapshot)


class ReloadWatcher:
    """A background thread that reloads ``holder`` on request (SIGHUP) or when its files change.

    A change is loaded once the files have stayed the same from one poll to the next: a rule file
    that an editor saves in place (empties, then writes) is not read half written, unless the save
    outlasts a poll.

    Parameters
    ----------
    holder : SnapshotHolder
    poll_seconds : float
        How often to look at the files; 0 disables polling (reloads only on request).
    """

    def __init__(self, holder: SnapshotHolder, poll_seconds: float):
        check_type("ReloadWatcher", "holder", holder, SnapshotHolder, "pass the service's SnapshotHolder")
        self.holder = holder
        self.poll_seconds = check_number("ReloadWatcher", "poll_seconds", poll_seconds,
                                         "pass e.g. 2.0, or 0 to reload on SIGHUP only", least=0)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._requested = False
        self._settling: str | None = None  # the changed files' fingerprint seen at the last poll
        self._thread = threading.Thread(target=self._run, name="kam-serve-reload", daemon=True)

    def start(self) -> ReloadWatcher:
        self._thread.start()
        return self

    def request_reload(self) -> None:
        """Ask for a reload now (safe to call from a signal handler: it only sets flags)."""
        self._requested = True
        self._wake.set()

    def check(self) -> bool:
        """One poll: reload when the files changed and are as they were at the previous poll.

        The watcher's thread calls it every ``poll_seconds``; call it directly only on a watcher
        whose thread is not running (tests, or a caller that polls on its own schedule).

        Returns
        -------
        bool
            True when a reload was attempted (it may have failed: see the holder's counters).
        """
        now = self.holder._changed_to()
        settled = now is not None and now == self._settling
        self._settling = None if settled else now
        if settled:
            self.holder.reload("rule files or published models changed")
        return settled

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.poll_seconds if self.poll_seconds > 0 else None)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                if self._requested:
                    self._requested = False
                    self.holder.reload("SIGHUP")
                elif self.poll_seconds > 0:
                    self.check()
            except Exception:  # noqa: BLE001 -- the watcher must outlive any one failure; reload() already logs its own
                _log.exception("reload watcher: unexpected error; it keeps watching")

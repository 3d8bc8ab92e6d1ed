"""``kam serve --workers N``: N processes answering on one listening socket.

One process tops out where its Python does (a decision costs a few milliseconds of it), so
the service scales across cores with worker processes under uvicorn's own supervisor
(:class:`uvicorn.supervisors.Multiprocess`): the parent binds the socket and starts N spawned
workers that accept on it. Each worker opens its own database connection, loads its own router
snapshot and watches the rule and model files like a single-process service. Capacity is
claimed atomically in the database (``engine.storage._live``), so workers never over-fill a rep
nor assign a lead twice.

What reaches a worker: a :class:`WorkerApp` (the app factory) inside uvicorn's pickled
configuration, sent through the spawn pipe. The token, the database URL and the settings are
never in a command line, an environment variable or a log line.

Signals to the parent: SIGHUP replaces every worker by a freshly loaded one, each new worker
ready before the old one is stopped gracefully (requests in flight finish; the socket keeps
accepting throughout); SIGTERM / SIGINT stop every worker after its requests in flight. A
worker that dies is replaced. A worker that fails to start makes ``kam serve`` fail (its
error is logged by the worker); SIGHUP sent to a worker itself reloads that worker in place.

Every wait is bounded. A worker that has not exited :data:`WORKER_STOP_SECONDS` after SIGTERM
(uvicorn's own graceful shutdown gives requests 10 s) is killed and the kill is logged, so a stuck
worker can neither hold up a restart nor the supervisor's exit. A worker whose supervisor is gone
(killed with SIGKILL, say) stops by itself within about a second, so no orphan keeps serving or
keeps the supervisor's output pipes open. A stopping worker answers the connections it has
already accepted (see :class:`_WorkerServer`), so a restart drops no request.

This module imports uvicorn: it is imported only when ``kam serve --workers N`` starts.
"""

from __future__ import annotations

import atexit
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from uvicorn.config import STARTUP_FAILURE
from uvicorn.server import Server
from uvicorn.supervisors.multiprocess import Multiprocess, Process

from engine._errors import KamError
from engine._log import get_logger

__all__ = ["WorkerApp", "run_workers"]

_log = get_logger("serve")

#: How long a worker may take to load its snapshot and accept (start and SIGHUP replacement).
WORKER_START_SECONDS = 300
#: How long a worker may take to exit after SIGTERM before it is killed (uvicorn's graceful
#: shutdown lets requests in flight run 10 s of it).
WORKER_STOP_SECONDS = 20.0
#: How long a stopping worker waits for a request on a connection it accepted but has no request
#: on yet, before uvicorn's shutdown closes it.
FRESH_CONNECTION_SECONDS = 2.0
#: How often a worker checks that its supervisor is still there.
PARENT_CHECK_SECONDS = 1.0


@dataclass(frozen=True)
class WorkerApp:
    """The app factory each worker calls (picklable: it crosses the spawn pipe, not a command line).

    Parameters
    ----------
    db : str
        Database URL or SQLite path (each worker opens its own connection).
    options : ServeOptions
    rules_dir, artifacts_dir, as_of :
        As for :class:`engine.serve.RoutingService`.
    log_level, log_format : str
        The parent's logging, set up again in the worker (spawned processes start blank).
    secrets : tuple of str
        Values masked in every log line besides the token.
    """

    db: str
    options: Any
    rules_dir: Path | None
    artifacts_dir: Path
    as_of: Any = None
    log_level: str = "WARNING"
    log_format: str = "text"
    secrets: tuple[str, ...] = field(default=(), repr=False)

    def __repr__(self) -> str:  # the URL may hold a password, the options hold the token
        return f"WorkerApp(artifacts_dir={str(self.artifacts_dir)!r}, rules_dir={self.rules_dir!r})"

    def __call__(self) -> Any:
        """In the worker: configure logging, open the database, load the snapshot, build the app.

        A failure is logged (with why and the fix, like a single-process start) and ends the
        worker with uvicorn's start-failure code, which the parent turns into a failed command.
        """

        from engine._log import configure_logging
        from engine.serve._app import create_app
        from engine.serve._metrics import ServiceMetrics
        from engine.serve._server import _route_uvicorn_logs
        from engine.serve._service import RoutingService
        from engine.storage import Database

        configure_logging(self.log_level, self.log_format, secrets=(self.options.token, *self.secrets))
        _route_uvicorn_logs()
        started = time.perf_counter()
        try:
            database = Database(self.db, create=False)
            service = RoutingService(database, rules_dir=self.rules_dir, artifacts_dir=self.artifacts_dir,
                                     as_of=self.as_of)
            snapshot = service.start(self.options.reload_poll_seconds)
            app = create_app(service, self.options, ServiceMetrics())
        except KamError as error:
            _log.error("worker %d cannot start: %s", os.getpid(), error)
            raise SystemExit(STARTUP_FAILURE) from None
        except Exception as error:  # noqa: BLE001 -- any failure to start is reported, then ends the worker
            _log.error("worker %d cannot start: %s: %s", os.getpid(), type(error).__name__, error)
            raise SystemExit(STARTUP_FAILURE) from None
        if threading.current_thread() is threading.main_thread():
            # SIGHUP sent to this worker alone reloads it in place (the parent's SIGHUP replaces workers)
            signal.signal(signal.SIGHUP, lambda signum, frame: service.request_reload())
        threading.Thread(target=_stop_when_orphaned, args=(os.getppid(),), name="kam-serve-parent",
                         daemon=True).start()
        # at exit: stop the reload watcher and close the idle SQLite connection kept for speed,
        # then the database's connections (the live decisions' kept one too), so the last one
        # out checkpoints the write-ahead log instead of leaving it to the next opener
        atexit.register(database.dispose)  # (atexit runs the last registered first)
        atexit.register(service.stop)
        _log.info("worker %d: snapshot %d loaded from %s in %.1f s", os.getpid(), snapshot.generation,
                  database.display_name, time.perf_counter() - started)
        return app


def _stop_when_orphaned(parent: int, every: float = PARENT_CHECK_SECONDS,
                        grace: float = WORKER_STOP_SECONDS) -> None:
    """In a worker: stop gracefully once the supervisor ``parent`` is gone; exit hard if that hangs.

    A supervisor killed with SIGKILL cannot stop its workers; without this they would go on
    accepting on the shared socket, unsupervised, and hold the supervisor's stdout and stderr open.
    """
    while os.getppid() == parent:
        time.sleep(every)
    _log.warning("worker %d: its supervisor (process %d) is gone; stopping after the requests in flight",
                 os.getpid(), parent)
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(grace)
    _log.error("worker %d: still running %.0f s after its supervisor went; exiting now", os.getpid(), grace)
    os._exit(70)


def _retire(process: Any, grace: float = WORKER_STOP_SECONDS) -> bool:
    """SIGTERM ``process`` (a uvicorn worker), wait up to ``grace`` seconds, then kill it.

    Returns True when it stopped by itself, False when it had to be killed.
    """
    process.terminate()
    process.process.join(grace)
    if not process.process.is_alive():
        return True
    _log.warning("worker %d did not stop within %.0f s of SIGTERM; killing it", process.pid, grace)
    process.process.kill()
    process.process.join(grace)
    return False


def _stop_requested(supervisor: Any) -> bool:
    """Whether SIGINT/SIGTERM has reached the supervisor (queued, or already handled).

    A restart runs inside the supervisor's signal handling, so a stop signal arriving during it
    is only queued: it is looked at here so that the restart ends at once.
    """
    if any(sig in (signal.SIGINT, signal.SIGTERM) for sig in supervisor.signal_queue):
        supervisor.should_exit.set()
    return bool(supervisor.should_exit.is_set())


def _ready(process: Any, timeout: float, should_exit: Callable[[], bool]) -> bool:
    """Whether the worker ``process`` accepts within ``timeout`` s (False: it exited, or a stop came)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not should_exit():
        if not process.process.is_alive():
            return False
        if process.is_ready(timeout=0.5):
            return True
        time.sleep(0.05)
    return False


class _WorkerServer(Server):
    """uvicorn's server in a worker, with a shutdown that drops no connection it has accepted.

    uvicorn's graceful shutdown closes at once every connection that has not sent a request
    yet. With one socket shared by several workers, a connection that the stopping worker
    accepted a moment before its SIGTERM is then closed unanswered ("remote end closed
    connection without response"), though its request was already on the way and the other
    workers go on serving: seen at a SIGHUP restart on a busy machine. Here the worker first
    stops accepting (the kernel's queue goes to the other workers), then gives each connection
    it holds without a request up to :data:`FRESH_CONNECTION_SECONDS` to send one, and only then
    runs uvicorn's shutdown, which answers what arrived and closes the idle rest.
    """

    async def shutdown(self, sockets: list[Any] | None = None) -> None:
        import asyncio

        for server in self.servers:
            server.close()  # stop accepting; uvicorn's shutdown closing it again does nothing
        deadline = time.monotonic() + FRESH_CONNECTION_SECONDS
        while time.monotonic() < deadline and any(
                getattr(connection, "cycle", None) is None for connection in self.server_state.connections):
            await asyncio.sleep(0.02)
        await super().shutdown(sockets)


class _Worker(Process):
    """uvicorn's worker process handle, serving with :class:`_WorkerServer` (module level: it is
    pickled into the spawned worker)."""

    @property
    def server(self) -> Server:
        if self._server is None:
            self._server = _WorkerServer(config=self.config)
        return self._server


class _Supervisor(Multiprocess):
    """uvicorn's :class:`~uvicorn.supervisors.Multiprocess` with every wait on a worker bounded.

    uvicorn joins a stopping worker without a time limit (when it restarts the workers on SIGHUP
    and when it stops them), so one worker stuck in its shutdown would hang the supervisor for
    good; here such a worker is killed after :data:`WORKER_STOP_SECONDS`. A replacement worker
    may take ``start_timeout`` seconds to load its snapshot. Workers are :class:`_Worker`.
    """

    def __init__(self, config: Any, sockets: list[Any], start_timeout: float = WORKER_START_SECONDS):
        super().__init__(config, sockets)
        self.start_timeout = start_timeout
        self.killed = 0

    def init_processes(self) -> None:
        for _ in range(self.processes_num):
            process = _Worker(self.config, self.sockets)
            process.start()
            self.processes.append(process)

    def join_all(self) -> None:
        """Wait for the workers told to stop (``terminate_all``), together, then kill the rest."""
        deadline = time.monotonic() + WORKER_STOP_SECONDS
        for process in self.processes:
            process.process.join(max(0.0, deadline - time.monotonic()))
        for process in self.processes:
            if process.process.is_alive():
                _log.warning("worker %d did not stop within %.0f s of SIGTERM; killing it", process.pid,
                             WORKER_STOP_SECONDS)
                process.process.kill()
                process.process.join(WORKER_STOP_SECONDS)
                self.killed += 1

    def restart_all(self) -> None:
        """Replace each worker, its replacement serving before the old one is retired."""
        for index, old in enumerate(self.processes):
            if _stop_requested(self):
                return
            new = _Worker(self.config, self.sockets)
            new.start()
            if not _ready(new, self.start_timeout, lambda: _stop_requested(self)):
                new.kill()
                new.process.join(WORKER_STOP_SECONDS)
                if not self.should_exit.is_set():
                    _log.error("replacement worker %s was not ready within %.0f s; keeping worker %s "
                               "and stopping the restart", new.pid, self.start_timeout, old.pid)
                return
            if not _retire(old):
                self.killed += 1
            self.processes[index] = new

    def keep_subprocess_alive(self) -> None:
        """Replace a worker that died or stopped answering (one that failed to start stops the service)."""
        if self.should_exit.is_set():
            return
        for index, process in enumerate(self.processes):
            if process.is_alive(timeout=self.config.timeout_worker_healthcheck):
                continue
            process.kill()  # hung or dead: make sure
            process.process.join(WORKER_STOP_SECONDS)
            if process.exitcode == STARTUP_FAILURE:
                _log.error("worker %s failed to start; stopping the service", process.pid)
                self.should_exit.set()
                return
            if self.should_exit.is_set():
                return
            _log.warning("worker %s died (exit code %s); starting a new one", process.pid, process.exitcode)
            replacement = _Worker(self.config, self.sockets)
            replacement.start()
            self.processes[index] = replacement


def _wait_until_ready(supervisor: Any, timeout: float) -> Any:
    """Wait for every worker to accept; the first that exits or times out, or None.

    A SIGINT/SIGTERM arriving meanwhile stops the wait (``should_exit`` is set: the workers are
    then stopped like after serving); a SIGHUP stays queued for the serving loop.
    """
    pending = list(supervisor.processes)
    deadline = time.monotonic() + timeout
    while pending:
        if _stop_requested(supervisor):
            return None
        for process in list(pending):
            if not process.process.is_alive():
                return process
            if process.is_ready(timeout=0.5):
                pending.remove(process)
        if pending and time.monotonic() > deadline:
            return pending[0]
        time.sleep(0.05)
    return None


def run_workers(config: Any, sock: Any, start_timeout: float = WORKER_START_SECONDS,
                announce: Callable[[], None] | None = None) -> None:
    """Supervise ``config.workers`` workers on ``sock`` until SIGTERM/SIGINT; raise if one cannot start.

    Parameters
    ----------
    config : uvicorn.Config
        ``app`` is a :class:`WorkerApp`, ``factory=True``, ``workers`` > 1.
    sock : socket.socket
        The bound, listening socket every worker accepts on.
    start_timeout : float
        Seconds a worker may take to load and accept.
    announce : callable, optional
        Called once the supervisor handles SIGINT/SIGTERM/SIGHUP and the workers are starting
        (where ``kam serve`` prints its "listening on" line: a signal sent after it is handled).

    Raises
    ------
    KamError
        A worker exited or did not answer before it was ready (its own error is logged above).
    """
    supervisor = _Supervisor(config, [sock], start_timeout)
    supervisor.init_processes()
    if announce is not None:
        announce()
    process = _wait_until_ready(supervisor, start_timeout)
    if process is not None:
        process.process.join(1.0)
        code = process.exitcode
        supervisor.terminate_all()
        supervisor.join_all()
        how = (f"exited with code {code}" if code is not None else f"was not ready within {start_timeout:.0f} s")
        cause = " (it could not load; its error is logged above)" if code == STARTUP_FAILURE else ""
        raise KamError(f"kam serve: worker process {process.pid} {how}{cause}; no worker is serving. "
                       "Fix: correct what the worker's message names, or try --workers 1 to see the same "
                       "error from a single process.")
    _log.info("%d workers serving (parent %d; SIGHUP replaces them one by one, SIGTERM stops them)",
              len(supervisor.processes), os.getpid())
    while not supervisor.should_exit.wait(0.5):
        supervisor.handle_signals()
        supervisor.keep_subprocess_alive()
    supervisor.terminate_all()
    supervisor.join_all()
    if supervisor.killed:
        _log.warning("stopped %d workers; %d had to be killed after %.0f s", len(supervisor.processes),
                     supervisor.killed, WORKER_STOP_SECONDS)
    else:
        _log.info("stopped %d workers after their requests in flight", len(supervisor.processes))

"""Run the service under uvicorn: bind, load, serve; reload on SIGHUP; stop cleanly.

:class:`ServiceServer` does the start in an order that fails fast and says why: the token is
checked, the port bound (a port in use is an error naming it), the database opened (a missing
SQLite file is an error, nothing is created), the published models looked for, the router
loaded. Only then does uvicorn take the bound socket, so a client that connects right after
the "listening on" line is queued, never refused.
"""

from __future__ import annotations

import logging
import signal
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine._errors import KamError
from engine._log import get_logger
from engine.serve._service import RoutingService, ServeOptions

__all__ = ["ServiceServer"]

_log = get_logger("serve")


class ServiceServer:
    """The HTTP service on one socket.

    Parameters
    ----------
    db : Database, URL or path
        The customer database (opened for writing: live decisions are recorded; never created).
    options : ServeOptions
        Token, body limit, reload poll interval.
    host : str, default "127.0.0.1"
    port : int, default 8080
        0 picks a free port (see :attr:`url`).
    rules_dir, artifacts_dir, as_of :
        As for :class:`engine.live.LiveRouter`.
    load_router : callable, optional
        ``load_router(database) -> router`` instead of building a :class:`engine.live.LiveRouter`
        (an application that configures its own router; called at start and on every reload).
    workers : int, default 1
        Worker processes sharing the socket (:mod:`engine.serve._workers`); above 1, ``db`` must be
        a URL or path (each worker opens its own) and ``load_router`` is not available.
    log_level, log_format, secrets :
        The logging each worker sets up (spawned workers start without the parent's).

    Examples
    --------
    >>> server = ServiceServer("kam-demo.sqlite", ServeOptions(token=TOKEN), port=0)  # doctest: +SKIP
    >>> server.open().start_background()  # doctest: +SKIP
    >>> server.url  # doctest: +SKIP
    'http://127.0.0.1:41234'
    >>> server.stop()  # doctest: +SKIP
    """

    def __init__(self, db: Any, options: ServeOptions, *, host: str = "127.0.0.1", port: int = 8080,
                 rules_dir: str | Path | None = None, artifacts_dir: str | Path = Path("models") / "artifacts",
                 as_of: Any = None, load_router: Callable[[Any], Any] | None = None, workers: int = 1,
                 log_level: str = "WARNING", log_format: str = "text", secrets: tuple[str, ...] = ()):
        if workers < 1:
            raise KamError(f"serve.workers must be at least 1; got {workers}. Fix: --workers 1 (one process) or more.")
        if workers > 1 and load_router is not None:
            raise ValueError("load_router needs workers=1 (a worker process loads the default LiveRouter)")
        self.db = db
        self.workers = workers
        self.display_name = ""
        self.log_level = log_level
        self.log_format = log_format
        self.secrets = tuple(secrets)
        self.load_router = load_router
        self.options = options
        self.host = host
        self.port = port
        self.rules_dir = rules_dir
        self.artifacts_dir = Path(artifacts_dir)
        self.as_of = as_of
        self.metrics: Any = None
        self.database: Any = None
        self.service: RoutingService | None = None
        self._socket: socket.socket | None = None
        self._server: Any = None
        self._thread: threading.Thread | None = None

    # --- start ---------------------------------------------------------------------------------
    def open(self) -> ServiceServer:
        """Bind the port, open the database and load rules and models; raise a KamError on any problem."""
        started = time.perf_counter()
        try:
            import uvicorn

            from engine.serve._app import create_app
            from engine.serve._metrics import ServiceMetrics
        except ImportError as error:  # the serve extra is missing
            from engine._errors import MissingDependencyError

            raise MissingDependencyError(
                f"kam serve needs Starlette, uvicorn and prometheus_client ({error.name} is not installed). "
                "Install them with: pip install 'kam-engine[serve]'") from None
        self.metrics = ServiceMetrics()
        self._socket = self._bind()
        if self.workers > 1:
            return self._open_workers(uvicorn, started)
        try:
            from engine.storage import Database

            self.database = self.db if isinstance(self.db, Database) else Database(self.db, create=False)
            custom = self.load_router
            database = self.database
            self.service = RoutingService(database, rules_dir=self.rules_dir, artifacts_dir=self.artifacts_dir,
                                          as_of=self.as_of,
                                          load_router=None if custom is None else (lambda: custom(database)))
            snapshot = self.service.start(self.options.reload_poll_seconds)
            app = create_app(self.service, self.options, self.metrics)
        except BaseException:
            self.close()
            raise
        config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="off", server_header=False,
                                timeout_graceful_shutdown=10)
        self._server = _graceful_server_class(uvicorn)(config)
        _route_uvicorn_logs()
        _log.info("serving %s on %s: snapshot %d (rules %s, models %s) ready in %.1f s", self.database.display_name,
                  self.url, snapshot.generation, self.service.rules_dir, self.artifacts_dir,
                  time.perf_counter() - started)
        return self

    def _open_workers(self, uvicorn: Any, started: float) -> ServiceServer:
        """Check what the parent can check cheaply (database, models), then configure the workers."""
        from engine.serve._service import RoutingService
        from engine.serve._workers import WorkerApp
        from engine.storage import Database

        try:
            if isinstance(self.db, Database):
                raise TypeError("workers > 1 need the database as a URL or path (each worker opens its own)")
            probe = Database(self.db, create=False)  # a missing file or a refused connection fails here
            try:
                url = probe.url.render_as_string(hide_password=False)
                self.display_name = probe.display_name
                RoutingService(probe, rules_dir=self.rules_dir, artifacts_dir=self.artifacts_dir).check_models()
            finally:
                probe.dispose()
        except BaseException:
            self.close()
            raise
        factory = WorkerApp(db=url, options=self.options, rules_dir=None if self.rules_dir is None else
                            Path(self.rules_dir), artifacts_dir=self.artifacts_dir, as_of=self.as_of,
                            log_level=self.log_level, log_format=self.log_format, secrets=self.secrets)
        config = uvicorn.Config(factory, factory=True, workers=self.workers, log_config=None, access_log=False,
                                lifespan="off", server_header=False, timeout_graceful_shutdown=10,
                                timeout_worker_healthcheck=30)  # a ping; loading has its own limit
        self._server = config
        _route_uvicorn_logs()
        _log.info("serving %s on %s with %d workers (checked in %.1f s; each loads its snapshot)",
                  self.display_name, self.url, self.workers, time.perf_counter() - started)
        return self

    def _bind(self) -> socket.socket:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        # proto IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that say they are TCP;
        # without it every answer (headers, then body) waited ~40 ms for a delayed ACK
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
            sock.listen(512)
        except OSError as error:
            sock.close()
            raise KamError(f"kam serve cannot listen on {self.host}:{self.port}: {error.strerror or error}. "
                           "Fix: choose another --port (0 picks a free one) or stop what holds this one; "
                           "--host must be an address of this machine.") from None
        sock.set_inheritable(True)
        return sock

    @property
    def url(self) -> str:
        """``http://host:port`` of the bound socket (the real port when 0 was asked)."""
        if self._socket is None:
            raise RuntimeError("ServiceServer.open() has not bound the socket yet")
        host, port = self._socket.getsockname()[:2]
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    # --- run -----------------------------------------------------------------------------------
    def run(self, announce: Callable[[], None] | None = None) -> None:
        """Serve until SIGINT/SIGTERM (graceful: in-flight requests finish); SIGHUP reloads.

        ``announce()`` is called once signals are handled, before serving (with workers: while
        they load).
        """
        if self.workers > 1 and self._server is not None:
            from engine.serve._workers import run_workers

            try:
                run_workers(self._server, self._socket, announce=announce)
            finally:
                self.close()
            return
        if self._server is None or self.service is None:
            raise RuntimeError("ServiceServer.open() first")
        service = self.service
        previous = None
        if threading.current_thread() is threading.main_thread() and hasattr(signal, "SIGHUP"):
            previous = signal.signal(signal.SIGHUP, lambda signum, frame: service.request_reload())
        try:
            if announce is not None:
                announce()
            self._server.run(sockets=[self._socket])
        finally:
            if previous is not None:
                signal.signal(signal.SIGHUP, previous)
            self.close()

    def start_background(self, timeout: float = 30.0) -> ServiceServer:
        """Serve from a thread (tests, embedding); returns once uvicorn accepts connections."""
        self._thread = threading.Thread(target=self.run, name="kam-serve", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not getattr(self._server, "started", False):
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise KamError(f"the service on {self.url} did not start within {timeout:.0f} s")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Ask uvicorn to finish the requests in flight and stop; wait for the thread."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)

    def close(self) -> None:
        """Stop the reload watcher, release the database (if opened here) and the socket."""
        if self.service is not None:
            self.service.stop()
        from engine.storage import Database

        if self.database is not None and not isinstance(self.db, Database):
            self.database.dispose()
        if self._socket is not None:
            try:
                self._socket.close()
            except OSError:
                pass


def _graceful_server_class(uvicorn: Any) -> type:
    """uvicorn's Server, but a SIGINT/SIGTERM that stopped it gracefully is not raised again afterwards.

    uvicorn re-raises the stop signal once it has shut down, which would make ``kam`` report a
    clean, requested stop as an interruption; for a service that finished its requests and
    stopped when asked, the stop *is* the job done (exit 0).
    """
    import contextlib

    class GracefulServer(uvicorn.Server):
        stopped_by: int | None = None

        @contextlib.contextmanager
        def capture_signals(self):
            if threading.current_thread() is not threading.main_thread():
                yield
                return
            stops = (signal.SIGINT, signal.SIGTERM)
            original = {sig: signal.signal(sig, self.handle_exit) for sig in stops}
            try:
                yield
            finally:
                for sig, handler in original.items():
                    signal.signal(sig, handler)
            if self._captured_signals:
                self.stopped_by = self._captured_signals[-1]
                _log.info("stopped on %s after finishing the requests in flight",
                          signal.Signals(self.stopped_by).name)

    return GracefulServer


def _route_uvicorn_logs() -> None:
    """uvicorn's own messages go through kam's handler (and its secret filter), at kam's level."""
    kam = get_logger()
    for name in ("uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers = list(kam.handlers)
        logger.propagate = False if kam.handlers else logger.propagate
        logger.setLevel(kam.level or logging.WARNING)
    logging.getLogger("uvicorn.access").disabled = True

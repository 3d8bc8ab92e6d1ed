"""The service's library side: what ``POST /route`` and ``GET /accounts/{id}`` do, without HTTP.

:class:`RoutingService` opens nothing itself: it is given an open database, loads the live
router once (:class:`engine.live.LiveRouter`: the rules, the published win model, the
database snapshot) into a :class:`~engine.serve._snapshot.SnapshotHolder`, and answers with
the library's own functions (:meth:`LiveRouter.route`, :func:`engine.results.account_record`).
The HTTP layer (:mod:`engine.serve._app`) only turns requests into these calls and results or
:class:`~engine._errors.KamError` into responses.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine._arguments import check_type
from engine._errors import ConfigError, ModelError
from engine.serve._snapshot import ReloadWatcher, Snapshot, SnapshotHolder

if TYPE_CHECKING:
    from engine.storage import Database

__all__ = ["MIN_TOKEN_LENGTH", "RoutingService", "ServeOptions", "check_token"]

#: Shortest bearer token accepted (a token shorter than this can be guessed).
MIN_TOKEN_LENGTH = 16


def check_token(token: str | None) -> str:
    """Return ``token`` if it can protect the service, else raise :class:`ConfigError`.

    Examples
    --------
    >>> check_token("x" * 32) == "x" * 32
    True
    >>> check_token("short")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    engine._errors.ConfigError: serve.token (KAM_SERVE_TOKEN): expected at least 16 characters; got 5. Fix: ...
    """
    fix = ("Fix: generate one with `python -c \"import secrets; print(secrets.token_urlsafe(32))\"` and "
           "export KAM_SERVE_TOKEN=...")
    if token is not None and not isinstance(token, str):
        raise ConfigError(f"serve.token (KAM_SERVE_TOKEN): expected the token as text; got "
                          f"{type(token).__name__}. {fix}")
    if token is None or not token.strip():
        raise ConfigError("kam serve needs a bearer token and none is set: serve.token (KAM_SERVE_TOKEN) "
                          "expected a token; got none (empty). Every request but /healthz must carry it. "
                          f"{fix}")
    if token != token.strip() or any(ord(c) < 33 or ord(c) > 126 for c in token):
        raise ConfigError("serve.token (KAM_SERVE_TOKEN): expected printable ASCII without spaces (it travels "
                          f"in the Authorization header); got other characters. {fix}")
    if len(token) < MIN_TOKEN_LENGTH:
        raise ConfigError(f"serve.token (KAM_SERVE_TOKEN): expected at least {MIN_TOKEN_LENGTH} characters; "
                          f"got {len(token)}. {fix}")
    return token


@dataclass(frozen=True)
class ServeOptions:
    """How the service runs.

    Parameters
    ----------
    token : str
        The bearer token (:func:`check_token`); never logged.
    max_body_bytes : int, default 65536
        Larger request bodies are refused with 413 before they are read in full.
    reload_poll_seconds : float, default 2.0
        How often the rule files and published models are checked for a change; 0: only SIGHUP.
    """

    token: str
    max_body_bytes: int = 65536
    reload_poll_seconds: float = 2.0

    def __post_init__(self) -> None:
        check_token(self.token)
        if self.max_body_bytes < 256:
            raise ConfigError(f"serve.max_body_bytes must be at least 256; got {self.max_body_bytes}.")

    def __repr__(self) -> str:  # the token never appears in a repr, a traceback or a log line
        return (f"ServeOptions(token='***', max_body_bytes={self.max_body_bytes}, "
                f"reload_poll_seconds={self.reload_poll_seconds})")


class RoutingService:
    """Route leads and read accounts for the HTTP service; reloads its router on change.

    Parameters
    ----------
    database : engine.storage.Database
        Open, writable (live decisions are recorded there).
    rules_dir : path, optional
        Rule files (default: the shipped ``rules/``).
    artifacts_dir : path
        Published models (``win.joblib`` and its card).
    as_of : date-like, optional
        Passed to :class:`engine.live.LiveRouter` (default: the latest run's date).
    load_router : callable, optional
        ``load_router() -> router`` replacing the default :class:`engine.live.LiveRouter`
        construction (an embedding application may bring its own configured router).
    """

    def __init__(self, database: Database, *, rules_dir: str | Path | None = None, artifacts_dir: str | Path,
                 as_of: Any = None, load_router: Callable[[], Any] | None = None) -> None:
        from engine._paths import as_path, default_rules_dir
        from engine.storage import Database

        check_type("RoutingService", "database", database, Database,
                   "pass an open engine.storage.Database (each worker opens its own)")
        self.database = database
        self.rules_dir = (as_path(rules_dir, "the rules folder", "rules") if rules_dir is not None
                          else default_rules_dir())
        self.artifacts_dir = as_path(artifacts_dir, "the published models folder", "models/artifacts")
        self.as_of = as_of
        self.holder = SnapshotHolder(load_router or self._load_router, [self.rules_dir, self.artifacts_dir])
        self.watcher: ReloadWatcher | None = None
        self._kept: Any = None

    def _load_router(self) -> Any:
        from engine.live import LiveRouter

        return LiveRouter(self.database, as_of=self.as_of, rules_dir=self.rules_dir, artifacts_dir=self.artifacts_dir)

    def start(self, reload_poll_seconds: float = 0.0) -> Snapshot:
        """Load the first snapshot (errors propagate) and start the reload watcher.

        Raises
        ------
        ModelError
            No published win model in ``artifacts_dir``.
        KamError
            Anything the router's load raises (bad rule file, database problem, ...).
        """
        self.check_models()
        snapshot = self.holder.start()
        # one transaction per lead: on SQLite, without an idle connection held open, each
        # decision's close checkpointed and deleted the WAL (four disk syncs per lead, the
        # service's latency tail on a busy disk; docs/serve.md "Where the time goes")
        if self._kept is not None:  # started again: the previous one is not left open
            self._kept.close()
        self._kept = self.database.keep_open()
        self.watcher = ReloadWatcher(self.holder, reload_poll_seconds).start()
        return snapshot

    def check_models(self) -> None:
        """Raise :class:`ModelError` unless ``artifacts_dir`` holds a published win model."""
        if not (self.artifacts_dir / "win.joblib").is_file():
            raise ModelError(f"no published models in {self.artifacts_dir} (expected win.joblib and its card there). "
                             f"Fix: train and publish one with `kam train win --db URL --models {self.artifacts_dir}`, "
                             "or point --models at the folder that holds them.")

    def request_reload(self) -> None:
        """Reload in the background now (what SIGHUP does); requests keep being served meanwhile."""
        if self.watcher is None:
            raise RuntimeError("RoutingService.start() has not run")
        self.watcher.request_reload()

    def stop(self) -> None:
        """Stop the reload watcher and close the idle connection (the database is the caller's to close)."""
        if self._kept is not None:  # first: it is what a stop at exit must not miss
            self._kept.close()
            self._kept = None
        if self.watcher is not None:
            self.watcher.stop(timeout=5.0)  # a reload in progress is abandoned (the process is ending)

    def route(self, lead: Mapping[str, Any]) -> dict[str, Any]:
        """Route one lead with the current snapshot; the decision as JSON-ready data.

        Raises
        ------
        engine.live.LeadError
            The lead is not valid (every problem, each naming its field).
        """
        snapshot = self.holder.current  # read once: a reload during this call does not change it
        decision = snapshot.router.route(lead, source="request body")
        return {**decision.as_dict(), "snapshot": snapshot.generation}

    def account(self, account_id: str) -> dict[str, Any]:
        """The account's latest scores, tier and why, reasons, open opportunities and alerts."""
        from engine.results import account_record

        return account_record(self.database, account_id)

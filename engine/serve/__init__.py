"""``kam serve``: the live path over HTTP (``docs/serve.md``).

``POST /route`` routes one lead with :class:`engine.live.LiveRouter`, ``GET /accounts/{id}``
reads an account's latest results (:func:`engine.results.account_record`), ``GET /healthz``,
``GET /metrics`` (Prometheus) and ``GET /openapi.json``. Rules and models are loaded once and
reloaded on SIGHUP or when their files change, without dropping a request. ``workers=N``
(``kam serve --workers N``) runs N worker processes on the one socket (:mod:`engine.serve._workers`).

The HTTP stack (Starlette, uvicorn, prometheus_client) is the optional ``serve`` extra:
``pip install 'kam-engine[serve]'``. Importing this package does not import it; the modules
that need it are imported when the service starts.
"""

from engine.serve._server import ServiceServer
from engine.serve._service import RoutingService, ServeOptions, check_token
from engine.serve._snapshot import (
    ReloadWatcher,
    Snapshot,
    SnapshotHolder,
    files_fingerprint,
)

__all__ = [
    "ReloadWatcher",
    "RoutingService",
    "ServeOptions",
    "ServiceServer",
    "Snapshot",
    "SnapshotHolder",
    "check_token",
    "files_fingerprint",
]

"""The HTTP layer: a Starlette application over :class:`~engine.serve._service.RoutingService`.

Only this module (and :mod:`engine.serve._server`, which runs it under uvicorn) imports the
ASGI stack. It turns requests into library calls and results into JSON, and maps the
:class:`~engine._errors.KamError` tree to status codes, every error with the same body::

    {"error": {"status": 422, "type": "LeadError", "message": "...",
               "problems": [{"field": "est_amount", "expected": "...", "got": "...", "fix": "..."}]}}

Every path but ``/healthz`` needs ``Authorization: Bearer <token>`` (compared in constant
time). Bodies larger than ``max_body_bytes`` are refused with 413 before they are read in full.
No header, no query string and no body is ever logged; what is logged goes through
:func:`engine._log.redact` with the token as a known secret.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from engine._errors import DataError, KamError, ModelError, SpecError, StorageError
from engine._log import get_logger, redact
from engine.serve._metrics import ServiceMetrics
from engine.serve._openapi import openapi_document
from engine.serve._service import RoutingService, ServeOptions

__all__ = ["ApiError", "create_app"]

_log = get_logger("serve")

Problem = tuple[str, str, str, str]  # field, expected, got, fix
_UNAUTHENTICATED = ("/healthz",)
_TEMPLATES = ("/route", "/healthz", "/metrics", "/openapi.json")


class ApiError(Exception):
    """An HTTP error answer: status, a message and the problems (field, expected, got, fix)."""

    def __init__(self, status: int, kind: str, message: str, problems: Sequence[Problem],
                 headers: Mapping[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.message = message
        self.problems = list(problems)
        self.headers = dict(headers or {})


def _json(payload: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    body = json.dumps(payload, default=str, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return Response(body.encode("utf-8"), status_code=status, media_type="application/json", headers=headers)


def _error_response(error: ApiError, secrets: Sequence[str]) -> Response:
    problems = [{"field": f, "expected": e, "got": redact(g, secrets), "fix": x} for f, e, g, x in error.problems]
    body = {"error": {"status": error.status, "type": error.kind, "message": redact(error.message, secrets),
                      "problems": problems}}
    return _json(body, error.status, error.headers)


def _from_kam_error(error: KamError) -> ApiError:
    """The HTTP answer for an error of kam's own tree (the same families the CLI maps to exit codes)."""
    from engine.results import ResultNotFoundError

    message = str(error)
    kind = type(error).__name__
    problems: list[Problem] = [tuple(p) for p in getattr(error, "problems", None) or []]
    if isinstance(error, ResultNotFoundError):
        return ApiError(404, kind, message, [(error.field, "an account of the latest scoring run", "not found",
                                              "check the id; `kam show account ID` reads the same results")])
    if isinstance(error, DataError):
        return ApiError(422, kind, message, problems or [("(body)", "valid data", "see message", "correct the data")])
    if isinstance(error, StorageError):
        return ApiError(503, kind, message, [("(database)", "a reachable database with a scoring run", "see message",
                                              "see message; nothing was recorded")])
    if isinstance(error, ModelError):
        return ApiError(503, kind, message, [("(models)", "a published, intact win model", "see message",
                                              "retrain and publish the model (kam train)")])
    if isinstance(error, SpecError):
        return ApiError(500, kind, message, [("(rules)", "valid rule files and settings", "see message",
                                              "fix the file named in the message, then send SIGHUP")])
    return ApiError(500, kind, message, [("(service)", "an answer", "an error", "see the service log")])


async def _read_json_object(request: Request, limit: int) -> dict[str, Any]:
    """The request body as a JSON object, or an :class:`ApiError` naming what is wrong."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json":
        raise ApiError(415, "UnsupportedMediaType", f"expected Content-Type application/json; got {media or 'none'}.",
                       [("Content-Type", "application/json", media or "no Content-Type header",
                         "send the lead as JSON with Content-Type: application/json")])
    declared = request.headers.get("content-length")
    too_large = ApiError(413, "PayloadTooLarge", f"the request body is larger than {limit} bytes.",
                         [("(body)", f"at most {limit} bytes (serve.max_body_bytes)",
                           f"{declared} bytes" if declared else f"more than {limit} bytes",
                           "send one lead per request")])
    if declared is not None:
        if not declared.isdigit():
            raise ApiError(400, "BadRequest", f"Content-Length must be a number of bytes; got {declared!r}.",
                           [("Content-Length", "a whole number of bytes", repr(declared),
                             "let the HTTP client set it")])
        if int(declared) > limit:
            raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        raise ApiError(400, "BadRequest", "the request body is empty; expected a JSON object with the lead's fields.",
                       [("(body)", "a JSON object", "an empty body", "send the lead as a JSON object")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ApiError(400, "BadRequest", f"the request body is not UTF-8 (byte {error.start}).",
                       [("(body)", "UTF-8 JSON", f"an invalid byte at offset {error.start}",
                         "encode the body as UTF-8")]) from None
    try:
        data = json.loads(text, parse_constant=_refuse_constant)
    except (json.JSONDecodeError, ValueError) as error:
        where = (f"line {error.lineno} column {error.colno}: {error.msg}" if isinstance(error, json.JSONDecodeError)
                 else str(error))
        raise ApiError(400, "BadRequest", f"the request body is not valid JSON ({where}).",
                       [("(body)", "a JSON object", f"invalid JSON at {where}", "fix the JSON syntax")]) from None
    if not isinstance(data, dict):
        raise ApiError(422, "LeadError",
                       f"expected a JSON object with the lead's fields; got a JSON {type(data).__name__}.",
                       [("(body)", "a JSON object", f"a {type(data).__name__}",
                         'send one object like {"opportunity_id": "L1", "account_id": "K0000001", ...}')])
    return data


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _template(path: str) -> str:
    """The route a path belongs to, as a metrics label (bounded: never an id)."""
    if path in _TEMPLATES:
        return path
    if path.startswith("/accounts/") and "/" not in path[len("/accounts/"):] and len(path) > len("/accounts/"):
        return "/accounts/{account_id}"
    return "(unmatched)"


class _Guard:
    """Pure ASGI middleware: bearer-token check, metrics, one access-log line (no headers, no query)."""

    def __init__(self, app: Callable[..., Awaitable[None]], token: str, metrics: ServiceMetrics):
        self.app = app
        self.expected = token.encode("ascii")
        self.metrics = metrics
        self.secrets = (token,)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        route = _template(scope["path"])
        status = {"code": 500}

        async def send_status(message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        self.metrics.in_flight.inc()
        try:
            refused = None if scope["path"] in _UNAUTHENTICATED else self._refusal(scope)
            if refused is not None:
                await _error_response(refused, self.secrets)(scope, receive, send_status)
            else:
                await self.app(scope, receive, send_status)
        finally:
            seconds = time.perf_counter() - started
            self.metrics.in_flight.dec()
            self.metrics.requests.labels(route, scope["method"], str(status["code"])).inc()
            self.metrics.latency.labels(route).observe(seconds)
            if _log.isEnabledFor(logging.INFO):  # redact costs more than the rest of this block
                _log.info("%s %s -> %d in %.1f ms", scope["method"], redact(scope["path"], self.secrets),
                          status["code"], seconds * 1000)

    def _refusal(self, scope) -> ApiError | None:
        values = [v for k, v in scope["headers"] if k == b"authorization"]
        fix = "send the header Authorization: Bearer <the token in KAM_SERVE_TOKEN>"
        challenge = {"WWW-Authenticate": 'Bearer realm="kam"'}
        if not values:
            return ApiError(401, "Unauthorized",
                            "this route needs a bearer token; the request has no Authorization header.",
                            [("Authorization", "Bearer <token>", "no Authorization header", fix)], challenge)
        scheme, _, credential = values[0].strip().partition(b" ")
        if scheme.lower() != b"bearer":
            return ApiError(401, "Unauthorized", "the Authorization header is not a Bearer token.",
                            [("Authorization", "Bearer <token>", f"the {scheme[:16].decode('latin-1')!r} scheme", fix)],
                            challenge)
        # constant time: the comparison takes as long whatever prefix of the token matches
        if not hmac.compare_digest(credential.strip(), self.expected):
            return ApiError(401, "Unauthorized", "the bearer token is not the one this service expects.",
                            [("Authorization", "the token in KAM_SERVE_TOKEN", "another token", fix)],
                            {"WWW-Authenticate": 'Bearer realm="kam", error="invalid_token"'})
        return None


def create_app(service: RoutingService, options: ServeOptions, metrics: ServiceMetrics | None = None):
    """The ASGI application: ``POST /route``, ``GET /accounts/{id}``, ``/healthz``, ``/metrics``, ``/openapi.json``.

    Parameters
    ----------
    service : RoutingService
        Started (its first snapshot loaded); the app only reads ``service.holder.current``.
    options : ServeOptions
        The token and the body limit.
    metrics : ServiceMetrics, optional
        Where to count (a fresh registry by default).

    Returns
    -------
    ASGI application
        A Starlette app wrapped in the token/metrics guard.
    """
    from engine import __version__

    metrics = metrics or ServiceMetrics()
    secrets = (options.token,)
    document = openapi_document(__version__, options.max_body_bytes)
    current = service.holder.current
    metrics.snapshot_loaded(current.generation, current.loaded_at.timestamp())

    def reloaded(outcome: str, snapshot) -> None:
        metrics.reloads.labels(outcome).inc()
        if snapshot is not None:
            metrics.snapshot_loaded(snapshot.generation, snapshot.loaded_at.timestamp())

    service.holder.on_reload(reloaded)

    async def answer(call: Callable[[], Awaitable[Response]]) -> Response:
        try:
            return await call()
        except ApiError as error:
            return _error_response(error, secrets)
        except KamError as error:
            api = _from_kam_error(error)
            level = _log.warning if api.status >= 500 else _log.info
            level("%s answered %d: %s", api.kind, api.status, redact(api.message, secrets))
            return _error_response(api, secrets)
        except Exception:  # noqa: BLE001 -- an unexpected failure answers 500 and is logged (redacted)
            _log.exception("internal error while answering a request")
            failure = ApiError(500, "InternalError", "the service failed to answer; the error is in its log.",
                               [("(service)", "an answer", "an internal error", "see the service log")])
            return _error_response(failure, secrets)

    async def route_lead(request: Request) -> Response:
        async def call() -> Response:
            lead = await _read_json_object(request, options.max_body_bytes)
            decision = await run_in_threadpool(service.route, lead)
            metrics.decisions.labels(str(decision.get("route")), str(decision.get("status"))).inc()
            return _json(decision)

        return await answer(call)

    async def account(request: Request) -> Response:
        async def call() -> Response:
            return _json(await run_in_threadpool(service.account, request.path_params["account_id"]))

        return await answer(call)

    async def healthz(request: Request) -> Response:
        snapshot = service.holder.current
        return _json({"status": "ok", "pid": os.getpid(), "snapshot": snapshot.generation,
                      "loaded_at": snapshot.loaded_at.isoformat(timespec="seconds"),
                      "last_reload": "failed" if service.holder.last_error else "ok"})

    async def metrics_text(request: Request) -> Response:
        body, content_type = metrics.exposition(request.headers.get("accept"))
        return Response(body, headers={"Content-Type": content_type})

    async def openapi(request: Request) -> Response:
        return _json(document)

    async def http_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, HTTPException)
        if error.status_code == 405:
            allowed = (error.headers or {}).get("Allow", "")
            problem = ("(method)", allowed or "another method", request.method, f"use {allowed}")
        else:
            problem = ("(path)", "one of " + ", ".join(["/route", "/accounts/{account_id}", *_TEMPLATES[1:]]),
                       request.url.path, "see /openapi.json")
        return _error_response(ApiError(error.status_code, "HTTPError", str(error.detail), [problem], error.headers),
                               secrets)

    app = Starlette(
        routes=[
            Route("/route", route_lead, methods=["POST"]),
            Route("/accounts/{account_id}", account, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", metrics_text, methods=["GET"]),
            Route("/openapi.json", openapi, methods=["GET"]),
        ],
        exception_handlers={HTTPException: http_error},
    )
    return _Guard(app, options.token, metrics)

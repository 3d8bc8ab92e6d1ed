"""``kam serve``: the live path over HTTP (``docs/serve.md``).

Registered by :func:`engine.cli._commands.register` as ``app.command("serve")(_serve_cmd.serve)``.
The command only gathers the settings and runs :class:`engine.serve.ServiceServer`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["serve"]

DEFAULT_MODELS_DIR = Path("models/artifacts")


def serve(
    db: Annotated[str | None, typer.Option(help=(
        "Database URL or SQLite path, written to (live decisions are recorded; default: KAM_DB_URL or database.url "
        "in kam.toml; a password belongs in KAM_DB_PASSWORD)."))] = None,
    host: Annotated[str, typer.Option(help="Address to listen on (127.0.0.1: this machine only).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on (0: a free one, printed).")] = 8080,
    rules: Annotated[Path | None, typer.Option(
        help="Folder of rule files (default: rules.dir, else the shipped rules).")] = None,
    models: Annotated[Path | None, typer.Option(
        help="Folder of the published models (default: models.dir, else models/artifacts).")] = None,
    as_of: Annotated[str | None, typer.Option(
        help="The date leads are decided as of (ISO). Default: the latest scoring run's as-of date.")] = None,
    workers: Annotated[int | None, typer.Option(min=1, max=64, help=(
        "Worker processes on the one socket (default: serve.workers, 1). About one per core; SIGHUP to "
        "the parent replaces them one by one with freshly loaded ones."))] = None,
) -> int:
    """Serve POST /route, GET /accounts/{id}, /healthz, /metrics and /openapi.json over HTTP.

    Every route but /healthz needs `Authorization: Bearer $KAM_SERVE_TOKEN`. Rules and models
    are reloaded on SIGHUP and when their files change; SIGTERM or Ctrl-C stop after the
    requests in flight finish.
    """
    from engine.cli._commands import _parse_date
    from engine.cli._context import (
        configured,
        path_setting,
        resolve_database_url,
        state,
    )
    from engine.serve import ServeOptions, ServiceServer

    cli = state()
    config = cli.settings
    options = ServeOptions(
        token=config.get("serve.token"),
        max_body_bytes=int(config.get("serve.max_body_bytes")),
        reload_poll_seconds=float(config.get("serve.reload_poll_seconds")),
    )
    target = resolve_database_url(db)
    server = ServiceServer(
        target, options, host=host, port=port, rules_dir=configured(rules, "rules.dir"),
        artifacts_dir=path_setting(models, "models.dir", DEFAULT_MODELS_DIR), as_of=_parse_date(as_of, "--as-of"),
        workers=int(workers if workers is not None else config.get("serve.workers")),
        log_level=cli.log_level, log_format=cli.log_format, secrets=tuple(cli.secrets),
    ).open()
    if server.workers > 1:  # printed once the supervisor handles signals, while the workers load
        server.run(announce=lambda: print(
            f"kam serve: listening on {server.url} ({server.workers} workers, each loading its snapshot; "
            "SIGHUP replaces them with freshly loaded ones; Ctrl-C stops)", flush=True))
        sys.stdout.flush()
        return 0
    # the one line a supervisor or a test waits for (standard output, flushed)
    assert server.service is not None  # one process: open() loaded the service in this process
    print(f"kam serve: listening on {server.url} (snapshot {server.service.holder.current.generation}; "
          "SIGHUP reloads rules and models; Ctrl-C stops)", flush=True)
    server.run()
    sys.stdout.flush()
    return 0

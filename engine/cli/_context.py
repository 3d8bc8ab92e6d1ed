"""What every ``kam`` command shares: the loaded configuration, the database it names, choices.

The root callback (``kam --config FILE --log-level L --log-format F``) loads the configuration
once (file < environment < flags, :func:`engine._config.load_config`), configures logging with
every secret masked, and keeps both in the click context. Each command then asks for what it
needs: :func:`open_database` resolves ``--db`` against ``database.url``/``KAM_DB_URL``, adds
``KAM_DB_PASSWORD`` to a URL that has none, and opens the database for what the command does.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer

from engine._config import Config
from engine._suggest import did_you_mean

__all__ = [
    "Backend",
    "CliState",
    "ModelKind",
    "choice",
    "configured",
    "open_database",
    "resolve_database_url",
    "state",
]


class ModelKind(str, enum.Enum):
    """The models ``kam train`` trains."""

    churn = "churn"
    win = "win"


class Backend(str, enum.Enum):
    """Where ``kam score`` runs the row-wise stages."""

    local = "local"
    dask = "dask"


def choice(values: Iterable[str], *, case_sensitive: bool = True) -> dict[str, Any]:
    """Options for a ``typer.Argument``/``typer.Option`` that accepts one of ``values``.

    Refuses anything else as a usage error (exit 2) with a did-you-mean, shows the choices in
    the help (``churn|win``) and completes them in the shell.
    """
    allowed = [str(v) for v in values]

    def check(value: str | None) -> str | None:
        if value is None:
            return None
        for candidate in allowed:
            if value == candidate or (not case_sensitive and value.lower() == candidate.lower()):
                return candidate
        raise typer.BadParameter(f"expected one of {', '.join(allowed)}; got {value!r}{did_you_mean(value, allowed)}")

    def complete(incomplete: str) -> list[str]:
        return [v for v in allowed if v.startswith(incomplete)]

    return {"callback": check, "autocompletion": complete, "metavar": "|".join(allowed)}


@dataclass
class CliState:
    """The configuration of this invocation and the secrets to mask in everything printed."""

    config: Config | None
    secrets: list[str] = field(default_factory=list)
    log_level: str = "WARNING"
    log_format: str = "text"
    on_secret: Callable[[str], None] | None = None

    @property
    def settings(self) -> Config:
        """The configuration (loaded now when the root callback has not loaded it yet)."""
        if self.config is None:
            from engine._config import load_config

            self.config = load_config()
        return self.config

    def add_secret(self, value: str | None) -> None:
        """Mask ``value`` from now on (log lines and error messages)."""
        if value and value not in self.secrets:
            self.secrets.append(value)
            if self.on_secret is not None:
                self.on_secret(value)


def state(ctx: typer.Context | None = None) -> CliState:
    """The :class:`CliState` of the running command (a default one outside ``kam``)."""
    from typer._click.globals import get_current_context  # typer ships its own click

    current = ctx or get_current_context(silent=True)
    root = current.find_root() if current is not None else None
    if root is not None and isinstance(root.obj, CliState) and root.obj.config is not None:
        return root.obj
    from engine._config import load_config

    if root is not None and isinstance(root.obj, CliState):
        root.obj.config = load_config()
        return root.obj
    cli_state = CliState(load_config())
    if root is not None:
        root.obj = cli_state
    return cli_state


def configured(flag: Any, name: str, default: Any = None) -> Any:
    """``flag`` when given on the command line, else setting ``name``, else ``default``."""
    if flag is not None:
        return flag
    value = state().settings.get(name)
    return default if value is None else value


def resolve_database_url(flag: str | None, cli_state: CliState | None = None) -> Any:
    """The database to open: ``--db``, else ``database.url`` (``KAM_DB_URL`` or kam.toml).

    ``database.password`` (``KAM_DB_PASSWORD``) is put into a server URL that carries no
    password; the result is then a SQLAlchemy URL object, so the password is never part of a
    text that could be printed. A password written into ``--db`` itself is accepted with a
    warning (it is visible in ``ps`` and shell history).
    """
    from engine._log import redact

    current = cli_state or state()
    config = current.settings
    url = flag if flag is not None else config.get("database.url")
    if url is None or not str(url).strip():
        raise typer.BadParameter(
            "no database given. Pass --db URL (or a SQLite path), set KAM_DB_URL, or set database.url in kam.toml.",
            param_hint="--db",
        )
    url = str(url).strip()
    if "://" not in url:
        return url
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:  # reported with the URL masked by engine.storage
        return url
    if flag is not None and (parsed.password or redact(url) != url):
        current.add_secret(parsed.password)
        from engine.cli._output import warn

        warn(
            "the --db URL holds a password, which other users can read in the process list and your shell "
            "history. Set it in the environment instead: KAM_DB_URL for the URL and KAM_DB_PASSWORD for the "
            "password (or database.url / database.password in kam.toml)."
        )
    password = config.get("database.password")
    if password and not parsed.password and parsed.get_backend_name() != "sqlite":
        current.add_secret(str(password))
        return parsed.set(password=str(password))
    return parsed


def open_database(flag: str | None, *, access: str):
    """Open the database named by ``--db`` or the configuration, for ``access``.

    Parameters
    ----------
    flag : str or None
        The ``--db`` value.
    access : {"read", "write", "create"}
        ``read``: read-only, a missing SQLite file is an error (exit 5) and nothing is created;
        ``write``: results may be written, the database must exist; ``create``: may create it.
    """
    from engine.storage import Database

    target = resolve_database_url(flag)
    if access == "read":
        return Database(target, readonly=True)
    if access == "write":
        return Database(target, create=False)
    if access == "create":
        return Database(target)
    raise ValueError(f"access must be read, write or create; got {access!r}")


def path_setting(flag: Path | None, name: str, default: Path) -> Path:
    """A folder option: the flag, else the configured setting, else ``default``."""
    return Path(configured(flag, name, default))

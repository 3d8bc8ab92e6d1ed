"""Configuration: one declared table of settings, read from a file, the environment and flags.

Precedence, lowest first: the declared default < the config file (``kam.toml`` in the working
directory, ``KAM_CONFIG``, or ``--config``) < environment variables (``KAM_...``) < command-line
flags. Every value is validated once, when the configuration is loaded, with an error that names
where the bad value came from (file and key, or variable) and how to fix it.

Secrets (settings declared ``secret=True``: passwords, tokens) are accepted **only** from the
environment or the config file, never from a flag (visible in ``ps`` and shell history), and
:meth:`Config.secrets` hands their values to the log filter so they are masked everywhere.

A new setting is one more :class:`Setting` in :data:`SETTINGS`; docs/configuration.md is checked
against this table by a test.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine._errors import ConfigError
from engine._suggest import did_you_mean

__all__ = ["CONFIG_ENV", "CONFIG_FILE_NAME", "SETTINGS", "Config", "Setting", "load_config"]

#: Looked for in the working directory when no file is named.
CONFIG_FILE_NAME = "kam.toml"
#: Environment variable naming the config file.
CONFIG_ENV = "KAM_CONFIG"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class Setting:
    """One configuration setting.

    Parameters
    ----------
    name : str
        Dotted name; in ``kam.toml`` the part before the last dot is the table
        (``log.level`` is ``level`` under ``[log]``).
    kind : {"str", "int", "float", "bool", "path", "choice"}
        How the value is parsed and checked.
    default : object
        Value when no source sets it (``None``: unset).
    help : str
        One line for the settings table in the docs.
    env : str, optional
        Environment variable; default ``KAM_`` + the name upper-cased with dots as underscores.
    secret : bool
        Accepted only from the environment or the file; masked in every log line and error.
    choices : tuple of str
        Allowed values for ``kind="choice"`` (matched case-insensitively, stored as declared).
    minimum, maximum : float, optional
        Inclusive bounds for numbers.
    """

    name: str
    kind: str
    default: Any
    help: str
    env: str | None = None
    secret: bool = False
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None

    @property
    def env_var(self) -> str:
        return self.env or "KAM_" + self.name.upper().replace(".", "_")

    def parse(self, raw: Any, where: str) -> Any:
        """Convert ``raw`` (text from the environment, or a TOML value) to this setting's type."""

        def bad(expected: str) -> ConfigError:
            shown = "***" if self.secret else repr(raw)
            return ConfigError(f"{where}: {self.name} must be {expected}; got {shown}. Fix the value ({self.help}).")

        if self.kind in ("str", "path"):
            if not isinstance(raw, str) or (self.kind == "path" and not raw.strip()):
                raise bad("a non-empty text" if self.kind == "path" else "text")
            return Path(raw).expanduser() if self.kind == "path" else raw
        if self.kind == "bool":
            if isinstance(raw, bool):
                return raw
            if isinstance(raw, str) and raw.strip().lower() in _TRUE | _FALSE:
                return raw.strip().lower() in _TRUE
            raise bad("true or false")
        if self.kind == "choice":
            if isinstance(raw, str):
                for choice in self.choices:
                    if raw.strip().lower() == choice.lower():
                        return choice
            raise bad("one of " + ", ".join(self.choices) + did_you_mean(str(raw), self.choices))
        if self.kind in ("int", "float"):
            if isinstance(raw, bool):
                raise bad("a number")
            try:
                value: float | int = int(raw) if self.kind == "int" else float(raw)
            except (TypeError, ValueError):
                raise bad("a whole number" if self.kind == "int" else "a number") from None
            if self.kind == "int" and isinstance(raw, float) and raw != int(raw):
                raise bad("a whole number")
            if value != value:  # NaN
                raise bad("a number")
            if (self.minimum is not None and value < self.minimum) or (self.maximum is not None and value > self.maximum):
                low = "-inf" if self.minimum is None else f"{self.minimum:g}"
                high = "inf" if self.maximum is None else f"{self.maximum:g}"
                raise bad(f"between {low} and {high}")
            return value
        raise AssertionError(f"setting {self.name} has unknown kind {self.kind!r}")


#: Every setting kam reads. Add new ones here (docs/configuration.md lists them; a test checks).
SETTINGS: tuple[Setting, ...] = (
    Setting("database.url", "str", None, "Database URL (postgresql://user@host/db) or SQLite file path.", env="KAM_DB_URL"),
    Setting(
        "database.password", "str", None,
        "Password for database.url when the URL carries none (so the URL itself holds no secret).",
        env="KAM_DB_PASSWORD", secret=True,
    ),
    Setting("models.dir", "path", None, "Folder of published models (model cards and artifacts).", env="KAM_MODELS_DIR"),
    Setting("rules.dir", "path", None, "Folder of rule files (tiers.yaml, routing.yaml, ...).", env="KAM_RULES_DIR"),
    Setting("score.max_quarantined", "float", 0.05,
            "Largest share of any one input table's rows a run may quarantine; above it the run fails "
            "(exit 4) and writes nothing.", minimum=0.0, maximum=1.0),
    Setting("log.level", "choice", "WARNING", "Least severe log records shown.",
            choices=("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")),
    Setting("log.format", "choice", "text", "text for people, json for a log collector (one object a line).",
            choices=("text", "json")),
    # --- alert delivery (engine.alerts, docs/alerts.md) ---
    Setting("alerts.jsonl.path", "path", None, "File the jsonl alert channel appends digests to (one JSON object a line)."),
    Setting("alerts.webhook.url", "str", None,
            "Endpoint the webhook alert channel POSTs signed digests to (a secret: some such URLs are the credential).",
            secret=True),
    Setting("alerts.webhook.secret", "str", None, "Standard Webhooks signing secret (whsec_ + base64) for alerts.webhook.url.",
            secret=True),
    Setting("alerts.webhook.timeout", "float", 10.0, "Seconds to wait for the webhook endpoint (connect and each read).",
            minimum=0.1, maximum=300),
    Setting("alerts.webhook.slack", "bool", False, "Send a Slack-compatible body (text + blocks) with the digest under kam."),
    Setting("alerts.smtp.host", "str", None, "SMTP server for the email alert channel."),
    Setting("alerts.smtp.port", "int", 25, "SMTP server port.", minimum=1, maximum=65535),
    Setting("alerts.smtp.starttls", "bool", False, "Upgrade the SMTP connection with STARTTLS."),
    Setting("alerts.smtp.user", "str", None, "SMTP login user (login only when set)."),
    Setting("alerts.smtp.password", "str", None, "SMTP login password.", secret=True),
    Setting("alerts.smtp.timeout", "float", 10.0, "Seconds per SMTP connection and command.", minimum=0.1, maximum=300),
    Setting("alerts.email.sender", "str", None, "From address of alert e-mails."),
    Setting("alerts.email.address_template", "str", None,
            "Recipient address from the recipient's id and type, e.g. {id}@sales.example.com."),
    Setting("alerts.send.max_attempts", "int", 5, "Attempts per digest and channel before it is recorded as failed.",
            minimum=1, maximum=100),
    Setting("alerts.send.backoff_seconds", "float", 1.0, "First retry delay; doubled each attempt, with full jitter.",
            minimum=0.0, maximum=3600),
    # --- the HTTP service (engine.serve, docs/serve.md) ---
    Setting("serve.token", "str", None,
            "Bearer token every request to `kam serve` but /healthz must carry (at least 16 characters).",
            env="KAM_SERVE_TOKEN", secret=True),
    Setting("serve.max_body_bytes", "int", 65536, "Largest request body `kam serve` reads; larger ones get 413.",
            minimum=256, maximum=16 * 1024 * 1024),
    Setting("serve.reload_poll_seconds", "float", 2.0,
            "How often `kam serve` checks the rule files and published models for a change (0: only on SIGHUP).",
            minimum=0.0, maximum=3600),
    Setting("serve.workers", "int", 1,
            "Worker processes `kam serve` runs on one socket (about one per core; each loads its own snapshot).",
            minimum=1, maximum=64),
)


def _settings_by_name() -> dict[str, Setting]:
    return {s.name: s for s in SETTINGS}


@dataclass(frozen=True)
class Config:
    """Validated settings with the source of each value.

    Use :func:`load_config` to build one.
    """

    values: Mapping[str, Any]
    sources: Mapping[str, str]
    file: Path | None = None
    _declared: Mapping[str, Setting] = field(default_factory=_settings_by_name, repr=False)

    def get(self, name: str) -> Any:
        """The value of setting ``name`` (its default when no source set it)."""
        if name not in self._declared:
            raise ConfigError(f"unknown setting {name!r}{did_you_mean(name, self._declared)}")
        return self.values.get(name, self._declared[name].default)

    def source(self, name: str) -> str:
        """Where the value came from: ``default``, ``file``, ``env`` or ``flag``."""
        self.get(name)
        return self.sources.get(name, "default")

    def secrets(self) -> list[str]:
        """Values to mask everywhere: every secret setting and any password inside database.url."""
        found = [str(v) for name, v in self.values.items() if v and self._declared[name].secret]
        url = self.values.get("database.url")
        if url and "://" in str(url):
            try:
                from sqlalchemy.engine import make_url

                password = make_url(str(url)).password
            except Exception:
                password = None
            if password:
                found.append(str(password))
        return found

    def describe(self) -> list[dict[str, Any]]:
        """One row per setting (name, value with secrets masked, source, env var), for ``kam config``."""
        from engine._log import redact

        secrets = self.secrets()
        rows = []
        for setting in SETTINGS:
            value = self.get(setting.name)
            if value is not None and setting.secret:
                shown: Any = "***"
            elif value is not None:
                shown = redact(str(value), secrets)
            else:
                shown = None
            rows.append({"name": setting.name, "value": shown, "source": self.source(setting.name), "env": setting.env_var})
        return rows


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


def _read_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"config file {str(path)!r} does not exist. Fix: give an existing file with --config or "
                          f"{CONFIG_ENV}, or remove the option to use the defaults.") from None
    except OSError as exc:
        raise ConfigError(f"config file {str(path)!r} cannot be read ({exc.strerror}).") from None
    if len(text) > 1_000_000:
        raise ConfigError(f"config file {str(path)!r} is {len(text):,} bytes; expected a small TOML file (< 1 MB).")
    try:
        data = tomllib.loads(text.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file {str(path)!r} is not UTF-8 text (byte {exc.start}).") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {str(path)!r} is not valid TOML: {exc}. Fix the syntax there.",
                          file=str(path)) from None
    return _flatten(data)


def load_config(
    path: str | Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    cwd: str | Path | None = None,
) -> Config:
    """Read and validate the configuration.

    Parameters
    ----------
    path : str or Path, optional
        Config file to read. When omitted: ``$KAM_CONFIG`` if set, else ``kam.toml`` in ``cwd``
        if it exists, else no file.
    environ : mapping, optional
        Environment variables (default ``os.environ``).
    overrides : mapping, optional
        Values given on the command line, by setting name; ``None`` values are ignored.
        Secret settings are refused here.
    cwd : str or Path, optional
        Where to look for ``kam.toml`` (default the working directory).

    Returns
    -------
    Config

    Raises
    ------
    ConfigError
        A file that is missing, not TOML, or names an unknown setting; a value of the wrong type;
        a secret given as a flag.

    Examples
    --------
    >>> cfg = load_config(environ={"KAM_LOG_LEVEL": "info"}, cwd="/nonexistent")
    >>> cfg.get("log.level"), cfg.source("log.level")
    ('INFO', 'env')
    """
    environ = os.environ if environ is None else environ
    declared = _settings_by_name()
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}

    file: Path | None = None
    if path is not None:
        file = Path(path).expanduser()
    elif environ.get(CONFIG_ENV):
        file = Path(environ[CONFIG_ENV]).expanduser()
    else:
        candidate = Path(cwd if cwd is not None else Path.cwd()) / CONFIG_FILE_NAME
        if candidate.is_file():
            file = candidate

    if file is not None:
        for name, raw in _read_file(file).items():
            if name not in declared:
                known = ", ".join(sorted(declared))
                raise ConfigError(f"config file {str(file)!r}: unknown setting {name!r}{did_you_mean(name, declared)} "
                                  f"(known settings: {known}).", file=str(file))
            values[name] = declared[name].parse(raw, f"config file {str(file)!r}")
            sources[name] = "file"

    for setting in SETTINGS:
        raw = environ.get(setting.env_var)
        if raw is not None and raw != "":
            values[setting.name] = setting.parse(raw, f"environment variable {setting.env_var}")
            sources[setting.name] = "env"

    for name, raw in (overrides or {}).items():
        if raw is None:
            continue
        if name not in declared:
            raise ConfigError(f"unknown setting {name!r}{did_you_mean(name, declared)}")
        setting = declared[name]
        if setting.secret:
            raise ConfigError(f"{name} is a secret and is not accepted on the command line (visible in process lists "
                              f"and shell history). Fix: set {setting.env_var} in the environment or {name} in "
                              f"{CONFIG_FILE_NAME}.")
        values[name] = raw if not isinstance(raw, str) else setting.parse(raw, "command line")
        sources[name] = "flag"

    return Config(values=values, sources=sources, file=file)

"""Logging for kam: one ``kam`` logger tree, plain or JSON lines, secrets masked.

The library only *logs* (``get_logger("score").info(...)``); it never configures handlers. The
CLI (or an application embedding kam) calls :func:`configure_logging` once. Every record that
passes through a handler installed here goes through :class:`RedactingFilter`, so a database
password, a webhook secret or an SMTP password never reaches a log line, whatever form it takes.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys
from collections.abc import Iterable
from typing import IO, Any

__all__ = [
    "LOGGER_NAME",
    "LOG_FORMATS",
    "LOG_LEVELS",
    "JsonFormatter",
    "RedactingFilter",
    "configure_logging",
    "get_logger",
    "redact",
]

#: Root of every logger kam uses.
LOGGER_NAME = "kam"
#: Accepted values of ``--log-format``.
LOG_FORMATS = ("text", "json")
#: Accepted values of ``--log-level`` (stdlib names).
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

MASK = "***"

# user:password@ in any URL-like text (scheme://user:password@host).
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^:/@\s]*:)(?P<secret>[^@\s]*)(?P<tail>@)")
# password=..., pwd=..., token=..., secret=..., api_key=... in query strings, DSNs and key=value text.
_KEY_VALUE = re.compile(
    r"(?P<head>\b(?:password|passwd|pwd|pass|token|access_token|secret|api[_-]?key|auth)\s*[=:]\s*)"
    r"(?P<quote>['\"]?)(?P<secret>[^\s&;'\",)]+)",
    re.IGNORECASE,
)
# Authorization: Bearer xyz / Basic xyz
_AUTH_HEADER = re.compile(r"(?P<head>\b(?:Bearer|Basic)\s+)(?P<secret>[A-Za-z0-9._~+/=\-]{4,})")


def get_logger(name: str | None = None) -> logging.Logger:
    """Return the logger ``kam.<name>`` (or ``kam`` itself).

    Examples
    --------
    >>> get_logger("score").name
    'kam.score'
    """
    return logging.getLogger(LOGGER_NAME if not name else f"{LOGGER_NAME}.{name}")


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Return ``text`` with every credential masked as ``***``.

    Masks the password of any ``scheme://user:password@host`` URL, values of ``password=``,
    ``token=``, ``secret=``, ``api_key=`` (and similar) parameters, ``Bearer``/``Basic``
    credentials, and every literal value in ``secrets`` (also URL-encoded).

    Parameters
    ----------
    text : str
        Any text: a message, a URL, a traceback.
    secrets : iterable of str
        Literal secret values to mask wherever they occur (empty values are ignored).

    Examples
    --------
    >>> redact("postgresql://kam:s3cret@db:5432/sales")
    'postgresql://kam:***@db:5432/sales'
    >>> redact("host=db password=s3cret user=kam")
    'host=db password=*** user=kam'
    >>> redact("sent with key hunter22", secrets=["hunter22"])
    'sent with key ***'
    """
    from urllib.parse import quote, quote_plus

    out = str(text)
    for value in sorted({s for s in secrets if s and len(str(s)) >= 3}, key=len, reverse=True):
        value = str(value)
        for form in {value, quote(value, safe=""), quote_plus(value)}:
            out = out.replace(form, MASK)
    out = _URL_PASSWORD.sub(lambda m: f"{m['head']}{MASK if m['secret'] else ''}{m['tail']}", out)
    out = _KEY_VALUE.sub(lambda m: f"{m['head']}{m['quote']}{MASK}", out)
    out = _AUTH_HEADER.sub(lambda m: f"{m['head']}{MASK}", out)
    return out


class RedactingFilter(logging.Filter):
    """A logging filter that masks secrets in the message, its arguments and the traceback.

    The record is rendered once (``getMessage``), masked, and its arguments are cleared, so no
    formatter can re-render an unmasked argument. Exception text is rendered and masked too.
    """

    def __init__(self, secrets: Iterable[str] = ()):
        super().__init__()
        self.secrets = tuple(s for s in secrets if s)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken %-format must not lose the record
            message = f"{record.msg!r} % {record.args!r}"
        record.msg = redact(message, self.secrets)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
        record.exc_info = None if record.exc_text else record.exc_info
        if record.stack_info:
            record.stack_info = redact(record.stack_info, self.secrets)
        for key, value in list(vars(record).items()):
            if key not in _STANDARD_ATTRS and isinstance(value, str):
                setattr(record, key, redact(value, self.secrets))
        return True


_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("x", 0, "x", 0, "x", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``ts``, ``level``, ``logger``, ``message`` and any ``extra`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                payload[key] = value
        if record.exc_text:
            payload["exception"] = record.exc_text
        elif record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str, ensure_ascii=False)


_HANDLER_MARK = "_kam_handler"


def configure_logging(
    level: str | int = "WARNING",
    fmt: str = "text",
    *,
    stream: IO[str] | None = None,
    secrets: Iterable[str] = (),
) -> logging.Handler:
    """Send the ``kam`` logger tree to ``stream`` (default standard error) at ``level``.

    Calling it again replaces the handler it installed before (never stacks handlers). Records
    do not propagate to the root logger, so an application's own root handler does not print
    them twice.

    Parameters
    ----------
    level : str or int
        One of :data:`LOG_LEVELS` (case-insensitive) or a stdlib level number.
    fmt : {"text", "json"}
        Plain lines for people, or one JSON object per line for a log collector.
    stream : file-like, optional
        Where to write; standard error by default.
    secrets : iterable of str
        Literal secret values (passwords, tokens) to mask in every record, on top of the
        credential forms :func:`redact` always recognises.

    Returns
    -------
    logging.Handler
        The installed handler.
    """
    from engine._errors import ConfigError

    if isinstance(level, str):
        name = level.strip().upper()
        if name not in LOG_LEVELS:
            raise ConfigError(
                f"log level must be one of {', '.join(LOG_LEVELS)}; got {level!r}. "
                "Fix: --log-level INFO, KAM_LOG_LEVEL=INFO, or log.level in kam.toml."
            )
        numeric = getattr(logging, name)
    else:
        numeric = int(level)
    if fmt not in LOG_FORMATS:
        raise ConfigError(
            f"log format must be one of {', '.join(LOG_FORMATS)}; got {fmt!r}. "
            "Fix: --log-format json, KAM_LOG_FORMAT=json, or log.format in kam.toml."
        )
    logger = get_logger()
    for old in [h for h in logger.handlers if getattr(h, _HANDLER_MARK, False)]:
        logger.removeHandler(old)
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    setattr(handler, _HANDLER_MARK, True)
    handler.addFilter(RedactingFilter(secrets))
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(numeric)
    logger.propagate = False
    return handler

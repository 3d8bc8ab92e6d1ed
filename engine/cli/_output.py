"""Consoles for the CLI: rich on a terminal, plain text otherwise."""

from __future__ import annotations

import os
import sys

__all__ = ["console", "error", "error_console", "is_interactive", "warn"]


def is_interactive() -> bool:
    """True when standard error is a terminal (progress bars are shown only then)."""
    return sys.stderr.isatty()


def _console_class():
    from rich.console import Console

    class _Console(Console):
        """A rich console that reports a closed pipe as :class:`BrokenPipeError`.

        rich's own handling exits with status 1; a reader that stops early (``| head -1``) is
        not an error, so :func:`engine.cli.main` turns the BrokenPipeError into exit 0.
        """

        def on_broken_pipe(self) -> None:
            try:
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, self.file.fileno())
            except (OSError, ValueError, AttributeError):
                pass
            raise BrokenPipeError("the reader closed the output")

    return _Console


def console():
    """A rich console on standard output (no colour codes when not a terminal)."""
    return _console_class()(highlight=False, soft_wrap=True, markup=False)


def error_console():
    """A rich console on standard error."""
    return _console_class()(stderr=True, highlight=False, soft_wrap=True, markup=False)


def _secrets() -> list[str]:
    """Secrets of the running command (none outside one: the known credential forms are still masked)."""
    from typer._click.globals import get_current_context  # typer ships its own click

    ctx = get_current_context(silent=True)
    obj = ctx.find_root().obj if ctx is not None else None
    return list(getattr(obj, "secrets", []) or [])


def warn(message: str) -> None:
    """Print ``warning: message`` on standard error, credentials masked."""
    from engine._log import redact

    error_console().print(f"warning: {redact(str(message), _secrets())}", markup=False, highlight=False)


def error(message: str, secrets=()) -> None:
    """Print ``error: message`` on standard error, credentials (and ``secrets``) masked."""
    from engine._log import redact

    masked = redact(str(message), [*secrets, *_secrets()])
    error_console().print(f"error: {masked}", markup=False, highlight=False)

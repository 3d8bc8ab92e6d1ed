"""Consoles for the CLI: rich on a terminal, plain text otherwise."""

from __future__ import annotations

import sys

__all__ = ["console", "error_console", "is_interactive"]


def is_interactive() -> bool:
    """True when standard error is a terminal (progress bars are shown only then)."""
    return sys.stderr.isatty()


def console():
    """A rich console on standard output (no colour codes when not a terminal)."""
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True, markup=False)


def error_console():
    """A rich console on standard error."""
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True, markup=False)

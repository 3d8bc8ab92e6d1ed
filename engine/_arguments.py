"""Argument checks for the public functions: a wrong type is an :class:`~engine.ArgumentError`.

A public function checks its arguments before any work, so a caller who passes the wrong thing
learns what was expected, what arrived and how to fix it, instead of an ``AttributeError`` from
deep inside pandas. Paths are checked by :func:`engine._paths.as_path`.
"""

from __future__ import annotations

from typing import Any

from engine._errors import ArgumentError

__all__ = ["check_type", "check_frame", "check_mapping"]


def _got(value: object) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text[:60]}{'...' if len(text) > 60 else ''}"


def check_type(where: str, name: str, value: object, expected: type | tuple[type, ...], fix: str,
               *, described: str | None = None) -> None:
    """Raise :class:`~engine.ArgumentError` unless ``value`` is an instance of ``expected``.

    Examples
    --------
    >>> check_type("render_text", "payload", {}, dict, "pass the payload of build_digests")
    >>> check_type("render_text", "payload", 3, dict, "pass the payload of build_digests")
    Traceback (most recent call last):
    ...
    engine._errors.ArgumentError: render_text: expected payload as a dict; got int 3. Fix: pass the payload of build_digests.
    """
    if isinstance(value, expected):
        return
    if described is None:
        kinds = expected if isinstance(expected, tuple) else (expected,)
        described = " or ".join(f"a {kind.__name__}" for kind in kinds)
    raise ArgumentError(f"{where}: expected {name} as {described}; got {_got(value)}. Fix: {fix.rstrip('.')}.")


def check_frame(where: str, name: str, value: object, fix: str | None = None) -> None:
    """Raise :class:`~engine.ArgumentError` unless ``value`` is a pandas DataFrame."""
    import pandas as pd

    check_type(where, name, value, pd.DataFrame, fix or f"pass {name} as a pandas DataFrame",
               described="a pandas DataFrame")


def check_mapping(where: str, name: str, value: Any, fix: str) -> None:
    """Raise :class:`~engine.ArgumentError` unless ``value`` is a mapping (a dict of tables, a payload)."""
    from collections.abc import Mapping

    check_type(where, name, value, Mapping, fix, described="a mapping")

"""Argument checks for the public functions: a wrong type is an :class:`~engine.ArgumentError`.

A public function checks its arguments before any work, so a caller who passes the wrong thing
learns what was expected, what arrived and how to fix it, instead of an ``AttributeError`` from
deep inside pandas. Paths are checked by :func:`engine._paths.as_path`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from engine._errors import ArgumentError

if TYPE_CHECKING:
    import numpy as np

__all__ = ["check_type", "check_frame", "check_mapping", "check_number", "check_array", "check_has"]


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


def check_array(where: str, name: str, value: object, fix: str, *, dtype: Any = float) -> np.ndarray:
    """``value`` as a numpy array of ``dtype``, or :class:`~engine.ArgumentError` if it is not one.

    Only the conversion is checked: the shape and the range are the caller's (they say more
    about what was meant).

    Examples
    --------
    >>> check_array("evaluate", "proba", [0.2, 0.9], "pass model.predict_proba(X)[:, 1]").tolist()
    [0.2, 0.9]
    >>> check_array("evaluate", "proba", {"a": 1}, "pass model.predict_proba(X)[:, 1]")
    Traceback (most recent call last):
    ...
    engine._errors.ArgumentError: evaluate: expected proba as an array of numbers; got dict {'a': 1}. Fix: pass model.predict_proba(X)[:, 1].
    """
    import numpy as np

    try:
        array = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError):
        array = None
    if array is None or (array.dtype == object and dtype is not object):
        kind = "numbers" if np.dtype(dtype).kind in "biuf" else np.dtype(dtype).name
        raise ArgumentError(f"{where}: expected {name} as an array of {kind}; got {_got(value)}. "
                            f"Fix: {fix.rstrip('.')}.")
    return array


def check_number(where: str, name: str, value: object, fix: str, *, least: float | None = None,
                 described: str = "a finite number") -> float:
    """``value`` as a float, or :class:`~engine.ArgumentError` unless it is a finite number ``>= least``.

    A bool is not a number here (``True`` for a number of seconds is a mistake, not 1).

    Examples
    --------
    >>> check_number("ReloadWatcher", "poll_seconds", 2, "pass e.g. 2.0", least=0)
    2.0
    >>> check_number("ReloadWatcher", "poll_seconds", -1, "pass e.g. 2.0", least=0)
    Traceback (most recent call last):
    ...
    engine._errors.ArgumentError: ReloadWatcher: expected poll_seconds as a finite number >= 0; got -1. Fix: pass e.g. 2.0.
    """
    import numbers

    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(float(value))
    if not ok or (least is not None and not float(value) >= least):  # type: ignore[arg-type]
        need = described if least is None else f"{described} >= {least:g}"
        raise ArgumentError(f"{where}: expected {name} as {need}; got {value!r}. Fix: {fix.rstrip('.')}.")
    return float(value)  # type: ignore[arg-type]


def check_has(where: str, name: str, value: object, methods: tuple[str, ...], described: str, fix: str) -> None:
    """Raise :class:`~engine.ArgumentError` unless ``value`` has each of ``methods`` (duck typing).

    For arguments taken by what they can do rather than by class (a model with ``predict_proba``).

    Examples
    --------
    >>> check_has("churn_if_contacted", "model", object(), ("predict_proba",), "a fitted churn model",
    ...           "pass engine.models.load_model(path)")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    engine._errors.ArgumentError: churn_if_contacted: expected model as a fitted churn model (with predict_proba); got object <object object at 0x...>. Fix: pass engine.models.load_model(path).
    """
    if all(callable(getattr(value, method, None)) for method in methods):
        return
    raise ArgumentError(f"{where}: expected {name} as {described} (with {', '.join(methods)}); got {_got(value)}. "
                        f"Fix: {fix.rstrip('.')}.")

"""Did-you-mean suggestions for names a person typed (one phrasing everywhere)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["closest", "did_you_mean"]


def closest(name: str, candidates: Iterable[object], cutoff: float = 0.6) -> str | None:
    """The candidate closest to ``name`` (case-insensitive), or ``None`` when none is close.

    Examples
    --------
    >>> closest("anual_revenue", ["annual_revenue", "region"])
    'annual_revenue'
    >>> closest("xyz", ["annual_revenue"]) is None
    True
    """
    names = [str(c) for c in candidates]
    lowered = {n.lower(): n for n in names}
    match = difflib.get_close_matches(str(name).lower(), list(lowered), n=1, cutoff=cutoff)
    return lowered[match[0]] if match else None


def did_you_mean(name: str, candidates: Iterable[object], cutoff: float = 0.6) -> str:
    """``"; did you mean 'x'?"`` for the closest candidate, or ``""``.

    Examples
    --------
    >>> "unknown field 'anual_revenue'" + did_you_mean("anual_revenue", ["annual_revenue"])
    "unknown field 'anual_revenue'; did you mean 'annual_revenue'?"
    """
    match = closest(name, candidates, cutoff)
    return f"; did you mean {match!r}?" if match else ""

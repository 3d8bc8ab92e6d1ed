"""Did-you-mean suggestions for names a person typed: one matcher and one phrasing everywhere.

Every "unknown name" message in kam suggests the nearest known name the same way (as
rule-engine's ``suggestions.py`` does): the match ignores case, and the words are always
``did you mean 'x'?``. Three shapes put those words where a message needs them:

* :func:`did_you_mean` - a suffix for one name: ``"unknown field 'anual_revenue'; did you mean 'annual_revenue'?"``;
* :func:`with_suggestion` - one item of a list of names: ``"'acount_id' (did you mean 'account_id'?)"``;
* :func:`suggestion` - the bare words, for a hint that goes on with a fix.

No other module calls :mod:`difflib` to suggest names (a test greps for it).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["closest", "did_you_mean", "suggestion", "with_suggestion"]


def closest(name: object, candidates: Iterable[object], cutoff: float = 0.6) -> str | None:
    """The candidate closest to ``name`` (case-insensitive), or ``None`` when none is close.

    Examples
    --------
    >>> closest("anual_revenue", ["annual_revenue", "region"])
    'annual_revenue'
    >>> closest("c", ["C", "penalty"])
    'C'
    >>> closest("xyz", ["annual_revenue"]) is None
    True
    """
    names = [str(c) for c in candidates]
    lowered: dict[str, str] = {}
    for candidate in names:
        lowered.setdefault(candidate.lower(), candidate)
    match = difflib.get_close_matches(str(name).lower(), list(lowered), n=1, cutoff=cutoff)
    return lowered[match[0]] if match else None


def suggestion(name: object, candidates: Iterable[object], cutoff: float = 0.6) -> str:
    """``"did you mean 'x'?"`` for the closest candidate, or ``""``.

    Examples
    --------
    >>> suggestion("montly", ["monthly", "weekly"])
    "did you mean 'monthly'?"
    >>> suggestion("zzz", ["monthly"])
    ''
    """
    match = closest(name, candidates, cutoff)
    return f"did you mean {match!r}?" if match is not None else ""


def did_you_mean(name: object, candidates: Iterable[object], cutoff: float = 0.6) -> str:
    """``"; did you mean 'x'?"`` for the closest candidate, or ``""`` (a suffix for one name).

    Examples
    --------
    >>> "unknown field 'anual_revenue'" + did_you_mean("anual_revenue", ["annual_revenue"])
    "unknown field 'anual_revenue'; did you mean 'annual_revenue'?"
    """
    words = suggestion(name, candidates, cutoff)
    return f"; {words}" if words else ""


def with_suggestion(name: object, candidates: Iterable[object], cutoff: float = 0.6) -> str:
    """``"'name' (did you mean 'x'?)"``, or ``"'name'"``: one item of a list of unknown names.

    Examples
    --------
    >>> ", ".join(with_suggestion(n, ["account_id", "region"]) for n in ["acount_id", "zzz"])
    "'acount_id' (did you mean 'account_id'?), 'zzz'"
    """
    words = suggestion(name, candidates, cutoff)
    return f"{str(name)!r} ({words})" if words else repr(str(name))

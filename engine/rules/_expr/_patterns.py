"""Patterns: the ``matches`` subset both engines implement, and RE2 to run it in linear time.

A ``matches`` pattern is checked against a small regular-expression subset (literals, ``.``,
classes, groups, alternatives and bounded repeats), then compiled once by RE2 - Arrow's regex
engine - which runs in time linear in the value's length. ``startswith`` is lowered to a
pattern of its own whose every character is escaped.
"""

from __future__ import annotations

import re
from typing import Iterable

import numpy as np

from engine._errors import RuleSyntaxError

__all__ = ["MAX_PATTERN_LENGTH", "MAX_REPEAT", "LinearPattern", "check_pattern", "prefix_pattern"]

#: Longest ``matches`` pattern accepted, and the largest ``{n,m}`` repeat.
MAX_PATTERN_LENGTH = 120
MAX_REPEAT = 10

_CLASS_CHAR = re.compile(r"[A-Za-z0-9 _.,:/@#]")
_LITERAL_CHAR = re.compile(r"[^.|?*+()\[\]{}\\^$]")
_REPEAT = re.compile(r"\{(\d+)(?:,(\d+))?\}")
_PREFIX_META = set(".|?*+(){}[]\\^$")


class LinearPattern:
    """A ``matches`` pattern run by RE2 (Arrow's regex engine): time linear in the value's length.

    Python's backtracking ``re`` takes exponential time on patterns such as ``(.+)+x`` (a
    rule file must never be able to hang a run); RE2 guarantees linear time for every pattern,
    and already ships inside pyarrow. The pattern matches the whole value character by
    character (Unicode code points: ``.`` is one character, ``é`` or ``中`` included); the
    durable_rules engine runs this same object on each record (see engine/rules/_durable.py).

    Parameters
    ----------
    pattern : str
        The pattern, already accepted by :func:`check_pattern` (or built by
        :func:`prefix_pattern`); it must match the whole value.

    Raises
    ------
    RuleSyntaxError
        When RE2 refuses the pattern.

    Examples
    --------
    >>> LinearPattern("[A-Z]+ Ltd").fullmatch_many(["ACME Ltd", "ACME Ltd.", "x"]).tolist()
    [True, False, False]
    """

    def __init__(self, pattern: str):
        import pyarrow as pa
        import pyarrow.compute as pc

        self.pattern = pattern
        self._whole = f"^(?s:{pattern})$"
        try:  # compile once now, so that a bad pattern fails at load
            pc.match_substring_regex(pa.array([], pa.large_string()), self._whole)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise RuleSyntaxError(f"invalid pattern {pattern!r}: {exc}") from exc

    def fullmatch_many(self, values: Iterable[str]) -> np.ndarray:
        """One bool per value: does the whole value match?"""
        import pyarrow as pa
        import pyarrow.compute as pc

        raw = pa.array(list(values), pa.large_string())
        return pc.match_substring_regex(raw, self._whole).fill_null(False).to_numpy(zero_copy_only=False).astype(bool)

    def fullmatch(self, value: str) -> bool:
        """Does the whole ``value`` match?"""
        return bool(self.fullmatch_many([value])[0])

    def __repr__(self) -> str:
        return f"LinearPattern({self.pattern!r})"


def check_pattern(pattern: str) -> None:
    """Accept the regular-expression subset both engines implement identically.

    Literal characters, ``.``, classes ``[a-z0-9_]`` (no negation, no escapes), groups,
    ``|``, ``* + ?`` and ``{n}`` / ``{n,m}`` with m <= 10. The pattern must match the whole
    value. Anything else is refused with the reason.

    Parameters
    ----------
    pattern : str
        The pattern as written after ``matches``.

    Raises
    ------
    RuleSyntaxError
        Naming the pattern, the offending character or construct and what to write instead.

    Examples
    --------
    >>> check_pattern("[A-Z]{2}-[0-9]+")
    >>> check_pattern("a\\\\d")
    Traceback (most recent call last):
    ...
    engine._errors.RuleSyntaxError: pattern 'a\\\\d': '\\\\' is not supported ...
    """
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise RuleSyntaxError(f"pattern longer than {MAX_PATTERN_LENGTH} characters")
    i, n, depth = 0, len(pattern), 0
    prev_atom = False  # whether a quantifier may follow
    group_start = [True]  # whether current group/alternative is still empty
    while i < n:
        ch = pattern[i]
        if ch == "[":
            j = pattern.find("]", i + 1)
            if j == -1:
                raise RuleSyntaxError(f"pattern {pattern!r}: unterminated '['")
            _check_class(pattern, pattern[i + 1 : j])
            i = j + 1
            prev_atom = True
            group_start[-1] = False
            continue
        if ch == "(":
            depth += 1
            group_start.append(True)
            prev_atom = False
        elif ch == ")":
            if depth == 0 or group_start[-1]:
                raise RuleSyntaxError(f"pattern {pattern!r}: unbalanced or empty group")
            depth -= 1
            group_start.pop()
            group_start[-1] = False
            prev_atom = True
        elif ch == "|":
            if group_start[-1]:
                raise RuleSyntaxError(f"pattern {pattern!r}: empty alternative")
            group_start[-1] = True
            prev_atom = False
        elif ch in "*+?":
            if not prev_atom:
                raise RuleSyntaxError(f"pattern {pattern!r}: {ch!r} must follow a character or group")
            prev_atom = False
        elif ch == "{":
            m = _REPEAT.match(pattern, i)
            if not prev_atom or m is None:
                raise RuleSyntaxError(f"pattern {pattern!r}: repeats are written {{n}} or {{n,m}} after an atom")
            low = int(m.group(1))
            high = int(m.group(2)) if m.group(2) is not None else low
            if low > high or high > MAX_REPEAT or high == 0:
                raise RuleSyntaxError(f"pattern {pattern!r}: repeat {{{low},{high}}} must have 1 <= m <= {MAX_REPEAT} and n <= m")
            i = m.end()
            prev_atom = False
            continue
        elif ch == "." or _LITERAL_CHAR.fullmatch(ch):
            prev_atom = True
            group_start[-1] = False
        else:
            raise RuleSyntaxError(
                f"pattern {pattern!r}: {ch!r} is not supported (no escapes or anchors; the pattern "
                "always matches the whole value; write a literal '.' as '[.]')"
            )
        i += 1
    if depth or group_start[-1] and n:
        if depth:
            raise RuleSyntaxError(f"pattern {pattern!r}: unbalanced '('")
        raise RuleSyntaxError(f"pattern {pattern!r}: empty alternative")
    if "\x00" in pattern:
        raise RuleSyntaxError("pattern contains a NUL character")


def _check_class(pattern: str, body: str) -> None:
    """Accept the body of one ``[...]`` class: letters, digits, a few marks and ranges."""
    if not body:
        raise RuleSyntaxError(f"pattern {pattern!r}: empty class '[]'")
    k = 0
    while k < len(body):
        if not _CLASS_CHAR.fullmatch(body[k]) or body[k] == "-":
            raise RuleSyntaxError(
                f"pattern {pattern!r}: character {body[k]!r} is not allowed in a class "
                "(classes take letters, digits, ' _.,:/@#' and ranges like a-z; no negation)"
            )
        if k + 2 < len(body) and body[k + 1] == "-":
            lo, hi = body[k], body[k + 2]
            if not (lo.isalnum() and hi.isalnum() and lo.isascii() and hi.isascii() and lo <= hi):
                raise RuleSyntaxError(f"pattern {pattern!r}: bad range {lo}-{hi}")
            k += 3
            continue
        if k + 1 < len(body) and body[k + 1] == "-":
            raise RuleSyntaxError(f"pattern {pattern!r}: '-' must sit between two characters")
        k += 1


def prefix_pattern(prefix: str) -> str:
    """The RE2 pattern of ``startswith prefix``.

    Every character of the prefix is matched literally (RE2 escapes; the prefix is never parsed
    as a pattern), then anything.

    Examples
    --------
    >>> prefix_pattern("A.B")
    'A\\\\.B.*'
    """
    out = []
    for ch in prefix:
        if ch == "\x00":
            out.append("\\x00")
        elif ch in _PREFIX_META:
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out) + ".*"

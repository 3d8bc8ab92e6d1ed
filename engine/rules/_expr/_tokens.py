"""The tokenizer: condition text -> a list of tokens, with a hint for common mistakes."""

from __future__ import annotations

import re
from dataclasses import dataclass

from engine._errors import RuleSyntaxError

__all__ = ["KEYWORDS", "Token", "tokenize", "unquote"]

_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<num>(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?)
  | (?P<str>"(?:[^"\\\n]|\\["\\])*"|'(?:[^'\\\n]|\\['\\])*')
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>==|!=|<=|>=|<|>|\+|-|\*|/|\(|\)|\[|\]|,)
    """,
    re.VERBOSE,
)
#: Words that are part of the language: never an input, parameter or output name.
KEYWORDS = {
    "and", "or", "not", "in", "between", "is", "null", "true", "false", "startswith", "matches",
}
_UNESCAPE = re.compile(r"\\(.)")


@dataclass(frozen=True)
class Token:
    """One token: ``kind`` is num, str, name, kw (a keyword), op or end; ``pos`` is 0-based."""

    kind: str
    text: str
    pos: int


def tokenize(text: str) -> list[Token]:
    """Split a condition into tokens, ending with an ``end`` token.

    Parameters
    ----------
    text : str
        The condition as written.

    Returns
    -------
    list of Token

    Raises
    ------
    RuleSyntaxError
        At the first character no token starts with, with its column and a hint.

    Examples
    --------
    >>> [t.text for t in tokenize("amount >= 1e3 and not is_locked")]
    ['amount', '>=', '1e3', 'and', 'not', 'is_locked', '']
    """
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if m is None:
            ch = text[pos]
            hint = ""
            if ch == "@":
                hint = " ('@name' references are not supported; use a declared input or parameter)"
            elif ch == ".":
                hint = " (attribute access is not supported)"
            elif ch in "=!":
                hint = " (use '==' for equality and 'not' for negation)"
            elif ch in "\"'":
                hint = (" (an unterminated text literal: a literal ends on the same line, escapes are"
                        " only \\\\ and the quote itself)")
            raise RuleSyntaxError(f"unexpected character {ch!r} at column {pos + 1}{hint}")
        kind = m.lastgroup
        assert kind is not None  # every alternative of _TOKEN_RE is a named group
        if kind != "ws":
            tok_text = m.group()
            if kind == "name" and tok_text in KEYWORDS:
                kind = "kw"
            tokens.append(Token(kind, tok_text, pos))
        pos = m.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


def unquote(text: str) -> str:
    """The value of a quoted text literal (the quotes removed, ``\\x`` read as ``x``)."""
    return _UNESCAPE.sub(r"\1", text[1:-1])

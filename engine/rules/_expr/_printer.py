"""The printer: any node -> its canonical source text.

The text is stable (it is hashed into rule fingerprints and quoted in messages): one space
around operators, parentheses only where precedence needs them, numbers without a trailing
``.0``. Every node kind prints, the syntax-only ones included, so a message can quote any tree.
"""

from __future__ import annotations

from engine.rules._expr._dispatch import on_kind
from engine.rules._expr._nodes import (
    And,
    BinOp,
    Bool,
    Cmp,
    Const,
    Field,
    IsNull,
    Known,
    Match,
    Num,
    Or,
    Str,
    _Between,
    _Call,
    _In,
    _IsNull,
    _Matches,
    _Name,
    _Not,
    _Null,
    _StartsWith,
)

__all__ = ["to_source"]

# precedence: a child printed with a lower precedence than its parent's slot is parenthesised
_PREC = {"or": 1, "and": 2, "not": 3, "cmp": 4, "+": 5, "-": 5, "*": 6, "/": 6, "atom": 9}
_OPERAND = 5  # the slot of a comparison's operands: arithmetic binds tighter than comparison


def _num_text(v: float) -> str:
    return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)


def _wrap(text: str, prec: int, parent: int) -> str:
    return f"({text})" if prec < parent else text


def _not(negated: bool) -> str:
    return "not " if negated else ""


@on_kind
def to_source(node: object, parent: int = 0) -> str:
    """Canonical text of a node (stable: used for hashing and messages).

    Parameters
    ----------
    node : Node
        Any node kind, from any phase.
    parent : int
        Precedence of the slot the node is printed in (0: top level, never parenthesised).

    Returns
    -------
    str

    Examples
    --------
    >>> to_source(BinOp("*", BinOp("+", Num(1.0), Num(2.0)), Num(3.0)))
    '(1 + 2) * 3'
    """
    raise TypeError(f"cannot print {node!r}")


@to_source.register(Num)
def _(node: Num, parent: int = 0) -> str:
    return _num_text(node.value) if node.value >= 0 else _wrap(_num_text(node.value), _OPERAND, parent)


@to_source.register(Str)
def _(node: Str, parent: int = 0) -> str:
    return '"' + node.value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@to_source.register(Bool)
@to_source.register(Const)
def _(node: Bool | Const, parent: int = 0) -> str:
    return "true" if node.value else "false"


@to_source.register(Field)
def _(node: Field, parent: int = 0) -> str:
    return f"days_since({node.name})" if node.days else node.name


@to_source.register(_Name)
def _(node: _Name, parent: int = 0) -> str:
    return node.name


@to_source.register(_Null)
def _(node: _Null, parent: int = 0) -> str:
    return "null"


@to_source.register(_Call)
def _(node: _Call, parent: int = 0) -> str:
    return f"{node.name}({', '.join(to_source(a) for a in node.args)})"


@to_source.register(BinOp)
def _(node: BinOp, parent: int = 0) -> str:
    prec = _PREC[node.op]
    right = prec + 1  # left-associative: a - (b - c) keeps its parentheses
    return _wrap(f"{to_source(node.left, prec)} {node.op} {to_source(node.right, right)}", prec, parent)


@to_source.register(Cmp)
def _(node: Cmp, parent: int = 0) -> str:
    text = f"{to_source(node.left, _OPERAND)} {node.op} {to_source(node.right, _OPERAND)}"
    return _wrap(text, _PREC["cmp"], parent)


@to_source.register(IsNull)
def _(node: IsNull, parent: int = 0) -> str:
    return _wrap(f"{to_source(node.field, _OPERAND)} is {_not(node.negated)}null", _PREC["cmp"], parent)


@to_source.register(_IsNull)
def _(node: _IsNull, parent: int = 0) -> str:
    return _wrap(f"{to_source(node.value, _OPERAND)} is {_not(node.negated)}null", _PREC["cmp"], parent)


@to_source.register(_In)
def _(node: _In, parent: int = 0) -> str:
    items = ", ".join(to_source(i) for i in node.items)
    return _wrap(f"{to_source(node.value, _OPERAND)} {_not(node.negated)}in [{items}]", _PREC["cmp"], parent)


@to_source.register(_Between)
def _(node: _Between, parent: int = 0) -> str:
    text = (f"{to_source(node.value, _OPERAND)} {_not(node.negated)}between "
            f"{to_source(node.low, _OPERAND)} and {to_source(node.high, _OPERAND)}")
    return _wrap(text, _PREC["cmp"], parent)


@to_source.register(_StartsWith)
def _(node: _StartsWith, parent: int = 0) -> str:
    return _wrap(f"{to_source(node.value, _OPERAND)} startswith {_text(node.prefix)}", _PREC["cmp"], parent)


@to_source.register(_Matches)
def _(node: _Matches, parent: int = 0) -> str:
    return _wrap(f"{to_source(node.value, _OPERAND)} matches {_text(node.pattern)}", _PREC["cmp"], parent)


@to_source.register(Match)
def _(node: Match, parent: int = 0) -> str:
    return _wrap(f"{to_source(node.field, _OPERAND)} matches {_text(node.pattern)}", _PREC["cmp"], parent)


def _text(value: object) -> str:
    """A pattern or prefix: a quoted literal, or the parameter's name before checking."""
    return to_source(Str(value)) if isinstance(value, str) else to_source(value)


@to_source.register(Known)
def _(node: Known, parent: int = 0) -> str:
    return _wrap(f"{to_source(node.value, _OPERAND)} is known", _PREC["cmp"], parent)


@to_source.register(_Not)
def _(node: _Not, parent: int = 0) -> str:
    return _wrap(f"not {to_source(node.item, _PREC['not'])}", _PREC["not"], parent)


@to_source.register(And)
def _(node: And, parent: int = 0) -> str:
    return _wrap(" and ".join(to_source(i, _PREC["not"]) for i in node.items), _PREC["and"], parent)


@to_source.register(Or)
def _(node: Or, parent: int = 0) -> str:
    return _wrap(" or ".join(to_source(i, _PREC["and"]) for i in node.items), _PREC["or"], parent)

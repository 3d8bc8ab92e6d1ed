"""The normaliser: a typed tree -> the normal form both engines compile.

``not`` is pushed down to the leaves (negation normal form), ``between`` and ``in`` are
desugared into comparisons, ``startswith`` / ``matches`` become RE2 patterns (decided over the
declared values at load for an enum input), constants are folded, and every comparison takes
the form ``field op expression`` or ``0 op expression``. Nested ``and`` / ``or`` are flattened
and constant items dropped.
"""

from __future__ import annotations

import math
from typing import Mapping

from engine._errors import RuleSyntaxError
from engine.rules._expr._dispatch import on_kind
from engine.rules._expr._nodes import (
    And,
    BinOp,
    Bool,
    Cmp,
    Condition,
    Const,
    Field,
    IsNull,
    Known,
    Match,
    Num,
    Or,
    Str,
    Value,
    _Between,
    _In,
    _Matches,
    _Not,
    _StartsWith,
)
from engine.rules._expr._patterns import LinearPattern, check_pattern, prefix_pattern
from engine.rules._expr._printer import to_source

__all__ = ["fold", "lower_cmp", "normalise", "simplify"]

_NEGATE = {"==": "!=", "!=": "==", "<": ">=", ">=": "<", ">": "<=", "<=": ">"}
_FLIP = {"==": "==", "!=": "!=", "<": ">", ">": "<", "<=": ">=", ">=": "<="}
_LITERALS = (Num, Str, Bool)

Enums = Mapping[str, tuple]


def _cmp_const(op: str, a: object, b: object) -> bool:
    return {"==": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]  # type: ignore[operator]


# --- constant folding ----------------------------------------------------------------------
@on_kind
def fold(v: object) -> Value | None:
    """Fold arithmetic on literals (IEEE double; a division by zero is None, meaning null).

    Examples
    --------
    >>> fold(BinOp("*", Num(2.0), BinOp("+", Num(1.0), Num(0.5))))
    Num(value=3.0)
    >>> fold(BinOp("/", Num(1.0), Num(0.0))) is None
    True
    """
    raise TypeError(f"no fold rule for {type(v).__name__}: {v!r}")


@fold.register(Num)
@fold.register(Str)
@fold.register(Bool)
@fold.register(Field)
def _(v: Value) -> Value | None:
    return v


@fold.register(BinOp)
def _(v: BinOp) -> Value | None:
    left, right = fold(v.left), fold(v.right)
    if left is None or right is None:
        return None
    if isinstance(left, Num) and isinstance(right, Num):
        a, b = left.value, right.value
        if v.op == "/" and b == 0:
            return None
        result = {"+": a + b, "-": a - b, "*": a * b, "/": a / b if b else 0.0}[v.op]
        if not math.isfinite(result):
            raise RuleSyntaxError(f"constant arithmetic {to_source(v)} overflows")
        return Num(result)
    return BinOp(v.op, left, right)


def lower_cmp(op: str, left: Value, right: Value) -> Condition:
    """``left op right`` as ``field op expression``, ``0 op expression`` or a constant."""
    folded_left, folded_right = fold(left), fold(right)
    if folded_left is None or folded_right is None:  # a literal division by zero: null, never true
        return Const(False)
    left, right = folded_left, folded_right
    if isinstance(left, _LITERALS) and isinstance(right, _LITERALS):
        return Const(_cmp_const(op, left.value, right.value))
    if isinstance(left, Field):
        return Cmp(op, left, right)
    if isinstance(right, Field):
        return Cmp(_FLIP[op], right, left)
    # neither side is an input: compare 0 with (right - left); exact in IEEE arithmetic
    return Cmp(op, Num(0.0), BinOp("-", right, left))


def _typed(value: object) -> Value:
    """A value slot of a syntax node that has been through the type checker.

    The syntax nodes (``_In``, ``_Between``, ...) hold raw parse nodes until the checker rebuilds
    them with typed values; the normaliser only ever sees the rebuilt ones.
    """
    assert isinstance(value, (Num, Str, Bool, Field, BinOp)), value
    return value


# --- negation normal form ------------------------------------------------------------------
def normalise(node: object, enums: Enums) -> Condition:
    """The normal form of a type-checked condition.

    Parameters
    ----------
    node : Node
        The type checker's output.
    enums : mapping
        Declared values of each enum input (name -> tuple), to decide patterns on enums.

    Raises
    ------
    RuleSyntaxError
        For a pattern outside the supported subset, or a negated pattern on a string input.

    Examples
    --------
    >>> amount = Field("amount", "number")
    >>> normalise(_Not(_Between(amount, Num(1.0), Num(5.0), False)), {})
    Or(items=(Cmp(op='<', left=Field(name='amount', type='number', days=False), right=Num(value=1.0)), \
Cmp(op='>', left=Field(name='amount', type='number', days=False), right=Num(value=5.0))))
    """
    return _nnf(node, False, enums)


@on_kind
def _nnf(node: object, negate: bool, enums: Enums) -> Condition:
    raise RuleSyntaxError(f"unsupported construct {node!r}")


@_nnf.register(_Not)
def _(node: _Not, negate: bool, enums: Enums) -> Condition:
    return _nnf(node.item, not negate, enums)


@_nnf.register(And)
def _(node: And, negate: bool, enums: Enums) -> Condition:
    items = tuple(_nnf(i, negate, enums) for i in node.items)
    return simplify(Or(items) if negate else And(items))  # De Morgan: not (a and b) = not a or not b


@_nnf.register(Or)
def _(node: Or, negate: bool, enums: Enums) -> Condition:
    items = tuple(_nnf(i, negate, enums) for i in node.items)
    return simplify(And(items) if negate else Or(items))


@_nnf.register(Const)
def _(node: Const, negate: bool, enums: Enums) -> Condition:
    return Const(node.value != negate)


@_nnf.register(Cmp)
def _(node: Cmp, negate: bool, enums: Enums) -> Condition:
    return lower_cmp(_NEGATE[node.op] if negate else node.op, node.left, node.right)


@_nnf.register(IsNull)
def _(node: IsNull, negate: bool, enums: Enums) -> Condition:
    return IsNull(node.field, node.negated != negate)


@_nnf.register(_Between)
def _(node: _Between, negate: bool, enums: Enums) -> Condition:
    x = _typed(node.value)
    inner = And((Cmp(">=", x, _typed(node.low)), Cmp("<=", x, _typed(node.high))))
    return _nnf(inner, negate != node.negated, enums)


@_nnf.register(_In)
def _(node: _In, negate: bool, enums: Enums) -> Condition:
    negated = node.negated != negate
    value = _typed(node.value)
    if not node.items:
        return Known(value) if negated else Const(False)
    if negated:
        return simplify(And(tuple(lower_cmp("!=", value, it) for it in node.items)))
    return simplify(Or(tuple(lower_cmp("==", value, it) for it in node.items)))


@_nnf.register(_StartsWith)
def _(node: _StartsWith, negate: bool, enums: Enums) -> Condition:
    return _pattern_test(node, prefix_pattern(str(node.prefix)), negate, enums)


@_nnf.register(_Matches)
def _(node: _Matches, negate: bool, enums: Enums) -> Condition:
    pattern = str(node.pattern)
    check_pattern(pattern)
    return _pattern_test(node, pattern, negate, enums)


def _pattern_test(node: _StartsWith | _Matches, pattern: str, negate: bool, enums: Enums) -> Condition:
    """A pattern test: decided over the declared values of an enum, else a :class:`Match`."""
    field = node.value
    assert isinstance(field, Field)  # the checker refused any other left side
    regex = LinearPattern(pattern)
    if field.type == "enum":
        # decided now over the declared values, so it can be negated like 'in'
        allowed = enums[field.name]
        hits = tuple(Str(v) for v, hit in zip(allowed, regex.fullmatch_many(allowed)) if hit)
        return _nnf(_In(field, hits, False), negate, enums)
    if negate:
        raise RuleSyntaxError(
            f"'{to_source(node)}' cannot be negated on a string input: the durable_rules engine "
            "has no negated pattern match. Declare the input as an enum, or restate the rule"
        )
    return Match(field, pattern, regex)


def simplify(node: And | Or) -> Condition:
    """Flatten nested And/Or and drop constant items.

    Examples
    --------
    >>> simplify(And((Const(True), And((Const(True),)))))
    Const(value=True)
    """
    kind = type(node)
    items: list = []
    for item in node.items:
        if isinstance(item, kind):
            items.extend(item.items)
        else:
            items.append(item)
    absorbing = kind is Or  # a true item decides an 'or', a false one decides an 'and'
    if any(isinstance(i, Const) and i.value == absorbing for i in items):
        return Const(absorbing)
    items = [i for i in items if not isinstance(i, Const)]
    if not items:
        return Const(not absorbing)
    return items[0] if len(items) == 1 else kind(tuple(items))

"""The type checker: a syntax tree -> a typed tree, names resolved, before any data arrives.

Names become declared inputs (:class:`Field`) or parameter literals, ``days_since(d)`` becomes
a day-count input, and every comparison, arithmetic operation and pattern test is checked
against the declared types (with a did-you-mean for unknown names and enum values). The
syntax-only nodes ``_Not``, ``_In``, ``_Between``, ``_StartsWith`` and ``_Matches`` survive,
rebuilt with typed values, for the normaliser.

A value's type is one of ``number``, ``integer``, ``string``, ``enum``, ``boolean`` or
``date`` (the declared input types; literals are ``number``, ``string`` or ``boolean``).
"""

from __future__ import annotations

from typing import Mapping

from engine._errors import RuleSyntaxError, RuleTypeError
from engine._suggest import did_you_mean
from engine.rules._expr._dispatch import on_kind
from engine.rules._expr._nodes import (
    And,
    BinOp,
    Bool,
    Cmp,
    Const,
    Field,
    IsNull,
    Node,
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
from engine.rules._expr._printer import to_source

__all__ = ["FUNCTIONS", "NUMERIC", "STRINGY", "Checker", "check"]

#: The functions a condition may call (name -> description).
FUNCTIONS = {"days_since": "days_since(date_input): whole days from the date to the as-of date"}

NUMERIC = {"number", "integer"}
STRINGY = {"string", "enum"}

Typed = tuple[Node, str]


class Checker:
    """The names a condition may read: declared inputs and parameters.

    Parameters
    ----------
    inputs : mapping
        Declared inputs, name -> object with ``type`` and ``values`` (enum values).
    parameters : mapping
        Named constants, name -> literal (bool, int, float or str).
    """

    def __init__(self, inputs: Mapping, parameters: Mapping):
        self.inputs = inputs
        self.parameters = parameters

    def value(self, node: object) -> Typed:
        """Resolve names, check calls; return ``(typed node, type)``."""
        return _value(node, self)

    def cond(self, node: object) -> Node:
        """The typed condition (syntax-only condition nodes rebuilt with typed values)."""
        return _cond(node, self)

    def comparable(self, op: str, left: Node, lt: str, right: Node, rt: str) -> None:
        """Refuse ``left op right`` unless both sides have one type ``op`` applies to."""
        def base(t: str) -> str:
            return "number" if t in NUMERIC else ("string" if t in STRINGY else t)

        bl, br = base(lt), base(rt)
        if "date" in (bl, br):
            raise RuleTypeError(
                f"dates cannot be compared directly ({to_source(left)} {op} {to_source(right)}); "
                "use days_since(date_input) with a number of days"
            )
        if bl != br:
            raise RuleTypeError(
                f"cannot compare {lt} with {rt} in '{to_source(left)} {op} {to_source(right)}'"
                + ("; booleans are not numbers" if "boolean" in (bl, br) else "")
            )
        if op not in ("==", "!=") and bl != "number":
            raise RuleTypeError(
                f"'{op}' orders numbers only, got {lt} in '{to_source(left)} {op} {to_source(right)}'"
            )
        for field, lit in ((left, right), (right, left)):
            if isinstance(field, Field) and isinstance(lit, Str) and field.type == "enum":
                allowed = self.inputs[field.name].values
                if lit.value not in allowed:
                    raise RuleTypeError(
                        f"{lit.value!r} is not an allowed value of enum input {field.name!r}"
                        f"{did_you_mean(lit.value, allowed)} (allowed: {', '.join(allowed)})"
                    )


def check(tree: object, inputs: Mapping, parameters: Mapping) -> Node:
    """Type-check a parsed condition against the declared inputs and parameters.

    Raises
    ------
    RuleSyntaxError, RuleTypeError
        With the reason and, for unknown names, a did-you-mean suggestion.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> amount = SimpleNamespace(type="number", values=None)
    >>> from engine.rules._expr._parser import parse
    >>> check(parse("amount > limit"), {"amount": amount}, {"limit": 5})
    Cmp(op='>', left=Field(name='amount', type='number', days=False), right=Num(value=5.0))
    """
    return _cond(tree, Checker(inputs, parameters))


# --- values --------------------------------------------------------------------------------
@on_kind
def _value(node: object, ctx: Checker) -> Typed:
    raise RuleSyntaxError(f"unsupported construct {node!r}")


@_value.register(Num)
def _(node: Num, ctx: Checker) -> Typed:
    return node, "number"


@_value.register(Str)
def _(node: Str, ctx: Checker) -> Typed:
    return node, "string"


@_value.register(Bool)
def _(node: Bool, ctx: Checker) -> Typed:
    return node, "boolean"


@_value.register(_Null)
def _(node: _Null, ctx: Checker) -> Typed:
    raise RuleSyntaxError(
        f"'null' at column {node.pos + 1} cannot be compared; use 'is null' / 'is not null'"
    )


@_value.register(_Name)
def _(node: _Name, ctx: Checker) -> Typed:
    if node.name in ctx.inputs:
        spec = ctx.inputs[node.name]
        return Field(node.name, spec.type), spec.type
    if node.name in ctx.parameters:
        lit = ctx.parameters[node.name]
        if isinstance(lit, bool):
            return Bool(lit), "boolean"
        if isinstance(lit, (int, float)):
            return Num(float(lit)), "number"
        return Str(lit), "string"
    if node.name in FUNCTIONS:
        raise RuleSyntaxError(f"{node.name!r} is a function; call it as {FUNCTIONS[node.name]}")
    raise RuleTypeError(
        f"unknown field {node.name!r}{did_you_mean(node.name, [*ctx.inputs, *ctx.parameters])}"
        f" (declared inputs: {', '.join(sorted(ctx.inputs)) or 'none'})"
    )


@_value.register(_Call)
def _(node: _Call, ctx: Checker) -> Typed:
    if node.name not in FUNCTIONS:
        raise RuleSyntaxError(
            f"unknown function {node.name!r}{did_you_mean(node.name, FUNCTIONS)}; "
            f"the functions are: {', '.join(FUNCTIONS)}"
        )
    arg_node = node.args[0] if len(node.args) == 1 else None
    if not isinstance(arg_node, _Name):
        raise RuleTypeError("days_since takes one date input, e.g. days_since(last_visit)")
    arg, arg_type = _value(arg_node, ctx)
    if not isinstance(arg, Field) or arg_type != "date":
        raise RuleTypeError(f"days_since expects a date input, got {arg_node.name!r} of type {arg_type}")
    return Field(arg.name, "number", days=True), "number"


@_value.register(BinOp)
def _(node: BinOp, ctx: Checker) -> Typed:
    left, lt = _value(node.left, ctx)
    right, rt = _value(node.right, ctx)
    for side, t in ((node.left, lt), (node.right, rt)):
        if t not in NUMERIC:
            raise RuleTypeError(
                f"arithmetic '{node.op}' needs numbers, got {t} ({to_source(side)}); "
                "booleans, strings and dates are not numbers (use days_since for dates)"
            )
    return BinOp(node.op, left, right), "number"  # type: ignore[arg-type]  # both checked numeric


@_value.register(Cmp)
@_value.register(And)
@_value.register(Or)
@_value.register(_Not)
@_value.register(_In)
@_value.register(_Between)
@_value.register(_IsNull)
@_value.register(_StartsWith)
@_value.register(_Matches)
def _(node: Node, ctx: Checker) -> Typed:
    raise RuleTypeError(f"expected a value, got a condition ({to_source(node)})")


# --- conditions ----------------------------------------------------------------------------
@on_kind
def _cond(node: object, ctx: Checker) -> Node:
    raise RuleSyntaxError(f"unsupported construct {node!r}")


@_cond.register(And)
def _(node: And, ctx: Checker) -> Node:
    return And(tuple(_cond(i, ctx) for i in node.items))


@_cond.register(Or)
def _(node: Or, ctx: Checker) -> Node:
    return Or(tuple(_cond(i, ctx) for i in node.items))


@_cond.register(_Not)
def _(node: _Not, ctx: Checker) -> Node:
    return _Not(_cond(node.item, ctx))


@_cond.register(Cmp)
def _(node: Cmp, ctx: Checker) -> Node:
    left, lt = _value(node.left, ctx)
    right, rt = _value(node.right, ctx)
    ctx.comparable(node.op, left, lt, right, rt)
    return Cmp(node.op, left, right)  # type: ignore[arg-type]  # values, checked above


@_cond.register(_IsNull)
def _(node: _IsNull, ctx: Checker) -> Node:
    target, _type = _value(node.value, ctx)
    if not isinstance(target, Field):
        raise RuleTypeError(f"'is null' applies to an input, got {to_source(node.value)}")
    return IsNull(Field(target.name, ctx.inputs[target.name].type), node.negated)


@_cond.register(_In)
def _(node: _In, ctx: Checker) -> Node:
    left, lt = _value(node.value, ctx)
    items = []
    for item in node.items:
        val, vt = _value(item, ctx)
        if not isinstance(val, (Num, Str, Bool)):
            raise RuleTypeError(f"'in [...]' lists literal values, got {to_source(item)}")
        ctx.comparable("==", left, lt, val, vt)
        items.append(val)
    return _In(left, tuple(items), node.negated)


@_cond.register(_Between)
def _(node: _Between, ctx: Checker) -> Node:
    left, lt = _value(node.value, ctx)
    low, lowt = _value(node.low, ctx)
    high, hight = _value(node.high, ctx)
    ctx.comparable(">=", left, lt, low, lowt)
    ctx.comparable("<=", left, lt, high, hight)
    return _Between(left, low, high, node.negated)


def _text_operand(node: _StartsWith | _Matches, text: object, ctx: Checker) -> tuple[Field, str]:
    """The string input a ``startswith`` / ``matches`` reads, and its literal text."""
    left, lt = _value(node.value, ctx)
    if not isinstance(left, Field) or lt not in STRINGY:
        raise RuleTypeError(
            f"startswith / matches apply to a string or enum input, got {to_source(node.value)} ({lt})"
        )
    if isinstance(text, _Name):
        lit, _type = _value(text, ctx)
        if not isinstance(lit, Str):
            raise RuleTypeError(f"parameter {text.name!r} must be a string here")
        return left, lit.value
    assert isinstance(text, str)  # the parser reads a text literal or a name
    return left, text


@_cond.register(_StartsWith)
def _(node: _StartsWith, ctx: Checker) -> Node:
    return _StartsWith(*_text_operand(node, node.prefix, ctx))


@_cond.register(_Matches)
def _(node: _Matches, ctx: Checker) -> Node:
    return _Matches(*_text_operand(node, node.pattern, ctx))


@_cond.register(_Name)
@_cond.register(_Call)
def _(node: _Name | _Call, ctx: Checker) -> Node:
    val, t = _value(node, ctx)
    if t == "boolean":
        if isinstance(val, Bool):
            return Const(val.value)
        return Cmp("==", val, Bool(True))  # type: ignore[arg-type]  # a boolean input
    raise RuleTypeError(
        f"{to_source(val)} is a {t}, not a condition; compare it, e.g. '{to_source(val)} > 0'"
    )


@_cond.register(Bool)
def _(node: Bool, ctx: Checker) -> Node:
    return Const(node.value)


@_cond.register(Num)
@_cond.register(Str)
@_cond.register(BinOp)
@_cond.register(_Null)
def _(node: Node, ctx: Checker) -> Node:
    _, t = _value(node, ctx)
    raise RuleTypeError(f"{to_source(node)} is a {t}, not a condition")

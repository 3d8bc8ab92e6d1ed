"""Walks over a tree: the children of each node kind, the depth guard, the inputs read."""

from __future__ import annotations

from typing import Iterator

from engine._errors import RuleSyntaxError
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

__all__ = ["MAX_TREE_DEPTH", "check_depth", "children", "fields_of"]

#: Deepest syntax tree accepted (long operator chains nest too: a + b + c is two levels).
MAX_TREE_DEPTH = 64


@on_kind
def children(node: object) -> tuple:
    """The direct child nodes of ``node`` (literals, names and inputs have none).

    Examples
    --------
    >>> children(BinOp("+", Num(1.0), Num(2.0)))
    (Num(value=1.0), Num(value=2.0))
    """
    raise TypeError(f"no children rule for {type(node).__name__}: {node!r}")


@children.register(And)
@children.register(Or)
def _(node: And | Or) -> tuple:
    return node.items


@children.register(BinOp)
@children.register(Cmp)
def _(node: BinOp | Cmp) -> tuple:
    return (node.left, node.right)


@children.register(_Not)
def _(node: _Not) -> tuple:
    return (node.item,)


@children.register(_In)
def _(node: _In) -> tuple:
    return (node.value, *node.items)


@children.register(_Between)
def _(node: _Between) -> tuple:
    return (node.value, node.low, node.high)


@children.register(_StartsWith)
@children.register(_Matches)
@children.register(_IsNull)
def _(node: _StartsWith | _Matches | _IsNull) -> tuple:
    return (node.value,)  # a prefix or pattern is text (or a parameter name): no subtree


@children.register(_Call)
def _(node: _Call) -> tuple:
    return node.args


@children.register(IsNull)
@children.register(Match)
def _(node: IsNull | Match) -> tuple:
    return (node.field,)


@children.register(Known)
def _(node: Known) -> tuple:
    return (node.value,)


@children.register(Num)
@children.register(Str)
@children.register(Bool)
@children.register(Field)
@children.register(Const)
@children.register(_Name)
@children.register(_Null)
def _(node: object) -> tuple:
    return ()


def check_depth(tree: object) -> None:
    """Refuse trees deeper than :data:`MAX_TREE_DEPTH` (iteratively: no recursion on hostile input).

    Raises
    ------
    RuleSyntaxError
        When the tree is too deep, saying how to split the condition.
    """
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_TREE_DEPTH:
            raise RuleSyntaxError(
                f"condition is nested more than {MAX_TREE_DEPTH} levels deep (long chains of "
                "operators count); split it into simpler rules or parameters"
            )
        stack.extend((child, depth + 1) for child in children(node))


@on_kind
def fields_of(node: object) -> Iterator[Field]:
    """Every input a value or condition of the normal form reads (with repeats).

    Examples
    --------
    >>> [f.name for f in fields_of(Cmp(">", Field("a", "number"), BinOp("*", Field("b", "number"), Num(2.0))))]
    ['a', 'b']
    """
    raise TypeError(f"no fields_of rule for {type(node).__name__}: {node!r}")


@fields_of.register(Field)
def _(node: Field) -> Iterator[Field]:
    yield node


@fields_of.register(BinOp)
@fields_of.register(Cmp)
def _(node: BinOp | Cmp) -> Iterator[Field]:
    yield from fields_of(node.left)
    yield from fields_of(node.right)


@fields_of.register(IsNull)
@fields_of.register(Match)
def _(node: IsNull | Match) -> Iterator[Field]:
    yield node.field


@fields_of.register(Known)
def _(node: Known) -> Iterator[Field]:
    yield from fields_of(node.value)


@fields_of.register(And)
@fields_of.register(Or)
def _(node: And | Or) -> Iterator[Field]:
    for item in node.items:
        yield from fields_of(item)


@fields_of.register(Num)
@fields_of.register(Str)
@fields_of.register(Bool)
@fields_of.register(Const)
def _(node: object) -> Iterator[Field]:
    return iter(())

"""The disjunctive normal form: a normal-form condition as an OR of ANDs of leaves.

The durable_rules engine compiles each alternative to its own durable rule, because
durable_rules caps the expressions of one rule at 31; the count is bounded at load so that
no condition can expand past what either engine takes.
"""

from __future__ import annotations

from engine._errors import RuleSyntaxError
from engine.rules._expr._dispatch import on_kind
from engine.rules._expr._nodes import And, Cmp, Const, IsNull, Known, Match, Node, Or

__all__ = ["MAX_ALTERNATIVES", "alternatives"]

#: Most alternatives (terms of the disjunctive normal form) one condition may expand to.
MAX_ALTERNATIVES = 64


@on_kind
def alternatives(node: object) -> list[list]:
    """The condition as an OR of ANDs of leaves (disjunctive normal form).

    Parameters
    ----------
    node : Condition
        A condition in normal form.

    Returns
    -------
    list of list
        One list of leaves per alternative; ``[]`` for a condition that is never true,
        ``[[]]`` for one that always is.

    Raises
    ------
    RuleSyntaxError
        Past :data:`MAX_ALTERNATIVES` alternatives.

    Examples
    --------
    >>> from engine.rules._expr._nodes import Field, Num
    >>> a, b, c = (Cmp(">", Field(n, "number"), Num(0.0)) for n in "abc")
    >>> [[leaf.left.name for leaf in alt] for alt in alternatives(And((Or((a, b)), c)))]
    [['a', 'c'], ['b', 'c']]
    """
    raise TypeError(f"no alternatives rule for {type(node).__name__}: {node!r}")


@alternatives.register(Const)
def _(node: Const) -> list[list]:
    return [[]] if node.value else []


@alternatives.register(Or)
def _(node: Or) -> list[list]:
    out: list = []
    for item in node.items:
        out.extend(alternatives(item))
        _check_alternatives(len(out))
    return out


@alternatives.register(And)
def _(node: And) -> list[list]:
    out: list = [[]]
    for item in node.items:
        sub = alternatives(item)
        _check_alternatives(len(out) * len(sub))
        out = [a + b for a in out for b in sub]
    return out


@alternatives.register(Cmp)
@alternatives.register(IsNull)
@alternatives.register(Match)
@alternatives.register(Known)
def _(node: Node) -> list[list]:
    return [[node]]


def _check_alternatives(count: int) -> None:
    if count > MAX_ALTERNATIVES:
        raise RuleSyntaxError(
            f"condition expands to more than {MAX_ALTERNATIVES} alternatives (ORs nested inside "
            "ANDs multiply); split it into several rules"
        )

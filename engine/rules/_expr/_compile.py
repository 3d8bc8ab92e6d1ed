"""The driver: condition text -> normal form, through every pass in order."""

from __future__ import annotations

from typing import Mapping

from engine._errors import RuleSyntaxError
from engine.rules._expr._checker import check
from engine.rules._expr._dnf import alternatives
from engine.rules._expr._nodes import Condition
from engine.rules._expr._normal import normalise
from engine.rules._expr._parser import parse
from engine.rules._expr._printer import to_source
from engine.rules._expr._walk import check_depth

__all__ = ["MAX_EXPRESSION_LENGTH", "compile_condition"]

#: Longest condition accepted, in characters.
MAX_EXPRESSION_LENGTH = 2000


def compile_condition(text: str, inputs: Mapping, parameters: Mapping) -> tuple[Condition, str]:
    """Parse, type-check and normalise one condition.

    Parameters
    ----------
    text : str
        The condition as written in the rule file.
    inputs : mapping
        Declared inputs, name -> object with ``type`` and ``values`` (enum values).
    parameters : mapping
        Named constants, name -> literal.

    Returns
    -------
    (Condition, str)
        The normalised condition and its canonical source (whitespace-insensitive).

    Raises
    ------
    RuleSyntaxError, RuleTypeError
        With the reason and, for unknown names, a did-you-mean suggestion.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> inputs = {"amount": SimpleNamespace(type="number", values=None)}
    >>> condition, canonical = compile_condition("not (amount<=limit)", inputs, {"limit": 10})
    >>> canonical
    'not amount <= 10'
    >>> condition
    Cmp(op='>', left=Field(name='amount', type='number', days=False), right=Num(value=10.0))
    """
    if not isinstance(text, str):
        raise RuleSyntaxError(f"a condition must be a string, got {type(text).__name__}")
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise RuleSyntaxError(
            f"condition is {len(text)} characters long; the limit is {MAX_EXPRESSION_LENGTH}"
        )
    if not text.strip():
        raise RuleSyntaxError("empty condition")
    tree = parse(text)
    check_depth(tree)
    checked = check(tree, inputs, parameters)
    canonical = to_source(checked)
    enums = {k: tuple(v.values or ()) for k, v in inputs.items()}
    normal = normalise(checked, enums)
    alternatives(normal)  # refuse conditions too complex for every engine, at load
    return normal, canonical

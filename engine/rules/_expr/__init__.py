"""The condition language, one compiler pass per module.

A condition string is turned into a small typed tree once, when the rule file loads. Nothing
here ever calls ``eval``; the only names an expression can reach are the rule set's declared
inputs, its parameters and the documented functions.

The passes, in order (:func:`compile_condition` runs them):

========================  =================================================================
``_tokens``               text -> tokens (with a hint for common mistakes)
``_parser``               tokens -> syntax tree (recursive descent, nesting budget)
``_walk``                 children of each node, the depth guard, the inputs a tree reads
``_checker``              syntax tree -> typed tree (names resolved, types and enums checked)
``_normal``               typed tree -> normal form (``not`` pushed down, ``between`` / ``in``
                          desugared, constants folded, ``field op expression``)
``_patterns``             the ``matches`` subset and its RE2 (linear-time) matcher
``_dnf``                  normal form -> alternatives (OR of ANDs) for durable_rules
``_printer``              any tree -> canonical source (fingerprints and messages)
``_dispatch``             ``on_kind``: the generic-function decorator every pass is written with
========================  =================================================================

The node kinds live in ``_nodes``; each declares its role (value or condition) and the phases
it appears in, and every pass dispatches on the kind with ``_dispatch.on_kind`` (functools.singledispatch
with a per-class cache), one case per kind: no ``isinstance`` chains.
Both engines compile the *normal form*, so they cannot disagree about what a condition means.
"""

from engine.rules._expr._checker import FUNCTIONS, NUMERIC, STRINGY
from engine.rules._expr._compile import MAX_EXPRESSION_LENGTH, compile_condition
from engine.rules._expr._dispatch import on_kind
from engine.rules._expr._dnf import MAX_ALTERNATIVES, alternatives
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
    Node,
    Num,
    Or,
    Str,
    Value,
    kinds,
)
from engine.rules._expr._parser import MAX_NESTING
from engine.rules._expr._patterns import MAX_PATTERN_LENGTH, MAX_REPEAT, LinearPattern
from engine.rules._expr._printer import to_source
from engine.rules._expr._tokens import KEYWORDS
from engine.rules._expr._tokens import tokenize as _tokenize  # noqa: F401  (rules/_authoring.py)
from engine.rules._expr._walk import MAX_TREE_DEPTH, fields_of

__all__ = [
    "MAX_EXPRESSION_LENGTH",
    "MAX_NESTING",
    "MAX_TREE_DEPTH",
    "MAX_ALTERNATIVES",
    "MAX_PATTERN_LENGTH",
    "MAX_REPEAT",
    "FUNCTIONS",
    "KEYWORDS",
    "NUMERIC",
    "STRINGY",
    "Node",
    "Num",
    "Str",
    "Bool",
    "Field",
    "BinOp",
    "Cmp",
    "IsNull",
    "Match",
    "Known",
    "And",
    "Or",
    "Const",
    "Condition",
    "Value",
    "LinearPattern",
    "compile_condition",
    "alternatives",
    "to_source",
    "fields_of",
    "kinds",
    "on_kind",
]

"""The condition language: tokenizer, recursive-descent parser, type checker, normaliser.

A condition string is turned into a small typed tree once, when the rule file loads. Nothing
here ever calls ``eval``; the only names an expression can reach are the rule set's declared
inputs, its parameters and the documented functions.

The pipeline is ``tokenize -> parse (syntax tree) -> check (types, names) -> normalise``.
Normalisation pushes ``not`` down to the leaves (negation normal form), desugars ``between``
and ``in``, folds constants and puts every comparison in the form both engines share:
``field op expression`` or ``0 op expression`` (see :func:`normalise`). Both engines compile
the *normalised* tree, so they cannot disagree about what a condition means.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Iterable, Iterator, Union

import numpy as np

from engine._errors import RuleSyntaxError, RuleTypeError
from engine._suggest import did_you_mean

__all__ = [
    "MAX_EXPRESSION_LENGTH",
    "MAX_NESTING",
    "FUNCTIONS",
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
    "compile_condition",
    "alternatives",
    "to_source",
    "fields_of",
]

#: Longest condition accepted, in characters.
MAX_EXPRESSION_LENGTH = 2000
#: Deepest nesting of parentheses / operators accepted.
MAX_NESTING = 40
#: Longest ``matches`` pattern accepted, and the largest ``{n,m}`` repeat.
MAX_PATTERN_LENGTH = 120
MAX_REPEAT = 10
#: The functions a condition may call (name -> description).
FUNCTIONS = {"days_since": "days_since(date_input): whole days from the date to the as-of date"}

NUMERIC = {"number", "integer"}
STRINGY = {"string", "enum"}


# --- nodes ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Num:
    value: float


@dataclass(frozen=True)
class Str:
    value: str


@dataclass(frozen=True)
class Bool:
    value: bool


@dataclass(frozen=True)
class Field:
    """A declared input. ``type`` is the declared input type; ``days_since(d)`` becomes
    ``Field(d, 'number', days=True)`` because both engines receive dates as day counts."""

    name: str
    type: str
    days: bool = False


@dataclass(frozen=True)
class BinOp:
    op: str  # + - * /
    left: "Value"
    right: "Value"


Value = Union[Num, Str, Bool, Field, BinOp]


@dataclass(frozen=True)
class Cmp:
    """``left op right``. After normalisation ``left`` is a :class:`Field` or ``Num(0.0)``."""

    op: str  # == != < <= > >=
    left: Value
    right: Value


@dataclass(frozen=True)
class IsNull:
    field: Field
    negated: bool


class LinearPattern:
    """A ``matches`` pattern run by RE2 (Arrow's regex engine): time linear in the value's length.

    Python's backtracking ``re`` takes exponential time on patterns such as ``(.+)+x`` (a
    rule file must never be able to hang a run); RE2 guarantees linear time for every pattern,
    and already ships inside pyarrow. The pattern matches the whole value character by
    character (Unicode code points: ``.`` is one character, ``é`` or ``中`` included); the
    durable_rules engine runs this same object on each record (see engine/rules/_durable.py).

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


@dataclass(frozen=True)
class Match:
    """Full match of a string input against a pattern, character by character."""

    field: Field
    pattern: str
    regex: LinearPattern

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Match) and (self.field, self.pattern) == (other.field, other.pattern)

    def __hash__(self) -> int:
        return hash((self.field, self.pattern))


@dataclass(frozen=True)
class Known:
    """True when the value is not null (every input it reads is present, no division by 0)."""

    value: Value


@dataclass(frozen=True)
class And:
    items: tuple


@dataclass(frozen=True)
class Or:
    items: tuple


@dataclass(frozen=True)
class Const:
    value: bool


Condition = Union[Cmp, IsNull, Match, Known, And, Or, Const]

# syntax-only nodes (removed by normalisation)


@dataclass(frozen=True)
class _Not:
    item: object


@dataclass(frozen=True)
class _In:
    value: object
    items: tuple
    negated: bool


@dataclass(frozen=True)
class _Between:
    value: object
    low: object
    high: object
    negated: bool


@dataclass(frozen=True)
class _StartsWith:
    value: object
    prefix: str


@dataclass(frozen=True)
class _Matches:
    value: object
    pattern: str


@dataclass(frozen=True)
class _IsNull:
    value: object
    negated: bool


@dataclass(frozen=True)
class _Name:
    name: str
    pos: int


@dataclass(frozen=True)
class _Call:
    name: str
    args: tuple
    pos: int


@dataclass(frozen=True)
class _Null:
    pos: int


# --- tokenizer -----------------------------------------------------------------------------
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
KEYWORDS = {
    "and", "or", "not", "in", "between", "is", "null", "true", "false", "startswith", "matches",
}


@dataclass(frozen=True)
class _Tok:
    kind: str  # num str name kw op end
    text: str
    pos: int


def _tokenize(text: str) -> list[_Tok]:
    tokens: list[_Tok] = []
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
            tokens.append(_Tok(kind, tok_text, pos))
        pos = m.end()
    tokens.append(_Tok("end", "", len(text)))
    return tokens


# --- parser --------------------------------------------------------------------------------
class _Parser:
    """Recursive descent with an explicit nesting budget (never a RecursionError)."""

    def __init__(self, text: str):
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0
        self.depth = 0

    # helpers
    def peek(self, offset: int = 0) -> _Tok:
        return self.tokens[min(self.i + offset, len(self.tokens) - 1)]

    def next(self) -> _Tok:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def at(self, kind: str, text: str | None = None) -> bool:
        tok = self.peek()
        return tok.kind == kind and (text is None or tok.text == text)

    def expect(self, kind: str, text: str | None = None) -> _Tok:
        tok = self.peek()
        if not self.at(kind, text):
            want = text or kind
            got = tok.text or "end of condition"
            raise RuleSyntaxError(f"expected {want!r} at column {tok.pos + 1}, got {got!r}")
        return self.next()

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise RuleSyntaxError(
                f"condition nests deeper than {MAX_NESTING} levels; split it into simpler rules"
            )

    def leave(self) -> None:
        self.depth -= 1

    # grammar
    def parse(self):
        node = self.or_expr()
        if not self.at("end"):
            tok = self.peek()
            raise RuleSyntaxError(f"unexpected {tok.text!r} at column {tok.pos + 1}")
        return node

    def or_expr(self):
        items = [self.and_expr()]
        while self.at("kw", "or"):
            self.next()
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_expr(self):
        items = [self.not_expr()]
        while self.at("kw", "and"):
            self.next()
            items.append(self.not_expr())
        return items[0] if len(items) == 1 else And(tuple(items))

    def not_expr(self):
        if self.at("kw", "not"):
            self.next()
            self.enter()
            node = _Not(self.not_expr())
            self.leave()
            return node
        return self.predicate()

    def predicate(self):
        left = self.additive()
        tok = self.peek()
        if tok.kind == "op" and tok.text in ("==", "!=", "<", "<=", ">", ">="):
            self.next()
            return Cmp(tok.text, left, self.additive())
        if tok.kind == "kw":
            if tok.text == "is":
                self.next()
                negated = False
                if self.at("kw", "not"):
                    self.next()
                    negated = True
                self.expect("kw", "null")
                return _IsNull(left, negated)
            negated = False
            if tok.text == "not" and self.peek(1).kind == "kw" and self.peek(1).text in ("in", "between"):
                self.next()
                negated = True
                tok = self.peek()
            if tok.text == "in":
                self.next()
                return _In(left, self.literal_list(), negated)
            if tok.text == "between":
                self.next()
                low = self.additive()
                self.expect("kw", "and")
                high = self.additive()
                return _Between(left, low, high, negated)
            if tok.text == "startswith":
                self.next()
                return _StartsWith(left, self.string_literal())
            if tok.text == "matches":
                self.next()
                return _Matches(left, self.string_literal())
        return left

    def string_literal(self):
        tok = self.peek()
        if tok.kind == "name":  # a parameter, resolved by the checker
            self.next()
            return _Name(tok.text, tok.pos)
        return _unquote(self.expect("str").text)

    def literal_list(self) -> tuple:
        self.expect("op", "[")
        items = []
        if not self.at("op", "]"):
            while True:
                items.append(self.unary())
                if self.at("op", ","):
                    self.next()
                    continue
                break
        self.expect("op", "]")
        return tuple(items)

    def additive(self):
        node = self.term()
        while self.peek().kind == "op" and self.peek().text in ("+", "-"):
            op = self.next().text
            node = BinOp(op, node, self.term())
        return node

    def term(self):
        node = self.unary()
        while self.peek().kind == "op" and self.peek().text in ("*", "/"):
            op = self.next().text
            node = BinOp(op, node, self.unary())
        return node

    def unary(self):
        if self.at("op", "-"):
            self.next()
            self.enter()
            operand = self.unary()
            self.leave()
            return Num(-operand.value) if isinstance(operand, Num) else BinOp("-", Num(0.0), operand)
        return self.primary()

    def primary(self):
        tok = self.next()
        if tok.kind == "num":
            value = float(tok.text)
            if not math.isfinite(value):
                raise RuleSyntaxError(f"number {tok.text} at column {tok.pos + 1} is not finite")
            return Num(value)
        if tok.kind == "str":
            return Str(_unquote(tok.text))
        if tok.kind == "kw" and tok.text in ("true", "false"):
            return Bool(tok.text == "true")
        if tok.kind == "kw" and tok.text == "null":
            return _Null(tok.pos)
        if tok.kind == "op" and tok.text == "(":
            self.enter()
            node = self.or_expr()
            self.expect("op", ")")
            self.leave()
            return node
        if tok.kind == "name":
            if self.at("op", "("):
                self.next()
                self.enter()
                args = []
                if not self.at("op", ")"):
                    while True:
                        args.append(self.additive())
                        if self.at("op", ","):
                            self.next()
                            continue
                        break
                self.expect("op", ")")
                self.leave()
                return _Call(tok.text, tuple(args), tok.pos)
            return _Name(tok.text, tok.pos)
        got = tok.text or "end of condition"
        raise RuleSyntaxError(f"expected a value at column {tok.pos + 1}, got {got!r}")


def _unquote(text: str) -> str:
    body = text[1:-1]
    return re.sub(r"\\(.)", r"\1", body)


def _children(node) -> tuple:
    if isinstance(node, (And, Or)):
        return node.items
    if isinstance(node, (BinOp, Cmp)):
        return (node.left, node.right)
    if isinstance(node, _Not):
        return (node.item,)
    if isinstance(node, _In):
        return (node.value, *node.items)
    if isinstance(node, _Between):
        return (node.value, node.low, node.high)
    if isinstance(node, (_StartsWith, _Matches, _IsNull)):
        return (node.value,)
    if isinstance(node, _Call):
        return node.args
    return ()


#: Deepest syntax tree accepted (long operator chains nest too: a + b + c is two levels).
MAX_TREE_DEPTH = 64


def _check_depth(tree) -> None:
    """Refuse trees deeper than MAX_TREE_DEPTH (iteratively: no recursion on hostile input)."""
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_TREE_DEPTH:
            raise RuleSyntaxError(
                f"condition is nested more than {MAX_TREE_DEPTH} levels deep (long chains of "
                "operators count); split it into simpler rules or parameters"
            )
        stack.extend((child, depth + 1) for child in _children(node))


# --- type checking -------------------------------------------------------------------------
_suggest = did_you_mean


class _Checker:
    def __init__(self, inputs: dict, parameters: dict):
        self.inputs = inputs  # name -> InputSpec (has .type, .values)
        self.parameters = parameters  # name -> literal

    # values -------------------------------------------------------------------------------
    def value(self, node):
        """Resolve names, check calls; return (node, type) with type in
        number|string|enum:<input>|boolean|date|literal-string."""
        if isinstance(node, Num):
            return node, "number"
        if isinstance(node, Str):
            return node, "string"
        if isinstance(node, Bool):
            return node, "boolean"
        if isinstance(node, _Null):
            raise RuleSyntaxError(
                f"'null' at column {node.pos + 1} cannot be compared; use 'is null' / 'is not null'"
            )
        if isinstance(node, _Name):
            if node.name in self.inputs:
                spec = self.inputs[node.name]
                return Field(node.name, spec.type), spec.type
            if node.name in self.parameters:
                lit = self.parameters[node.name]
                if isinstance(lit, bool):
                    return Bool(lit), "boolean"
                if isinstance(lit, (int, float)):
                    return Num(float(lit)), "number"
                return Str(lit), "string"
            if node.name in FUNCTIONS:
                raise RuleSyntaxError(f"{node.name!r} is a function; call it as {FUNCTIONS[node.name]}")
            raise RuleTypeError(
                f"unknown field {node.name!r}{_suggest(node.name, [*self.inputs, *self.parameters])}"
                f" (declared inputs: {', '.join(sorted(self.inputs)) or 'none'})"
            )
        if isinstance(node, _Call):
            if node.name not in FUNCTIONS:
                raise RuleSyntaxError(
                    f"unknown function {node.name!r}{_suggest(node.name, FUNCTIONS)}; "
                    f"the functions are: {', '.join(FUNCTIONS)}"
                )
            if len(node.args) != 1 or not isinstance(node.args[0], _Name):
                raise RuleTypeError("days_since takes one date input, e.g. days_since(last_visit)")
            arg, arg_type = self.value(node.args[0])
            if not isinstance(arg, Field) or arg_type != "date":
                raise RuleTypeError(
                    f"days_since expects a date input, got {node.args[0].name!r} of type {arg_type}"
                )
            return Field(arg.name, "number", days=True), "number"
        if isinstance(node, BinOp):
            left, lt = self.value(node.left)
            right, rt = self.value(node.right)
            for side, t in ((node.left, lt), (node.right, rt)):
                if t not in NUMERIC:
                    raise RuleTypeError(
                        f"arithmetic '{node.op}' needs numbers, got {t} ({to_source(side)}); "
                        "booleans, strings and dates are not numbers (use days_since for dates)"
                    )
            return BinOp(node.op, left, right), "number"
        if isinstance(node, (Cmp, And, Or, _Not, _In, _Between, _IsNull, _StartsWith, _Matches)):
            raise RuleTypeError(f"expected a value, got a condition ({to_source(node)})")
        raise RuleSyntaxError(f"unsupported construct {node!r}")

    # conditions ---------------------------------------------------------------------------
    def cond(self, node):
        if isinstance(node, And):
            return And(tuple(self.cond(i) for i in node.items))
        if isinstance(node, Or):
            return Or(tuple(self.cond(i) for i in node.items))
        if isinstance(node, _Not):
            return _Not(self.cond(node.item))
        if isinstance(node, Cmp):
            left, lt = self.value(node.left)
            right, rt = self.value(node.right)
            self._comparable(node.op, left, lt, right, rt)
            return Cmp(node.op, left, right)
        if isinstance(node, _IsNull):
            target, t = self.value(node.value)
            if not isinstance(target, Field):
                raise RuleTypeError(
                    f"'is null' applies to an input, got {to_source(node.value)}"
                )
            return IsNull(Field(target.name, self.inputs[target.name].type), node.negated)
        if isinstance(node, _In):
            left, lt = self.value(node.value)
            items = []
            for item in node.items:
                val, vt = self.value(item)
                if not isinstance(val, (Num, Str, Bool)):
                    raise RuleTypeError(f"'in [...]' lists literal values, got {to_source(item)}")
                self._comparable("==", left, lt, val, vt)
                items.append(val)
            return _In(left, tuple(items), node.negated)
        if isinstance(node, _Between):
            left, lt = self.value(node.value)
            low, lowt = self.value(node.low)
            high, hight = self.value(node.high)
            self._comparable(">=", left, lt, low, lowt)
            self._comparable("<=", left, lt, high, hight)
            return _Between(left, low, high, node.negated)
        if isinstance(node, (_StartsWith, _Matches)):
            left, lt = self.value(node.value)
            if not isinstance(left, Field) or lt not in STRINGY:
                raise RuleTypeError(
                    f"startswith / matches apply to a string or enum input, got {to_source(node.value)} ({lt})"
                )
            text = node.prefix if isinstance(node, _StartsWith) else node.pattern
            if isinstance(text, _Name):
                lit, t = self.value(text)
                if not isinstance(lit, Str):
                    raise RuleTypeError(f"parameter {text.name!r} must be a string here")
                text = lit.value
            if isinstance(node, _StartsWith):
                return _StartsWith(left, text)
            return _Matches(left, text)
        if isinstance(node, _Name) or isinstance(node, _Call):
            val, t = self.value(node)
            if t == "boolean":
                if isinstance(val, Bool):
                    return Const(val.value)
                return Cmp("==", val, Bool(True))
            raise RuleTypeError(
                f"{to_source(val)} is a {t}, not a condition; compare it, e.g. '{to_source(val)} > 0'"
            )
        if isinstance(node, Bool):
            return Const(node.value)
        if isinstance(node, (Num, Str, BinOp, _Null)):
            _, t = self.value(node)
            raise RuleTypeError(f"{to_source(node)} is a {t}, not a condition")
        raise RuleSyntaxError(f"unsupported construct {node!r}")

    def _comparable(self, op, left, lt, right, rt):
        def base(t):
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
                        f"{_suggest(lit.value, allowed)} (allowed: {', '.join(allowed)})"
                    )


# --- patterns ------------------------------------------------------------------------------
_CLASS_CHAR = re.compile(r"[A-Za-z0-9 _.,:/@#]")
_LITERAL_CHAR = re.compile(r"[^.|?*+()\[\]{}\\^$]")


def _check_pattern(pattern: str) -> None:
    """Accept the regular-expression subset both engines implement identically.

    Literal characters, ``.``, classes ``[a-z0-9_]`` (no negation, no escapes), groups,
    ``|``, ``* + ?`` and ``{n}`` / ``{n,m}`` with m <= 10. The pattern must match the whole
    value. Anything else is refused with the reason.
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
            body = pattern[i + 1 : j]
            if not body:
                raise RuleSyntaxError(f"pattern {pattern!r}: empty class '[]'")
            k = 0
            while k < len(body):
                if not _CLASS_CHAR.fullmatch(body[k]) or body[k] == "-":
                    raise RuleSyntaxError(
                        f"pattern {pattern!r}: character {body[k]!r} is not allowed in a class "
                        "(classes take letters, digits, ' _.,:/@#' and ranges like a-z; no negation)"
                    )
                if k + 2 < len(body) + 0 and body[k + 1] == "-":
                    lo, hi = body[k], body[k + 2]
                    if not (lo.isalnum() and hi.isalnum() and lo.isascii() and hi.isascii() and lo <= hi):
                        raise RuleSyntaxError(f"pattern {pattern!r}: bad range {lo}-{hi}")
                    k += 3
                    continue
                if k + 1 < len(body) and body[k + 1] == "-":
                    raise RuleSyntaxError(f"pattern {pattern!r}: '-' must sit between two characters")
                k += 1
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
            m = re.compile(r"\{(\d+)(?:,(\d+))?\}").match(pattern, i)
            if not prev_atom or m is None:
                raise RuleSyntaxError(f"pattern {pattern!r}: repeats are written {{n}} or {{n,m}} after an atom")
            low = int(m.group(1))
            high = int(m.group(2)) if m.group(2) is not None else low
            if low > high or high > MAX_REPEAT or high == 0:
                raise RuleSyntaxError(f"pattern {pattern!r}: repeat {{{low},{high}}} must have 1 <= m <= {MAX_REPEAT} and n <= m")
            i = m.end()
            prev_atom = False
            continue
        elif ch == ".":
            prev_atom = True
            group_start[-1] = False
        elif _LITERAL_CHAR.fullmatch(ch):
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


def _compile_pattern(pattern: str) -> LinearPattern:
    return LinearPattern(pattern)


_PREFIX_META = set(".|?*+(){}[]\\^$")


def _prefix_pattern(prefix: str) -> str:
    """The RE2 pattern of ``startswith prefix``: every character of the prefix literally
    (RE2 escapes; the prefix is never parsed as a pattern), then anything."""
    out = []
    for ch in prefix:
        if ch == "\x00":
            out.append("\\x00")
        elif ch in _PREFIX_META:
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out) + ".*"


# --- normalisation -------------------------------------------------------------------------
_NEGATE = {"==": "!=", "!=": "==", "<": ">=", ">=": "<", ">": "<=", "<=": ">"}
_FLIP = {"==": "==", "!=": "!=", "<": ">", ">": "<", "<=": ">=", ">=": "<="}


def _cmp_const(op, a, b) -> bool:
    return {"==": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]


def _is_literal(v) -> bool:
    return isinstance(v, (Num, Str, Bool))


def _fold(v):
    """Fold arithmetic on literals (IEEE double, division by zero -> None meaning null)."""
    if isinstance(v, BinOp):
        left, right = _fold(v.left), _fold(v.right)
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
    return v


def _lower_cmp(op: str, left, right) -> Condition:
    left, right = _fold(left), _fold(right)
    if left is None or right is None:  # a literal division by zero: null, never true
        return Const(False)
    if _is_literal(left) and _is_literal(right):
        return Const(_cmp_const(op, left.value, right.value))
    if isinstance(left, Field):
        return Cmp(op, left, right)
    if isinstance(right, Field):
        return Cmp(_FLIP[op], right, left)
    # neither side is an input: compare 0 with (right - left); exact in IEEE arithmetic
    return Cmp(op, Num(0.0), BinOp("-", right, left))


def _typed(value: object) -> Value:
    """A value slot of a syntax node that has been through the typer (``cond``).

    The syntax nodes (``_In``, ``_Between``, ...) hold raw parse nodes until the typer rebuilds
    them with typed values; ``_nnf`` only ever sees the rebuilt ones.
    """
    assert isinstance(value, (Num, Str, Bool, Field, BinOp)), value
    return value


def _nnf(node, negate: bool, enums: dict) -> Condition:
    if isinstance(node, _Not):
        return _nnf(node.item, not negate, enums)
    if isinstance(node, (And, Or)):
        items = tuple(_nnf(i, negate, enums) for i in node.items)
        is_and = isinstance(node, And) != negate
        return _simplify(And(items) if is_and else Or(items))
    if isinstance(node, Const):
        return Const(node.value != negate)
    if isinstance(node, Cmp):
        return _lower_cmp(_NEGATE[node.op] if negate else node.op, node.left, node.right)
    if isinstance(node, IsNull):
        return IsNull(node.field, node.negated != negate)
    if isinstance(node, _Between):
        x = _typed(node.value)
        inner = And((Cmp(">=", x, _typed(node.low)), Cmp("<=", x, _typed(node.high))))
        return _nnf(inner, negate != node.negated, enums)
    if isinstance(node, _In):
        negated = node.negated != negate
        if not node.items:
            return Known(_typed(node.value)) if negated else Const(False)
        if negated:
            return _simplify(And(tuple(_lower_cmp("!=", node.value, it) for it in node.items)))
        return _simplify(Or(tuple(_lower_cmp("==", node.value, it) for it in node.items)))
    if isinstance(node, (_StartsWith, _Matches)):
        field = node.value
        assert isinstance(field, Field)  # the typer (_Typer.cond) refused any other left side
        if isinstance(node, _StartsWith):
            pattern = _prefix_pattern(node.prefix)
        else:
            _check_pattern(node.pattern)
            pattern = node.pattern
        regex = _compile_pattern(pattern)
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
    raise RuleSyntaxError(f"unsupported construct {node!r}")


def _simplify(node):
    """Flatten nested And/Or and drop constant items."""
    kind = type(node)
    items = []
    for item in node.items:
        if isinstance(item, kind):
            items.extend(item.items)
        else:
            items.append(item)
    if kind is And:
        if any(isinstance(i, Const) and not i.value for i in items):
            return Const(False)
        items = [i for i in items if not isinstance(i, Const)]
        if not items:
            return Const(True)
    else:
        if any(isinstance(i, Const) and i.value for i in items):
            return Const(True)
        items = [i for i in items if not isinstance(i, Const)]
        if not items:
            return Const(False)
    return items[0] if len(items) == 1 else kind(tuple(items))


def compile_condition(text: str, inputs: dict, parameters: dict) -> tuple[Condition, str]:
    """Parse, type-check and normalise one condition.

    Parameters
    ----------
    text : str
        The condition as written in the rule file.
    inputs : dict
        Declared inputs, name -> object with ``type`` and ``values`` (enum values).
    parameters : dict
        Named constants, name -> literal.

    Returns
    -------
    (Condition, str)
        The normalised condition and its canonical source (whitespace-insensitive).

    Raises
    ------
    RuleSyntaxError, RuleTypeError
        With the reason and, for unknown names, a did-you-mean suggestion.
    """
    if not isinstance(text, str):
        raise RuleSyntaxError(f"a condition must be a string, got {type(text).__name__}")
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise RuleSyntaxError(
            f"condition is {len(text)} characters long; the limit is {MAX_EXPRESSION_LENGTH}"
        )
    if not text.strip():
        raise RuleSyntaxError("empty condition")
    tree = _Parser(text).parse()
    _check_depth(tree)
    checked = _Checker(inputs, parameters).cond(tree)
    canonical = to_source(checked)
    enums = {k: tuple(v.values or ()) for k, v in inputs.items()}
    normal = _nnf(checked, False, enums)
    alternatives(normal)  # refuse conditions too complex for every engine, at load
    return normal, canonical


#: Most alternatives (terms of the disjunctive normal form) one condition may expand to.
MAX_ALTERNATIVES = 64


def alternatives(node: Condition) -> list[list]:
    """The condition as an OR of ANDs of leaves (disjunctive normal form).

    The durable_rules engine compiles each alternative to its own durable rule, because
    durable_rules caps the expressions of one rule at 31. Refused (RuleSyntaxError) past
    :data:`MAX_ALTERNATIVES`.
    """
    if isinstance(node, Const):
        return [[]] if node.value else []
    if isinstance(node, Or):
        out: list = []
        for item in node.items:
            out.extend(alternatives(item))
            _check_alternatives(len(out))
        return out
    if isinstance(node, And):
        out = [[]]
        for item in node.items:
            sub = alternatives(item)
            _check_alternatives(len(out) * len(sub))
            out = [a + b for a in out for b in sub]
        return out
    return [[node]]


def _check_alternatives(count: int) -> None:
    if count > MAX_ALTERNATIVES:
        raise RuleSyntaxError(
            f"condition expands to more than {MAX_ALTERNATIVES} alternatives (ORs nested inside "
            "ANDs multiply); split it into several rules"
        )


# --- printing ------------------------------------------------------------------------------
_PREC = {"or": 1, "and": 2, "not": 3, "cmp": 4, "+": 5, "-": 5, "*": 6, "/": 6, "atom": 9}


def _num_text(v: float) -> str:
    return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)


def to_source(node, parent: int = 0) -> str:
    """Canonical text of a node (stable: used for hashing and messages).

    Examples
    --------
    >>> to_source(BinOp("*", BinOp("+", Num(1.0), Num(2.0)), Num(3.0)))
    '(1 + 2) * 3'
    """
    def wrap(text, prec):
        return f"({text})" if prec < parent else text

    if isinstance(node, Num):
        return _num_text(node.value) if node.value >= 0 else wrap(_num_text(node.value), 5)
    if isinstance(node, Str):
        return '"' + node.value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(node, Bool):
        return "true" if node.value else "false"
    if isinstance(node, Const):
        return "true" if node.value else "false"
    if isinstance(node, Field):
        return f"days_since({node.name})" if node.days else node.name
    if isinstance(node, _Name):
        return node.name
    if isinstance(node, _Null):
        return "null"
    if isinstance(node, _Call):
        return f"{node.name}({', '.join(to_source(a) for a in node.args)})"
    if isinstance(node, BinOp):
        p = _PREC[node.op]
        right_p = p + 1  # left-associative
        return wrap(f"{to_source(node.left, p)} {node.op} {to_source(node.right, right_p)}", p)
    if isinstance(node, Cmp):
        return wrap(f"{to_source(node.left, 5)} {node.op} {to_source(node.right, 5)}", 4)
    if isinstance(node, (IsNull, _IsNull)):
        target = node.field if isinstance(node, IsNull) else node.value
        return wrap(f"{to_source(target, 5)} is {'not ' if node.negated else ''}null", 4)
    if isinstance(node, _In):
        items = ", ".join(to_source(i) for i in node.items)
        return wrap(f"{to_source(node.value, 5)} {'not ' if node.negated else ''}in [{items}]", 4)
    if isinstance(node, _Between):
        return wrap(
            f"{to_source(node.value, 5)} {'not ' if node.negated else ''}between "
            f"{to_source(node.low, 5)} and {to_source(node.high, 5)}", 4)
    if isinstance(node, _StartsWith):
        return wrap(f"{to_source(node.value, 5)} startswith {to_source(Str(node.prefix))}", 4)
    if isinstance(node, (_Matches, Match)):
        target = node.value if isinstance(node, _Matches) else node.field
        return wrap(f"{to_source(target, 5)} matches {to_source(Str(node.pattern))}", 4)
    if isinstance(node, Known):
        return wrap(f"{to_source(node.value, 5)} is known", 4)
    if isinstance(node, _Not):
        return wrap(f"not {to_source(node.item, 3)}", 3)
    if isinstance(node, And):
        return wrap(" and ".join(to_source(i, 3) for i in node.items), 2)
    if isinstance(node, Or):
        return wrap(" or ".join(to_source(i, 2) for i in node.items), 1)
    raise TypeError(f"cannot print {node!r}")


def fields_of(node) -> Iterator[Field]:
    """Every input a value or condition reads (with repeats)."""
    if isinstance(node, Field):
        yield node
    elif isinstance(node, BinOp):
        yield from fields_of(node.left)
        yield from fields_of(node.right)
    elif isinstance(node, Cmp):
        yield from fields_of(node.left)
        yield from fields_of(node.right)
    elif isinstance(node, (IsNull, Match)):
        yield node.field
    elif isinstance(node, Known):
        yield from fields_of(node.value)
    elif isinstance(node, (And, Or)):
        for item in node.items:
            yield from fields_of(item)

"""The parser: tokens -> a syntax tree (recursive descent with a nesting budget).

Grammar, loosest binding first::

    or_expr   := and_expr ("or" and_expr)*
    and_expr  := not_expr ("and" not_expr)*
    not_expr  := "not" not_expr | predicate
    predicate := additive [cmp additive | "is" ["not"] "null" | ["not"] "in" list
                 | ["not"] "between" additive "and" additive
                 | "startswith" text | "matches" text]
    additive  := term (("+" | "-") term)*
    term      := unary (("*" | "/") unary)*
    unary     := "-" unary | primary
    primary   := number | text | "true" | "false" | "null" | "(" or_expr ")"
                 | name ["(" [additive ("," additive)*] ")"]

The tree holds syntax-only nodes (``_Not``, ``_In``, names, calls...) that the type checker
resolves; see :mod:`engine.rules._expr._nodes`.
"""

from __future__ import annotations

import math

from engine._errors import RuleSyntaxError
from engine.rules._expr._nodes import (
    And,
    BinOp,
    Bool,
    Cmp,
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
from engine.rules._expr._tokens import Token, tokenize, unquote

__all__ = ["MAX_NESTING", "Parser", "parse"]

#: Deepest nesting of parentheses / operators accepted.
MAX_NESTING = 40
_CMP_OPS = ("==", "!=", "<", "<=", ">", ">=")


class Parser:
    """Recursive descent with an explicit nesting budget (never a RecursionError).

    Parameters
    ----------
    text : str
        The condition as written.
    """

    def __init__(self, text: str):
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self.depth = 0

    # helpers
    def peek(self, offset: int = 0) -> Token:
        return self.tokens[min(self.i + offset, len(self.tokens) - 1)]

    def next(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def at(self, kind: str, text: str | None = None) -> bool:
        tok = self.peek()
        return tok.kind == kind and (text is None or tok.text == text)

    def expect(self, kind: str, text: str | None = None) -> Token:
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
    def parse(self) -> Node:
        """The whole condition; refuses anything left over after it."""
        node = self.or_expr()
        if not self.at("end"):
            tok = self.peek()
            raise RuleSyntaxError(f"unexpected {tok.text!r} at column {tok.pos + 1}")
        return node

    def or_expr(self) -> Node:
        items = [self.and_expr()]
        while self.at("kw", "or"):
            self.next()
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_expr(self) -> Node:
        items = [self.not_expr()]
        while self.at("kw", "and"):
            self.next()
            items.append(self.not_expr())
        return items[0] if len(items) == 1 else And(tuple(items))

    def not_expr(self) -> Node:
        if self.at("kw", "not"):
            self.next()
            self.enter()
            node = _Not(self.not_expr())
            self.leave()
            return node
        return self.predicate()

    def predicate(self) -> Node:
        left = self.additive()
        tok = self.peek()
        if tok.kind == "op" and tok.text in _CMP_OPS:
            self.next()
            return Cmp(tok.text, left, self.additive())  # type: ignore[arg-type]  # the checker types it
        if tok.kind != "kw":
            return left
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

    def string_literal(self) -> str | _Name:
        tok = self.peek()
        if tok.kind == "name":  # a parameter, resolved by the checker
            self.next()
            return _Name(tok.text, tok.pos)
        return unquote(self.expect("str").text)

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

    def additive(self) -> Node:
        node = self.term()
        while self.peek().kind == "op" and self.peek().text in ("+", "-"):
            op = self.next().text
            node = BinOp(op, node, self.term())  # type: ignore[arg-type]  # the checker types it
        return node

    def term(self) -> Node:
        node = self.unary()
        while self.peek().kind == "op" and self.peek().text in ("*", "/"):
            op = self.next().text
            node = BinOp(op, node, self.unary())  # type: ignore[arg-type]  # the checker types it
        return node

    def unary(self) -> Node:
        if self.at("op", "-"):
            self.next()
            self.enter()
            operand = self.unary()
            self.leave()
            # a negative number literal stays a literal (so "in [-1, 2]" lists literals)
            if isinstance(operand, Num):
                return Num(-operand.value)
            return BinOp("-", Num(0.0), operand)  # type: ignore[arg-type]  # the checker types it
        return self.primary()

    def primary(self) -> Node:
        tok = self.next()
        if tok.kind == "num":
            value = float(tok.text)
            if not math.isfinite(value):
                raise RuleSyntaxError(f"number {tok.text} at column {tok.pos + 1} is not finite")
            return Num(value)
        if tok.kind == "str":
            return Str(unquote(tok.text))
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
                return self.call(tok)
            return _Name(tok.text, tok.pos)
        got = tok.text or "end of condition"
        raise RuleSyntaxError(f"expected a value at column {tok.pos + 1}, got {got!r}")

    def call(self, name: Token) -> _Call:
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
        return _Call(name.text, tuple(args), name.pos)


def parse(text: str) -> Node:
    """The syntax tree of one condition (names unresolved, nothing type-checked yet).

    Examples
    --------
    >>> parse("not amount > 1")
    _Not(item=Cmp(op='>', left=_Name(name='amount', pos=4), right=Num(value=1.0)))
    """
    return Parser(text).parse()

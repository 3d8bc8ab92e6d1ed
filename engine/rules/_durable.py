"""The durable_rules engine: the live, one-record-at-a-time path. The only module that
imports ``durable``.

Each rule of a normalised rule set becomes one durable_rules rule over a single fact. A record
is asserted as a fact, every rule whose condition durable_rules finds true fires an action
that records the rule's index, and the fact is retracted. The hit policy is then applied to the
set of rules that fired (:func:`engine.rules._result.resolve_one`).

What durable_rules 2.0.28 cannot express directly, and how it is handled here:

* **Comparisons need an input on the left** (``{"$gt": {"field": <expression>}}``). The shared
  normaliser already puts every comparison in the form ``input op expression`` or
  ``0 op expression``; the ``0`` is the constant fact field ``kam__zero``.
* **Nulls**: a null input is left out of the fact. Every comparison is guarded with ``$ex`` on
  each input it reads, and every division with ``divisor != 0``, so "unknown" is "no match".
* **Numbers** are posted as JSON doubles with a decimal point (durable_rules parses ``7`` as an
  integer and divides integers; it rejects exponents such as ``1e-05``, error 204).
* **Dates** are posted as the number of days to the as-of date (what ``days_since`` reads).
* **Types** are checked before posting by the shared typed-input layer; a record with a wrong
  type is never posted.
* **No match** raises ``MessageNotHandledException`` inside durable_rules; here it is the
  ordinary "no rule fired" outcome.
* **Background threads**: ``durable.engine.Host`` starts timer threads that dispatch pending
  actions concurrently; a subclass without them keeps evaluation synchronous and leak-free.
* **Global state**: ``durable.lang`` keeps process-wide registries; this module builds its own
  host per compiled rule set, with a unique ruleset name, and deletes it when collected.
* **Action errors** are swallowed by durable_rules into the state; the actions here record any
  exception and it is re-raised (``raise ... from``) after the call returns.
* **Expression limit**: durable_rules caps one rule at 31 expressions (error 113), so each
  alternative of a condition's disjunctive normal form becomes its own durable rule; all of
  them record the same rule index.
* **Absent fields**: a test on an absent field never matches in durable_rules (``$neq``
  included), which is exactly "unknown is not true"; ``$ex`` guards are added only for the
  inputs inside right-hand expressions.
* **States**: one state id is reused for every record (durable_rules holds at most 1,024).
* **Network size**: durable_rules shares the tests of all rules of one ruleset in a tree and
  walks it with fixed-size buffers that it does not always check. A test with 512 different
  tests below it hangs ``create_ruleset`` forever from the 513th (``findAlpha`` probes a full
  512-slot hash table for a free slot that never comes; with exactly 512 the same loop hangs
  the first record); a record that matches more than 64 pending tests at once fails with error
  303 (``handleAlpha``'s stack of 64); more than 32 "is null" tests below one test, 16 rules
  ending on one test or 255 fields in a fact overrun their buffers. So the alternatives are
  packed into as many durable rulesets as needed (:func:`pack`), each within all of these
  bounds whatever the record: every path of its test tree has at most ``MAX_PATH_FANOUT``
  sibling tests along it, identical alternatives share one durable rule, and each ruleset
  reads at most ``MAX_FACT_FIELDS`` inputs. A record is asserted into every ruleset and the
  hit policy is applied to the union of the rules that fired, so the decision is the same as
  one big ruleset's.
"""

from __future__ import annotations

import copy
import itertools
import json
import threading
import uuid
import weakref
from typing import Any

from durable import engine as _durable_engine

from engine._errors import RuleEvaluationError, RuleSyntaxError
from engine.rules._expr import (
    BinOp,
    Bool,
    Cmp,
    Field,
    IsNull,
    Known,
    Match,
    Num,
    Str,
    alternatives,
    on_kind,
)
from engine.rules._spec import RuleSetSpec

__all__ = ["DurableEngine", "DurableEngineError"]

_ROW = "kam__row"
_ZERO = "kam__zero"
_OPS = {"==": "$eq", "!=": "$neq", "<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte"}
_ARITH = {"+": "$add", "-": "$sub", "*": "$mul", "/": "$div"}
_SID = "0"
_MATCH_PREFIX = "m_"


class DurableEngineError(RuleEvaluationError):
    """durable_rules failed while evaluating a record (its own exception is the cause)."""


def _key(name: str) -> str:
    return "v_" + name


def _number(value: float) -> str:
    text = repr(float(value))
    if text in ("inf", "-inf", "nan"):
        raise ValueError(f"durable_rules cannot take the non-finite number {text}")
    mantissa, sep, exponent = text.partition("e")
    if sep and "." not in mantissa:
        text = f"{mantissa}.0e{exponent}"
    return text


def _encode(obj) -> str:
    """JSON the way durable_rules' parser reads it (doubles always with a decimal point)."""
    if isinstance(obj, dict):
        return "{" + ",".join(json.dumps(str(k)) + ":" + _encode(v) for k, v in obj.items()) + "}"
    if isinstance(obj, (list, tuple)):
        return "[" + ",".join(_encode(v) for v in obj) + "]"
    if obj is None or isinstance(obj, (str, bool)):
        return json.dumps(obj, ensure_ascii=False)
    if isinstance(obj, int):
        return str(obj)
    return _number(obj)


class _Ruleset(_durable_engine.Ruleset):
    """durable_rules' Ruleset with our JSON encoding. It also never mutates the caller's
    definition (the original deletes each rule's ``run`` key)."""

    def __init__(self, name, host, definition, actions):
        self._actions = {rule: _durable_engine.Promise(fn) for rule, fn in actions.items()}
        self._name = name
        self._host = host
        self._definition = copy.deepcopy(definition)
        self._handle = _durable_engine.durable_rules_engine.create_ruleset(name, _encode(self._definition))

    def assert_fact(self, fact):
        return self._handle_result(
            _durable_engine.durable_rules_engine.assert_fact(self._handle, _encode(fact)), fact)

    def retract_fact(self, fact):
        return self._handle_result(
            _durable_engine.durable_rules_engine.retract_fact(self._handle, _encode(fact)), fact)


class _SyncHost(_durable_engine.Host):
    """A Host without the dispatch/timer threads: actions run inside ``assert_fact``."""

    def _run(self):  # noqa: D401 - overriding durable's thread starter on purpose
        return None


def _release_all(handles: list) -> None:
    while handles:
        handle = handles.pop()
        try:
            _durable_engine.durable_rules_engine.delete_ruleset(handle)
        except Exception:  # the interpreter may be shutting down; nothing left to free then
            pass


class _Compiler:
    def __init__(self) -> None:
        #: (input, pattern) -> (fact field, Match node) of every ``matches`` / ``startswith``
        self.patterns: dict[tuple[str, str], tuple[str, Match]] = {}

    def value(self, node):
        """The durable_rules expression of a value."""
        return _value(node)

    def guards(self, node, out: list) -> None:
        """Conditions that make ``node`` known: inputs present, divisors not zero."""
        _guards(node, out)

    def leaf(self, node, parts: list) -> None:
        """Append the durable tests of one leaf (a conjunction) to ``parts``."""
        _leaf(node, self, parts)

    def rules(self, condition) -> list[list[dict]]:
        """The durable tests of each alternative of the condition's DNF, in order."""
        out = []
        for conjunction in alternatives(condition):
            parts: list = [{_ROW: 1}]
            for leaf in conjunction:
                self.leaf(leaf, parts)
            unique: list = []
            for part in parts:
                if part not in unique:
                    unique.append(part)
            out.append(unique)
        return out


# --- one case per node kind of the normal form (see engine/rules/_expr/_nodes.py) ---------
@on_kind
def _value(node: object) -> Any:
    raise TypeError(f"not a value: {node!r}")


@_value.register(Num)
def _(node: Num) -> Any:
    return float(node.value)


@_value.register(Str)
@_value.register(Bool)
def _(node: Str | Bool) -> Any:
    return node.value


@_value.register(Field)
def _(node: Field) -> Any:
    return {"$m": _key(node.name)}


@_value.register(BinOp)
def _(node: BinOp) -> Any:
    return {_ARITH[node.op]: {"$l": _value(node.left), "$r": _value(node.right)}}


@on_kind
def _guards(node: object, out: list) -> None:
    raise TypeError(f"not a value: {node!r}")


@_guards.register(Num)
@_guards.register(Str)
@_guards.register(Bool)
def _(node: Num | Str | Bool, out: list) -> None:
    return None  # a literal is always known


@_guards.register(Field)
def _(node: Field, out: list) -> None:
    guard = {"$ex": {_key(node.name): 1}}
    if guard not in out:
        out.append(guard)


@_guards.register(BinOp)
def _(node: BinOp, out: list) -> None:
    _guards(node.left, out)
    _guards(node.right, out)
    if node.op == "/":
        divisor = node.right
        if isinstance(divisor, Field):
            out.append({"$neq": {_key(divisor.name): 0.0}})
        else:
            out.append({"$neq": {_ZERO: _value(divisor)}})


@on_kind
def _leaf(node: object, compiler: _Compiler, parts: list) -> None:
    raise TypeError(f"not a leaf condition: {node!r}")


@_leaf.register(IsNull)
def _(node: IsNull, compiler: _Compiler, parts: list) -> None:
    parts.append({("$ex" if node.negated else "$nex"): {_key(node.field.name): 1}})


@_leaf.register(Known)
def _(node: Known, compiler: _Compiler, parts: list) -> None:
    _guards(node.value, parts)


@_leaf.register(Match)
def _(node: Match, compiler: _Compiler, parts: list) -> None:
    # the pattern is decided before posting, by the same RE2 pattern as the vectorized
    # engine, and posted as a fact field present only when it matches (see _MatchField)
    key = f"{_MATCH_PREFIX}{len(compiler.patterns)}"
    key = compiler.patterns.setdefault((node.field.name, node.pattern), (key, node))[0]
    parts.append({key: True})


@_leaf.register(Cmp)
def _(node: Cmp, compiler: _Compiler, parts: list) -> None:
    if isinstance(node.left, Field):
        left = _key(node.left.name)
        # the left input needs no guard (absent -> no match); inputs inside the
        # right-hand expression and divisors do
    elif isinstance(node.left, Num) and node.left.value == 0.0:
        left = _ZERO
    else:  # the normaliser guarantees one of the two
        raise RuleSyntaxError(f"cannot compile comparison {node!r} for durable_rules")
    _guards(node.right, parts)
    parts.append({_OPS[node.op]: {left: _value(node.right)}})


#: durable_rules 2.0.28's fixed buffers (src/rules/events.c, rete.c, state.h) and our margins.
MAX_PATH_FANOUT = 60        # handleAlpha's stack holds 64 pending tests
MAX_ABSENT_TESTS = 30       # NEXT_LIST_LENGTH: 32 "is null" tests below one test
MAX_FACT_FIELDS = 240       # MAX_OBJECT_PROPERTIES 255, less id, sid, kam__row, kam__zero
MAX_RULE_TESTS = 31         # error 113: at most 31 expressions in one durable rule


MAX_CHILDREN = 500          # NEXT_BUCKET_LENGTH: 512 slots per test's hash table of children


class _Node:
    __slots__ = ("absent", "children", "down", "equal")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        self.absent = 0  # children that are "is null" ($nex) tests
        #: children that test one field for equality with a constant, per field: of those,
        #: at most one per field can match a record, so they take one stack slot per field
        self.equal: dict[str, int] = {}
        self.down = 0    # the most stack slots a record can take on a path from here down

    def width(self) -> int:
        """Stack slots the children matching one record can take at most."""
        return len(self.children) - sum(self.equal.values()) + len(self.equal)


def _refresh(node: _Node) -> None:
    node.down = node.width() + max((c.down for c in node.children.values()), default=0)


def _equal_field(test: dict) -> str | None:
    """The field of a test ``field == constant`` (at most one such sibling per field can
    match a record), else None."""
    (op, body), = test.items()
    if op == "$eq":
        (field, value), = body.items()
    elif not op.startswith("$"):
        field, value = op, body
    else:
        return None
    return None if isinstance(value, (dict, list)) else field


class _Packer:
    """One durable ruleset's test tree, as durable_rules builds it (an ``$and`` is a chain of
    tests in order; equal tests under one parent are shared), with the bounds checked as
    alternatives are added."""

    def __init__(self) -> None:
        self.root = _Node()
        self.fields: set[str] = set()
        self.rules: list[tuple[list[dict], tuple[int, ...]]] = []

    def try_add(self, tests: list[dict], keys: list[str], fields: set[str], owners: tuple[int, ...]) -> bool:
        if self.rules and len(self.fields | fields) > MAX_FACT_FIELDS:
            return False
        path = [self.root]
        node = self.root
        depth = 0
        while depth < len(keys) and keys[depth] in node.children:
            node = node.children[keys[depth]]
            path.append(node)
            depth += 1
        if depth < len(keys):
            absent = "$nex" in tests[depth]
            if (absent and node.absent >= MAX_ABSENT_TESTS) or len(node.children) >= MAX_CHILDREN:
                return False
            equal = _equal_field(tests[depth])
            chain = _Node()
            tail = chain
            for key in keys[depth + 1:]:
                nxt = _Node()
                tail.children[key] = nxt
                tail = nxt
            for n in reversed(_chain_nodes(chain)):
                _refresh(n)
            node.children[keys[depth]] = chain
            node.absent += absent
            if equal is not None:
                node.equal[equal] = node.equal.get(equal, 0) + 1
            for n in reversed(path):
                _refresh(n)
            if self.root.down > MAX_PATH_FANOUT and self.rules:
                del node.children[keys[depth]]
                node.absent -= absent
                if equal is not None:
                    node.equal[equal] -= 1
                    if not node.equal[equal]:
                        del node.equal[equal]
                for n in reversed(path):
                    _refresh(n)
                return False
        self.rules.append((tests, owners))
        self.fields |= fields
        return True


def _chain_nodes(start: _Node) -> list[_Node]:
    out = [start]
    while out[-1].children:
        out.append(next(iter(out[-1].children.values())))
    return out


def _fields(tests: list[dict]) -> set[str]:
    """The fact fields a durable condition reads (its test keys and ``$m`` references)."""
    found: set[str] = set()

    def walk(obj) -> None:
        if isinstance(obj, dict):
            for k, v in obj.items():
                if k == "$m":
                    found.add(v)
                elif not k.startswith("$"):
                    found.add(k)
                walk(v)
        elif isinstance(obj, list):
            for v in obj:
                walk(v)

    walk(tests)
    return found - {_ROW, _ZERO}


class _MatchField:
    """A pattern decided in Python for one record: durable_rules' own patterns differ from the
    documented ones (``%`` is its escape character, some repeats are refused) and it reads
    string values without undoing their JSON escapes (``\\t`` is two characters to it), so
    both engines run the same RE2 pattern, character by character, and durable_rules tests the
    outcome. Outcomes are cached per value (a few thousand distinct values)."""

    __slots__ = ("cache", "input", "regex")

    def __init__(self, node: Match):
        self.input = node.field.name
        self.regex = node.regex
        self.cache: dict[str, bool] = {}

    def __call__(self, value: str) -> bool:
        hit = self.cache.get(value)
        if hit is None:
            if len(self.cache) > 4096:
                self.cache.clear()
            hit = self.cache[value] = self.regex.fullmatch(value)
        return hit


def pack(spec: RuleSetSpec) -> tuple[list[_Packer], dict[str, Match]]:
    """The alternatives of every rule, packed into durable rulesets within durable_rules'
    bounds (first fit, in file order). Identical alternatives of different rules become one
    durable rule that records all of their indices.

    Raises
    ------
    RuleSyntaxError
        An alternative needs more than :data:`MAX_RULE_TESTS` tests (durable_rules' cap on
        one rule), naming the rule.
    """
    compiler = _Compiler()
    owners: dict[str, list[int]] = {}
    tests_of: dict[str, list[dict]] = {}
    for i, rule in enumerate(spec.rules):
        # a rule that can never match has no alternatives and no durable rule
        for tests in compiler.rules(rule.condition):
            if len(tests) > MAX_RULE_TESTS:
                raise RuleSyntaxError(
                    f"rule {rule.id!r}: one alternative of its condition needs {len(tests)} tests in "
                    f"durable_rules, which allows at most {MAX_RULE_TESTS} per rule; split the "
                    "condition into several rules or use fewer comparisons per 'and'",
                    file=spec.file, line=getattr(rule, "line", None))
            key = _encode(tests)
            if key not in owners:
                owners[key] = []
                tests_of[key] = tests
            if i not in owners[key]:
                owners[key].append(i)
    packers: list[_Packer] = []
    for key, tests in tests_of.items():
        keys = [_encode(t) for t in tests]
        fields = _fields(tests)
        for packer in packers:
            if packer.try_add(tests, keys, fields, tuple(owners[key])):
                break
        else:
            packer = _Packer()
            packer.try_add(tests, keys, fields, tuple(owners[key]))
            packers.append(packer)
    return packers, {key: node for key, node in compiler.patterns.values()}


class DurableEngine:
    """A rule set compiled into its own durable_rules host.

    Parameters
    ----------
    spec : RuleSetSpec

    Notes
    -----
    Thread-safe (one record at a time under a lock). The durable_rules ruleset is deleted when
    the engine is garbage-collected or :meth:`close` is called.
    """

    def __init__(self, spec: RuleSetSpec):
        self.spec = spec
        self.name = f"kam_{spec.name}_{uuid.uuid4().hex[:12]}"
        self._fired: list[int] = []
        self._action_errors: list[BaseException] = []
        self._host = _SyncHost()
        #: one JSON ruleset per durable ruleset, for inspection and docs
        self.definitions: list[dict] = []
        #: per durable ruleset: its name and the fact fields it reads
        self._parts: list[tuple[str, tuple[str, ...]]] = []
        self._handles: list = []
        self._finalizer = weakref.finalize(self, _release_all, self._handles)
        packers, patterns = pack(spec)
        self._patterns = {key: _MatchField(node) for key, node in patterns.items()}
        for n, packer in enumerate(packers):
            definition: dict = {}
            actions: dict = {}
            for k, (tests, owners) in enumerate(packer.rules):
                condition = tests[0] if len(tests) == 1 else {"$and": tests}
                definition[f"r{k}"] = {"all": [{"m": condition}]}
                actions[f"r{k}"] = self._action(owners)
            name = f"{self.name}_{n}"
            try:
                ruleset = _Ruleset(name, self._host, definition, actions)
            except Exception as exc:
                self.close()
                raise RuleSyntaxError(
                    f"durable_rules refused the compiled rule set {spec.name!r}: {exc}",
                    file=spec.file) from exc
            self._handles.append(ruleset._handle)
            self._host._ruleset_directory[name] = ruleset
            self._host._ruleset_list.append(ruleset)
            self.definitions.append(definition)
            self._parts.append((name, tuple(sorted(packer.fields))))
        self._ids = itertools.count()
        self._lock = threading.Lock()

    @property
    def definition(self) -> dict:
        """All durable rules of all rulesets in one dict (``r<ruleset>_<rule>``)."""
        return {f"r{n}_{k[1:]}": rule for n, d in enumerate(self.definitions) for k, rule in d.items()}

    def _action(self, owners: tuple[int, ...]):
        fired = self._fired
        errors = self._action_errors

        def action(c):
            try:
                fired.extend(owners)
            except BaseException as exc:  # recorded and re-raised by matches(); never lost
                errors.append(exc)
                raise

        return action

    def close(self) -> None:
        """Free the durable_rules rulesets now."""
        self._finalizer()

    def matches(self, values: dict) -> list[int]:
        """Indices of the rules whose condition is true for one typed record.

        ``values`` maps input name -> float | str | bool | None (dates already as days).
        The record is asserted into every durable ruleset of the rule set in turn.
        """
        present = {_key(name): (float(value) if isinstance(value, float) else value)
                   for name, value in values.items() if value is not None}
        for key, pattern in self._patterns.items():
            value = values.get(pattern.input)
            if isinstance(value, str) and pattern(value):
                present[key] = True
        with self._lock:
            self._fired.clear()
            self._action_errors.clear()
            for name, fields in self._parts:
                fact = {"id": str(next(self._ids)), "sid": _SID, _ROW: 1, _ZERO: 0.0}
                for field in fields:
                    if field in present:
                        fact[field] = present[field]
                self._assert_one(name, fact)
            return sorted(set(self._fired))

    def _assert_one(self, name: str, fact: dict) -> None:
        try:
            self._host.assert_fact(name, fact)
        except _durable_engine.MessageNotHandledException:
            pass  # no rule matched: an ordinary outcome here
        except Exception as exc:
            raise DurableEngineError(
                f"durable_rules failed on a record of rule set {self.spec.name!r}: {exc}") from exc
        if self._action_errors:
            raise DurableEngineError(
                f"a rule action failed in rule set {self.spec.name!r}") from self._action_errors[0]
        try:
            self._host.retract_fact(name, fact)
        except _durable_engine.MessageNotHandledException:
            pass
        except Exception as exc:
            raise DurableEngineError(
                f"durable_rules could not retract a record of rule set {self.spec.name!r}: {exc}") from exc
        state = self._host.get_state(name, _SID)
        if "exception" in state:
            raise DurableEngineError(
                f"durable_rules reported an action error in rule set {self.spec.name!r}: {state['exception']}")

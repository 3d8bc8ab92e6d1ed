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
"""

from __future__ import annotations

import copy
import itertools
import json
import threading
import uuid
import weakref

from durable import engine as _durable_engine

from engine._errors import RuleEvaluationError, RuleSyntaxError
from engine.rules._expr import BinOp, Bool, Cmp, Field, IsNull, Known, Match, Num, Str, alternatives
from engine.rules._spec import RuleSetSpec

__all__ = ["DurableEngine", "DurableEngineError"]

_ROW = "kam__row"
_ZERO = "kam__zero"
_OPS = {"==": "$eq", "!=": "$neq", "<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte"}
_ARITH = {"+": "$add", "-": "$sub", "*": "$mul", "/": "$div"}
_SID = "0"


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


def _release(handle) -> None:
    try:
        _durable_engine.durable_rules_engine.delete_ruleset(handle)
    except Exception:  # the interpreter may be shutting down; nothing left to free then
        pass


class _Compiler:
    def value(self, node):
        if isinstance(node, Num):
            return float(node.value)
        if isinstance(node, (Str, Bool)):
            return node.value
        if isinstance(node, Field):
            return {"$m": _key(node.name)}
        if isinstance(node, BinOp):
            return {_ARITH[node.op]: {"$l": self.value(node.left), "$r": self.value(node.right)}}
        raise TypeError(f"not a value: {node!r}")

    def guards(self, node, out: list) -> None:
        """Conditions that make ``node`` known: inputs present, divisors not zero."""
        if isinstance(node, Field):
            guard = {"$ex": {_key(node.name): 1}}
            if guard not in out:
                out.append(guard)
        elif isinstance(node, BinOp):
            self.guards(node.left, out)
            self.guards(node.right, out)
            if node.op == "/":
                divisor = node.right
                if isinstance(divisor, Field):
                    out.append({"$neq": {_key(divisor.name): 0.0}})
                else:
                    out.append({"$neq": {_ZERO: self.value(divisor)}})

    def leaf(self, node, parts: list) -> None:
        """Append the durable tests of one leaf (a conjunction) to ``parts``."""
        if isinstance(node, IsNull):
            parts.append({("$ex" if node.negated else "$nex"): {_key(node.field.name): 1}})
        elif isinstance(node, Known):
            self.guards(node.value, parts)
        elif isinstance(node, Match):
            # durable_rules never matches a test on an absent field: no $ex guard needed
            parts.append({"$mt": {_key(node.field.name): node.pattern}})
        elif isinstance(node, Cmp):
            if isinstance(node.left, Field):
                left = _key(node.left.name)
                # the left input needs no guard (absent -> no match); inputs inside the
                # right-hand expression and divisors do
            elif isinstance(node.left, Num) and node.left.value == 0.0:
                left = _ZERO
            else:  # the normaliser guarantees one of the two
                raise RuleSyntaxError(f"cannot compile comparison {node!r} for durable_rules")
            self.guards(node.right, parts)
            parts.append({_OPS[node.op]: {left: self.value(node.right)}})
        else:
            raise TypeError(f"not a leaf condition: {node!r}")

    def rules(self, condition) -> list[dict]:
        """One durable condition per alternative of the condition's DNF."""
        out = []
        for conjunction in alternatives(condition):
            parts: list = [{_ROW: 1}]
            for leaf in conjunction:
                self.leaf(leaf, parts)
            unique = []
            for part in parts:
                if part not in unique:
                    unique.append(part)
            out.append(unique[0] if len(unique) == 1 else {"$and": unique})
        return out


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
        compiler = _Compiler()
        definition: dict = {}
        actions: dict = {}
        self._fired: list[int] = []
        self._action_errors: list[BaseException] = []
        for i, rule in enumerate(spec.rules):
            # a rule that can never match has no alternatives and no durable rule
            for k, condition in enumerate(compiler.rules(rule.condition)):
                definition[f"r{i}_{k}"] = {"all": [{"m": condition}]}
                actions[f"r{i}_{k}"] = self._action(i)
        self.definition = definition  # the JSON ruleset, for inspection and docs
        self._host = _SyncHost()
        if definition:
            try:
                ruleset = _Ruleset(self.name, self._host, definition, actions)
            except Exception as exc:
                raise RuleSyntaxError(
                    f"durable_rules refused the compiled rule set {spec.name!r}: {exc}",
                    file=spec.file) from exc
            self._host._ruleset_directory[self.name] = ruleset
            self._host._ruleset_list.append(ruleset)
            self._finalizer = weakref.finalize(self, _release, ruleset._handle)
        else:
            self._finalizer = None
        self._ids = itertools.count()
        self._lock = threading.Lock()

    def _action(self, index: int):
        fired = self._fired
        errors = self._action_errors

        def action(c):
            try:
                fired.append(index)
            except BaseException as exc:  # recorded and re-raised by matches(); never lost
                errors.append(exc)
                raise

        return action

    def close(self) -> None:
        """Free the durable_rules ruleset now."""
        if self._finalizer is not None:
            self._finalizer()

    def matches(self, values: dict) -> list[int]:
        """Indices of the rules whose condition is true for one typed record.

        ``values`` maps input name -> float | str | bool | None (dates already as days).
        """
        if not self.definition:
            return []
        fact = {"id": "", "sid": _SID, _ROW: 1, _ZERO: 0.0}
        for name, value in values.items():
            if value is not None:
                fact[_key(name)] = float(value) if isinstance(value, float) else value
        with self._lock:
            fact["id"] = str(next(self._ids))
            self._fired.clear()
            self._action_errors.clear()
            try:
                self._host.assert_fact(self.name, fact)
            except _durable_engine.MessageNotHandledException:
                pass  # no rule matched: an ordinary outcome here
            except Exception as exc:
                raise DurableEngineError(
                    f"durable_rules failed on a record of rule set {self.spec.name!r}: {exc}") from exc
            if self._action_errors:
                raise DurableEngineError(
                    f"a rule action failed in rule set {self.spec.name!r}") from self._action_errors[0]
            fired = sorted(set(self._fired))
            try:
                self._host.retract_fact(self.name, fact)
            except _durable_engine.MessageNotHandledException:
                pass
            except Exception as exc:
                raise DurableEngineError(
                    f"durable_rules could not retract a record of rule set {self.spec.name!r}: {exc}") from exc
            state = self._host.get_state(self.name, _SID)
            if "exception" in state:
                raise DurableEngineError(
                    f"durable_rules reported an action error in rule set {self.spec.name!r}: {state['exception']}")
        return fired

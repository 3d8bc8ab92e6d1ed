"""Every node kind of the condition language goes through every pass that can meet it.

The compiler (engine/rules/_expr/) and the two engines dispatch on the node kind with
``functools.singledispatch``. Each node kind declares its role (value or condition) and the
phases it appears in (parsed, checked, normal, leaf); from that, each pass has a domain of
kinds it must handle. Three guards keep a new node kind from being forgotten:

* every pass has its own case registered for every kind of its domain (not the fallback);
* a corpus of conditions produces every kind of every phase, so each kind is really built;
* that corpus runs through the whole compiler and both engines, which must agree.
"""

from __future__ import annotations

import datetime as dt
import gc
from dataclasses import dataclass
from types import SimpleNamespace
from typing import ClassVar

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine._errors import RuleSyntaxError, RuleTypeError
from engine.rules import RuleSet, _check, _durable, _vectorized
from engine.rules._expr import _checker, _normal
from engine.rules._expr._compile import compile_condition
from engine.rules._expr._dnf import alternatives
from engine.rules._expr._nodes import Node, kinds
from engine.rules._expr._parser import parse
from engine.rules._expr._printer import to_source
from engine.rules._expr._walk import children, fields_of

AS_OF = dt.date(2024, 6, 30)

#: pass name -> (the singledispatch function, the kinds() arguments of the kinds it must handle)
PASSES = {
    "printer.to_source": (to_source, ()),
    "walk.children": (children, ()),
    "checker.value": (_checker._value, ("parsed",)),
    "checker.cond": (_checker._cond, ("parsed",)),
    "normal.fold": (_normal.fold, ("checked", "value")),
    "normal.nnf": (_normal._nnf, ("checked", "condition")),
    "dnf.alternatives": (alternatives, ("normal", "condition")),
    "walk.fields_of": (fields_of, ("normal",)),
    "vectorized.value": (_vectorized._value, ("normal", "value")),
    "vectorized.known": (_vectorized._known, ("normal", "value")),
    "vectorized.cond": (_vectorized._cond, ("normal", "condition")),
    "durable.value": (_durable._value, ("normal", "value")),
    "durable.guards": (_durable._guards, ("normal", "value")),
    "durable.leaf": (_durable._leaf, ("leaf",)),
    "check.collect_literals": (_check._collect_literals, ("normal", "condition")),
    "check.numbers": (_check._numbers, ("normal", "value")),
}


def _missing(function, domain) -> list[str]:
    """Kinds of ``domain`` that ``function`` handles only by its fallback (or not at all)."""
    return [kind.__name__ for kind in domain if kind not in function.registry]


@pytest.mark.parametrize("name", sorted(PASSES))
def test_every_pass_has_a_case_for_every_kind_of_its_domain(name):
    function, phase_and_role = PASSES[name]
    domain = kinds(*phase_and_role)
    assert domain, f"{name} has an empty domain"
    assert _missing(function, domain) == [], f"{name} has no case for these node kinds"


def _probe_new_node_kind() -> dict:
    """Define a node kind no pass knows, record what the guards say about it, then drop it.

    No ``assert`` here: pytest's rewritten asserts would keep the class alive, and a lingering
    kind would show up in every other test's domains.
    """
    @dataclass(frozen=True)
    class Xor(Node):
        role: ClassVar[str] = "condition"
        phases: ClassVar[frozenset[str]] = frozenset({"checked", "normal"})
        items: tuple

    found = {
        "in normal conditions": Xor in kinds("normal", "condition"),
        "in parsed": Xor in kinds("parsed"),
        "missing from": sorted(
            name for name, (function, phase_and_role) in PASSES.items()
            if "Xor" in _missing(function, kinds(*phase_and_role))
        ),
    }
    del Xor
    gc.collect()
    return found


def test_a_new_node_kind_is_in_the_domains_and_reported_missing():
    found = _probe_new_node_kind()
    assert found["in normal conditions"] and not found["in parsed"]
    # every pass over conditions of the checked or normal form must grow a case for it
    assert found["missing from"] == [
        "check.collect_literals", "dnf.alternatives", "normal.nnf", "printer.to_source",
        "vectorized.cond", "walk.children", "walk.fields_of",
    ]
    assert "Xor" not in [k.__name__ for k in kinds()]


def test_a_node_kind_must_declare_its_role_and_phases():
    with pytest.raises(TypeError, match="must declare role"):
        class Undeclared(Node):  # noqa: F841 - defining it is the test
            pass
    with pytest.raises(TypeError, match="must declare role"):
        class BadPhase(Node):  # noqa: F841
            role: ClassVar[str] = "value"
            phases: ClassVar[frozenset[str]] = frozenset({"optimised"})
    gc.collect()


# --- a corpus that builds every kind of every phase ----------------------------------------
INPUTS = {
    "n": SimpleNamespace(type="number", values=None),
    "i": SimpleNamespace(type="integer", values=None),
    "s": SimpleNamespace(type="string", values=None),
    "e": SimpleNamespace(type="enum", values=("a", "b", "c")),
    "b": SimpleNamespace(type="boolean", values=None),
    "d": SimpleNamespace(type="date", values=None),
}
PARAMETERS = {"limit": 10, "prefix": "ab"}

VALID = [
    "n > limit and not (i between 1 and 3)",
    "s startswith prefix or e matches \"a|b\"",
    "s matches \"[A-Z]+ Ltd\" and not e startswith \"c\"",
    "n is null or s is not null",
    "i not in [] and e not in [\"b\"]",
    "days_since(d) > 30 - n * 2 / i",
    "b",
    "true and 1 < 2",
    "e in [\"a\", \"c\"] and b == false",
    "n + 1 > i or -n >= 2.5",
]
#: parse, then fail the checker: the parsed kinds no valid condition keeps
REFUSED = {
    "n == null": RuleSyntaxError,
    "n + (i > 1) > 0": RuleTypeError,
}


def _kinds_in(tree) -> set[type]:
    seen, stack = set(), [tree]
    while stack:
        node = stack.pop()
        seen.add(type(node))
        stack.extend(children(node))
    return seen


def _phases_of(text: str):
    """(parsed tree, checked tree, normal form) of one condition of the corpus."""
    parsed = parse(text)
    checked = _checker.check(parsed, INPUTS, PARAMETERS)
    enums = {k: tuple(v.values or ()) for k, v in INPUTS.items()}
    return parsed, checked, _normal.normalise(checked, enums)


def test_the_corpus_builds_every_kind_of_every_phase():
    seen: dict[str, set] = {"parsed": set(), "checked": set(), "normal": set(), "leaf": set()}
    for text in VALID:
        parsed, checked, normal = _phases_of(text)
        seen["parsed"] |= _kinds_in(parsed)
        seen["checked"] |= _kinds_in(checked)
        seen["normal"] |= _kinds_in(normal)
        seen["leaf"] |= {type(leaf) for alt in alternatives(normal) for leaf in alt}
    for text, error in REFUSED.items():
        parsed = parse(text)
        seen["parsed"] |= _kinds_in(parsed)
        with pytest.raises(error):
            _checker.check(parsed, INPUTS, PARAMETERS)
    for phase, found in seen.items():
        declared = set(kinds(phase))
        assert found <= declared, f"{phase}: kinds that declare no such phase: {found - declared}"
        assert declared <= found, f"{phase}: the corpus never builds {declared - found}"


@pytest.mark.parametrize("text", VALID)
def test_every_node_of_every_phase_prints_and_the_canonical_text_compiles_alike(text):
    parsed, checked, normal = _phases_of(text)
    for tree in (parsed, checked, normal):
        stack = [tree]
        while stack:
            node = stack.pop()
            assert isinstance(to_source(node), str)
            stack.extend(children(node))
    condition, canonical = compile_condition(text, INPUTS, PARAMETERS)
    assert condition == normal and canonical == to_source(checked)
    assert compile_condition(canonical, INPUTS, PARAMETERS) == (condition, canonical)
    assert {f.name for f in fields_of(normal)} <= set(INPUTS)


def _frame() -> pd.DataFrame:
    return pd.DataFrame({
        "n": [0.0, 12.0, None, 2.5, -3.0, 1e6],
        "i": pd.array([0, 2, 5, None, 1, 4], dtype="Int64"),
        "s": ["ab", "ACME Ltd", None, "abc", "", "x"],
        "e": pd.Categorical(["a", "b", "c", None, "a", "b"], categories=["a", "b", "c"]),
        "b": pd.array([True, False, None, True, False, True], dtype="boolean"),
        "d": pd.to_datetime(["2024-06-01", None, "2023-01-01", "2024-06-30", "2024-05-01", "2020-02-29"]),
    })


@pytest.mark.parametrize("text", VALID)
def test_the_corpus_runs_through_both_engines_alike(text):
    rules = RuleSet.from_text("\n".join([
        "name: walk",
        "version: 1",
        "inputs: {n: number, i: integer, s: string, e: {type: enum, values: [a, b, c]},"
        " b: boolean, d: date}",
        "outputs: {hit: boolean}",
        'parameters: {limit: 10, prefix: "ab"}',
        "hit_policy: first",
        "default: {then: {hit: false}, because: no rule holds}",
        "rules:",
        "  - id: r",
        f"    when: '{text}'",
        "    then: {hit: true}",
        "    because: the condition holds",
    ]))
    frame = _frame()
    vectorized = rules.evaluate(frame, engine="vectorized", as_of=AS_OF)
    durable = rules.evaluate(frame, engine="durable", as_of=AS_OF)
    pd.testing.assert_frame_equal(vectorized, durable)


# --- any generated condition: each tree holds only the kinds its phase declares -------------
_numbers = st.recursive(
    st.sampled_from(["n", "i", "limit", "2", "-1.5", "0", "days_since(d)"]),
    lambda c: st.builds(lambda a, op, b: f"({a} {op} {b})", c, st.sampled_from("+-*/"), c),
    max_leaves=4,
)
#: mostly well-typed; the odd leaves reach the checker's refusals (null, dates, unknown names)
_odd = st.sampled_from(["s", "e", "\"a\"", "b", "true", "null", "d", "nope", "days_since(n)", "f(n)"])
_predicates = st.one_of(
    st.builds(lambda a, op, b: f"{a} {op} {b}", _numbers, st.sampled_from(["==", "!=", "<", ">="]), _numbers),
    st.builds(lambda a, op, b: f"{a} {op} {b}", st.sampled_from(["s", "e", "\"a\""]),
              st.sampled_from(["==", "!="]), st.sampled_from(["s", "\"a\"", "\"c\"", "prefix"])),
    st.builds(lambda a, neg: f"{a} is {neg}null", st.sampled_from(["n", "s", "e", "b", "d", "2"]),
              st.sampled_from(["", "not "])),
    st.builds(lambda a, neg, items: f"{a} {neg}in [{', '.join(items)}]", st.sampled_from(["n", "e", "i + 1"]),
              st.sampled_from(["", "not "]), st.lists(st.sampled_from(["1", "-2", "\"a\"", "\"b\""]), max_size=3)),
    st.builds(lambda a, neg, lo, hi: f"{a} {neg}between {lo} and {hi}", _numbers,
              st.sampled_from(["", "not "]), _numbers, _numbers),
    st.builds(lambda a, op, text: f"{a} {op} {text}", st.sampled_from(["s", "e", "n"]),
              st.sampled_from(["startswith", "matches"]),
              st.sampled_from(["prefix", "\"a.*\"", "\"(a|b)+\"", "\"[a-c]{1,2}\"", "\"a\\\\d\""])),
    st.sampled_from(["b", "true", "false"]),
    st.builds(lambda a, op, b: f"{a} {op} {b}", st.one_of(_odd, _numbers), st.sampled_from(["==", "<"]), _odd),
)
_conditions = st.recursive(
    _predicates,
    lambda c: st.one_of(st.builds(lambda a, b: f"({a} and {b})", c, c),
                        st.builds(lambda a, b: f"({a} or {b})", c, c),
                        st.builds(lambda a: f"not ({a})", c)),
    max_leaves=5,
)


@given(_conditions)
def test_no_pass_falls_through_and_each_phase_holds_only_its_kinds(text):
    try:
        parsed = parse(text)
    except RuleSyntaxError:
        return
    assert _kinds_in(parsed) <= set(kinds("parsed"))
    try:
        checked = _checker.check(parsed, INPUTS, PARAMETERS)
    except (RuleSyntaxError, RuleTypeError):  # a refusal with a reason, never a TypeError
        return
    assert _kinds_in(checked) <= set(kinds("checked"))
    enums = {k: tuple(v.values or ()) for k, v in INPUTS.items()}
    try:
        normal = _normal.normalise(checked, enums)
        leaves = {type(leaf) for alt in alternatives(normal) for leaf in alt}
    except RuleSyntaxError:  # an unsupported pattern, a negated match on a string input
        return
    assert _kinds_in(normal) <= set(kinds("normal"))
    assert leaves <= set(kinds("leaf"))
    assert isinstance(to_source(checked), str) and all(f.name in INPUTS for f in fields_of(normal))


@pytest.mark.parametrize("text", ["(s startswith prefix) + 1 > 0", "-(s matches prefix) < 2"])
def test_a_pattern_test_on_a_parameter_used_as_a_value_is_a_type_error(text):
    # the printer quoted the parameter's name as text and crashed with an AttributeError
    with pytest.raises(RuleTypeError, match=r"expected a value, got a condition \(s (startswith|matches) prefix\)"):
        compile_condition(text, INPUTS, PARAMETERS)

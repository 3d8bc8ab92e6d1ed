"""The old ``backend=`` keyword of ``diff_rulesets`` and ``RuleSet.evaluate``/``decide`` runs the engine it names.

Spies on the two engines' entry points (``evaluate_vectorized``; ``RuleSet._decide_indices``, the
durable path) record which one really decided, so a shim that warns and then drops ``backend=``
fails here. Every call asks for the engine that is NOT the function's default.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pytest

import engine
import engine.rules._vectorized as vectorized_module
from engine.rules import RuleSet, diff_rulesets

RULES = """
name: size
version: "{v}"
inputs: {{revenue: number}}
outputs: {{size: string}}
hit_policy: first
default: {{then: {{size: small}}, because: below the line}}
rules: [{{id: big, when: "revenue >= {t}", then: {{size: big}}, because: "revenue at least {t}"}}]
"""
FRAME = pd.DataFrame({"revenue": [1.0, 70.0, 200.0]})


@pytest.fixture
def engines_used(monkeypatch) -> list[str]:
    """The engine of every rule evaluation while the test runs."""
    used: list[str] = []
    real_vectorized = vectorized_module.evaluate_vectorized
    real_durable = RuleSet._decide_indices

    def vectorized(*args, **kwargs):
        used.append("vectorized")
        return real_vectorized(*args, **kwargs)

    def durable(self, *args, **kwargs):
        used.append("durable")
        return real_durable(self, *args, **kwargs)

    monkeypatch.setattr(vectorized_module, "evaluate_vectorized", vectorized)
    monkeypatch.setattr(RuleSet, "_decide_indices", durable)
    return used


def _ran_with(used: list[str], call: Callable[[], object], asked: str) -> object:
    used.clear()
    with pytest.warns(engine.KamDeprecationWarning, match=rf"\(backend='{asked}'\) is now .*\(engine='{asked}'\)"):
        result = call()
    assert used, "no rule was evaluated"
    assert set(used) == {asked}, f"backend={asked!r} ran {sorted(set(used))}"
    return result


def test_diff_rulesets_backend_runs_the_engine_it_names(engines_used):
    old, new = RuleSet.from_text(RULES.format(v=1, t=100)), RuleSet.from_text(RULES.format(v=2, t=50))
    report = _ran_with(engines_used, lambda: diff_rulesets(old, new, FRAME, by=(), backend="durable"), "durable")
    assert report.changed == 1  # type: ignore[attr-defined]
    assert engines_used.count("durable") == 2 * len(FRAME)  # both versions, every row, one at a time


def test_ruleset_evaluate_backend_runs_the_engine_it_names(engines_used):
    rules = RuleSet.from_text(RULES.format(v=1, t=100))
    got = _ran_with(engines_used, lambda: rules.evaluate(FRAME, backend="durable"), "durable")
    pd.testing.assert_frame_equal(got, rules.evaluate(FRAME, engine="durable"))  # type: ignore[arg-type]


def test_ruleset_decide_backend_runs_the_engine_it_names(engines_used):
    """decide's default is durable (the live path): the old keyword asks for vectorized."""
    rules = RuleSet.from_text(RULES.format(v=1, t=100))
    got = _ran_with(engines_used, lambda: rules.decide({"revenue": 500.0}, backend="vectorized"), "vectorized")
    assert got.outputs == {"size": "big"}  # type: ignore[attr-defined]


@pytest.mark.parametrize("call", [
    lambda r: diff_rulesets(r, r, FRAME, by=(), engine="vectorized", backend="durable"),
    lambda r: r.evaluate(FRAME, engine="vectorized", backend="durable"),
    lambda r: r.decide({"revenue": 5.0}, engine="durable", backend="vectorized"),
], ids=["diff_rulesets", "RuleSet.evaluate", "RuleSet.decide"])
def test_engine_and_backend_that_disagree_are_a_config_error(call, engines_used):
    rules = RuleSet.from_text(RULES.format(v=1, t=100))
    with pytest.warns(engine.KamDeprecationWarning), pytest.raises(engine.ConfigError,
                                                                   match="expected one rule engine; got engine="):
        call(rules)
    assert engines_used == []  # refused before any rule ran

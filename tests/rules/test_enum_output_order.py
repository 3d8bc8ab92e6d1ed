"""Enum outputs are categoricals in the declared order (A, B, C), not first-appearance order."""

from __future__ import annotations

import pandas as pd
import pytest

from engine.rules import RuleSet

RULES = """
name: order
version: 1
hit_policy: first
inputs:
  n: number
outputs:
  tier: {type: enum, values: [A, B, C, D]}
  note: string
default: {then: {tier: B, note: default}, because: no rule matched}
rules:
  - id: low
    when: n < 1
    then: {tier: C, note: low}
    because: low
  - id: high
    when: n > 10
    then: {tier: A, note: high}
    because: high
"""


@pytest.mark.parametrize("backend", ["vectorized", "durable"])
def test_tier_column_is_categorical_in_declared_order(backend):
    """The first rule gives C, so first-appearance order was C, A, B (and D was absent)."""
    result = RuleSet.from_text(RULES).evaluate(pd.DataFrame({"n": [0.0, 20.0, 5.0]}), engine=backend, as_of="2024-01-01")
    assert list(result["tier"].cat.categories) == ["A", "B", "C", "D"]
    assert result["tier"].tolist() == ["C", "A", "B"]
    assert result.sort_values("tier")["tier"].tolist() == ["A", "B", "C"]
    assert list(result["note"].cat.categories) == ["low", "high", "default"]  # strings: rule-table order


def test_shipped_tier_rules_give_a_b_c_order():
    from engine.pipeline._decide import load_default_rules

    tiers = load_default_rules()["tiers"]
    frame = pd.DataFrame({name: pd.Series([None], dtype=object) for name in tiers.inputs})
    frame["status"] = "closed"  # the first rule: tier C
    result = tiers.evaluate(frame, as_of="2024-01-01")
    assert result["tier"].tolist() == ["C"]
    assert list(result["tier"].cat.categories) == ["A", "B", "C"]

"""The shipped rule files load, pass `check_rules` without errors, and say what their thresholds are."""

from __future__ import annotations

import re

import pytest

from engine._paths import default_rules_dir
from engine.rules import check_rules

#: Warnings we accept, with the reason (docs/tiering-and-routing.md, "Checks").
#: routing has no default on purpose: a deal of an existing account whose tier is unknown and
#: that has no owner matches nothing and is reported `unrouted` with the reason instead of guessed.
ACCEPTED_WARNINGS = {("routing.yaml", "gap-null")}


def test_check_rules_finds_no_errors_and_only_the_accepted_warnings():
    findings = check_rules([default_rules_dir()])
    errors = [f for f in findings if f.severity == "error"]
    assert errors == []
    warnings = {(f.file.rsplit("/", 1)[-1], f.code) for f in findings if f.severity == "warning"}
    assert warnings == ACCEPTED_WARNINGS


def test_the_accepted_gap_is_the_unknown_tier_without_owner(shipped_rules):
    (gap,) = [f for f in check_rules([default_rules_dir() / "routing.yaml"]) if f.code == "gap-null"]
    example = gap.counterexample
    assert example["is_prospect"] is False and example["account_tier"] is None and example["has_owner_rep"] is False
    assert shipped_rules["routing"].decide(example, as_of="2026-10-01").status == "unmatched"


def test_the_shipped_rule_sets_are_tiers_and_routing(shipped_rules):
    assert {"tiers", "routing", "plan"} <= set(shipped_rules)  # plan: the weekly call plan (docs/plan.md)
    assert shipped_rules["tiers"].hit_policy == "first"
    assert shipped_rules["routing"].hit_policy == "first"
    assert shipped_rules["tiers"].spec.default_then == {"tier": "C", "management_mode": "bookkeeping", "serving_role": "inside"}
    assert shipped_rules["routing"].spec.default_then is None


def test_inputs_are_real_feature_columns(shipped_rules):
    from engine.features import ACCOUNT_FEATURE_COLUMNS, OPPORTUNITY_FEATURE_COLUMNS
    from engine.pipeline._decide import ROUTING_INPUT_COLUMNS

    assert set(shipped_rules["tiers"].inputs) <= set(ACCOUNT_FEATURE_COLUMNS)
    assert set(shipped_rules["routing"].inputs) <= set(OPPORTUNITY_FEATURE_COLUMNS) | set(ROUTING_INPUT_COLUMNS)


def _millions(value: float) -> str:
    return f"{value / 1_000_000:g} million"


def _because(ruleset, rule_id: str) -> str:
    return next(r.because for r in ruleset.spec.rules if r.id == rule_id)


def test_every_because_states_the_thresholds_in_force(shipped_rules):
    """A `because` is shown with every decision: when a threshold changes, so must the sentence."""
    tiers, routing = shipped_rules["tiers"], shipped_rules["routing"]
    p = tiers.spec.parameters
    expected = {
        "territory_top_20": [f"{p['field_top_n']} biggest", _millions(p["field_min_revenue_12m"])],
        "public_sector_large": [_millions(p["public_sector_min_potential"])],
        "grid_high_value_deep": [_millions(p["high_value_potential"]), f"{p['high_value_employees']} staff",
                                 f"{p['deep_share_of_wallet']:.0%}", f"{p['deep_product_breadth']} or more product lines"],
        "grid_high_value_shallow": [_millions(p["high_value_potential"]), f"{p['high_value_employees']} staff",
                                    f"{p['deep_share_of_wallet']:.0%}", f"fewer than {p['deep_product_breadth']} product lines"],
        "grid_low_value_deep": [f"{p['deep_share_of_wallet']:.0%}", f"{p['deep_product_breadth']} or more product lines"],
    }
    for rule_id, parts in expected.items():
        text = re.sub(r"\s+", " ", _because(tiers, rule_id))
        for part in parts:
            assert part in text, (rule_id, part, text)
    q = routing.spec.parameters
    assert f"{q['large_deal_amount']:,} CNY" in _because(routing, "large_deal")
    assert f"{q['small_deal_amount']:,} CNY" in _because(routing, "small_deal")


@pytest.mark.parametrize("name", ["tiers", "routing"])
def test_every_because_is_a_sentence(shipped_rules, name):
    ruleset = shipped_rules[name]
    texts = [r.because for r in ruleset.spec.rules] + ([ruleset.spec.default_because] if ruleset.spec.default_then else [])
    for text in texts:
        assert text[0].isupper() and text.rstrip().endswith(".") and len(text.split()) >= 8, text
        assert "_" not in text, f"a because should not use column names: {text}"

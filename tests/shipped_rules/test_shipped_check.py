"""The shipped rule files load, pass `check_rules` without errors, and say what their thresholds are."""

from __future__ import annotations

import re

import pytest

from engine._paths import default_rules_dir
from engine.rules import check_rules

#: Warnings the files acknowledge, with the reason (docs/tiering-and-routing.md, "Checks").
#: routing has no default on purpose: a deal of an existing account whose tier is unknown and
#: that has no owner matches nothing and is reported `unrouted` with the reason instead of guessed.
ACKNOWLEDGED_WARNINGS = {("routing.yaml", "gap-null"), ("plan.yaml", "unused-parameter")}


def test_check_rules_is_clean_so_strict_passes():
    """`kam rules check --strict` failed on the shipped rules because of an intended warning."""
    assert check_rules([default_rules_dir()]) == []


def test_the_intended_warning_is_acknowledged_in_the_file_with_its_reason():
    findings = check_rules([default_rules_dir()], acknowledged=True)
    assert {(f.file.rsplit("/", 1)[-1], f.code) for f in findings} == ACKNOWLEDGED_WARNINGS
    assert all(f.severity == "warning" for f in findings)
    reasons = {f.file.rsplit("/", 1)[-1]: f.acknowledged for f in findings}
    assert "unrouted" in reasons["routing.yaml"] and "plan engine" in reasons["plan.yaml"]
    # the plan's capacities and weights are acknowledged one by one, each read by engine/plan
    params = {f.subject for f in findings if f.code == "unused-parameter"}
    assert params == {"field_visits_per_week", "inside_calls_per_week", "partner_calls_per_week", "weight_value_at_risk",
                      "max_cadences_counted", "weight_open_alert", "weight_open_opportunity", "ranking", "obligations",
                      "visit_effect_log_odds", "visit_gap_days_outside", "visit_gap_days_inside", "visit_effect_max_gaps",
                      "uplift_horizon_weeks", "churn_score_days", "visit_effect_in_churn_score"}


def test_the_accepted_gap_is_the_unknown_tier_without_owner(shipped_rules):
    (gap,) = [f for f in check_rules([default_rules_dir() / "routing.yaml"], acknowledged=True) if f.code == "gap-null"]
    example = gap.counterexample
    assert example["is_prospect"] is False and example["account_tier"] is None and example["has_owner_rep"] is False
    assert shipped_rules["routing"].decide(example, as_of="2026-10-01").status == "unmatched"


def test_the_shipped_rule_sets_are_tiers_and_routing(shipped_rules):
    assert set(shipped_rules) == {"tiers", "routing", "alerts", "plan"}  # alerts: docs/alerts.md, plan: docs/plan.md
    assert shipped_rules["tiers"].hit_policy == "first"
    assert shipped_rules["routing"].hit_policy == "first"
    assert shipped_rules["tiers"].spec.default_then == {"tier": "C", "management_mode": "bookkeeping", "serving_role": "inside"}
    assert shipped_rules["routing"].spec.default_then is None


def test_inputs_are_real_feature_columns(shipped_rules):
    from engine.features import ACCOUNT_FEATURE_COLUMNS, OPPORTUNITY_FEATURE_COLUMNS
    from engine.pipeline._decide import ROUTING_INPUT_COLUMNS

    assert set(shipped_rules["tiers"].inputs) <= set(ACCOUNT_FEATURE_COLUMNS)
    assert set(shipped_rules["routing"].inputs) <= set(OPPORTUNITY_FEATURE_COLUMNS) | set(ROUTING_INPUT_COLUMNS)


def _cny(value: float) -> str:
    return f"{value:,} CNY"


def _because(ruleset, rule_id: str) -> str:
    return next(r.because for r in ruleset.spec.rules if r.id == rule_id)


def test_every_because_states_the_thresholds_in_force(shipped_rules):
    """A `because` is shown with every decision: when a threshold changes, so must the sentence."""
    tiers, routing = shipped_rules["tiers"], shipped_rules["routing"]
    p = tiers.spec.parameters
    expected = {
        "territory_top_20": [f"{p['field_top_n']} biggest", _cny(p["field_min_revenue_12m"])],
        "public_sector_large": [_cny(p["public_sector_min_potential"])],
        "grid_high_value_deep": [_cny(p["high_value_potential"]), f"{p['high_value_employees']} staff",
                                 f"{p['deep_share_of_wallet']:.0%}", f"{p['deep_product_breadth']} or more product lines"],
        "grid_high_value_shallow": [_cny(p["high_value_potential"]), f"{p['high_value_employees']} staff",
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


def test_a_threshold_edit_changes_every_sentence_that_states_it(tmp_path):
    """After the tour's own threshold edit every decision stated the old number, and check was silent."""
    from engine.rules import load_rules

    text = (default_rules_dir() / "tiers.yaml").read_text(encoding="utf-8")
    edited = text.replace("field_min_revenue_12m: 2000000", "field_min_revenue_12m: 3500000")
    assert edited != text
    (tmp_path / "tiers.yaml").write_text(edited, encoding="utf-8")
    because = _because(load_rules(tmp_path / "tiers.yaml"), "territory_top_20")
    assert "3,500,000 CNY" in because and "2,000,000" not in because
    assert check_rules([tmp_path / "tiers.yaml"]) == []


def test_a_number_written_out_in_a_because_is_reported(tmp_path):
    text = (default_rules_dir() / "tiers.yaml").read_text(encoding="utf-8")
    edited = text.replace("{field_min_revenue_12m:,} CNY", "2,000,000 CNY")
    (tmp_path / "tiers.yaml").write_text(edited, encoding="utf-8")
    (finding,) = check_rules([tmp_path / "tiers.yaml"])
    assert (finding.code, finding.rule_id, finding.subject) == ("hard-coded-number", "territory_top_20", "2,000,000")
    stale = edited.replace("field_min_revenue_12m: 2000000", "field_min_revenue_12m: 3500000")
    (tmp_path / "tiers.yaml").write_text(stale, encoding="utf-8")
    (finding,) = check_rules([tmp_path / "tiers.yaml"])
    assert (finding.code, finding.subject) == ("stale-number", "2,000,000")

"""The plan's rule file: checked like every rule file, parameters validated at load, weeks parsed."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from engine._errors import ArgumentError, ConfigError, RuleFileError
from engine._paths import default_rules_dir
from engine.plan import holdout_mask, load_plan_rules, parse_week, week_after, week_label
from engine.rules import RuleSet, check_rules

SHIPPED = default_rules_dir() / "plan.yaml"


def test_shipped_plan_rules_pass_the_checker_without_findings():
    assert check_rules([SHIPPED]) == []


def _variant(tmp_path, old: str, new: str):
    text = SHIPPED.read_text("utf-8")
    assert old in text
    path = tmp_path / "plan.yaml"
    path.write_text(text.replace(old, new), "utf-8")
    return path


def test_a_missing_capacity_names_the_file_and_the_parameter(tmp_path):
    path = _variant(tmp_path, "  field_visits_per_week: 12\n", "")
    with pytest.raises(RuleFileError, match="field_visits_per_week") as info:
        load_plan_rules(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("bad", ["-1", "2.5", '"twelve"'])
def test_a_capacity_must_be_a_whole_number(tmp_path, bad):
    path = _variant(tmp_path, "field_visits_per_week: 12", f"field_visits_per_week: {bad}")
    with pytest.raises(RuleFileError, match="field_visits_per_week"):
        load_plan_rules(path)


def test_a_rule_file_without_the_planner_inputs_is_refused(tmp_path):
    path = tmp_path / "plan.yaml"
    path.write_text((default_rules_dir() / "routing.yaml").read_text("utf-8"), "utf-8")
    with pytest.raises(RuleFileError, match="must declare the inputs"):
        load_plan_rules(path)


def test_a_missing_file_is_a_rule_file_error(tmp_path):
    with pytest.raises(RuleFileError, match="does not exist"):
        load_plan_rules(tmp_path / "nope.yaml")


def test_a_changed_cadence_changes_the_because_sentence(tmp_path):
    rules, params = load_plan_rules(_variant(tmp_path, "a_cadence_days: 30", "a_cadence_days: 21"))
    assert params.a_cadence_days == 21
    assert "more than 21 days" in next(r.because for r in rules.spec.rules if r.id == "a_field_due")


CASES = [
    ({"tier": "A", "owner_role": "outside", "has_active_partner": True, "last_contact": "2026-09-01"}, "a_field_due"),
    ({"tier": "A", "owner_role": "outside", "has_active_partner": True, "last_contact": "2026-09-20"}, "field_book"),
    ({"tier": "A", "owner_role": "outside", "has_active_partner": False, "last_contact": None}, "a_field_due"),
    ({"tier": "B", "owner_role": "inside", "has_active_partner": True, "last_contact": "2026-01-01"}, "b_partner_due"),
    ({"tier": "B", "owner_role": "inside", "has_active_partner": False, "last_contact": "2026-01-01"}, "b_inside_due"),
    ({"tier": "C", "owner_role": "inside", "has_active_partner": True, "last_contact": "2026-09-01"}, "inside_book"),
    ({"tier": "C", "owner_role": None, "has_active_partner": True, "last_contact": "2026-09-01"}, "partner_only"),
    ({"tier": "C", "owner_role": None, "has_active_partner": False, "last_contact": None}, "default"),
]


@pytest.mark.parametrize("record, rule_id", CASES)
def test_both_engines_put_an_account_on_the_same_list(record, rule_id):
    rules, _ = load_plan_rules()
    frame = pd.DataFrame([record]).astype({"last_contact": "datetime64[ns]"})
    vectorized = rules.evaluate(frame, as_of="2026-10-05")
    durable = rules.evaluate(frame, engine="durable", as_of="2026-10-05")
    assert vectorized["rule_id"].iloc[0] == durable["rule_id"].iloc[0] == rule_id
    assert vectorized["plan_for"].iloc[0] == durable["plan_for"].iloc[0]


def test_load_plan_rules_accepts_a_loaded_rule_set():
    rules, _ = load_plan_rules()
    again, params = load_plan_rules(RuleSet(rules.spec))
    assert again.hash == rules.hash and params.inside_calls_per_week == 25


def test_weeks():
    assert parse_week("2026-W41") == dt.date(2026, 10, 5)
    assert week_label(dt.date(2026, 10, 5)) == "2026-W41"
    assert week_after(dt.date(2026, 10, 4)) == dt.date(2026, 10, 5)
    assert week_label(parse_week("2020-W53")) == "2020-W53"
    for bad in ("2026-41", "2026-W4", "2026-W54", "W41"):
        with pytest.raises(ConfigError, match="week"):
            parse_week(bad)
    with pytest.raises(ConfigError, match=r"expected a week like 2026-W41 .*got '2026-41'\. Fix: pass"):
        parse_week("2026-41")


@pytest.mark.parametrize("call", [
    lambda: parse_week(2026),
    lambda: week_after("2026-10-01"),
    lambda: week_label(pd.Timestamp("2026-10-05").isoformat()),
    lambda: load_plan_rules(3),
    lambda: holdout_mask(pd.Series(["A1", "A2"]), 1.5, 0),
    lambda: holdout_mask(pd.Series(["A1", "A2"]), "10%", 0),
    lambda: holdout_mask(pd.Series(["A1", "A2"]), 0.1, "seed"),
    lambda: holdout_mask("A1", 0.1, 0),
], ids=["week number", "day as text", "monday as text", "rules path", "share above one", "share as text",
        "seed as text", "one id as text"])
def test_a_wrong_argument_is_an_argument_error_with_expected_got_fix(call):
    with pytest.raises(ArgumentError, match=r"expected .*; got .*Fix: ") as info:
        call()
    assert isinstance(info.value, TypeError) and isinstance(info.value, ValueError)  # old except clauses still work

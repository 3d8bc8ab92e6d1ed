"""The shipped alert policies: every early-warning signal has a kind, both engines agree, and the
signals computed in engine.alerts follow the as-of convention."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine._errors import RuleFileError
from engine.alerts import ACTION_TEXT, evaluate_policies, load_alert_rules
from engine.alerts._signals import complaint_and_competitor_signals

AS_OF = dt.date(2026, 10, 1)
RULES = load_alert_rules()
P = RULES.spec.parameters

QUIET = {
    "status": "active", "tier": "B", "churn_probability": 0.05, "churn_probability_change": 0.0,
    "value_at_risk": 1_000.0, "expected_margin_12m": 1_000_000.0, "coverage_levels": 3,
    "days_since_key_contact_left": None, "oldest_open_complaint_days": None, "days_since_last_visit": 10.0,
    "revenue_change_12m": 0.05, "owner_rep_active": True, "days_since_rep_change": 900.0, "rep_changes_24m": 0,
    "days_since_lost_to_competitor": None,
}
CASES = {
    "churn_risk": {"churn_probability": 0.9, "value_at_risk": 900_000.0},
    "risk_rising": {"churn_probability_change": P["risk_rise"] + 0.01},
    "key_contact_left": {"days_since_key_contact_left": 5.0, "coverage_levels": 1},
    "complaints_unresolved": {"oldest_open_complaint_days": P["complaint_limit_days"] + 1.0},
    "a_account_not_visited": {"tier": "A", "days_since_last_visit": P["a_visit_gap_days"] + 1.0},
    "volume_falling": {"revenue_change_12m": -P["volume_drop_share"] - 0.01},
    "owner_rep_left": {"owner_rep_active": False},
    "lost_to_competitor": {"days_since_lost_to_competitor": 3.0},
}


def _frame(rows):
    return pd.DataFrame([{**QUIET, "account_id": f"A{i:07d}", **row} for i, row in enumerate(rows)])


def test_every_early_warning_signal_of_the_domain_has_a_kind():
    declared = set(RULES.spec.outputs["kind"].values)
    assert declared == set(CASES)
    assert set(RULES.spec.outputs["action"].values) <= set(ACTION_TEXT)


@pytest.mark.parametrize("kind", sorted(CASES))
def test_each_kind_fires_alone_with_its_severity_action_and_because(kind):
    matches = evaluate_policies(_frame([CASES[kind]]), RULES, AS_OF)
    assert matches["kind"].tolist() == [kind]
    row = matches.iloc[0]
    assert row["severity"] in ("low", "medium", "high") and row["action"] in ACTION_TEXT
    assert row["for_runs"] >= 1 and row["cooldown_days"] >= 0 and row["because"]


def test_quiet_and_closed_accounts_raise_nothing_and_high_beats_medium():
    assert evaluate_policies(_frame([{}]), RULES, AS_OF).empty
    closed = {**CASES["owner_rep_left"], **CASES["churn_risk"], "status": "closed"}
    assert evaluate_policies(_frame([closed]), RULES, AS_OF).empty
    both = evaluate_policies(_frame([{"churn_probability": 0.9, "value_at_risk": 10_000_000.0}]), RULES, AS_OF)
    assert both[["kind", "severity"]].values.tolist() == [["churn_risk", "high"]]


def test_because_states_the_thresholds_in_force():
    text = {r.id: r.because for r in RULES.spec.rules}
    assert f"{P['a_visit_gap_days']} days" in text["a-account-not-visited"]
    assert f"{P['high_value_at_risk']:,}" in text["churn-risk-high"]
    assert f"{P['volume_drop_share']:.0%}" in text["volume-falling"]


def test_a_rule_file_without_the_alert_outputs_is_refused(tmp_path):
    bad = tmp_path / "alerts.yaml"
    bad.write_text("name: alerts\nversion: 1\nhit_policy: collect\ninputs: {x: number}\n"
                   "outputs: {kind: {type: enum, values: [a]}}\nrules:\n- {id: r, when: x > 1, then: {kind: a}, because: b}\n")
    with pytest.raises(RuleFileError, match="'severity'"):
        load_alert_rules(tmp_path)
    with pytest.raises(RuleFileError, match="alerts.yaml"):
        load_alert_rules(tmp_path / "missing")


def maybe_null(s):
    return st.one_of(st.none(), s)


numbers = st.floats(-1e7, 1e7, allow_nan=False, allow_infinity=False)
rows = st.fixed_dictionaries({
    "status": st.sampled_from(["active", "dormant", "closed"]),
    "tier": maybe_null(st.sampled_from(["A", "B", "C"])),
    "churn_probability": maybe_null(st.floats(0, 1)),
    "churn_probability_change": maybe_null(st.floats(-1, 1)),
    "value_at_risk": maybe_null(st.sampled_from([0.0, P["min_value_at_risk"], P["high_value_at_risk"], 2e6]) | numbers),
    "expected_margin_12m": maybe_null(st.sampled_from([0.0, P["min_margin_12m"], P["volume_min_margin_12m"], 3e6])),
    "coverage_levels": st.integers(0, 3),
    "days_since_key_contact_left": maybe_null(st.sampled_from([0.0, float(P["key_contact_window_days"]), 400.0])),
    "oldest_open_complaint_days": maybe_null(st.floats(0, 60)),
    "days_since_last_visit": maybe_null(st.sampled_from([1.0, float(P["a_visit_gap_days"]), 999.0])),
    "revenue_change_12m": maybe_null(st.floats(-1, 2)),
    "owner_rep_active": st.booleans(),
    "days_since_rep_change": maybe_null(st.floats(0, 800)),
    "rep_changes_24m": st.integers(0, 3),
    "days_since_lost_to_competitor": maybe_null(st.floats(0, 400)),
})


@settings(max_examples=30)
@given(st.lists(rows, min_size=1, max_size=25))
def test_the_shipped_policies_decide_identically_in_both_engines(records):
    """The differential test of tests/rules, extended to rules/alerts.yaml."""
    frame = pd.DataFrame(records)
    vectorized = RULES.evaluate(frame, as_of=AS_OF)
    durable = RULES.evaluate(frame, engine="durable", as_of=AS_OF)
    pd.testing.assert_frame_equal(vectorized, durable)


def test_open_complaints_and_lost_deals_follow_the_as_of_convention():
    tables = {
        "tickets": pd.DataFrame({
            "account_id": ["A1", "A1", "A2", "A3"], "kind": ["complaint", "complaint", "repair", "complaint"],
            "opened_date": ["2026-09-01", "2026-09-20", "2026-08-01", "2026-10-01"],
            "closed_date": [None, "2026-10-05", None, None],
        }),
        "opportunities": pd.DataFrame({
            "account_id": ["A1", "A1", "A2", None], "outcome": ["lost", "lost", "lost", "lost"],
            "competitor": ["Dell", "HP", None, "Sugon"],
            "closed_date": ["2026-09-10", "2026-09-25", "2026-09-28", "2026-09-29"],
        }),
    }
    got = complaint_and_competitor_signals(tables, AS_OF)
    assert got.loc["A1", "oldest_open_complaint_days"] == 30  # closed after the as-of date: still open then
    assert "A3" not in got.index  # opened on the as-of date: not yet known
    assert got.loc["A1", "days_since_lost_to_competitor"] == 6 and got.loc["A1", "lost_to_competitor"] == "HP"
    assert "A2" not in got.index  # a repair ticket is no complaint; a deal lost with no competitor named


def test_a_folder_named_alerts_yaml_is_a_clear_rule_file_error(tmp_path):
    """A folder where the file should be is refused by name, not an AttributeError later."""
    from engine._paths import default_rules_dir

    folder = tmp_path / "rules" / "alerts.yaml"
    folder.mkdir(parents=True)
    (folder / "alerts.yaml").write_bytes((default_rules_dir() / "alerts.yaml").read_bytes())
    with pytest.raises(RuleFileError, match="expected one rule file; got the folder"):
        load_alert_rules(tmp_path / "rules")

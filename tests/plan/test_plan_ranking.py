"""Ranking by the value a contact saves (kam's churn model uplift) against ranking by value at risk."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine._errors import ArgumentError, DataError, RuleFileError
from engine._paths import default_rules_dir
from engine.plan import (
    PlanParameters,
    churn_if_contacted,
    contact_saving,
    load_plan_rules,
    plan_week,
)
from engine.rules import RuleSet

WEEK = dt.date(2026, 10, 5)
REPS = pd.DataFrame({"rep_id": ["R1"], "role": ["outside"], "active": [True]})
PARTNERS = pd.DataFrame({"partner_id": ["P1"], "active": [True]})


def rules(field: int = 1, ranking: str = "value_saved", obligations: str = "by_value") -> RuleSet:
    text = (default_rules_dir() / "plan.yaml").read_text("utf-8").replace(
        "field_visits_per_week: 12", f"field_visits_per_week: {field}")
    text = re.sub(r"\n  ranking: \w+\n", f"\n  ranking: {ranking}\n", text)
    text = re.sub(r"\n  obligations: \w+\n", f"\n  obligations: {obligations}\n", text)
    return RuleSet.from_text(text)


def book(**columns) -> pd.DataFrame:
    base = {"account_id": ["A1", "A2"], "owner_rep_id": ["R1", "R1"], "owner_partner_id": [None, None],
            "tier": ["C", "C"], "expected_margin_12m": [100_000.0, 100_000.0]}
    frame = pd.DataFrame({**base, **columns})
    return frame.assign(value_at_risk=frame["churn_probability"] * frame["expected_margin_12m"])


def test_an_account_a_contact_saves_more_of_ranks_above_one_with_more_value_at_risk_and_no_uplift():
    # A1: 90% churn whatever is done (lost cause); A2: 30% churn, 10% if visited this week
    accounts = book(churn_probability=[0.9, 0.3], churn_if_contacted=[0.9, 0.1])
    last = pd.Series(pd.to_datetime(["2026-05-01", "2026-05-01"]), index=["A1", "A2"])
    saved = plan_week(accounts, REPS, PARTNERS, week_start=WEEK, last_contact=last, rules=rules())
    planned = saved.planned()
    assert list(planned["account_id"]) == ["A2"]
    line = planned.iloc[0]
    assert line["value_saved"] == pytest.approx(20_000.0) and line["expected_value"] == pytest.approx(20_000.0)
    assert "expected to save 20,000 CNY (churn 30% -> 10% if contacted)" in line["why"]
    assert "A1" not in set(saved.lines["account_id"])  # not due, not planned: no line
    # ranked by value at risk, the lost cause takes the only visit
    at_risk = plan_week(accounts, REPS, PARTNERS, week_start=WEEK, last_contact=last,
                        rules=rules(ranking="value_at_risk"))
    assert list(at_risk.planned()["account_id"]) == ["A1"]
    assert at_risk.counts["ranking"] == "value_at_risk" and saved.counts["ranking"] == "value_saved"


def test_an_obligation_that_saves_less_is_reported_not_planned_and_says_why():
    # A1 is an A account overdue (cadence due) but a visit changes little; A2 is within cadence
    accounts = book(tier=["A", "C"], churn_probability=[0.05, 0.4], churn_if_contacted=[0.04, 0.2])
    last = pd.Series(pd.to_datetime(["2026-08-01", "2026-09-20"]), index=["A1", "A2"])
    result = plan_week(accounts, REPS, PARTNERS, week_start=WEEK, last_contact=last, rules=rules())
    lines = result.lines.set_index("account_id")
    assert lines.loc["A2", "status"] == "planned" and lines.loc["A1", "status"] == "capacity_short"
    assert lines.loc["A1", "why"].startswith(
        "Cadence due but not planned: the capacity of 1 a week went to contacts expected to save more")
    assert result.counts["obligations_due"] == 1 and result.counts["capacity_short"] == 1
    # ranked by value at risk the obligation comes first, as before
    old = plan_week(accounts, REPS, PARTNERS, week_start=WEEK, last_contact=last,
                    rules=rules(ranking="value_at_risk", obligations="first")).lines.set_index("account_id")
    assert old.loc["A1", "status"] == "planned"


def test_without_the_uplift_value_saved_falls_back_to_value_at_risk_and_says_so(caplog):
    accounts = book(churn_probability=[0.9, 0.3])
    with caplog.at_level("WARNING", logger="kam.plan"):
        result = plan_week(accounts, REPS, PARTNERS, week_start=WEEK, rules=rules())
    assert result.counts["ranking"] == "value_at_risk"
    assert "churn_if_contacted" in caplog.text and "ranks by value at risk" in caplog.text
    assert result.lines["value_saved"].isna().all()


def test_bad_ranking_and_bad_probability_are_named():
    with pytest.raises(RuleFileError, match="'ranking' must be one of"):
        load_plan_rules(rules(ranking="value_at_rsk"))
    with pytest.raises(RuleFileError, match="'obligations' must be one of"):
        load_plan_rules(rules(obligations="always"))
    accounts = book(churn_probability=[0.9, 0.3], churn_if_contacted=[0.5, 1.5])
    with pytest.raises(DataError, match=r"row 1 \(account 'A2'\): churn_if_contacted must be a probability"):
        plan_week(accounts, REPS, PARTNERS, week_start=WEEK, rules=rules())


class _Model:
    """A churn model whose risk grows with the days since the last visit."""

    feature_names_in_ = np.array(["days_since_last_visit", "visits_90d"])

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        p = np.clip(frame["days_since_last_visit"].fillna(365).to_numpy() / 365, 0, 1) / (1 + frame["visits_90d"])
        return np.c_[1 - p, p]


def test_churn_if_contacted_asks_the_model_with_the_visit_features_of_a_contact_today():
    features = pd.DataFrame({"account_id": ["A1", "A2"], "days_since_last_visit": [200.0, np.nan],
                             "visits_90d": [0, 2]})
    assert churn_if_contacted(_Model(), features) == pytest.approx([0.0, 0.0])
    assert features["days_since_last_visit"].tolist()[0] == 200.0  # the caller's frame is untouched
    with pytest.raises(DataError, match="visit features"):
        churn_if_contacted(_Model(), features.drop(columns="visits_90d"))
    with pytest.raises(ArgumentError, match="expected model as a fitted churn model .*got dict"):
        churn_if_contacted({"churn": _Model()}, features)
    with pytest.raises(ArgumentError, match="expected features as a pandas DataFrame; got list"):
        churn_if_contacted(_Model(), [[200.0, 0]])


# --- ranking: visit_effect (kam's churn score and the stated effect of a contact) ---------------------


def test_contact_saving_follows_the_stated_effect():
    churn = np.full(5, 0.2)
    # field gap 76 days: visited yesterday, at the gap, two gaps ago, never; and an account without risk
    since = np.array([1.0, 76.0, 152.0, np.nan, 152.0])
    saving = contact_saving(np.r_[churn[:4], 0.0], since, np.full(5, 76.0), effect=1.4, max_gaps=3,
                            horizon_weeks=13, score_days=180, effect_in_score=1.0)
    assert saving[0] < saving[1] < saving[2]          # the longer the gap grows, the more a contact saves
    capped = contact_saving(np.array([0.2]), np.array([400.0]), np.array([76.0]), effect=1.4, max_gaps=3,
                            horizon_weeks=13, score_days=180, effect_in_score=1.0)
    assert saving[3] == pytest.approx(capped[0]) and saving[3] > 0  # never contacted counts at the cap
    assert saving[4] < 1e-5                           # no risk: nothing to save
    assert ((saving >= 0) & (saving <= 1)).all()
    # no stated effect: a contact saves nothing; an inside gap (435 days) is not reached after 100 days
    assert contact_saving(churn, since, np.full(5, 76.0), effect=0.0, max_gaps=3, horizon_weeks=13,
                          score_days=180, effect_in_score=1.0) == pytest.approx(np.zeros(5))
    inside = contact_saving(np.array([0.2]), np.array([100.0]), np.array([435.0]), effect=1.4, max_gaps=3,
                            horizon_weeks=13, score_days=180, effect_in_score=1.0)
    assert inside == pytest.approx([0.0])


@given(churn=st.floats(0.001, 0.9), since=st.floats(0.0, 1_000.0), gap=st.floats(10.0, 500.0),
       share=st.floats(0.0, 1.0))
@settings(max_examples=100, deadline=None)
def test_a_score_read_without_the_gap_effect_is_the_score_raised_by_it(churn, since, gap, share):
    # effect_in_score = share: the score carries that share of today's gap effect. So reading a
    # score with a share s is reading, with the whole effect in it, the score raised by the rest
    # of the effect (1 - s) x effect x today's gaps - the base risk the two readings find is one.
    effect, kwargs = 1.4, dict(max_gaps=3, horizon_weeks=13, score_days=180)
    gaps = min(max(since / gap - 1.0, 0.0), 3.0)
    monthly = 1.0 - (1.0 - churn) ** (30.4375 / 180)
    raised_logit = np.log(monthly / (1.0 - monthly)) + (1.0 - share) * effect * gaps
    raised = 1.0 - (1.0 - 1.0 / (1.0 + np.exp(-raised_logit))) ** (180 / 30.4375)
    read = contact_saving(np.array([churn]), np.array([since]), np.array([gap]), effect=effect,
                          effect_in_score=share, **kwargs)
    whole = contact_saving(np.array([raised]), np.array([since]), np.array([gap]), effect=effect,
                           effect_in_score=1.0, **kwargs)
    if raised < 1.0 - 1e-6:  # contact_saving clips probabilities to [1e-6, 1 - 1e-6]
        assert read[0] == pytest.approx(whole[0], rel=1e-6, abs=1e-12)


def test_a_score_without_the_gap_effect_in_it_values_the_overdue_account_more():
    # one score (10%), a field account visited 200 days ago (1.6 gaps overdue) and one visited
    # yesterday: read as carrying no gap effect (kam's churn model carries about a fifth), the
    # overdue account's base is the score itself, so a visit saves more than when the stated
    # effect of its 1.6 gaps is first taken out; for the account visited yesterday nothing changes
    churn, since, gap = np.array([0.1, 0.1]), np.array([200.0, 1.0]), np.array([76.0, 76.0])
    kwargs = dict(effect=1.4, max_gaps=3, horizon_weeks=13, score_days=180)
    none_in = contact_saving(churn, since, gap, effect_in_score=0.0, **kwargs)
    all_in = contact_saving(churn, since, gap, effect_in_score=1.0, **kwargs)
    assert none_in[0] > 3 * all_in[0] and none_in[1] == pytest.approx(all_in[1])
    shipped = load_plan_rules()[1].visit_effect_in_churn_score
    assert 0.0 < shipped < 1.0 and shipped == PlanParameters.__dataclass_fields__[
        "visit_effect_in_churn_score"].default  # the library's default is the shipped, measured share
    text = (default_rules_dir() / "plan.yaml").read_text("utf-8")
    line = text.split("\n").index(f"  visit_effect_in_churn_score: {shipped:g}") + 1
    for bad, words in (("1.5", "must be a share from 0 to 1; got 1.5. Fix: 0 when"),
                       ("-0.5", "must be a share from 0 to 1; got -0.5. Fix: 0 when"),
                       ('"0.3"', "must be a share from 0 to 1; got '0.3'. Fix: write a number, e.g. "
                                 f"`visit_effect_in_churn_score: {shipped:g}` \\(0 when"),
                       ("true", "must be a share from 0 to 1; got True. Fix:")):
        with pytest.raises(RuleFileError, match=f"plan.yaml:{line}: parameter 'visit_effect_in_churn_score' {words}"):
            load_plan_rules(RuleSet.from_text(text.replace(f"visit_effect_in_churn_score: {shipped:g}",
                                                           f"visit_effect_in_churn_score: {bad}"), file="plan.yaml"))
    without = re.sub(r"\n  visit_effect_in_churn_score: [\d.]+\n", "\n", text)
    with pytest.raises(RuleFileError, match="lacks the parameter 'visit_effect_in_churn_score'.*visit_effect needs it"):
        load_plan_rules(RuleSet.from_text(without))


@given(churn=st.floats(0.0, 1.0), since=st.one_of(st.none(), st.floats(-30.0, 5_000.0)),
       gap=st.floats(1.0, 1_000.0), effect=st.floats(0.0, 5.0), weeks=st.integers(1, 52))
@settings(max_examples=200, deadline=None)
def test_contact_saving_is_a_probability_and_grows_with_the_effect(churn, since, gap, effect, weeks):
    days = np.array([np.nan if since is None else since])
    kwargs = dict(max_gaps=3, horizon_weeks=weeks, score_days=180, effect_in_score=1.0)
    low = contact_saving(np.array([churn]), days, np.array([gap]), effect=effect, **kwargs)
    high = contact_saving(np.array([churn]), days, np.array([gap]), effect=effect + 0.5, **kwargs)
    assert 0.0 <= low[0] <= 1.0 and np.isfinite(low[0])
    # a stronger stated effect never makes an overdue contact worth less (up to rounding) while the
    # contact's restarted gap lasts the horizon; past it both paths saturate towards certain churn
    # and the difference can shrink (found by Hypothesis: churn 0.25, gap 1 day, 5 weeks)
    if since is not None and since >= gap and churn < 0.5 and 7.0 * weeks - 3.5 <= gap:
        assert high[0] >= low[0] - 1e-12


def test_visit_effect_ranks_the_overdue_field_account_above_the_riskier_one_visited_lately():
    # A1: riskier (50%) but visited 30 days ago; A2: 10% and 100 days without a visit (past its gap of 76)
    accounts = book(churn_probability=[0.5, 0.1])
    last = pd.Series(pd.to_datetime(["2026-09-05", "2026-06-27"]), index=["A1", "A2"])
    result = plan_week(accounts, REPS, PARTNERS, week_start=WEEK, last_contact=last,
                       rules=rules(ranking="visit_effect"))
    assert list(result.planned()["account_id"]) == ["A2"] and result.counts["ranking"] == "visit_effect"
    line = result.planned().iloc[0]
    assert line["value_saved"] > 0 and np.isnan(line["churn_if_contacted"])
    assert re.search(r"expected to save [\d,]+ CNY \(the risk of churning within 13 weeks [\d.]+% lower under the "
                     r"stated effect of a contact\)", line["why"])
    # the shipped value-at-risk ranking sends the visit to the riskier account instead
    at_risk = plan_week(accounts, REPS, PARTNERS, week_start=WEEK, last_contact=last,
                        rules=rules(ranking="value_at_risk"))
    assert list(at_risk.planned()["account_id"]) == ["A1"]


def test_visit_effect_uses_the_inside_gap_for_inside_owned_accounts():
    reps = pd.DataFrame({"rep_id": ["R1", "R2"], "role": ["outside", "inside"], "active": [True, True]})
    # the same score and gap of 120 days: past the field gap (76), within the inside gap (435)
    accounts = book(churn_probability=[0.2, 0.2], owner_rep_id=["R1", "R2"])
    last = pd.Series(pd.to_datetime(["2026-06-07", "2026-06-07"]), index=["A1", "A2"])
    lines = plan_week(accounts, reps, PARTNERS, week_start=WEEK, last_contact=last,
                      rules=rules(ranking="visit_effect")).lines.set_index("account_id")
    assert lines.loc["A1", "value_saved"] > 0 and lines.loc["A2", "value_saved"] == pytest.approx(0.0)


def test_visit_effect_parameters_are_required_with_it_and_checked():
    text = (default_rules_dir() / "plan.yaml").read_text("utf-8")
    without = re.sub(r"\n  visit_gap_days_outside: \d+\n", "\n", text)
    with pytest.raises(RuleFileError, match="lacks the parameter 'visit_gap_days_outside'.*visit_effect needs it"):
        load_plan_rules(RuleSet.from_text(without))
    at_risk = re.sub(r"\n  ranking: \w+\n", "\n  ranking: value_at_risk\n", without)
    assert load_plan_rules(RuleSet.from_text(at_risk))[1].ranking == "value_at_risk"  # not needed by the others
    zero = text.replace("visit_gap_days_inside: 435", "visit_gap_days_inside: 0")
    with pytest.raises(RuleFileError, match="'visit_gap_days_inside' must be a number of days > 0"):
        load_plan_rules(RuleSet.from_text(zero))
    weeks = text.replace("uplift_horizon_weeks: 13", "uplift_horizon_weeks: 2.5")
    with pytest.raises(RuleFileError, match="'uplift_horizon_weeks' must be a whole number >= 1"):
        load_plan_rules(RuleSet.from_text(weeks))


@pytest.mark.parametrize("change, words", [
    ({"effect": float("nan")}, "effect as a finite number"),
    ({"effect": float("inf")}, "effect as a finite number"),
    ({"gap_days": np.array([0.0])}, "gap_days > 0"),
    ({"effect_in_score": 1.5}, "effect_in_score from 0 to 1"),
    ({"effect_in_score": float("nan")}, "effect_in_score as a finite number"),
    ({"effect_in_score": -0.5}, "effect_in_score"),
])
def test_contact_saving_refuses_settings_that_would_misorder_the_plan(change, words):
    from engine._errors import ArgumentError
    from engine.plan import contact_saving

    given = {"churn": np.array([0.1]), "days_since_contact": np.array([90.0]), "gap_days": np.array([76.0]),
             "effect": 1.4, "max_gaps": 3, "horizon_weeks": 13, "score_days": 180, "effect_in_score": 0.2, **change}
    with pytest.raises(ArgumentError, match=words):
        contact_saving(**given)


def test_contact_saving_needs_the_share_of_the_effect_in_the_score():
    from engine.plan import contact_saving

    # no default share: 1 reads kam's churn score wrongly (docs/plan.md), so the caller states it
    with pytest.raises(TypeError, match="effect_in_score"):
        contact_saving(np.array([0.1]), np.array([90.0]), np.array([76.0]),  # type: ignore[call-arg]
                       effect=1.4, max_gaps=3, horizon_weeks=13, score_days=180)


def test_a_large_stated_effect_gives_savings_without_overflow():
    from engine.plan import contact_saving

    saving = contact_saving(np.array([0.1, 0.5]), np.array([100.0, np.nan]), np.array([76.0, 76.0]),
                            effect=900.0, max_gaps=3, horizon_weeks=13, score_days=180, effect_in_score=1.0)
    assert np.isfinite(saving).all() and ((saving >= 0) & (saving <= 1)).all()

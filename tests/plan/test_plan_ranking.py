"""Ranking by the value a contact saves (kam's churn model uplift) against ranking by value at risk."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd
import pytest

from engine._errors import DataError, RuleFileError
from engine._paths import default_rules_dir
from engine.plan import churn_if_contacted, load_plan_rules, plan_week
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

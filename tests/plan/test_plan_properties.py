"""Invariants of plan_week on arbitrary small books (Hypothesis), at tight capacities."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine._errors import ConfigError, DataError
from engine._paths import default_rules_dir
from engine.plan import OBLIGATIONS, RANKINGS, holdout_mask, plan_week
from engine.rules import RuleSet

WEEK = dt.date(2026, 10, 5)


def tight_rules(field: int = 2, inside: int = 3, partner: int = 1, ranking: str | None = None,
                obligations: str | None = None) -> RuleSet:
    """The shipped plan rules with small capacities, so that obligations compete for them."""
    text = (default_rules_dir() / "plan.yaml").read_text("utf-8")
    text = (text.replace("field_visits_per_week: 12", f"field_visits_per_week: {field}")
                .replace("inside_calls_per_week: 25", f"inside_calls_per_week: {inside}")
                .replace("partner_calls_per_week: 4", f"partner_calls_per_week: {partner}"))
    if ranking:
        text = re.sub(r"\n  ranking: \w+\n", f"\n  ranking: {ranking}\n", text)
    if obligations:
        text = re.sub(r"\n  obligations: \w+\n", f"\n  obligations: {obligations}\n", text)
    return RuleSet.from_text(text)


#: Every ranking with every way of serving obligations, at the same tight capacities.
VARIANTS = [tight_rules(ranking=r, obligations=o) for r in RANKINGS for o in OBLIGATIONS]


@st.composite
def books(draw):
    n_reps = draw(st.integers(1, 4))
    n_partners = draw(st.integers(1, 3))
    reps = pd.DataFrame({
        "rep_id": [f"R{i}" for i in range(n_reps)],
        "role": draw(st.lists(st.sampled_from(["outside", "inside"]), min_size=n_reps, max_size=n_reps)),
        "active": draw(st.lists(st.booleans(), min_size=n_reps, max_size=n_reps)),
    })
    partners = pd.DataFrame({
        "partner_id": [f"P{i}" for i in range(n_partners)],
        "active": draw(st.lists(st.booleans(), min_size=n_partners, max_size=n_partners)),
    })
    n = draw(st.integers(1, 40))
    money = st.floats(0, 1e6, allow_nan=False)
    accounts = pd.DataFrame({
        "account_id": [f"A{i:03d}" for i in range(n)],
        "owner_rep_id": draw(st.lists(st.sampled_from([*reps["rep_id"], None]), min_size=n, max_size=n)),
        "owner_partner_id": draw(st.lists(st.sampled_from([*partners["partner_id"], None]), min_size=n, max_size=n)),
        "tier": draw(st.lists(st.sampled_from(["A", "B", "C", None]), min_size=n, max_size=n)),
        "churn_probability": draw(st.lists(st.floats(0, 1), min_size=n, max_size=n)),
        "expected_margin_12m": draw(st.lists(money, min_size=n, max_size=n)),
        "value_at_risk": draw(st.lists(money, min_size=n, max_size=n)),
        "status": draw(st.lists(st.sampled_from(["active", "dormant", "closed"]), min_size=n, max_size=n)),
    })
    if draw(st.booleans()):  # kam's churn model's estimate if contacted: ranking by value saved
        accounts["churn_if_contacted"] = [p * f for p, f in zip(
            accounts["churn_probability"], draw(st.lists(st.floats(0, 1), min_size=n, max_size=n)))]
    gaps = draw(st.lists(st.one_of(st.none(), st.integers(0, 400)), min_size=n, max_size=n))
    last = pd.Series([WEEK - dt.timedelta(days=g) if g is not None else None for g in gaps],
                     index=accounts["account_id"], dtype="datetime64[ns]")
    deals = pd.DataFrame({
        "account_id": draw(st.lists(st.sampled_from(list(accounts["account_id"])), max_size=10)),
    })
    deals["expected_deal_value"] = 50_000.0
    share = draw(st.sampled_from([0.0, 0.0, 0.3]))
    return accounts, reps, partners, last, deals, share, draw(st.sampled_from(VARIANTS))


def _plan(book, seed=0):
    accounts, reps, partners, last, deals, share, rules = book
    return plan_week(accounts, reps, partners, week_start=WEEK, last_contact=last, opportunities=deals,
                     rules=rules, holdout_share=share, seed=seed)


@settings(max_examples=40)
@given(books())
def test_capacity_is_never_exceeded_and_ranks_are_one_to_n(book):
    result = _plan(book)
    planned = result.planned()
    capacity = {"outside": 2, "inside": 3, "partner": 1}
    for (role, _person), lines in planned.groupby(["assignee_role", "assignee_id"]):
        assert len(lines) <= capacity[role]
        assert sorted(lines["rank"]) == list(range(1, len(lines) + 1))


@settings(max_examples=40)
@given(books())
def test_no_account_is_on_two_plans_and_every_line_goes_to_an_active_owner(book):
    accounts, reps, partners, *_ = book
    lines = _plan(book).lines
    assert not lines["account_id"].duplicated().any()
    owners = accounts.set_index("account_id")
    active_reps = set(reps.loc[reps["active"], "rep_id"])
    active_partners = set(partners.loc[partners["active"], "partner_id"])
    for _, line in lines[lines["status"] == "planned"].iterrows():
        if line["assignee_type"] == "rep":
            assert line["assignee_id"] == owners.loc[line["account_id"], "owner_rep_id"]
            assert line["assignee_id"] in active_reps
            role = reps.set_index("rep_id").loc[line["assignee_id"], "role"]
            assert line["assignee_role"] == role
        else:
            assert line["assignee_id"] == owners.loc[line["account_id"], "owner_partner_id"]
            assert line["assignee_id"] in active_partners
    assert set(lines["account_id"]).isdisjoint(owners.index[owners["status"] == "closed"])


@settings(max_examples=40)
@given(books())
def test_cadence_obligations_are_met_or_reported_with_the_reason(book):
    result = _plan(book)
    lines = result.lines
    short = lines[lines["status"] == "capacity_short"]
    assert short["cadence_due"].all()
    planned = result.planned()
    ranking = result.parameters.ranking
    by_value_saved = ("churn_if_contacted" in book[0].columns and ranking == "value_saved") or ranking == "visit_effect"
    by_value = result.parameters.obligations == "by_value"
    assert result.counts["ranking"] == (ranking if by_value_saved else "value_at_risk")
    for _, line in short.iterrows():
        assert line["why"].startswith("Cadence due but not planned")
        theirs = planned[planned["assignee_id"] == line["assignee_id"]]
        # the person is full, with contacts that are worth at least as much: obligations when
        # ranked by value at risk, any contact when ranked by the value a contact saves
        assert len(theirs) == result.parameters.capacity({"outside": "field_rep", "inside": "inside_rep",
                                                          "partner": "partner"}[line["assignee_role"]])
        assert by_value or theirs["cadence_due"].all()
        assert (theirs["expected_value"] >= line["expected_value"]).all()
        assert ("expected to save more" in line["why"]) == (by_value and by_value_saved)
    assert result.counts["obligations_due"] == result.counts["obligations_met"] + result.counts["capacity_short"]
    # within a person's list, obligations come first (``obligations: first``) and then the
    # expected value decides
    for _, lines_of in planned.groupby("assignee_id"):
        ordered = lines_of.sort_values("rank")
        key = list(zip(~ordered["cadence_due"] & (not by_value), -ordered["expected_value"]))
        assert key == sorted(key)


@settings(max_examples=40)
@given(books(), st.integers(0, 3))
def test_deterministic_for_a_seed_and_held_out_accounts_are_on_no_plan(book, seed):
    first, second = _plan(book, seed), _plan(book, seed)
    pd.testing.assert_frame_equal(first.lines, second.lines)
    held = first.lines[first.lines["status"] == "holdout"]
    assert held["rank"].eq(0).all() and held["assignee_id"].notna().all()


def test_holdout_is_stable_across_weeks_and_about_the_share():
    ids = pd.Series([f"A{i:06d}" for i in range(20_000)])
    mask = holdout_mask(ids, 0.1, seed=4)
    assert abs(mask.mean() - 0.1) < 0.01
    # the same account is held out whatever else is in the list
    assert (holdout_mask(ids[::3], 0.1, seed=4) == mask[::3]).all()
    assert (holdout_mask(ids, 0.1, seed=5) != mask).any()


def test_holdout_share_out_of_range_is_a_config_error():
    accounts = pd.DataFrame({"account_id": ["A1"], "owner_rep_id": ["R1"], "owner_partner_id": [None], "tier": ["A"],
                             "churn_probability": [0.1], "expected_margin_12m": [1.0], "value_at_risk": [0.1]})
    reps = pd.DataFrame({"rep_id": ["R1"], "role": ["outside"], "active": [True]})
    partners = pd.DataFrame({"partner_id": ["P1"], "active": [True]})
    for bad in (1.0, -0.1, True):
        with pytest.raises(ConfigError, match="holdout share"):
            plan_week(accounts, reps, partners, week_start=WEEK, holdout_share=bad)
    with pytest.raises(DataError, match="more than once"):
        plan_week(pd.concat([accounts, accounts]), reps, partners, week_start=WEEK)
    with pytest.raises(DataError, match="lacks the columns"):
        plan_week(accounts.drop(columns="tier"), reps, partners, week_start=WEEK)
    with pytest.raises(DataError, match="no accounts"):
        plan_week(accounts.iloc[:0], reps, partners, week_start=WEEK)


def test_an_overdue_a_account_of_a_field_rep_is_visited_before_a_richer_account_within_cadence():
    accounts = pd.DataFrame({
        "account_id": ["A1", "A2", "A3"], "owner_rep_id": ["R1"] * 3, "owner_partner_id": [None] * 3,
        "tier": ["A", "C", "C"], "churn_probability": [0.01, 0.9, 0.9],
        "expected_margin_12m": [100_000.0, 1e6, 1e6], "value_at_risk": [1_000.0, 9e5, 9e5],
    })
    reps = pd.DataFrame({"rep_id": ["R1"], "role": ["outside"], "active": [True]})
    partners = pd.DataFrame({"partner_id": ["P1"], "active": [True]})
    last = pd.Series(pd.to_datetime(["2026-08-01", "2026-09-30", "2026-09-20"]), index=["A1", "A2", "A3"])
    result = plan_week(accounts, reps, partners, week_start=WEEK, last_contact=last, rules=tight_rules(field=2))
    planned = result.planned().sort_values("rank")
    assert list(planned["account_id"]) == ["A1", "A3"]  # A1 is due; A3 waited longer than A2
    assert planned["cadence_due"].tolist() == [True, False]
    line = planned.iloc[0]
    assert "last contacted 65 days ago (cadence 30 days): cadence due" in line["why"]
    assert line["action"] == "onsite_visit" and line["recommended_action"].startswith("Visit on site")


def test_alerts_and_deals_raise_the_expected_value_and_show_in_the_line():
    accounts = pd.DataFrame({
        "account_id": ["A1", "A2"], "owner_rep_id": ["R1"] * 2, "owner_partner_id": ["P1"] * 2,
        "tier": ["C", "C"], "churn_probability": [0.2, 0.2],
        "expected_margin_12m": [100_000.0, 100_000.0], "value_at_risk": [20_000.0, 20_000.0],
    })
    reps = pd.DataFrame({"rep_id": ["R1"], "role": ["inside"], "active": [True]})
    partners = pd.DataFrame({"partner_id": ["P1"], "active": [True]})
    alerts = pd.DataFrame({"account_id": ["A2", "A2", "A1"], "state": ["escalated", "resolved", "snoozed"],
                           "recommended_action": ["Call the new decision maker", "x", "y"]})
    deals = pd.DataFrame({"account_id": ["A1"], "expected_deal_value": [30_000.0]})
    last = pd.Series(pd.to_datetime(["2026-09-01", "2026-09-01"]), index=["A1", "A2"])
    lines = plan_week(accounts, reps, partners, week_start=WEEK, last_contact=last, alerts=alerts, opportunities=deals,
                      rules=tight_rules(ranking="value_at_risk")).lines.set_index("account_id")
    assert lines.loc["A2", "open_alerts"] == 1 and lines.loc["A1", "open_alerts"] == 0
    assert "act on the open alert: Call the new decision maker" in lines.loc["A2", "recommended_action"]
    assert "1 open alert" in lines.loc["A2", "why"]
    assert lines.loc["A1", "expected_deal_value"] == 30_000.0
    assert "open deals worth 30,000 CNY expected" in lines.loc["A1", "why"]
    base = 20_000.0 * (34 / 180)
    assert lines.loc["A2", "expected_value"] == pytest.approx(base + 0.1 * 100_000.0)
    assert lines.loc["A1", "expected_value"] == pytest.approx(base + 0.1 * 30_000.0)
    # ranked by the stated visit effect (the shipped ranking), the saving replaces the value at risk
    # and the alert and deal terms count by the share of a cadence since the last contact (34 of 180 days)
    shipped = plan_week(accounts, reps, partners, week_start=WEEK, last_contact=last, alerts=alerts,
                        opportunities=deals).lines.set_index("account_id")
    assert (shipped["ranking"] == "visit_effect").all()
    assert shipped.loc["A2", "expected_value"] == pytest.approx(
        shipped.loc["A2", "value_saved"] + 34 / 180 * 0.1 * 100_000.0)
    assert np.all(lines["status"] == "planned")

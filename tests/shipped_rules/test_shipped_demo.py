"""On a generated demo database the shipped rules decide every account and route every open deal."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from engine.pipeline._decide import (
    ROUTE_COLUMNS,
    TIER_COLUMNS,
    assign_opportunities,
    route_opportunities,
    tier_accounts,
)

AS_OF = dt.date(2026, 10, 1)


def test_every_account_gets_a_tier(small_demo):
    tiers = small_demo.tiers
    assert len(tiers) == len(small_demo.accounts) == 2000
    assert list(tiers.columns) == ["account_id", "owner_rep_id", "owner_partner_id", *TIER_COLUMNS]
    assert tiers.index.equals(small_demo.accounts.index)
    assert tiers["tier_status"].astype(str).isin(["decided", "default"]).all()
    assert tiers["tier"].notna().all() and tiers["tier_because"].notna().all()
    assert tiers["tier_reason"].isna().all()
    assert tiers["tier_ruleset_hash"].nunique() == 1


def test_tier_mix_is_plausible(small_demo):
    """domain.md: A few (field reps own the TOP accounts), B a fifth or so, C the rest."""
    share = small_demo.tiers["tier"].astype(str).value_counts(normalize=True)
    assert 0.03 <= share["A"] <= 0.15
    assert 0.10 <= share["B"] <= 0.30
    assert share["C"] >= 0.55


def test_tier_outputs_go_together(small_demo):
    pairs = small_demo.tiers[["tier", "management_mode", "serving_role"]].astype(str).drop_duplicates()
    assert set(map(tuple, pairs.to_numpy())) <= {
        ("A", "on_site", "outside"), ("B", "fine", "inside_with_partners"), ("C", "bookkeeping", "inside")}


def test_a_accounts_are_mostly_the_field_reps_accounts(small_demo):
    """The demo gives the top 20% by potential of each territory to field reps; A should sit there."""
    reps = small_demo.tables["reps"].set_index("rep_id")["role"].astype(str)
    tiers = small_demo.tiers
    role = tiers["owner_rep_id"].astype(str).map(reps)
    a = tiers["tier"].astype(str) == "A"
    assert (role[a] == "outside").mean() >= 0.6


def test_every_open_opportunity_is_routed(small_demo):
    routes = small_demo.routes
    assert len(routes) == len(small_demo.opportunities) > 50
    assert list(routes.columns) == ["opportunity_id", "account_id", "account_tier", *ROUTE_COLUMNS]
    assert routes["route_status"].astype(str).eq("decided").all()
    assert set(routes["route"].astype(str)) <= {"owner", "outside", "inside", "partner"}
    assert (routes["copy_outside"] == (routes["route"].astype(str) == "partner")).all()
    prospects = small_demo.opportunities["is_prospect"].to_numpy()
    assert (routes["route"].astype(str).to_numpy()[prospects] == "inside").all()
    a_deals = routes["account_tier"].astype(str).to_numpy() == "A"
    assert (routes["route"].astype(str).to_numpy()[a_deals] == "outside").all()


def test_every_route_kind_occurs(small_demo):
    counts = small_demo.routes["route"].astype(str).value_counts()
    for route in ("owner", "outside", "inside", "partner"):
        assert counts.get(route, 0) > 0, counts


def test_assignment_ends_every_record_assigned_or_with_a_reason(small_demo):
    result = assign_opportunities(small_demo.routes, small_demo.tables)
    a = result.assignments
    assert len(a) == len(small_demo.routes)
    assert a["opportunity_id"].astype(str).tolist() == small_demo.routes["opportunity_id"].astype(str).tolist()
    assert a["status"].isin(["assigned", "unassigned"]).all()
    unassigned = a["status"] == "unassigned"
    assert a.loc[unassigned, "status_reason"].notna().all()
    assert not (a["status_reason"] == "no_rule_matched").any()
    assert (a["status"] == "assigned").mean() > 0.9
    # the lock holds: a partner deal goes to the account's owning partner when it is active and licensed
    partner = (a["route"] == "partner") & (a["basis"] == "locked_owner")
    owners = small_demo.tables["customers"].set_index("account_id")["owner_partner_id"].astype(str)
    linked = small_demo.routes.loc[partner, "account_id"].astype(str).map(owners)
    assert (a.loc[partner, "assignee_id"].astype(str) == linked).all()


@pytest.fixture(scope="module")
def sample(small_demo):
    rng = np.random.default_rng(7)
    accounts = small_demo.accounts.iloc[np.sort(rng.choice(len(small_demo.accounts), 300, replace=False))]
    # 300 opportunities: the demo's open deals, resampled, with amounts spread over (and exactly
    # on) the deal-size thresholds and some linked to an account the tier stage does not know
    opportunities = small_demo.opportunities.iloc[rng.integers(0, len(small_demo.opportunities), 300)].reset_index(drop=True)
    amounts = np.exp(rng.uniform(np.log(1_000), np.log(5_000_000), 300))
    amounts[:4] = [49_999.99, 50_000.0, 499_999.99, 500_000.0]
    opportunities["est_amount"] = amounts
    opportunities["opportunity_id"] = [f"S{i:05d}" for i in range(300)]
    unknown = (~opportunities["is_prospect"]).to_numpy() & (np.arange(300) % 25 == 0)
    opportunities.loc[unknown, "account_id"] = "not-a-known-account"
    return accounts, opportunities


def test_vectorized_and_durable_engines_give_identical_tiers(sample, shipped_rules):
    accounts, _ = sample
    fast = tier_accounts(accounts, shipped_rules["tiers"], as_of=AS_OF)
    slow = tier_accounts(accounts, shipped_rules["tiers"], as_of=AS_OF, engine="durable")
    pd.testing.assert_frame_equal(fast, slow)


def test_vectorized_and_durable_engines_give_identical_routes(sample, small_demo, shipped_rules):
    _, opportunities = sample
    fast = route_opportunities(opportunities, small_demo.tiers, shipped_rules["routing"], as_of=AS_OF)
    slow = route_opportunities(opportunities, small_demo.tiers, shipped_rules["routing"], as_of=AS_OF, engine="durable")
    pd.testing.assert_frame_equal(fast, slow)


def test_the_sample_covers_every_routing_rule_and_unrouted(sample, small_demo, shipped_rules):
    _, opportunities = sample
    routes = route_opportunities(opportunities, small_demo.tiers, shipped_rules["routing"], as_of=AS_OF)
    seen = set(routes["route_rule_id"].dropna().astype(str))
    assert {"new_prospect", "a_account_stays_outside", "large_deal", "small_deal", "locked_owner"} <= seen
    assert (routes["route"].astype(str) == "unrouted").any()

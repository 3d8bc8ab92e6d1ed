"""domain.md, case by case, on small hand-made frames, through both engines."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from engine.pipeline._decide import (
    assign_opportunities,
    route_opportunities,
    routing_frame,
    tier_accounts,
)

AS_OF = dt.date(2026, 10, 1)
ENGINES = ["vectorized", "durable"]

#: A small, shallow enterprise account: C by the grid. Each case changes a few fields.
BASE_ACCOUNT = {
    "account_id": "K0", "owner_rep_id": "R1", "owner_partner_id": "P1", "status": "active",
    "strategic": False, "industry": "enterprise", "admin_level": None, "revenue_12m": 100_000.0,
    "revenue_rank_in_territory": 50.0, "it_spend_potential": 1_000_000.0, "employees": 40.0,
    "share_of_wallet": 0.10, "product_breadth_12m": 1,
}

TIER_CASES = {
    # TOP-20 of the territory with enough revenue -> A, field sales
    "top_of_territory": ({"revenue_rank_in_territory": 3.0, "revenue_12m": 6_000_000.0}, "A", "territory_top_20"),
    "rank_20_at_the_floor": ({"revenue_rank_in_territory": 20.0, "revenue_12m": 2_000_000.0}, "A", "territory_top_20"),
    "rank_21_is_not_top_20": ({"revenue_rank_in_territory": 21.0, "revenue_12m": 2_000_000.0}, "C", "grid_low_value_shallow"),
    "top_20_below_the_floor": ({"revenue_rank_in_territory": 2.0, "revenue_12m": 1_999_999.0}, "C", "grid_low_value_shallow"),
    "strategic": ({"strategic": True}, "A", "strategic_account"),
    "closed_even_if_strategic": ({"strategic": True, "status": "closed", "revenue_12m": 0.0}, "C", "closed_account"),
    "provincial_government_large": ({"industry": "government", "admin_level": "provincial",
                                     "it_spend_potential": 5_000_000.0}, "A", "public_sector_large"),
    "central_education_large": ({"industry": "education", "admin_level": "central",
                                 "it_spend_potential": 7_000_000.0}, "A", "public_sector_large"),
    "municipal_government_is_not": ({"industry": "government", "admin_level": "municipal",
                                     "it_spend_potential": 5_000_000.0}, "C", "grid_low_value_shallow"),
    "provincial_finance_is_not": ({"industry": "finance", "admin_level": "provincial",
                                   "it_spend_potential": 5_000_000.0}, "C", "grid_low_value_shallow"),
    # the value-by-depth grid
    "grid_high_deep": ({"it_spend_potential": 10_000_000.0, "share_of_wallet": 0.5, "product_breadth_12m": 3},
                       "A", "grid_high_value_deep"),
    "grid_high_by_head_count_deep": ({"employees": 300.0, "share_of_wallet": 0.3, "product_breadth_12m": 4},
                                     "A", "grid_high_value_deep"),
    "grid_high_shallow_share": ({"it_spend_potential": 10_000_000.0, "share_of_wallet": 0.05, "product_breadth_12m": 4},
                                "B", "grid_high_value_shallow"),
    "grid_high_shallow_breadth": ({"it_spend_potential": 8_000_000.0, "share_of_wallet": 0.6, "product_breadth_12m": 2},
                                  "B", "grid_high_value_shallow"),
    "grid_low_deep": ({"share_of_wallet": 0.45, "product_breadth_12m": 4}, "B", "grid_low_value_deep"),
    "grid_low_shallow": ({"share_of_wallet": 0.29, "product_breadth_12m": 5}, "C", "grid_low_value_shallow"),
    "dormant_large_growth_target": ({"status": "dormant", "revenue_12m": 0.0, "share_of_wallet": 0.0,
                                     "product_breadth_12m": 0, "it_spend_potential": 20_000_000.0},
                                    "B", "grid_high_value_shallow"),
    # unknown size or depth: the default
    "unknown_potential": ({"it_spend_potential": None, "employees": None, "share_of_wallet": None}, "C", "default"),
    "unknown_share_broad_small": ({"share_of_wallet": None, "product_breadth_12m": 4}, "C", "default"),
    "unknown_share_narrow_is_shallow": ({"share_of_wallet": None}, "C", "grid_low_value_shallow"),
    "unknown_share_large_is_still_shallow_by_breadth": ({"it_spend_potential": 9_000_000.0, "share_of_wallet": None,
                                                        "product_breadth_12m": 1}, "B", "grid_high_value_shallow"),
}

MODES = {"A": ("on_site", "outside"), "B": ("fine", "inside_with_partners"), "C": ("bookkeeping", "inside")}


def _accounts(cases: dict) -> pd.DataFrame:
    rows = []
    for i, (changes, _, _) in enumerate(cases.values()):
        rows.append({**BASE_ACCOUNT, "account_id": f"K{i}", **changes})
    frame = pd.DataFrame(rows)
    for column in ("account_id", "owner_rep_id", "owner_partner_id", "status", "industry", "admin_level"):
        frame[column] = frame[column].astype("str")
    for column in ("revenue_12m", "revenue_rank_in_territory", "it_spend_potential", "employees", "share_of_wallet"):
        frame[column] = frame[column].astype("float64")
    frame["product_breadth_12m"] = frame["product_breadth_12m"].astype("int64")
    frame["strategic"] = frame["strategic"].astype(bool)
    return frame


@pytest.mark.parametrize("rule_engine", ENGINES)
def test_tier_cases(shipped_rules, rule_engine):
    frame = _accounts(TIER_CASES)
    result = tier_accounts(frame, shipped_rules["tiers"], as_of=AS_OF, engine=rule_engine)
    for i, (name, (_, tier, rule_id)) in enumerate(TIER_CASES.items()):
        row = result.iloc[i]
        assert (row["tier"], row["tier_rule_id"]) == (tier, rule_id), name
        assert (row["management_mode"], row["serving_role"]) == MODES[tier], name
        assert row["tier_status"] == ("default" if rule_id == "default" else "decided"), name


def test_a_wrong_enum_value_is_an_error_with_its_reason_not_a_guess(shipped_rules):
    frame = _accounts({"x": ({"industry": "retail"}, None, None)})
    row = tier_accounts(frame, shipped_rules["tiers"], as_of=AS_OF).iloc[0]
    assert row["tier_status"] == "error" and pd.isna(row["tier"])
    assert row["tier_reason"].startswith("unknown_enum_value: input 'industry'")


#: (tier of the account or None, is_prospect, has owner rep, est_amount) -> (route, copy, rule)
ROUTE_CASES = {
    "prospect_small": ((None, True, False, 10_000.0), ("inside", False, "new_prospect")),
    "prospect_large": ((None, True, False, 3_000_000.0), ("inside", False, "new_prospect")),
    "a_account_small_deal_stays_outside": (("A", False, True, 10_000.0), ("outside", False, "a_account_stays_outside")),
    "a_account_mid_deal": (("A", False, True, 200_000.0), ("outside", False, "a_account_stays_outside")),
    "b_large_deal": (("B", False, True, 600_000.0), ("outside", False, "large_deal")),
    "c_large_deal_at_threshold": (("C", False, True, 500_000.0), ("outside", False, "large_deal")),
    "c_just_below_large": (("C", False, True, 499_999.0), ("owner", False, "locked_owner")),
    "b_small_deal_to_partner_with_copy": (("B", False, True, 49_999.0), ("partner", True, "small_deal")),
    "c_small_deal_without_owner": (("C", False, False, 1_000.0), ("partner", True, "small_deal")),
    "c_at_small_threshold_is_mid": (("C", False, True, 50_000.0), ("owner", False, "locked_owner")),
    "b_mid_without_owner_goes_inside": (("B", False, False, 100_000.0), ("inside", False, "b_c_inside")),
    "unknown_tier_large_still_outside": ((None, False, False, 900_000.0), ("outside", False, "large_deal")),
    "unknown_tier_mid_with_owner": ((None, False, True, 100_000.0), ("owner", False, "locked_owner")),
    "unknown_tier_mid_no_owner_is_unrouted": ((None, False, False, 100_000.0), ("unrouted", False, None)),
}


def _route_inputs(cases: dict):
    opportunities, tiers = [], []
    for i, ((tier, prospect, owner, amount), _) in enumerate(cases.values()):
        account = None if prospect else f"K{i}"
        opportunities.append({"opportunity_id": f"O{i}", "account_id": account, "is_prospect": prospect,
                              "est_amount": amount, "region": "shandong", "industry": "finance"})
        if not prospect:
            tiers.append({"account_id": account, "tier": tier, "owner_rep_id": "R1" if owner else None,
                          "owner_partner_id": "P1"})
    opportunities = pd.DataFrame(opportunities).astype({"opportunity_id": "str", "account_id": "str",
                                                        "region": "str", "industry": "str"})
    tiers = pd.DataFrame(tiers).astype({"account_id": "str", "owner_rep_id": "str", "owner_partner_id": "str"})
    return opportunities, tiers


@pytest.mark.parametrize("rule_engine", ENGINES)
def test_route_cases(shipped_rules, rule_engine):
    opportunities, tiers = _route_inputs(ROUTE_CASES)
    routes = route_opportunities(opportunities, tiers, shipped_rules["routing"], as_of=AS_OF, engine=rule_engine)
    for i, (name, (_, (route, copy, rule_id))) in enumerate(ROUTE_CASES.items()):
        row = routes.iloc[i]
        assert row["route"] == route, name
        assert bool(row["copy_outside"]) is copy, name
        if rule_id is None:
            assert row["route_status"] == "unmatched" and pd.isna(row["route_rule_id"]), name
            assert row["route_reason"].startswith("no_rule_matched"), name
        else:
            assert (row["route_rule_id"], row["route_status"]) == (rule_id, "decided"), name


def test_blank_owner_is_no_owner():
    opportunities = pd.DataFrame({"opportunity_id": ["O1", "O2", "O3"], "account_id": ["K1", "K2", None],
                                  "is_prospect": [False, False, True], "est_amount": [1.0, 1.0, 1.0]}).astype({"account_id": "str"})
    tiers = pd.DataFrame({"account_id": ["K1", "K2"], "tier": ["B", None], "owner_rep_id": ["  ", "R7"],
                          "owner_partner_id": [None, "P7"]}).astype("str")
    frame = routing_frame(opportunities, tiers)
    assert frame["has_owner_rep"].tolist() == [False, True, False]
    assert frame["has_owner_partner"].tolist() == [False, True, False]
    assert frame["account_tier"].astype(object).tolist()[0] == "B"
    assert pd.isna(frame["account_tier"]).tolist() == [False, True, True]


def test_routing_needs_the_owner_columns(shipped_rules):
    from engine._errors import ColumnMismatchError

    opportunities, tiers = _route_inputs(ROUTE_CASES)
    with pytest.raises(ColumnMismatchError, match="owner_rep_id"):
        route_opportunities(opportunities, tiers.drop(columns=["owner_rep_id"]), shipped_rules["routing"], as_of=AS_OF)


def test_assignment_follows_routes_and_the_lock(shipped_rules):
    reps = pd.DataFrame({"rep_id": ["R1", "R2", "R3"], "role": ["outside", "outside", "inside"],
                         "region": ["shandong"] * 3, "industries": ["finance"] * 3, "capacity": [20, 20, 200],
                         "active": [True, True, True]})
    partners = pd.DataFrame({"partner_id": ["P1", "P2"], "regions": ["shandong", "shandong"],
                             "industries": ["finance", "finance"], "capacity": [50, 50], "active": [True, True]})
    customers = pd.DataFrame({"account_id": ["K1", "K2", "K3"], "region": ["shandong"] * 3,
                              "industry": ["finance"] * 3, "owner_rep_id": ["R1", "R3", "R3"],
                              "owner_partner_id": ["P1", "P1", "P2"]})
    opportunities = pd.DataFrame({
        "opportunity_id": ["O1", "O2", "O3", "O4"], "account_id": ["K1", "K2", "K3", None],
        "region": [None, None, None, "shandong"], "industry": [None, None, None, "finance"],
        "est_amount": [20_000.0, 900_000.0, 20_000.0, 80_000.0]})
    tables = {"reps": reps, "partners": partners, "customers": customers, "opportunities": opportunities}
    routes = pd.DataFrame({"opportunity_id": ["O1", "O2", "O3", "O4"],
                           "route": ["outside", "outside", "partner", "inside"]})
    a = assign_opportunities(routes, tables).assignments.set_index("opportunity_id")
    assert a.loc["O1", "assignee_id"] == "R1" and a.loc["O1", "basis"] == "locked_owner"  # A account: its field owner
    assert a.loc["O2", "assignee_id"] == "R2" and a.loc["O2", "basis"] == "territory_team"  # inside-owned, large: field team
    assert a.loc["O3", "assignee_id"] == "P2" and a.loc["O3", "copied_rep_id"] in ("R1", "R2")  # owning partner, field copied
    assert a.loc["O4", "assignee_id"] == "R3"  # prospect: the inside team of the territory

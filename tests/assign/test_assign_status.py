"""Each status reason, the locked-owner-first rule, partner copies, prospects and input errors."""

from __future__ import annotations

import pandas as pd
import pytest
from assign_factories import by_id, partner, partners_table, rep, reps_table, route, routes_table

from engine._errors import DataError
from engine.assign import STATUS_REASONS, assign, assign_with_report

NO_PARTNERS = partners_table()


def test_unrouted_record_is_unassigned_with_no_rule_matched():
    out = assign(routes_table(route("O1", "unrouted")), reps_table(rep("R1")), NO_PARTNERS)
    row = out.iloc[0]
    assert (row["status"], row["status_reason"], row["assignee_type"]) == ("unassigned", "no_rule_matched", "none")
    assert pd.isna(row["assignee_id"])
    assert "no routing rule matched" in row["status_message"]


def test_no_eligible_person_when_nobody_of_the_role_covers_the_territory():
    reps = reps_table(
        rep("R1", role="outside"),  # wrong role
        rep("R2", region="henan"),  # wrong region
        rep("R3", industries="telecom"),  # wrong industry
        rep("R4", active=False),  # has left
    )
    out = assign(routes_table(route("O1", "inside")), reps, NO_PARTNERS)
    assert out.loc[0, "status"] == "unassigned"
    assert out.loc[0, "status_reason"] == "no_eligible_person"
    assert out.loc[0, "status_message"] == "no active inside rep covers shandong x finance; staff the territory"


def test_no_eligible_person_for_a_prospect_without_territory():
    out = assign(routes_table(route("O1", "inside", region=None)), reps_table(rep("R1")), NO_PARTNERS)
    assert out.loc[0, "status_reason"] == "no_eligible_person"


def test_owner_route_without_an_owner_rep_is_no_eligible_person():
    out = assign(routes_table(route("O1", "owner", account_id="A1")), reps_table(rep("R1")), NO_PARTNERS)
    assert out.loc[0, "status_reason"] == "no_eligible_person"
    assert "no owner rep" in out.loc[0, "status_message"]


def test_all_at_capacity_when_the_team_is_full():
    reps = reps_table(rep("R1", capacity=1), rep("R2", capacity=1))
    routes = routes_table(*(route(f"O{i}", est_amount=100.0 * i) for i in range(1, 4)))
    out = by_id(assign(routes, reps, NO_PARTNERS))
    assert out["status"].tolist().count("assigned") == 2
    # the largest deals take the capacity first; the smallest waits
    assert out.loc["O1", "status_reason"] == "all_at_capacity"
    assert "every active inside rep of shandong x finance is at capacity" in out.loc["O1", "status_message"]


def test_locked_owner_at_capacity_is_held_for_the_owner_not_given_away():
    reps = reps_table(rep("R1", role="outside", capacity=1), rep("R2", role="outside", capacity=50))
    routes = routes_table(
        route("O1", "owner", account_id="A1", owner_rep_id="R1", est_amount=5.0),
        route("O2", "owner", account_id="A1", owner_rep_id="R1", est_amount=9.0),
    )
    out = by_id(assign(routes, reps, NO_PARTNERS))
    assert out.loc["O2", "assignee_id"] == "R1"
    assert out.loc["O1", "status"] == "unassigned"
    assert out.loc["O1", "status_reason"] == "all_at_capacity"
    assert "locked owner R1 is at capacity" in out.loc["O1", "status_message"]


def test_locked_owner_comes_first_even_when_teammates_are_idle():
    reps = reps_table(rep("R1", role="outside", capacity=10), rep("R2", role="outside", capacity=10))
    routes = routes_table(*(route(f"O{i}", "owner", account_id="A1", owner_rep_id="R1") for i in range(6)))
    out = assign(routes, reps, NO_PARTNERS)
    assert set(out["assignee_id"]) == {"R1"}
    assert set(out["basis"]) == {"locked_owner"}


def test_outside_route_for_an_account_owned_by_an_outside_rep_goes_to_the_owner():
    reps = reps_table(rep("R1", role="outside"), rep("R2", role="outside"), rep("R3", role="inside"))
    routes = routes_table(
        route("O1", "outside", account_id="A1", owner_rep_id="R2"),
        route("O2", "inside", account_id="A1", owner_rep_id="R2"),  # owner is not inside: the inside team
    )
    out = by_id(assign(routes, reps, NO_PARTNERS))
    assert (out.loc["O1", "assignee_id"], out.loc["O1", "basis"]) == ("R2", "locked_owner")
    assert (out.loc["O2", "assignee_id"], out.loc["O2", "basis"]) == ("R3", "territory_team")


def test_owner_inactive_falls_back_to_the_team_and_ends_assigned_with_a_note():
    reps = reps_table(rep("R1", role="outside", active=False), rep("R2", role="outside"), rep("R3", role="inside"))
    out = assign(routes_table(route("O1", "owner", account_id="A1", owner_rep_id="R1")), reps, NO_PARTNERS)
    row = out.iloc[0]
    assert (row["status"], row["status_reason"], row["assignee_id"]) == ("assigned", "owner_inactive", "R2")
    assert row["basis"] == "territory_team"
    assert bool(row["owner_inactive"])
    assert "locked owner R1 has left" in row["status_message"]


def test_owner_inactive_without_a_replacement_is_unassigned_and_still_flagged():
    reps = reps_table(rep("R1", role="outside", active=False), rep("R3", role="inside"))
    out = assign(routes_table(route("O1", "owner", account_id="A1", owner_rep_id="R1")), reps, NO_PARTNERS)
    row = out.iloc[0]
    assert (row["status"], row["status_reason"]) == ("unassigned", "no_eligible_person")
    assert bool(row["owner_inactive"])
    assert row["status_message"].startswith("locked owner R1 has left; no active outside rep")


def test_inactive_owning_partner_falls_back_to_a_partner_of_the_territory():
    reps = reps_table(rep("R1", role="outside"))
    partners = partners_table(partner("P1", active=False), partner("P2"))
    out = assign(
        routes_table(route("O1", "partner", account_id="A1", owner_rep_id="R1", owner_partner_id="P1")), reps, partners
    )
    row = out.iloc[0]
    assert (row["assignee_type"], row["assignee_id"], row["copied_rep_id"]) == ("partner", "P2", "R1")
    assert row["status_reason"] == "owner_inactive"


@pytest.mark.parametrize(
    ("rep_region", "partner_regions", "kinds"),
    [
        ("henan", "shandong;henan", {"rep_outside_territory"}),
        ("shandong", "henan", {"partner_outside_territory", "owners_disagree"}),
        ("henan", "shandong", {"rep_outside_territory", "owners_disagree"}),
    ],
)
def test_ownership_conflict_is_held_and_reported(rep_region, partner_regions, kinds):
    reps = reps_table(rep("R1", role="outside", region=rep_region), rep("R2", role="outside"), rep("R3"))
    partners = partners_table(partner("P1", regions=partner_regions), partner("P2"))
    routes = routes_table(
        *(
            route(f"O{k}", r, account_id="A1", owner_rep_id="R1", owner_partner_id="P1")
            for k, r in enumerate(["owner", "outside", "inside", "partner"])
        ),
        route("O9", "unrouted", account_id="A1", owner_rep_id="R1", owner_partner_id="P1"),
    )
    result = assign_with_report(routes, reps, partners)
    out = by_id(result.assignments)
    held = out.loc[["O0", "O1", "O2", "O3"]]
    assert set(held["status"]) == {"unassigned"}
    assert set(held["status_reason"]) == {"ownership_conflict"}
    assert held["conflict"].all()
    assert held["assignee_id"].isna().all()  # never silently handed to either owner or to anyone else
    assert out.loc["O9", "status_reason"] == "no_rule_matched"
    conflicts = result.conflicts
    assert set(conflicts["conflict"]) == kinds
    assert set(conflicts["opportunity_id"]) == {"O0", "O1", "O2", "O3", "O9"}
    assert (conflicts.groupby("opportunity_id").size() == len(kinds)).all()
    assert conflicts["message"].str.contains("held unassigned").all()
    assert set(conflicts["owner_rep_id"]) == {"R1"}
    assert set(conflicts["owner_partner_id"]) == {"P1"}


def test_inactive_owner_is_not_a_conflict():
    reps = reps_table(rep("R1", role="outside", region="henan", active=False), rep("R2", role="outside"))
    result = assign_with_report(
        routes_table(route("O1", "owner", account_id="A1", owner_rep_id="R1")), reps, NO_PARTNERS
    )
    assert result.conflicts.empty
    assert result.assignments.loc[0, "assignee_id"] == "R2"


def test_no_conflicts_gives_an_empty_table_with_the_columns():
    result = assign_with_report(routes_table(route("O1")), reps_table(rep("R1")), NO_PARTNERS)
    assert result.conflicts.empty
    assert "message" in result.conflicts.columns


def test_partner_route_for_a_locked_account_goes_to_the_owning_partner_with_the_owner_rep_copied():
    reps = reps_table(rep("R1", role="outside"), rep("R2", role="outside"))
    partners = partners_table(partner("P1"), partner("P2"))
    out = assign(
        routes_table(route("O1", "partner", account_id="A1", owner_rep_id="R1", owner_partner_id="P1")), reps, partners
    )
    row = out.iloc[0]
    assert (row["assignee_type"], row["assignee_id"], row["copied_rep_id"], row["basis"]) == (
        "partner",
        "P1",
        "R1",
        "locked_owner",
    )
    assert pd.isna(row["status_reason"])


def test_partner_route_copies_a_territory_outside_rep_when_the_owner_is_inside():
    reps = reps_table(rep("R1", role="inside"), rep("R2", role="outside"), rep("R3", role="outside", region="henan"))
    partners = partners_table(partner("P1"))
    out = assign(
        routes_table(route("O1", "partner", account_id="A1", owner_rep_id="R1", owner_partner_id="P1")), reps, partners
    )
    assert out.loc[0, "copied_rep_id"] == "R2"


def test_partner_route_without_an_outside_rep_to_copy_says_so():
    out = assign(routes_table(route("O1", "partner")), reps_table(rep("R1")), partners_table(partner("P1")))
    row = out.iloc[0]
    assert (row["status"], row["assignee_id"]) == ("assigned", "P1")
    assert pd.isna(row["copied_rep_id"])
    assert row["status_message"] == "no active outside rep covers shandong x finance to copy"


def test_prospect_partner_route_picks_a_territory_partner_and_copies_an_outside_rep():
    reps = reps_table(rep("R1", role="outside"))
    partners = partners_table(
        partner("P1", regions="henan"), partner("P2", regions="henan;shandong", industries="telecom;finance")
    )
    out = assign(routes_table(route("O1", "partner")), reps, partners)
    assert (out.loc[0, "assignee_id"], out.loc[0, "copied_rep_id"]) == ("P2", "R1")


def test_prospects_go_to_the_inside_team_of_their_territory():
    reps = reps_table(
        rep("R1", role="inside", region="henan"),
        rep("R2", role="inside", region="shandong", industries="telecom;finance"),
        rep("R3", role="outside", region="shandong"),
        rep("R4", role="inside", region="shandong", industries="education"),
    )
    routes = routes_table(*(route(f"O{i}", "inside") for i in range(5)))
    out = assign(routes, reps, NO_PARTNERS)
    assert set(out["assignee_id"]) == {"R2"}
    assert set(out["assignee_type"]) == {"rep"}


def test_every_reason_code_is_documented():
    assert set(STATUS_REASONS) == {
        "no_rule_matched",
        "no_eligible_person",
        "all_at_capacity",
        "owner_inactive",
        "ownership_conflict",
        "capacity_taken_live",
    }


def test_output_is_aligned_to_the_input_index_with_string_columns():
    routes = routes_table(route("O1"), route("O2", "unrouted"))
    routes.index = pd.Index([10, 3])
    out = assign(routes, reps_table(rep("R1")), NO_PARTNERS)
    assert out.index.tolist() == [10, 3]
    assert out.loc[3, "status_reason"] == "no_rule_matched"
    for column in ["opportunity_id", "assignee_type", "assignee_id", "status", "status_reason", "status_message"]:
        assert out[column].dtype == "str", column
    assert out["owner_inactive"].dtype == bool


@pytest.mark.parametrize(
    "current_load",
    [
        {"R1": 3},
        pd.Series({"R1": 3}),
        pd.DataFrame({"assignee_id": ["R1"], "load": [3]}),
        pd.DataFrame(
            {
                "assignee_type": ["rep"] * 4,
                "assignee_id": ["R1", "R1", "R1", "R1"],
                "status": ["assigned", "assigned", "assigned", "unassigned"],
            }
        ),
    ],
    ids=["mapping", "series", "counts", "open-assignments"],
)
def test_current_load_counts_against_capacity(current_load):
    reps = reps_table(rep("R1", capacity=4), rep("R2", capacity=4))
    routes = routes_table(*(route(f"O{i}") for i in range(6)))
    result = assign_with_report(routes, reps, NO_PARTNERS, current_load=current_load)
    load = result.load.set_index("assignee_id")
    assert load.loc["R1", "load_before"] == 3
    # least loaded first: R2 fills to 3/4 before R1 (at 3/4 already) is asked; then both fill up
    assert result.assignments["assignee_id"].value_counts().to_dict() == {"R2": 4, "R1": 1}
    assert result.assignments["status_reason"].tolist().count("all_at_capacity") == 1
    assert load.loc["R1", "load_after"] == 4


def test_load_table_counts_this_batch():
    reps = reps_table(rep("R1"), rep("R2", role="outside"))
    partners = partners_table(partner("P1"))
    result = assign_with_report(routes_table(route("O1"), route("O2", "partner")), reps, partners)
    load = result.load.set_index("assignee_id")
    assert load["assigned"].to_dict() == {"R1": 1, "R2": 0, "P1": 1}  # a copy takes no capacity
    assert set(result.load["assignee_type"]) == {"rep", "partner"}


def test_missing_column_is_a_data_error_with_a_suggestion():
    routes = routes_table(route("O1")).rename(columns={"owner_rep_id": "owner_repid"})
    with pytest.raises(DataError, match="did you mean 'owner_repid'"):
        assign(routes, reps_table(rep("R1")), NO_PARTNERS)


def test_unknown_route_is_a_data_error():
    with pytest.raises(DataError, match=r"expected one of .*got \['field'\]"):
        assign(routes_table(route("O1", "field")), reps_table(rep("R1")), NO_PARTNERS)


def test_repeated_opportunity_id_is_a_data_error():
    with pytest.raises(DataError, match="expected unique ids"):
        assign(routes_table(route("O1"), route("O1")), reps_table(rep("R1")), NO_PARTNERS)


def test_unknown_owner_is_a_data_error():
    with pytest.raises(DataError, match=r"routes.owner_rep_id: expected ids present in reps.*R9"):
        assign(routes_table(route("O1", "owner", account_id="A1", owner_rep_id="R9")), reps_table(rep("R1")), NO_PARTNERS)


def test_unknown_id_in_current_load_is_a_data_error():
    with pytest.raises(DataError, match="current_load: expected ids of reps or partners"):
        assign(routes_table(route("O1")), reps_table(rep("R1")), NO_PARTNERS, current_load={"R9": 1})


def test_bad_capacity_is_a_data_error():
    reps = reps_table(rep("R1")).astype({"capacity": "float64"})
    reps.loc[0, "capacity"] = 1.5
    with pytest.raises(DataError, match="reps.capacity: expected non-negative integers"):
        assign(routes_table(route("O1")), reps, NO_PARTNERS)

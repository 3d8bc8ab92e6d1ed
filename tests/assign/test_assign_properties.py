"""Hypothesis: for random teams, capacities, owners and routes the assignment keeps its promises.

Nobody exceeds capacity, every record ends assigned or with a reason, conflicts are held and
reported, the locked owner comes first, and the result is deterministic and independent of the
order of the input rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from assign_factories import partner, partners_table, rep, reps_table, route, routes_table
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.assign import ROUTES, STATUS_REASONS, assign_with_report

REGIONS = ["shandong", "henan"]
INDUSTRIES = ["finance", "telecom"]
subsets = st.lists(st.sampled_from(INDUSTRIES), min_size=1, max_size=2, unique=True).map(";".join)
region_sets = st.lists(st.sampled_from(REGIONS), min_size=1, max_size=2, unique=True).map(";".join)


@st.composite
def worlds(draw):
    reps = [
        rep(
            f"R{k}",
            role=draw(st.sampled_from(["outside", "inside"])),
            region=draw(st.sampled_from(REGIONS)),
            industries=draw(subsets),
            capacity=draw(st.integers(0, 4)),
            active=draw(st.booleans() | st.just(True)),
        )
        for k in range(draw(st.integers(0, 6)))
    ]
    partners = [
        partner(
            f"P{k}",
            regions=draw(region_sets),
            industries=draw(subsets),
            capacity=draw(st.integers(0, 4)),
            active=draw(st.booleans() | st.just(True)),
        )
        for k in range(draw(st.integers(0, 4)))
    ]
    rep_ids = [None] + [r["rep_id"] for r in reps]
    partner_ids = [None] + [p["partner_id"] for p in partners]
    routes = []
    for k in range(draw(st.integers(0, 25))):
        prospect = draw(st.booleans())
        routes.append(
            route(
                f"O{k:03d}",
                draw(st.sampled_from(ROUTES)),
                account_id=None if prospect else f"A{draw(st.integers(0, 5))}",
                region=draw(st.sampled_from([*REGIONS, None])) if prospect else draw(st.sampled_from(REGIONS)),
                industry=draw(st.sampled_from(INDUSTRIES)),
                owner_rep_id=None if prospect else draw(st.sampled_from(rep_ids)),
                owner_partner_id=None if prospect else draw(st.sampled_from(partner_ids)),
                est_amount=draw(st.sampled_from([100.0, 200.0, 300.0, float("nan")])),  # ties on purpose
            )
        )
    people = rep_ids[1:] + partner_ids[1:]
    load = {p: draw(st.integers(0, 3)) for p in people if draw(st.booleans())}
    return routes_table(*routes), reps_table(*reps), partners_table(*partners), load


def _canonical(result):
    assignments = result.assignments.sort_values("opportunity_id").reset_index(drop=True)
    conflicts = result.conflicts.sort_values(["opportunity_id", "conflict"]).reset_index(drop=True)
    load = result.load.sort_values(["assignee_type", "assignee_id"]).reset_index(drop=True)
    return assignments, conflicts, load


@settings(max_examples=100)
@given(world=worlds(), seed=st.integers(0, 2**16))
def test_assignment_keeps_its_promises(world, seed):
    routes, reps, partners, current_load = world
    result = assign_with_report(routes, reps, partners, current_load=current_load)
    out, conflicts, load = result.assignments, result.conflicts, result.load
    assert out.index.equals(routes.index)
    assert (out["opportunity_id"] == routes["opportunity_id"]).all()

    # nobody over capacity: whoever got work in this batch ends within capacity
    counts = out["assignee_id"].value_counts()
    load = load.set_index("assignee_id")
    assert (load["assigned"].reindex(counts.index) == counts).all()
    assert (load["load_after"] == load["load_before"] + load["assigned"]).all()
    got_work = load["assigned"] > 0
    assert (load.loc[got_work, "load_after"] <= load.loc[got_work, "capacity"]).all()
    assert load.loc[got_work, "active"].all()

    # every record ends assigned, or unassigned with a reason and a message
    assigned = out["status"] == "assigned"
    assert set(out["status"]) <= {"assigned", "unassigned"}
    assert (assigned == out["assignee_id"].notna()).all()
    assert (assigned == (out["assignee_type"] != "none")).all()
    assert out.loc[~assigned, "status_reason"].isin(list(STATUS_REASONS)).all()
    assert not (out["status_reason"] == "capacity_taken_live").any()  # only a run's commit gives it
    assert out.loc[assigned, "status_reason"].fillna("owner_inactive").eq("owner_inactive").all()
    assert out.loc[out["status_reason"].notna(), "status_message"].notna().all()
    assert ((out["status_reason"] == "no_rule_matched") == (out["route"] == "unrouted")).all()

    # conflicts are reported, and every conflicted routed record is held, never resolved
    routed = out["route"] != "unrouted"
    in_report = out["opportunity_id"].isin(conflicts["opportunity_id"])
    assert ((out["status_reason"] == "ownership_conflict") == (in_report & routed)).all()
    assert out.loc[in_report, "assignee_id"].isna().all()

    # locked owner first: an active owner rep routed 'owner' without conflict is the assignee
    merged = out.join(routes[["owner_rep_id", "owner_partner_id"]])
    owner_route = merged[(merged["route"] == "owner") & merged["basis"].eq("locked_owner")]
    assert (owner_route["assignee_id"] == owner_route["owner_rep_id"]).all()
    partner_locked = merged[(merged["route"] == "partner") & merged["basis"].eq("locked_owner")]
    assert (partner_locked["assignee_id"] == partner_locked["owner_partner_id"]).all()
    assert merged.loc[merged["route"] == "partner", "copied_rep_id"].isin(
        reps.loc[(reps["role"] == "outside") & reps["active"], "rep_id"].tolist() + [np.nan]
    ).all()

    # a team choice is an active member of the routed team
    team = out[out["basis"] == "territory_team"].join(routes[["region", "industry"]])
    people = pd.concat(
        [
            reps.assign(regions=reps["region"], kind="rep").rename(columns={"rep_id": "id"}),
            partners.assign(role="partner", kind="partner").rename(columns={"partner_id": "id"}),
        ]
    ).set_index("id")
    for row in team.itertuples():
        person = people.loc[row.assignee_id]
        assert person["active"]
        assert row.region in person["regions"].split(";")
        assert row.industry in person["industries"].split(";")
        if row.route in ("outside", "inside", "partner"):
            assert person["role"] == row.route

    # deterministic, and invariant to the order of the input rows
    again = assign_with_report(routes, reps, partners, current_load=current_load)
    for left, right in zip(_canonical(result), _canonical(again)):
        pd.testing.assert_frame_equal(left, right)
    rng = np.random.default_rng(seed)
    shuffled = assign_with_report(
        routes.iloc[rng.permutation(len(routes))],
        reps.iloc[rng.permutation(len(reps))],
        partners.iloc[rng.permutation(len(partners))],
        current_load=dict(reversed(list(current_load.items()))),
    )
    for left, right in zip(_canonical(result), _canonical(shuffled)):
        pd.testing.assert_frame_equal(left, right)

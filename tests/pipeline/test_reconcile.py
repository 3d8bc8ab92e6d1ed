"""A run's tables reconciled with the leads routed live while it computed (engine.pipeline._reconcile)."""

from __future__ import annotations

from collections import Counter

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from engine.pipeline._reconcile import CAPACITY_TAKEN_LIVE, reconcile_with_live

PEOPLE = ["R1", "R2", "R3"]


def _text(value):
    return value if isinstance(value, str) else None


@st.composite
def worlds(draw):
    """A run's consistent tables (nobody over capacity) and live decisions made while it computed."""
    capacity = {person: draw(st.integers(0, 3)) for person in PEOPLE}
    free = dict(capacity)
    earlier = Counter()  # live leads the run read at its start, not opportunities: on the run's loads
    for person in PEOPLE:
        earlier[person] = draw(st.integers(0, free[person]))
        free[person] -= earlier[person]
    rows = []
    for number in range(draw(st.integers(0, 10))):
        person = draw(st.sampled_from([*PEOPLE, None]))
        if person is not None and free[person] > 0:
            free[person] -= 1
        else:
            person = None
        rows.append({"opportunity_id": f"O{number}", "est_amount": float(draw(st.sampled_from([1e3, 5e4, 5e4, 9e5]))),
                     "route": "inside", "assignee_type": "rep" if person else "none", "assignee_id": person,
                     "assignment_status": "assigned" if person else "unassigned",
                     "status_reason": None if person else "all_at_capacity", "status_message": None,
                     "copied_rep_id": None, "decided_live": False})
    routes = pd.DataFrame(rows, columns=["opportunity_id", "est_amount", "route", "assignee_type", "assignee_id",
                                         "assignment_status", "status_reason", "status_message", "copied_rep_id",
                                         "decided_live"])
    load = pd.DataFrame({"assignee_type": "rep", "assignee_id": PEOPLE,
                         "capacity": [capacity[p] for p in PEOPLE],
                         "load": [capacity[p] - free[p] for p in PEOPLE], "live_seq": 0})
    open_ids = [row["opportunity_id"] for row in rows]
    live = []
    kinds = st.sampled_from(["open", "closed", "pending"]) if open_ids else st.sampled_from(["closed", "pending"])
    for seq in range(1, draw(st.integers(0, 8)) + 1):
        kind = draw(kinds)
        lead = draw(st.sampled_from(open_ids)) if kind == "open" else f"{'C' if kind == 'closed' else 'L'}{seq}"
        if any(d["lead_id"] == lead for d in live):
            continue
        person = draw(st.sampled_from([*PEOPLE, "GONE", None]))  # GONE: no longer in reps
        live.append({"seq": seq, "lead_id": lead, "route": "inside", "assignee_type": "rep" if person else "none",
                     "assignee_id": person, "status": "assigned" if person else "unassigned",
                     "status_reason": None if person else "all_at_capacity", "status_message": None,
                     "copied_rep_id": None, "load_claimed": 1 if person else 0})
    closed = {d["lead_id"] for d in live if d["lead_id"].startswith("C")}
    return routes, load, pd.DataFrame(live), set(open_ids) | closed, earlier


@given(worlds())
def test_live_decisions_win_loads_add_up_and_only_the_runs_own_claims_give_way(world):
    routes, load, live, opportunity_ids, earlier = world
    newest = int(live["seq"].max()) if len(live) else 0
    done = reconcile_with_live(routes, load, live, opportunity_ids=opportunity_ids, live_seq=newest)
    out = done.opportunity_routes.set_index("opportunity_id")
    before = routes.set_index("opportunity_id")
    loads = done.assignment_load.set_index("assignee_id")
    assert (done.assignment_load["live_seq"] == newest).all()
    # every open opportunity decided live keeps that decision: one person, never two
    for decision in live.to_dict("records"):
        if decision["lead_id"] in out.index:
            row = out.loc[decision["lead_id"]]
            assert bool(row["decided_live"]) and row["assignment_status"] == decision["status"]
            assert _text(row["assignee_id"]) == _text(decision["assignee_id"])
    # each person's load is what the tables say they carry
    assigned = out[out["assignment_status"] == "assigned"]
    carried = Counter(assigned["assignee_id"]) + earlier
    carried += Counter(d["assignee_id"] for d in live.to_dict("records")
                       if d["load_claimed"] and d["lead_id"] not in opportunity_ids)
    assert {p: int(loads.loc[p, "load"]) for p in PEOPLE} == {p: carried.get(p, 0) for p in PEOPLE}
    # only the run's own claims gave way, only as far as needed, the smallest deals first
    given = out[out["status_reason"] == CAPACITY_TAKEN_LIVE]
    assert set(given.index) == set(done.given_back)
    assert (given["assignment_status"] == "unassigned").all() and (given["assignee_type"] == "none").all()
    for person in PEOPLE:
        mine = before[(before["assignee_id"] == person) & ~before.index.isin(live["lead_id"] if len(live) else [])]
        kept = mine.index.difference(given.index)
        gave = mine.index.intersection(given.index)
        over = int(loads.loc[person, "load"]) > int(loads.loc[person, "capacity"])
        assert not (over and len(kept)), f"{person} over capacity while keeping the run's claims {list(kept)}"
        if len(gave):  # nothing given back that the capacity had room for ...
            assert int(loads.loc[person, "load"]) == int(loads.loc[person, "capacity"]) or len(kept) == 0
            # ... and the ones that gave way come after every kept one in the run's order
            order = lambda i: (-before.loc[i, "est_amount"], i)  # noqa: E731
            assert max(order(i) for i in kept) < min(order(i) for i in gave) if len(kept) else True


def test_nothing_changes_without_live_decisions():
    routes = pd.DataFrame({"opportunity_id": ["O1"], "est_amount": [1.0], "assignee_type": ["rep"],
                           "assignee_id": ["R1"], "assignment_status": ["assigned"], "status_reason": [None],
                           "status_message": [None], "copied_rep_id": [None], "decided_live": [False]})
    load = pd.DataFrame({"assignee_type": ["rep"], "assignee_id": ["R1"], "capacity": [1], "load": [1],
                         "live_seq": [3]})
    done = reconcile_with_live(routes, load, pd.DataFrame(), opportunity_ids={"O1"}, live_seq=3)
    pd.testing.assert_frame_equal(done.opportunity_routes, routes)
    pd.testing.assert_frame_equal(done.assignment_load, load)


def test_the_reason_code_is_in_the_one_list_of_status_reasons():
    from engine.assign import STATUS_REASONS
    from engine.pipeline._reconcile import CAPACITY_TAKEN_LIVE

    assert CAPACITY_TAKEN_LIVE in STATUS_REASONS

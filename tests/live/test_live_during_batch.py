"""Leads routed live while ``kam score`` computes: the run's commit takes them in under the live lock.

The interleaving is made deterministic by wrapping :meth:`Database.write_run` (the run's commit):
the live leads are routed after the run has decided everything and before it commits, exactly
the window in which a live router and a nightly run overlap.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter

import pandas as pd
from live_factories import AS_OF, lead_of, narrow_team, prospect

from engine.live import LiveRouter
from engine.pipeline import score
from engine.pipeline._reconcile import CAPACITY_TAKEN_LIVE
from engine.storage import Database, LiveStore

_SQLITE_PROBE = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1], timeout=0, isolation_level=None)
try:
    connection.execute("BEGIN IMMEDIATE")
except sqlite3.OperationalError as error:
    print("held:", error)
else:
    connection.execute("ROLLBACK")
    print("free")
"""


def _live_lock_is_free(db: Database) -> bool:
    """Try the live lock from another connection without waiting (another process on SQLite:
    POSIX locks do not conflict within one process)."""
    if db.dialect == "sqlite":
        done = subprocess.run([sys.executable, "-c", _SQLITE_PROBE, str(db.url.database)], capture_output=True,
                              text=True, timeout=120, start_new_session=True)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip() == "free"
    import psycopg

    url = db.url.render_as_string(hide_password=False).replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as connection:
        try:
            connection.execute('SELECT "id" FROM "live_meta" WHERE "id" = 1 FOR UPDATE NOWAIT')
        except psycopg.errors.LockNotAvailable:
            return False
        connection.rollback()
        return True


def test_leads_routed_live_while_a_run_computes_are_taken_in_at_its_commit(
        live_db, live_tables, live_models, monkeypatch):
    tables, region, industry, free = narrow_team(live_tables)
    live_db.write_source_tables({"reps": tables["reps"]})
    opportunities = live_tables["opportunities"].set_index("opportunity_id", drop=False)
    real_write_run = Database.write_run
    seen: dict = {}

    with LiveRouter(live_db, as_of=AS_OF, artifacts_dir=live_models) as router:  # no run yet: loads start at 0
        def route_live_then_commit(self, run_id, tables, *, keep_runs=None, before_write=None):
            # the run has decided everything (its tables are here); its commit comes next
            routes = tables["opportunity_routes"]
            assigned = routes[routes["assignment_status"] == "assigned"]
            in_team = (assigned["region"] == region) & (assigned["industry"] == industry) & (assigned["route"] == "inside")
            assert in_team.any(), "the run must claim slots in the team for this test to mean anything"
            seen["run_assignee"] = dict(zip(assigned["opportunity_id"], assigned["assignee_id"]))
            # one of the run's open opportunities (elsewhere) arrives live under its own id, then
            # new prospects fill the team: each sees the loads before the run (none)
            own = router.route(lead_of(opportunities.loc[assigned.loc[~in_team, "opportunity_id"].iloc[0]].to_dict()))
            flood = [router.route(prospect(f"DURING-{i}", region, industry)) for i in range(free + 2)]
            seen["own"], seen["flood"] = own, flood
            seen["free_before_commit"] = _live_lock_is_free(self)

            def probed(session):
                written = before_write(session)
                seen["free_during_commit"] = _live_lock_is_free(self)
                return written

            hook = {"before_write": probed} if before_write is not None else {}
            return real_write_run(self, run_id, tables, keep_runs=keep_runs, **hook)

        monkeypatch.setattr(Database, "write_run", route_live_then_commit)
        result = score(live_db, as_of=AS_OF, artifacts_dir=live_models, run_id="during")
        monkeypatch.undo()

    own, flood = seen["own"], seen["flood"]
    assert own.status == "assigned" and own.load_claimed == 1
    team_people = {d.assignee_id for d in flood if d.assignee_id}
    # the live path filled the team (the opportunity's person may be a member serving another industry too)
    assert sum(d.load_claimed for d in flood) + (own.assignee_id in team_people) == free

    routes = live_db.read_results("opportunity_routes", "during").set_index("opportunity_id")
    load = live_db.read_results("assignment_load", "during").set_index(["assignee_type", "assignee_id"])
    newest = max(d.seq for d in [own, *flood])
    # the lead decided live keeps its live decision: one person, in both tables
    row = routes.loc[own.lead_id]
    assert bool(row["decided_live"]) and row["assignee_id"] == own.assignee_id
    assert row["assignment_status"] == "assigned" and row["route"] == own.route
    # nobody over capacity; the load is what the tables say each person carries
    assert (load["load"] <= load["capacity"]).all(), load[load["load"] > load["capacity"]]
    carried = Counter(zip(routes.loc[routes["assignment_status"] == "assigned", "assignee_type"],
                          routes.loc[routes["assignment_status"] == "assigned", "assignee_id"]))
    for decision in flood:  # prospects: not opportunities of the run, their claims count on top
        if decision.load_claimed:
            carried[(decision.assignee_type, decision.assignee_id)] += 1
    assert {k: v for k, v in load["load"].items() if v} == dict(carried)
    assert all(load.loc[("rep", person), "load"] == load.loc[("rep", person), "capacity"] for person in team_people)
    # the run's own claims on the full team gave way, each saying why
    given_back = routes[routes["status_reason"] == CAPACITY_TAKEN_LIVE]
    assert len(given_back) >= 1
    assert {seen["run_assignee"][i] for i in given_back.index} <= team_people  # the run's claims on them
    assert (given_back["assignment_status"] == "unassigned").all() and (given_back["assignee_type"] == "none").all()
    assert given_back["assignee_id"].isna().all()
    assert all("reached capacity" in m and "routed live while this run was computing" in m
               for m in given_back["status_message"])
    assert set(load["live_seq"]) == {newest}
    runs = live_db.list_runs().set_index("run_id")
    assert int(runs.loc["during", "live_seq"]) == newest
    assert int(runs.loc["during", "assigned"]) == int((routes["assignment_status"] == "assigned").sum())
    # the returned result is what was written
    returned = result.opportunity_routes.set_index("opportunity_id")
    assert returned.loc[routes.index, "assignment_status"].tolist() == routes["assignment_status"].tolist()
    assert result.run["live_seq"] == newest
    # and the live path counts from the run from now on: same loads, nobody over capacity
    store = LiveStore(live_db)
    store.sync()
    assert store.loads() == {k: int(v) for k, v in load["load"].items() if v}
    # the live decisions were re-read under the live lock, which was free just before the commit
    assert seen["free_before_commit"] is True and seen.get("free_during_commit") is False


def test_the_live_load_is_counted_once_after_a_run_without_assignment_load_rows(tmp_path):
    """A run that wrote no assignment_load rows (nobody to load, or a run before the table):
    the seed counted the live leads the run kept twice, once as the run's assignments (regression)."""
    db = Database(tmp_path / "seed.sqlite")
    store = LiveStore(db)
    store.ensure_tables()

    def decide(lead_id: str, person: str) -> None:
        row = {"lead_id": lead_id, "status": "assigned", "assignee_type": "rep", "assignee_id": person,
               "load_claimed": 1}
        store.decide(lead_id, base_run_key=store.latest_run()[2], choose=lambda load_of: row,
                     capacity_of=lambda kind, who: 5)

    decide("O1", "R1")  # an open opportunity, routed live; the run keeps that decision
    decide("L2", "R1")  # a lead not loaded yet when the run read the data
    routes = pd.DataFrame({"opportunity_id": ["O1", "O2", "O3"], "assignee_type": ["rep", "rep", "none"],
                           "assignee_id": ["R1", "R2", None], "assignment_status": ["assigned", "assigned", "unassigned"],
                           "decided_live": [True, False, False]})
    no_rows = pd.DataFrame({"assignee_type": pd.Series([], dtype=object), "assignee_id": pd.Series([], dtype=object),
                            "capacity": pd.Series([], dtype="int64"), "load": pd.Series([], dtype="int64"),
                            "live_seq": pd.Series([], dtype="int64")})
    db.write_run("r1", {"runs": pd.DataFrame([{"as_of": "2026-10-01", "started_at": "2026-10-01T01:00:00"}]),
                        "opportunity_routes": routes, "assignment_load": no_rows})
    decide("L3", "R2")  # after the run
    assert store.sync() is not None
    # R1: O1 and L2 (live, once each); R2: the run's own O2, and L3
    assert store.loads() == {("rep", "R1"): 2, ("rep", "R2"): 2}
    db.dispose()

"""Many leads routed at once into a team with few free slots: capacity holds, no lead is decided twice.

On SQLite and PostgreSQL, from threads sharing one router and from separate processes with a
router each (what several service workers are).
"""

from __future__ import annotations

import multiprocessing
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from live_factories import AS_OF, narrow_team, prospect, route_in_process

from engine.live import LiveRouter
from engine.storage import LiveStore


def _check(db, decisions, leads, free, region, industry):
    store = LiveStore(db)
    recorded = store.assignments()
    # every lead once, and every answer for a lead is its one recorded decision
    assert sorted(recorded["lead_id"]) == sorted({lead["opportunity_id"] for lead in leads})
    by_lead = recorded.set_index("lead_id")
    for decision in decisions:
        assert decision["seq"] == by_lead.loc[decision["lead_id"], "seq"]
        stored = by_lead.loc[decision["lead_id"], "assignee_id"]
        assert decision["assignee_id"] == (stored if isinstance(stored, str) else None)
    assigned = recorded[recorded["status"] == "assigned"]
    # the team's slots are all taken, never more
    assert len(assigned) == free
    assert set(recorded.loc[recorded["status"] != "assigned", "status_reason"]) == {"all_at_capacity"}
    per_person = Counter(assigned["assignee_id"])
    assert all(count == 2 for count in per_person.values()), per_person  # capacity 2 each, all full
    assert store.loads() == {("rep", person): 2 for person in per_person}
    assert sorted(pd_unique(recorded["seq"])) == list(range(1, len(recorded) + 1))


def pd_unique(values):
    return list(dict.fromkeys(int(v) for v in values))


def test_threads_never_take_a_slot_twice(live_db, live_tables, live_models):
    tables, region, industry, free = narrow_team(live_tables)
    live_db.write_source_tables({"reps": tables["reps"]})
    leads = [prospect(f"T{i:03d}", region, industry) for i in range(free + 8)]
    submitted = leads + leads[:5]  # five leads arrive twice, at the same time as the others
    with LiveRouter(live_db, as_of=AS_OF, artifacts_dir=live_models) as router:
        with ThreadPoolExecutor(max_workers=8) as pool:
            decisions = [d.as_dict() for d in pool.map(router.route, submitted)]
    _check(live_db, decisions, leads, free, region, industry)
    replayed = [d for d in decisions if d["replayed"]]
    assert len(replayed) == 5


def test_processes_never_take_a_slot_twice(live_db, live_tables, live_models):
    tables, region, industry, free = narrow_team(live_tables)
    live_db.write_source_tables({"reps": tables["reps"]})
    leads = [prospect(f"P{i:03d}", region, industry) for i in range(free + 6)]
    context = multiprocessing.get_context("spawn")
    start, out = context.Barrier(2), context.Queue()
    url = live_db.url.render_as_string(hide_password=False)
    halves = [leads[0::2] + leads[:2], leads[1::2] + leads[:2]]  # the first two leads go to both processes
    workers = [context.Process(target=route_in_process, args=(url, str(live_models), half, start, out))
               for half in halves]
    for worker in workers:
        worker.start()
    results = [out.get(timeout=300) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    for result in results:
        if isinstance(result, str):
            pytest.fail(f"a routing process failed: {result}")
    decisions = [d for result in results for d in result]
    _check(live_db, decisions, leads, free, region, industry)

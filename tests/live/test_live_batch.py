"""The next batch run keeps live decisions (route, person) and counts their load; live counts on top of it."""

from __future__ import annotations

import pandas as pd
from live_factories import AS_OF, lead_of, prospect

from engine.live import LiveRouter
from engine.pipeline import score
from engine.storage import LiveStore


def test_next_batch_keeps_live_decisions_and_their_load(live_db, live_tables, live_models):
    first = score(live_db, as_of=AS_OF, artifacts_dir=live_models, run_id="first")
    open_ids = first.opportunity_routes["opportunity_id"].tolist()
    opportunities = live_tables["opportunities"].set_index("opportunity_id", drop=False)
    customers = live_tables["customers"]
    with LiveRouter(live_db, artifacts_dir=live_models) as router:
        assert router.base_run_id == "first"
        existing = [router.route(lead_of(opportunities.loc[i].to_dict())) for i in open_ids[:3]]
        account = customers.iloc[7]
        new_leads = [
            prospect("NEW-1", "shandong", "finance"),
            prospect("NEW-2", "henan", "energy", amount=800_000.0),
            {**prospect("NEW-3"), "account_id": str(account["account_id"]),
             "created_date": "2026-09-30"},
            {**prospect("NEW-4"), "account_id": str(customers.iloc[11]["account_id"])},
        ]
        for lead in new_leads[2:]:
            for name in ("prospect_name", "region", "industry"):
                lead.pop(name)
        fresh = [router.route(lead) for lead in new_leads]
    live = {d.lead_id: d for d in existing + fresh}

    # the nightly load brings NEW-1 and NEW-3 into the opportunities table; NEW-2 and NEW-4 not yet
    loaded = pd.DataFrame([{**new_leads[0], "created_date": "2026-09-30"}, new_leads[2]])
    loaded = loaded.assign(account_id=loaded.get("account_id"), closed_date=None, outcome="open", competitor=None)
    table = pd.concat([live_tables["opportunities"], loaded[live_tables["opportunities"].columns]], ignore_index=True)
    live_db.write_source_tables({"opportunities": table})

    second = score(live_db, as_of=AS_OF, artifacts_dir=live_models, run_id="second")
    routes = second.opportunity_routes.set_index("opportunity_id")
    kept = routes[routes["decided_live"].astype(bool)]
    assert set(kept.index) == {*open_ids[:3], "NEW-1", "NEW-3"}
    for lead_id, row in kept.iterrows():
        decision = live[lead_id]
        assert row["route"] == decision.route and row["route_rule_id"] == decision.route_rule_id
        assert row["assignment_status"] == decision.status
        assert (row["assignee_id"] if isinstance(row["assignee_id"], str) else None) == decision.assignee_id
    # the run's load: its own assignments, the kept live ones, and the live leads not loaded yet
    load = live_db.read_results("assignment_load", "second").set_index(["assignee_type", "assignee_id"])
    counted = routes[routes["assignment_status"] == "assigned"].groupby(["assignee_type", "assignee_id"]).size()
    pending = [live[i] for i in ("NEW-2", "NEW-4") if live[i].load_claimed]
    for decision in pending:
        key = (decision.assignee_type, decision.assignee_id)
        counted[key] = counted.get(key, 0) + 1
    assert load["load"][load["load"] > 0].sort_index().to_dict() == counted.sort_index().to_dict()
    assert (load["load"] <= load["capacity"]).all()
    assert set(load["live_seq"]) == {max(d.seq for d in live.values())}

    # live counts on top of the second run, and a lead routed again keeps its decision
    with LiveRouter(live_db, artifacts_dir=live_models) as router:
        assert router.base_run_id == "second"
        assert LiveStore(live_db).loads() == {k: int(v) for k, v in load["load"].items() if v > 0}
        again = router.route(new_leads[1])
        assert again.replayed and again.seq == live["NEW-2"].seq and again.assignee_id == live["NEW-2"].assignee_id


def test_router_reloads_when_a_newer_run_appears(live_db, live_models):
    score(live_db, as_of=AS_OF, artifacts_dir=live_models, run_id="one")
    with LiveRouter(live_db, artifacts_dir=live_models) as router:
        router.route(prospect("A-1"))
        score(live_db, as_of=AS_OF, artifacts_dir=live_models, run_id="two")
        decision = router.route(prospect("A-2"))
        assert router.base_run_id == "two" and decision.base_run_id == "two"
        # the second run counted A-1 (not loaded yet): the live load is the run's, plus A-2
        load = live_db.read_results("assignment_load", "two").set_index(["assignee_type", "assignee_id"])["load"]
        expected = {k: int(v) for k, v in load.items() if v > 0}
        key = (decision.assignee_type, decision.assignee_id)
        expected[key] = expected.get(key, 0) + decision.load_claimed
        assert LiveStore(live_db).loads() == expected

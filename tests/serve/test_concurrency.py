"""Many clients at once, on SQLite and PostgreSQL: every lead decided once, nobody over capacity."""

from __future__ import annotations

import threading

from serve_client import Client


def _lead(opportunity_id: str, account_id: str) -> dict:
    return {"opportunity_id": opportunity_id, "account_id": account_id, "source": "web", "product_line": "server",
            "est_units": 3, "est_amount": 80000.0, "stage": "lead"}


def test_concurrent_clients_decide_each_lead_once_within_capacity(backend_service):
    router = backend_service.service.holder.current.router
    run = router.database.latest_run_id()
    accounts = sorted(router.database.read_results("account_scores", run, columns=["account_id"])["account_id"]
                      .astype(str))[:60]
    clients, per_client = 8, 10
    answers: list[dict] = []
    statuses: list[int] = []
    together = threading.Barrier(clients)

    def client(index: int) -> None:
        http = Client(backend_service.url)
        together.wait()
        # everyone sends the same lead at the same moment, then leads of their own
        own = [_lead(f"LIVE-C-{index}-{i}", accounts[(index * per_client + i) % len(accounts)])
               for i in range(per_client)]
        for lead in [_lead("LIVE-SAME", accounts[0]), *own]:
            status, _, answer = http.request("POST", "/route", lead)
            statuses.append(status)
            answers.append(answer)
        http.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert statuses == [200] * (clients * (per_client + 1)), [a for a in answers if "error" in a][:2]

    same = [a for a in answers if a["lead_id"] == "LIVE-SAME"]
    assert sum(not a["replayed"] for a in same) == 1  # decided once; the other seven got the recorded decision
    assert len({(a["assignee_id"], a["route"], a["seq"]) for a in same}) == 1

    recorded = router.store.assignments()
    ids = recorded["lead_id"].astype(str)
    assert not ids.duplicated().any()
    assert set(ids) >= {a["lead_id"] for a in answers}
    loads = router.store.loads()
    policy = router._snapshot.policy
    claimed = recorded[recorded["load_claimed"].astype(int) == 1]
    for kind, person in set(zip(claimed["assignee_type"].astype(str), claimed["assignee_id"].astype(str))):
        assert loads[(kind, person)] <= policy.capacity(kind, person), (kind, person)

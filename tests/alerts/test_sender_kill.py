"""Kill the sender at random points between its send and its commit: nothing is lost, and every
duplicate carries the same idempotency key (and the same body)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from alerts_factories import AS_OF, write_scoring_run
from peers import SECRET, WebhookReceiver

from engine.alerts import evaluate_run
from engine.storage import AlertStore

ROOT = Path(__file__).resolve().parents[2]
SENDER = """
import sys
from engine.alerts import RetryPolicy, send_outbox
from engine.alerts._webhook import WebhookChannel
send_outbox(sys.argv[1], WebhookChannel(sys.argv[2], sys.argv[3], timeout=5), retry=RetryPolicy(3, 0.01, 0.05))
"""


def test_killed_sender_loses_nothing_and_duplicates_keep_their_key(database, world):
    risky = sorted(world["customers"]["account_id"].astype(str))[:8]
    for i in range(2):
        evaluate_run(database, write_scoring_run(database, world, AS_OF.replace(day=1 + i), risky), tables=world)
    ids = set(AlertStore(database).read("alert_outbox")["notification_id"])
    assert len(ids) >= 4
    url = database.url.render_as_string(hide_password=False)
    rng = random.Random(20261001)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    kills = 0
    with WebhookReceiver() as peer:
        for _round in range(12):
            proc = subprocess.Popen([sys.executable, "-c", SENDER, url, peer.url, SECRET], env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            seen = len(peer.requests)
            kill_at = seen + rng.randint(1, 3)
            after = rng.random() < 0.7  # mostly after the peer answered: the send happened, the commit did not

            def on_request(n, proc=proc, kill_at=kill_at, after=after):
                if n != kill_at:
                    return
                if after:
                    threading.Timer(rng.uniform(0.0, 0.05), lambda: proc.send_signal(signal.SIGKILL)).start()
                else:
                    proc.send_signal(signal.SIGKILL)

            peer.on_request = on_request if _round < 6 else None
            _, err = proc.communicate(timeout=120)
            if proc.returncode == -signal.SIGKILL:
                kills += 1
                continue
            assert proc.returncode == 0, err.decode()[-2000:]
            delivered = AlertStore(database).read("alert_deliveries")
            if set(delivered.loc[delivered["status"] == "sent", "notification_id"]) == ids:
                break
            time.sleep(0.05)
    assert kills >= 3
    received: dict[str, set[bytes]] = {}
    for request in peer.requests:
        assert request["valid"]
        received.setdefault(request["headers"]["webhook-id"], set()).add(request["body"])
    assert set(received) == ids  # no digest lost, nothing unknown sent
    assert all(len(bodies) == 1 for bodies in received.values())  # a duplicate is the same message
    assert len(peer.requests) >= len(ids)
    deliveries = AlertStore(database).read("alert_deliveries")
    assert set(deliveries["status"]) == {"sent"} and set(deliveries["notification_id"]) == ids


@pytest.mark.parametrize("runs", [2])
def test_concurrent_evaluations_of_one_run_commit_once(tmp_path, world, runs):
    """Two evaluations of the same run racing: one commits, the other changes nothing."""
    from engine.storage import Database

    db = Database(tmp_path / "race.sqlite")
    run_id = write_scoring_run(db, world, AS_OF, sorted(world["customers"]["account_id"].astype(str))[:3])
    results = []
    threads = [threading.Thread(target=lambda: results.append(evaluate_run(Database(tmp_path / "race.sqlite"), run_id,
                                                                          tables=world))) for _ in range(runs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.evaluated for r in results) == [False, True]
    assert len(AlertStore(db).read("alert_runs")) == 1
    db.dispose()

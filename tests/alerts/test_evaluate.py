"""Evaluating scoring runs against the alert tables, on SQLite (both drivers) and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest
from alerts_factories import AS_OF, write_scoring_run

from engine._errors import StorageError
from engine.alerts import AlertStateError, act, evaluate_run, list_alerts
from engine.storage import AlertStore

DAY = dt.timedelta(days=1)


def _counts(db):
    store = AlertStore(db)
    return {t: len(store.read(t)) for t in ("alerts", "alert_events", "alert_outbox", "alert_runs")}


def _risky(world, n=4):
    return sorted(world["customers"]["account_id"].astype(str))[:n]


def test_pending_then_open_then_quiet_and_idempotent(database, world):
    risky = _risky(world)
    keys = {f"{a}:churn_risk" for a in risky}
    first = evaluate_run(database, write_scoring_run(database, world, AS_OF, risky), tables=world)
    assert first.evaluated
    alerts = list_alerts(database).set_index("alert_key")
    assert set(alerts.loc[sorted(keys), "state"]) == {"pending"}  # churn risk must hold on 2 runs

    before = _counts(database)
    again = evaluate_run(database, f"run-{AS_OF.isoformat()}", tables=world)
    assert not again.evaluated and _counts(database) == before  # re-evaluating changes nothing

    second = evaluate_run(database, write_scoring_run(database, world, AS_OF + DAY, risky), tables=world)
    alerts = list_alerts(database).set_index("alert_key")
    assert set(alerts.loc[sorted(keys), "state"]) == {"open"}
    assert second.by_kind_severity.get("churn_risk/high") == len(risky)
    digests = [json.loads(p) for p in second.digests["payload"]]
    told = {item["alert_key"] for d in digests for item in d["alerts"]}
    assert keys <= told
    # one digest per recipient; the owning rep and (high severity) the manager get it
    assert second.digests["notification_id"].is_unique
    assert {"rep", "partner"} <= set(second.digests["recipient_type"])
    for digest in digests:
        values = [i["value_at_risk"] or 0 for i in digest["alerts"]]
        assert values == sorted(values, reverse=True)
        for item in digest["alerts"]:
            assert not ({"contact_name", "email", "phone"} & set(item))
            assert item["action_text"] and item["because"]

    third = evaluate_run(database, write_scoring_run(database, world, AS_OF + 2 * DAY, risky), tables=world)
    again_told = {i["alert_key"] for p in third.digests["payload"] for i in json.loads(p)["alerts"]}
    assert not (keys & again_told)  # an open alert is not told again


def test_cooldown_gives_one_notification_per_key_and_resolution(database, world):
    risky = _risky(world, 2)
    keys = [f"{a}:churn_risk" for a in risky]
    day = AS_OF
    plan = [True, True, True, False, False, True, True, True]  # holds, holds, ..., clear x2 -> resolved, back
    for i, holds in enumerate(plan):
        evaluate_run(database, write_scoring_run(database, world, day + i * DAY, risky if holds else ()), tables=world)
    events = AlertStore(database).read("alert_events")
    mine = events[events["alert_key"].isin(keys)]
    opened = mine[mine["notify"] == "opened"].groupby("alert_key").size()
    assert opened.to_dict() == {k: 1 for k in keys}  # 30-day cooldown: exactly one notification per key
    assert set(mine.loc[mine["to_state"] == "resolved", "alert_key"]) == set(keys)
    assert mine["suppressed"].astype(int).groupby(mine["alert_key"]).sum().to_dict() == {k: 1 for k in keys}
    outbox = AlertStore(database).read("alert_outbox")
    told = [i["alert_key"] for p in outbox["payload"] for i in json.loads(p)["alerts"] if i["alert_key"] in keys]
    # each key reaches its rep once, its manager once (high severity) and its partner once
    assert all(told.count(k) <= 3 for k in keys) and set(told) == set(keys)


def test_ack_snooze_resolve_are_honoured(database, world):
    a, b, c = _risky(world, 3)
    for i in range(2):
        evaluate_run(database, write_scoring_run(database, world, AS_OF + i * DAY, (a, b, c)), tables=world)
    act(database, f"{a}:churn_risk", "ack", on=AS_OF + DAY)
    act(database, f"{b}:churn_risk", "snooze", until=AS_OF + 30 * DAY, on=AS_OF + DAY)
    act(database, f"{c}:churn_risk", "resolve", on=AS_OF + DAY)
    with pytest.raises(AlertStateError, match="cannot resolve an alert that is resolved"):
        act(database, f"{c}:churn_risk", "resolve", on=AS_OF + DAY)
    with pytest.raises(AlertStateError, match="no alert"):
        act(database, "A9999999:churn_risk", "ack")
    # ten days later: the acknowledged one is not escalated, the snoozed one stays silent
    run = evaluate_run(database, write_scoring_run(database, world, AS_OF + 10 * DAY, (a, b, c), p_risky=0.99,
                                                   margin=9_000_000.0), tables=world)
    states = list_alerts(database).set_index("alert_key")["state"]
    assert states[f"{a}:churn_risk"] == "acknowledged" and states[f"{b}:churn_risk"] == "snoozed"
    told = {i["alert_key"] for p in run.digests["payload"] for i in json.loads(p)["alerts"]}
    assert f"{a}:churn_risk" not in told and f"{b}:churn_risk" not in told
    assert list_alerts(database, active_only=True, rep="nobody").empty


def test_runs_move_forward_only_and_unknown_runs_are_named(database, world):
    write_scoring_run(database, world, AS_OF)
    evaluate_run(database, write_scoring_run(database, world, AS_OF + 5 * DAY), tables=world)
    with pytest.raises(AlertStateError, match="older than run"):
        evaluate_run(database, f"run-{AS_OF.isoformat()}", tables=world)
    with pytest.raises(StorageError, match="is not in"):
        evaluate_run(database, "no-such-run", tables=world)


def test_a_failed_commit_writes_nothing(database, world, monkeypatch):
    risky = _risky(world)
    evaluate_run(database, write_scoring_run(database, world, AS_OF, risky), tables=world)
    before = _counts(database)
    original = AlertStore._insert

    def failing(self, session, table, frame):
        if table == "alert_runs":
            raise RuntimeError("disk full")
        return original(self, session, table, frame)

    monkeypatch.setattr(AlertStore, "_insert", failing)
    with pytest.raises(RuntimeError):
        evaluate_run(database, write_scoring_run(database, world, AS_OF + DAY, risky), tables=world)
    monkeypatch.undo()
    assert _counts(database) == before  # states, events and outbox rolled back together
    retried = evaluate_run(database, f"run-{(AS_OF + DAY).isoformat()}", tables=world)
    assert retried.evaluated and retried.notifications > 0


def test_no_run_is_a_clear_error(database):
    with pytest.raises(StorageError, match="kam score"):
        evaluate_run(database)


def test_durable_and_vectorized_evaluate_a_run_identically(tmp_path, world):
    from engine.storage import Database

    results = []
    for backend in ("vectorized", "durable"):
        db = Database(tmp_path / f"{backend}.sqlite")
        risky = _risky(world, 6)
        for i in range(3):
            evaluate_run(db, write_scoring_run(db, world, AS_OF + i * DAY, risky[: 3 + i]), tables=world, engine=backend)
        frame = list_alerts(db).drop(columns=["updated_at"]).sort_values("alert_key").reset_index(drop=True)
        events = AlertStore(db).read("alert_events").drop(columns=["recorded_at"]).sort_values("event_id")
        results.append((frame, events.reset_index(drop=True)))
        db.dispose()
    pd.testing.assert_frame_equal(results[0][0], results[1][0])
    pd.testing.assert_frame_equal(results[0][1], results[1][1])


def _state_row(key: str, state: str) -> pd.DataFrame:
    return pd.DataFrame({"alert_key": [key], "account_id": [key.split(":")[0]], "kind": ["churn_risk"], "state": [state]})


def _event_row(key: str, to_state: str, event_id: str) -> pd.DataFrame:
    return pd.DataFrame({"event_id": [event_id], "alert_key": [key], "to_state": [to_state],
                         "recorded_at": [f"2026-10-0{len(event_id)}T00:00:00"]})


def test_an_evaluation_never_overwrites_a_change_made_while_it_ran(tmp_path):
    from engine._errors import StorageError
    from engine.storage import AlertStore, Database

    with Database(tmp_path / "alerts.sqlite") as db:
        store = AlertStore(db)
        store.ensure_tables()
        read_at = store.state_version()
        # a person acknowledges A1 while the run is being evaluated
        store.commit_change(_state_row("A1:churn_risk", "acknowledged"), _event_row("A1:churn_risk", "acknowledged", "e1"))
        with pytest.raises(StorageError, match="changed while run 'r2' was being evaluated"):
            store.commit_run({"run_id": "r2", "as_of": "2026-10-01"}, _state_row("A1:churn_risk", "open"),
                             _event_row("A1:churn_risk", "open", "e22"), pd.DataFrame(), read_version=read_at)
        assert store.read("alerts")["state"].tolist() == ["acknowledged"]
        assert store.read("alert_runs").empty
        # read again, the run commits; an older run after it is refused
        assert store.commit_run({"run_id": "r2", "as_of": "2026-10-01"}, pd.DataFrame(), pd.DataFrame(),
                                pd.DataFrame(), read_version=store.state_version())
        with pytest.raises(StorageError, match="alerts move forward in time"):
            store.commit_run({"run_id": "r1", "as_of": "2026-09-01"}, pd.DataFrame(), pd.DataFrame(), pd.DataFrame(),
                             read_version=store.state_version())

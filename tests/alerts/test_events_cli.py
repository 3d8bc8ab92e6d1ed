"""One event at a time (engine.alerts.on_event) and the `kam alerts` commands."""

from __future__ import annotations

import json

import pytest
from alerts_factories import AS_OF, write_scoring_run

from engine._errors import DataError
from engine.alerts import evaluate_run, list_alerts, on_event
from engine.cli import main
from engine.storage import AlertStore, Database


@pytest.fixture
def scored(tmp_path, world):
    db = Database(tmp_path / "kam.sqlite")
    db.write_source_tables(world)
    write_scoring_run(db, world, AS_OF, sorted(world["customers"]["account_id"].astype(str))[:3])
    yield db
    db.dispose()


def test_an_event_between_runs_opens_an_alert_once(scored, world):
    account = sorted(world["customers"]["account_id"].astype(str))[10]
    signal = {"days_since_key_contact_left": 0.0, "coverage_levels": 1, "expected_margin_12m": 5_000_000.0}
    results = on_event(scored, account, signal, event_id="crm-1", on=AS_OF)
    assert [(r.alert_key, r.effect.notify) for r in results] == [(f"{account}:key_contact_left", "opened")]
    outbox = AlertStore(scored).read("alert_outbox")
    assert len(outbox) >= 1 and all(json.loads(p)["run_id"] == "event:crm-1" for p in outbox["payload"])
    assert on_event(scored, account, signal, event_id="crm-1", on=AS_OF) == []  # the same event changes nothing
    again = on_event(scored, account, signal, event_id="crm-2", on=AS_OF)
    assert again[0].effect.notify == "none"  # already open
    with pytest.raises(DataError, match="unknown signal"):
        on_event(scored, account, {"coverage": 1}, event_id="crm-3")
    with pytest.raises(DataError, match="not in the newest scoring run"):
        on_event(scored, "A9999999", signal, event_id="crm-4")


def test_events_and_runs_share_the_state(scored, world):
    account = sorted(world["customers"]["account_id"].astype(str))[0]
    on_event(scored, account, {"churn_probability": 0.97, "value_at_risk": 3_000_000.0}, event_id="e1", on=AS_OF)
    assert list_alerts(scored).set_index("alert_key").loc[f"{account}:churn_risk", "state"] == "pending"
    summary = evaluate_run(scored, tables=world)  # the run sees the risk again: second run in a row
    assert summary.evaluated
    assert list_alerts(scored).set_index("alert_key").loc[f"{account}:churn_risk", "state"] == "open"


def test_the_commands(scored, world, tmp_path, capsys):
    db = str(scored.url.database)
    assert main(["alerts", "evaluate", "--db", db, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["evaluated"] is True and out["run_id"] == f"run-{AS_OF.isoformat()}"
    assert main(["alerts", "evaluate", "--db", db]) == 0
    assert "nothing changed" in capsys.readouterr().out
    write_scoring_run(scored, world, AS_OF.replace(day=2), sorted(world["customers"]["account_id"].astype(str))[:3])
    assert main(["alerts", "evaluate", "--db", db]) == 0
    assert "opened" in capsys.readouterr().out
    assert main(["alerts", "list", "--db", db, "--open", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    key = next(r["alert_key"] for r in listed if r["alert_key"].endswith(":churn_risk"))
    assert main(["alerts", "ack", key, "--db", db]) == 0
    assert "open -> acknowledged" in capsys.readouterr().out
    assert main(["alerts", "snooze", key, "--db", db, "--until", "2030-01-01"]) == 0
    assert main(["alerts", "resolve", key, "--db", db]) == 0
    capsys.readouterr()
    assert main(["alerts", "ack", key, "--db", db]) == 4  # an AlertStateError is a data error
    assert "cannot ack an alert that is resolved" in capsys.readouterr().err
    path = tmp_path / "out.jsonl"
    assert main(["alerts", "send", "--db", db, "--path", str(path)]) == 0
    assert path.read_text().count("\n") >= 1
    assert main(["alerts", "send", "--db", db, "--channel", "webhook"]) == 3  # no URL or secret configured
    assert "KAM_ALERTS_WEBHOOK_SECRET" in capsys.readouterr().err

"""``kam route``: one lead from a file or stdin, readable text or JSON, exit codes by error family."""

from __future__ import annotations

import io
import json
import sys

import pytest
from live_factories import AS_OF, prospect

from engine.cli import main
from engine.pipeline import score


@pytest.fixture
def scored_file(live_tables, live_models, tmp_path):
    from engine.storage import Database

    path = tmp_path / "route.sqlite"
    db = Database(path)
    db.write_source_tables(live_tables)
    score(db, as_of=AS_OF, artifacts_dir=live_models)
    db.dispose()
    return path


def test_route_prints_the_decision_and_replays_it(scored_file, live_models, tmp_path, capsys):
    lead = tmp_path / "lead.json"
    lead.write_text(json.dumps(prospect("CLI-1", amount=45_000)), encoding="utf-8")
    args = ["route", "--db", str(scored_file), "--models", str(live_models), "--lead", str(lead)]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "lead CLI-1: prospect in shandong x finance" in text
    assert "route inside by rule new_prospect:" in text and "win probability" in text
    assert main([*args, "--json"]) == 0
    decision = json.loads(capsys.readouterr().out)
    assert decision["lead_id"] == "CLI-1" and decision["replayed"] is True and decision["route"] == "inside"
    assert decision["status"] in ("assigned", "unassigned") and 0 <= decision["win_probability"] <= 1


def test_route_reads_json_lines_from_stdin(scored_file, live_models, monkeypatch, capsys):
    lines = "\n".join(json.dumps(prospect(f"CLI-{i}")) for i in (2, 3))
    monkeypatch.setattr(sys, "stdin", io.StringIO(lines))
    assert main(["route", "--db", str(scored_file), "--models", str(live_models), "--json"]) == 0
    decisions = json.loads(capsys.readouterr().out)
    assert [d["lead_id"] for d in decisions] == ["CLI-2", "CLI-3"] and [d["seq"] for d in decisions] == [1, 2]


def test_a_bad_lead_exits_4_naming_the_field_and_writes_nothing(scored_file, live_models, tmp_path, capsys):
    from engine.storage import Database, LiveStore

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**prospect("CLI-9"), "est_amount": "lots"}), encoding="utf-8")
    assert main(["route", "--db", str(scored_file), "--models", str(live_models), "--lead", str(bad)]) == 4
    err = capsys.readouterr().err
    assert "est_amount: expected a finite number; got 'lots' (str)" in err and "Fix: send est_amount as a JSON number" in err
    broken = tmp_path / "broken.json"
    broken.write_text('{"opportunity_id": "CLI-9",', encoding="utf-8")
    assert main(["route", "--db", str(scored_file), "--models", str(live_models), "--lead", str(broken)]) == 4
    assert "invalid JSON at line 1" in capsys.readouterr().err
    unknown = tmp_path / "unknown.json"
    unknown.write_text(json.dumps({**prospect("CLI-8"), "account_id": "NOPE"}), encoding="utf-8")
    assert main(["route", "--db", str(scored_file), "--models", str(live_models), "--lead", str(unknown)]) == 4
    assert "account_id 'NOPE' is not a valid account" in capsys.readouterr().err
    with Database(scored_file) as db:
        assert LiveStore(db).recorded("CLI-9") is None and LiveStore(db).recorded("CLI-8") is None


def test_missing_database_exits_5_and_creates_nothing(live_models, tmp_path, capsys):
    lead = tmp_path / "lead.json"
    lead.write_text(json.dumps(prospect("CLI-5")), encoding="utf-8")
    assert main(["route", "--db", str(tmp_path / "nope.sqlite"), "--models", str(live_models), "--lead", str(lead)]) == 5
    assert not (tmp_path / "nope.sqlite").exists()
    capsys.readouterr()


def test_missing_model_exits_6(scored_file, tmp_path, capsys):
    lead = tmp_path / "lead.json"
    lead.write_text(json.dumps(prospect("CLI-6")), encoding="utf-8")
    assert main(["route", "--db", str(scored_file), "--models", str(tmp_path / "none"), "--lead", str(lead)]) == 6
    assert "no published win model" in capsys.readouterr().err


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_a_failing_lead_among_several_prints_the_decisions_before_it_and_names_it(
        scored_file, live_models, tmp_path, capsys, as_json):
    from engine.storage import Database, LiveStore

    leads = [prospect("MANY-1"), prospect("MANY-2"), {**prospect("MANY-3"), "est_units": -1}, prospect("MANY-4")]
    path = tmp_path / "leads.jsonl"
    path.write_text("\n" + "\n".join(json.dumps(lead) for lead in leads) + "\n", encoding="utf-8")  # a blank first line
    args = ["route", "--db", str(scored_file), "--models", str(live_models), "--lead", str(path)]
    assert main([*args, "--json"] if as_json else args) == 4
    captured = capsys.readouterr()
    if as_json:
        printed = json.loads(captured.out)  # well-formed: the array of the decisions made
        assert [d["lead_id"] for d in printed] == ["MANY-1", "MANY-2"] and not any(d["replayed"] for d in printed)
    else:
        assert "lead MANY-1: prospect" in captured.out and "lead MANY-2: prospect" in captured.out
        assert "MANY-3" not in captured.out and "MANY-4" not in captured.out
    # the error names the lead by its line and id, after what was decided before it
    assert f"stopped at {path} line 4 (opportunity_id 'MANY-3'), lead 3 of 4" in captured.err
    assert "the 2 before it were decided and recorded" in captured.err and "the 1 after it were not routed" in captured.err
    assert f"{path} line 4 'MANY-3'" in captured.err and "est_units: expected a number >= 0; got -1" in captured.err
    with Database(scored_file) as db:
        assert list(LiveStore(db).assignments()["lead_id"]) == ["MANY-1", "MANY-2"]
    # sent again after the fix: the first two answer with their recorded decisions
    leads[2]["est_units"] = 1
    path.write_text(json.dumps(leads), encoding="utf-8")  # now as one array
    assert main([*args, "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert [d["replayed"] for d in again] == [True, True, False, False]

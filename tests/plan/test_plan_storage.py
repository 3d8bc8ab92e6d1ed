"""`plan` on a database (SQLite and PostgreSQL): writes call_plans atomically and idempotently."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from engine._errors import DataError, RuleFileError, StorageError
from engine.cli import main
from engine.plan import plan, read_plan
from engine.storage import AlertStore


def test_plan_writes_call_plans_once_per_run(plan_db, run_id):
    planned_run, result = plan(plan_db)
    assert planned_run == run_id and result.week == "2026-W41"
    stored = read_plan(plan_db)
    assert len(stored) == len(result.lines) > 0
    assert set(stored["run_id"]) == {run_id}
    _, again = plan(plan_db, holdout_share=0.2, seed=1)
    stored = read_plan(plan_db, run_id=run_id)
    assert len(stored) == len(again.lines)  # replaced, never duplicated
    assert (stored["status"] == "holdout").sum() == again.counts["holdout"] > 0
    assert stored["holdout_share"].eq(0.2).all() and stored["holdout_seed"].eq(1).all()
    planned = stored[stored["status"] == "planned"]
    assert not stored["account_id"].duplicated().any()
    assert planned.groupby("assignee_id").size().max() <= 25


def test_the_plan_reads_open_alerts_when_the_table_exists(plan_db, run_id):
    scores = plan_db.read_results("account_scores")
    account = scores.sort_values("value_at_risk").iloc[-1]["account_id"]
    others = scores.sort_values("value_at_risk")["account_id"].iloc[:3].tolist()
    states = pd.DataFrame({
        "alert_key": [f"{account}:complaints_unresolved", *(f"{a}:churn_risk" for a in others)],
        "account_id": [account, *others], "kind": ["complaints_unresolved", *["churn_risk"] * 3],
        "state": ["escalated", "snoozed", "pending", "resolved"],
        "action": ["Escalate the open complaint", "x", "x", "x"],
    })
    AlertStore(plan_db).commit_run({"run_id": run_id, "as_of": "2026-10-01"}, states, pd.DataFrame(), pd.DataFrame())
    _, result = plan(plan_db)
    lines = result.lines.set_index("account_id")
    assert lines.loc[account, "open_alerts"] == 1
    assert "Escalate the open complaint" in lines.loc[account, "recommended_action"]
    # snoozed, pending and resolved alerts are not open work for next week
    assert (lines.loc[lines.index.intersection(others), "open_alerts"] == 0).all()


def test_departed_owners_accounts_go_to_the_partner_or_are_reported(plan_db, plan_tables):
    tables = {name: frame.copy() for name, frame in plan_tables.items()}
    leaver = tables["customers"]["owner_rep_id"].value_counts().index[0]
    tables["reps"].loc[tables["reps"]["rep_id"] == leaver, "active"] = False
    orphaned = set(tables["customers"].loc[tables["customers"]["owner_rep_id"] == leaver, "account_id"])
    plan_db.write_source_tables(tables)
    _, result = plan(plan_db, write=False)
    lines = result.lines.set_index("account_id")
    assert leaver not in set(lines["assignee_id"])
    theirs = lines.loc[lines.index.intersection(sorted(orphaned))]
    assert len(theirs) > 0
    assert set(theirs["plan_rule_id"]) <= {"partner_only", "b_partner", "b_partner_due", "default"}
    assert set(theirs["assignee_type"].dropna()) <= {"partner"}


def test_an_empty_run_and_a_missing_run_are_errors(plan_db, tmp_path):
    plan_db.write_run("empty-run", {"account_scores": pd.DataFrame({"account_id": pd.Series([], dtype=object)})})
    with pytest.raises(DataError, match="no rows in account_scores"):
        plan(plan_db, run_id="empty-run")
    with pytest.raises(StorageError, match="no scoring run"):
        plan(str(tmp_path / "none.sqlite"))


def test_a_bad_rule_file_fails_before_anything_is_written(plan_db, tmp_path):
    bad = tmp_path / "plan.yaml"
    bad.write_text("name: plan\n", "utf-8")
    with pytest.raises(RuleFileError):
        plan(plan_db, rules=bad)
    assert "call_plans" not in plan_db.table_names()


def test_kam_plan_cli(plan_db, tmp_path, capsys):
    url = plan_db.url.render_as_string(hide_password=False)
    assert main(["plan", "--db", str(url), "--json", "--export", str(tmp_path / "out")]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["written"] and summary["planned"] > 0 and summary["week"] == "2026-W41"
    assert summary["obligations_met"] + summary["capacity_short"] == summary["obligations_due"]
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert "plan.csv" in files and any(f.endswith(".txt") for f in files)
    person = summary["top_lines"][0]["assignee_id"]
    assert main(["plan", "--db", str(url), "--person", person, "--week", "2026-W42"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("Call plan 2026-W42 for ") and "Why:" in text and "Do:" in text
    assert main(["plan", "--db", str(url), "--person", "NOBODY"]) == 3
    assert main(["plan", "--db", str(url), "--week", "2026-W60"]) == 3
    assert main(["plan", "--db", str(url), "--holdout", "1.5"]) == 2
    assert main(["plan", "--db", str(tmp_path / "empty.sqlite")]) == 5


def test_kam_demo_plans_the_week_after_its_run(plan_db, run_id):
    from engine.pipeline._demo import _demo_plan

    said = []
    _demo_plan(plan_db, run_id, said.append)
    (line,) = said
    assert line.startswith("call plan 2026-W41: ") and "cadence obligations" in line
    assert set(read_plan(plan_db)["run_id"]) == {run_id}


def test_a_future_dated_visit_is_never_the_last_contact(plan_db, plan_tables):
    """A visit validation quarantines (dated 2062 for 2026) must not reset the account's cadence."""
    _, before = plan(plan_db, write=False)
    lines = before.lines.set_index("account_id")
    account = lines["days_since_contact"].dropna().sort_values().index[-1]
    visits = plan_tables["visits"]
    one = visits[visits["account_id"] == account].head(1)
    assert len(one) == 1
    extra = one.assign(visit_id="V-FUTURE", visit_date="2062-01-05")
    tables = {name: frame.copy() for name, frame in plan_tables.items()}
    tables["visits"] = pd.concat([visits, extra], ignore_index=True)
    plan_db.write_source_tables(tables)
    _, after = plan(plan_db, write=False)
    assert after.lines.set_index("account_id").loc[account, "days_since_contact"] == lines.loc[account, "days_since_contact"]


def test_exports_never_overwrite_one_persons_list_with_anothers(tmp_path):
    from engine.plan._export import write_exports
    from engine.plan._plan import PLAN_COLUMNS

    lines = pd.DataFrame({c: [None] * 4 for c in PLAN_COLUMNS}).assign(**{
        "assignee_type": ["rep", "partner", "rep", "rep"], "assignee_role": ["outside", "partner", "inside", "inside"],
        "assignee_id": ["P7", "P7", "王伟", "李娜"],  # a rep and a partner share an id; two names of one length
        "status": ["planned"] * 4, "rank": [1, 1, 1, 1], "account_id": ["A1", "A2", "A3", "A4"],
        "tier": ["A"] * 4, "action": ["onsite_visit"] * 4, "recommended_action": ["Visit"] * 4, "why": ["w"] * 4,
        "expected_value": [1.0] * 4, "week": ["2026-W41"] * 4, "week_start": ["2026-10-05"] * 4,
        "account_name": ["n"] * 4,
    })
    written = write_exports(lines, tmp_path)
    stems = {p.stem for p in written if p.suffix == ".csv" and p.name != "plan.csv"}
    assert stems == {"rep-P7", "partner-P7", "rep-王伟", "rep-李娜"}
    assert pd.read_csv(tmp_path / "partner-P7.csv")["account_id"].tolist() == ["A2"]
    assert pd.read_csv(tmp_path / "rep-P7.csv")["account_id"].tolist() == ["A1"]


def test_a_rerun_committing_while_the_plan_reads_its_run_is_read_again(plan_db, run_id, monkeypatch):
    """A re-run of the run id commits between the plan's reads of scores and routes: both are read again."""
    real = plan_db.read_results
    reads = []

    def read_results(name, run_id=None, **options):
        frame = real(name, run_id, **options)
        reads.append(name)
        if name == "account_scores" and reads.count(name) == 1:  # the re-run commits right here
            runs = real("runs", run_id)
            plan_db.write_run(run_id, {"runs": runs.assign(started_at=pd.Timestamp("2030-01-01")),
                                       "account_scores": frame.assign(value_at_risk=0.0)})
        return frame

    monkeypatch.setattr(plan_db, "read_results", read_results)
    _, result = plan(plan_db, write=False)
    assert reads.count("account_scores") == reads.count("opportunity_routes") == 2  # read again after the re-run
    assert len(result.lines) and result.lines["value_at_risk"].eq(0).all()  # planned from the re-run's rows

"""The kam command: thin over the library, documented exit codes, nothing secret printed."""

from __future__ import annotations

import pandas as pd
import pytest

from engine.cli import main
from engine.storage import Database


@pytest.fixture(scope="module")
def small_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "small.sqlite"
    assert main(["demo-db", str(path), "--accounts", "300", "--seed", "4"]) == 0
    return path


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("kam ")


def test_demo_db_then_validate_is_clean(small_db, capsys):
    assert main(["validate", "--db", str(small_db), "--as-of", "2026-10-01"]) == 0
    out = capsys.readouterr().out
    assert "customers" in out and "300" in out


def test_validate_reports_bad_rows_with_exit_4(small_db, tmp_path, capsys):
    db = Database(small_db)
    tables = db.read_tables()
    db.dispose()
    orders = tables["orders"].copy()
    orders.loc[orders.index[0], "amount"] = -5.0
    orders.loc[orders.index[1], "account_id"] = "NO-SUCH-ACCOUNT"
    bad = Database(tmp_path / "bad.sqlite")
    bad.write_source_tables({**tables, "orders": orders})
    bad.dispose()
    assert main(["validate", "--db", str(tmp_path / "bad.sqlite"), "--as-of", "2026-10-01"]) == 4
    err = capsys.readouterr().err
    assert "negative_value" in err and "orphan" in err and "Fix:" in err


def test_json_validation_output(small_db, capsys):
    import json

    assert main(["validate", "--db", str(small_db), "--as-of", "2026-10-01", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["ok"] is True
    assert {row["table"] for row in payload["counts"]} >= {"customers", "orders"}


def test_bad_date_is_a_usage_error(small_db, capsys):
    assert main(["validate", "--db", str(small_db), "--as-of", "yesterday"]) == 2
    assert "expected --as-of as a date written YYYY-MM-DD" in " ".join(capsys.readouterr().err.split())


def test_unreachable_database_exit_5_without_password(capsys):
    code = main(["validate", "--db", "postgresql://kam:topsecret@127.0.0.1:1/sales"])
    captured = capsys.readouterr()
    assert code == 5
    assert "topsecret" not in captured.err + captured.out
    assert "***" in captured.err


def test_score_without_models_exit_6(small_db, tmp_path, capsys):
    code = main(["score", "--db", str(small_db), "--models", str(tmp_path / "none"), "--as-of", "2026-10-01"])
    assert code == 6
    assert "kam train churn" in capsys.readouterr().err


def test_rules_check_shipped_rules_has_no_errors(capsys):
    assert main(["rules", "check"]) == 0
    assert "0 error(s)" in capsys.readouterr().out


def test_rules_check_error_exit_3(tmp_path, capsys):
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        "name: t\nversion: '1'\nhit_policy: first\ninputs: {annual_revenue: number}\n"
        "outputs: {tier: string}\nrules:\n  - id: r1\n    when: anual_revenue > 5\n"
        "    then: {tier: A}\n    because: big\n"
    )
    assert main(["rules", "check", str(broken)]) == 3
    captured = capsys.readouterr()
    assert "annual_revenue" in captured.out + captured.err


def test_unknown_command_is_usage_error(capsys):
    assert main(["no-such-command"]) == 2


def test_rejects_written_by_score_are_readable(small_db):
    db = Database(small_db)
    try:
        assert "customers" in db.table_names()
        assert pd.Timestamp(str(db.max_value("orders", "order_date"))) <= pd.Timestamp("2026-09-30")
    finally:
        db.dispose()


@pytest.mark.timeout(900)  # a whole kam demo: more than the suite's 300 s on a slow machine
def test_kam_demo_runs_end_to_end(tmp_path, capsys):
    """The main job: creates the database, trains both models, scores, prints the summary."""
    db = tmp_path / "demo.sqlite"
    assert main(["demo", "--db", str(db), "--accounts", "400", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    for expected in ("creating demo database", "training the churn model", "training the win model",
                     "ROC AUC", "tiers", "routes", "assigned", "value at risk by region"):
        assert expected in out, expected
    assert "published as the first churn model" in out and "no current" not in out
    assert (tmp_path / "demo-models" / "churn.joblib").exists()
    # A second run reuses the database and the models and replaces the same run.
    assert main(["demo", "--db", str(db)]) == 0
    second = capsys.readouterr().out
    assert "creating demo database" not in second and "training" not in second
    database = Database(db)
    try:
        assert len(database.list_runs()) == 1
        assert database.count_rows("account_scores") == 400
    finally:
        database.dispose()

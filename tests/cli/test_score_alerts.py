"""``kam score --alerts`` evaluates the alerts on the database the run was written to."""

from __future__ import annotations

import json

from engine.cli import main
from engine.storage import Database


def test_score_with_alerts_and_the_database_from_the_environment(scored_copy, monkeypatch, capsys):
    """Without --db the run goes to KAM_DB_URL; the alerts were evaluated on ``None`` instead (a crash)."""
    path, models = scored_copy
    monkeypatch.setenv("KAM_DB_URL", str(path))
    code = main(["score", "--models", str(models), "--as-of", "2026-10-01", "--run-id", "run-alerts", "--alerts",
                 "--json"])
    out = capsys.readouterr().out
    assert code == 0, out
    payload = json.loads(out)
    assert payload["alerts"]["run_id"] == "run-alerts"
    with Database(path, readonly=True) as db:
        assert "alerts" in db.table_names()

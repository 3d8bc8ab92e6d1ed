"""Fixtures: a small demo database scored twice (two as-of dates), on SQLite and PostgreSQL.

Also the shared helpers of the report tests, as fixtures (test modules import nothing from a
conftest or from each other): ``add_alerts_and_plans`` and ``browser`` (headless Chromium).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest

from engine.pipeline import score
from engine.storage import Database

#: The two runs every report test reads: the earlier one is the comparison run.
AS_OF = ("2026-09-01", "2026-10-01")


@pytest.fixture(scope="session")
def report_tables(small_demo):
    """Raw demo tables (800 accounts)."""
    return small_demo.tables(800, 11)


@pytest.fixture(scope="session")
def report_models(small_demo):
    """Small trained churn and win models with their cards."""
    return small_demo.models(800, 11, AS_OF[-1])


def _scored(target: str, tables, models) -> list[str]:
    db = Database(target)
    try:
        db.write_source_tables(tables)
        # The small demo quarantines about 17% of its visits (orphans of the accounts it keeps):
        # the report is tested here, not the run-health gate (tests/pipeline/test_run_health.py).
        return [score(db, as_of=as_of, artifacts_dir=models, max_quarantined=None).run_id for as_of in AS_OF]
    finally:
        db.dispose()


@pytest.fixture(scope="session")
def scored_sqlite(report_tables, report_models, tmp_path_factory):
    """(path, [earlier run id, later run id]) of a SQLite file scored on both dates. Read only."""
    path = tmp_path_factory.mktemp("report-db") / "scored.sqlite"
    return path, _scored(str(path), report_tables, report_models)


@pytest.fixture
def scored_copy(scored_sqlite, tmp_path):
    """A private copy of the scored SQLite file, for tests that add tables."""
    path, runs = scored_sqlite
    copy = tmp_path / "scored.sqlite"
    shutil.copy(path, copy)
    return copy, runs


@pytest.fixture(scope="session")
def scored_postgres(report_tables, report_models, new_postgres_database):
    """(URL, run ids) of a PostgreSQL database scored on both dates."""
    url = new_postgres_database("kam_report")
    return url, _scored(url, report_tables, report_models)


def _add_alerts_and_plans(path, run_id, accounts: pd.DataFrame) -> None:
    top = accounts.sort_values("value_at_risk", ascending=False).head(6).reset_index(drop=True)
    db = Database(path, extra_tables=["alerts", "alert_events", "call_plans"])
    try:
        alerts = pd.DataFrame({
            "alert_key": [f"{a}/churn_risk" for a in top["account_id"]],
            "account_id": top["account_id"],
            "kind": ["churn_risk", "churn_risk", "risk_rising", "churn_risk", "no_visit", "risk_rising"],
            "state": ["open", "escalated", "open", "resolved", "pending", "acknowledged"],
            "severity": ["high", "high", "medium", "high", "low", "medium"],
            "action": ["senior_executive_visit"] * 6,
            "value_at_risk": top["value_at_risk"],
        })
        events = pd.DataFrame({
            "alert_key": alerts["alert_key"],
            "from_state": ["pending", "open", "pending", "open", "inactive", "open"],
            "to_state": ["open", "escalated", "open", "resolved", "pending", "acknowledged"],
        })
        plans = pd.DataFrame({
            "week": "2026-W41", "assignee_type": "rep", "assignee_id": ["R1", "R1", "R2", "R2", "R3", "R3"],
            "status": ["planned", "planned", "planned", "capacity_short", "holdout", "planned"],
            "account_id": top["account_id"], "value_at_risk": top["value_at_risk"],
            "recommended_action": "Visit on site",
        })
        db.write_run(run_id, {"alerts": alerts, "alert_events": events, "call_plans": plans})
    finally:
        db.dispose()


@pytest.fixture
def add_alerts_and_plans():
    """Function ``(path, run_id, accounts)`` adding alerts, their events and call plans to a run."""
    return _add_alerts_and_plans


def _chromium_driver():
    """The small DevTools driver beside this file, loaded by path (no ``tests`` package needed)."""
    name = "kam_report_tests_chromium"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("chromium.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # before running it: its dataclasses look their module up
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture
def browser():
    """``open_page(path, ...)`` of headless Chromium; the test is skipped (failed in CI) without one."""
    driver = _chromium_driver()
    if driver.chromium_binary() is None:
        message = "chromium not found: install it with `apt-get install chromium` to run the browser tests."
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return driver.open_page

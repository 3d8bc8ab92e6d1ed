"""Fixtures: a small demo database scored twice (two as-of dates), on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import itertools
import shutil
from pathlib import Path

import pytest

from engine.demo import generate_demo_tables
from engine.models import load_model_spec
from engine.pipeline import score, train_model
from engine.storage import Database
from engine.validate import validate_tables

#: The two runs every report test reads: the earlier one is the comparison run.
AS_OF = ("2026-09-01", "2026-10-01")
SMALL_MODEL = {
    "candidates": {"hist_gradient_boosting": [{"max_iter": 20, "max_leaf_nodes": 8}]},
    "blend": False,
    "cv": 2,
    "calibration": "sigmoid",
}
_counter = itertools.count()


@pytest.fixture(scope="session")
def report_tables():
    """Raw demo tables (800 accounts)."""
    return generate_demo_tables(accounts=800, seed=11)


@pytest.fixture(scope="session")
def report_models(report_tables, tmp_path_factory):
    """Small trained churn and win models with their cards."""
    folder = tmp_path_factory.mktemp("report-models")
    valid = validate_tables(report_tables, as_of=AS_OF[-1]).valid
    for kind in ("churn", "win"):
        spec = load_model_spec(Path(__file__).parents[2] / "models" / f"{kind}.yaml")
        spec = dataclasses.replace(spec, model=SMALL_MODEL, as_of_periods=12, validation_periods=2)
        train_model(valid, kind, spec=spec, artifacts_dir=folder)
    return folder


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
def scored_postgres(report_tables, report_models, postgres_url):
    """(URL, run ids) of a PostgreSQL database scored on both dates."""
    import psycopg

    name = f"kam_report_{next(_counter)}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = postgres_url.rsplit("/", 1)[0] + "/" + name
    return url, _scored(url, report_tables, report_models)

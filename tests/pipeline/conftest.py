"""Shared fixtures: a small demo database on SQLite (and PostgreSQL) with small trained models."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from engine.demo import generate_demo_tables
from engine.models import load_model_spec
from engine.pipeline import train_model
from engine.storage import Database
from engine.validate import validate_tables

AS_OF = "2026-10-01"
#: A fast model for tests: one small boosting candidate, two folds.
SMALL_MODEL = {
    "candidates": {"hist_gradient_boosting": [{"max_iter": 20, "max_leaf_nodes": 8}]},
    "blend": False,
    "cv": 2,
    "calibration": "sigmoid",
}



@pytest.fixture(scope="session")
def demo_tables():
    """Raw demo tables (1,200 accounts), as a database would hold them."""
    return generate_demo_tables(accounts=1200, seed=5)


def small_spec(kind: str):
    spec = load_model_spec(Path(__file__).parents[2] / "models" / f"{kind}.yaml")
    return dataclasses.replace(spec, model=SMALL_MODEL, as_of_periods=12, validation_periods=2)


@pytest.fixture(scope="session")
def artifacts(demo_tables, tmp_path_factory):
    """Folder with small trained churn and win models (trained through train_model)."""
    folder = tmp_path_factory.mktemp("models")
    valid = validate_tables(demo_tables, as_of=AS_OF).valid
    for kind in ("churn", "win"):
        train_model(valid, kind, spec=small_spec(kind), artifacts_dir=folder)
    return folder


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def demo_db(request, demo_tables, tmp_path):
    """A fresh database holding the demo tables: SQLite file or a new PostgreSQL database."""
    if request.param == "postgres":
        target = request.getfixturevalue("new_postgres_database")("kam_pipeline")
    else:
        target = str(tmp_path / "demo.sqlite")
    db = Database(target)
    db.write_source_tables(demo_tables)
    yield db
    db.dispose()

"""Fixtures of the live-path tests: the pipeline tests' small demo (1,200 accounts) with small models."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from live_factories import AS_OF, new_database

from engine.demo import generate_demo_tables
from engine.models import load_model_spec
from engine.pipeline import train_model
from engine.validate import validate_tables

#: A fast model for tests: one small boosting candidate, two folds (as tests/pipeline).
SMALL_MODEL = {
    "candidates": {"hist_gradient_boosting": [{"max_iter": 20, "max_leaf_nodes": 8}]},
    "blend": False,
    "cv": 2,
    "calibration": "sigmoid",
}


@pytest.fixture(scope="session")
def live_tables():
    """Raw demo tables (1,200 accounts, seed 5), as a database would hold them."""
    return generate_demo_tables(accounts=1200, seed=5)


@pytest.fixture(scope="session")
def live_models(live_tables, tmp_path_factory):
    """Folder with small trained churn and win models."""
    folder = tmp_path_factory.mktemp("live-models")
    valid = validate_tables(live_tables, as_of=AS_OF).valid
    for kind in ("churn", "win"):
        spec = load_model_spec(Path(__file__).parents[2] / "models" / f"{kind}.yaml")
        spec = dataclasses.replace(spec, model=SMALL_MODEL, as_of_periods=12, validation_periods=2)
        train_model(valid, kind, spec=spec, artifacts_dir=folder)
    return folder


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def live_db(request, live_tables, tmp_path):
    """A fresh database (SQLite and PostgreSQL) with the demo tables and no scoring run."""
    db = new_database(request.param, live_tables, tmp_path, request)
    yield db
    db.dispose()

"""A small demo database with small trained models and one scoring run, for the CLI tests."""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
AS_OF = "2026-10-01"
SMALL_MODEL = {
    "candidates": {"hist_gradient_boosting": [{"max_iter": 20, "max_leaf_nodes": 8}]},
    "blend": False,
    "cv": 2,
    "calibration": "sigmoid",
}


@pytest.fixture(scope="session")
def scored(tmp_path_factory):
    """``(database path, models folder)``: 600 demo accounts, both models trained, one run written."""
    from engine.cli import main
    from engine.models import load_model_spec
    from engine.pipeline import ingest, train_model
    from engine.storage import Database

    folder = tmp_path_factory.mktemp("scored")
    path = folder / "demo.sqlite"
    models = folder / "models"
    assert main(["demo-db", str(path), "--accounts", "600", "--seed", "3"]) == 0
    with Database(path, readonly=True) as db:
        tables = ingest(db, as_of=AS_OF).tables
    for kind in ("churn", "win"):
        spec = load_model_spec(ROOT / "models" / f"{kind}.yaml")
        spec = dataclasses.replace(spec, model=SMALL_MODEL, as_of_periods=12, validation_periods=2)
        train_model(tables, kind, spec=spec, artifacts_dir=models)
    assert main(["score", "--db", str(path), "--models", str(models), "--as-of", AS_OF]) == 0
    return path, models


@pytest.fixture
def scored_copy(scored, tmp_path):
    """A private copy of the scored database (tests that damage or rewrite it)."""
    path, models = scored
    copy = tmp_path / "copy.sqlite"
    shutil.copy(path, copy)
    for suffix in ("-wal", "-shm"):
        if Path(str(path) + suffix).exists():
            shutil.copy(str(path) + suffix, str(copy) + suffix)
    return copy, models


@pytest.fixture
def kam_env(tmp_path):
    """Environment for running ``kam`` as a subprocess with this checkout's engine, no stray settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAM_")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["COLUMNS"] = "120"
    return env


"""A small demo database with small trained models and one scoring run, for the CLI tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
AS_OF = "2026-10-01"


@pytest.fixture(scope="session")
def scored(small_demo):
    """``(database path, models folder)``: 600 demo accounts, both models trained, one run written."""
    return small_demo.scored_db(600, 3, AS_OF)


@pytest.fixture
def scored_copy(scored, tmp_path, copy_sqlite):
    """A private copy of the scored database (tests that damage or rewrite it)."""
    path, models = scored
    copy = tmp_path / "copy.sqlite"
    return copy_sqlite(path, copy), models


@pytest.fixture
def kam_env(tmp_path):
    """Environment for running ``kam`` as a subprocess with this checkout's engine, no stray settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAM_")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["COLUMNS"] = "120"
    return env


"""Shared fixtures: a small demo database on SQLite (and PostgreSQL) with small trained models."""

from __future__ import annotations

import pytest

from engine.storage import Database

AS_OF = "2026-10-01"


@pytest.fixture(scope="session")
def demo_tables(small_demo):
    """Raw demo tables (1,200 accounts), as a database would hold them."""
    return small_demo.tables(1200, 5)


@pytest.fixture(scope="session")
def artifacts(small_demo):
    """Folder with small trained churn and win models (trained through train_model)."""
    return small_demo.models(1200, 5, AS_OF)


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

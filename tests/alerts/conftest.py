"""Fixtures of the alert tests: a small demo world and databases (SQLite both ways, PostgreSQL)."""

from __future__ import annotations

import pytest

from engine.storage import Database


@pytest.fixture(params=["sqlite-adbc", "sqlite-sqlalchemy", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request, tmp_path):
    """An empty database: SQLite through ADBC, SQLite through SQLAlchemy, or a fresh PostgreSQL database."""
    if request.param == "postgres":
        db = Database(request.getfixturevalue("new_postgres_database")("kam_alerts"))
    else:
        db = Database(tmp_path / "kam.sqlite", fast_sqlite=request.param == "sqlite-adbc")
    yield db
    db.dispose()


@pytest.fixture(scope="session")
def world():
    """A 300-account demo database as tables (ends 2026-09-30)."""
    from engine.demo import generate_demo_tables

    return generate_demo_tables(accounts=300, seed=3)

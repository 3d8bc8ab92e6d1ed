"""Every storage test runs on SQLite (ADBC fast path and plain SQLAlchemy) and on PostgreSQL."""

from __future__ import annotations

import pytest

from engine.storage import Database


@pytest.fixture(params=["sqlite-adbc", "sqlite-sqlalchemy", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request, tmp_path):
    if request.param == "postgres":
        db = Database(request.getfixturevalue("new_postgres_database")("kam_test"))
    else:
        db = Database(tmp_path / "kam.sqlite", fast_sqlite=request.param == "sqlite-adbc")
    yield db
    db.dispose()

"""Every storage test runs on SQLite (ADBC fast path and plain SQLAlchemy) and on PostgreSQL."""

from __future__ import annotations

import itertools

import pytest

from engine.storage import Database

_counter = itertools.count()


@pytest.fixture(params=["sqlite-adbc", "sqlite-sqlalchemy", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request, tmp_path):
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
        import psycopg

        name = f"kam_test_{next(_counter)}"
        with psycopg.connect(url.replace("postgresql://", "postgresql://", 1), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        db = Database(url.rsplit("/", 1)[0] + "/" + name)
    else:
        db = Database(tmp_path / "kam.sqlite", fast_sqlite=request.param == "sqlite-adbc")
    yield db
    db.dispose()

"""Fixtures of the live-path tests: the pipeline tests' small demo (1,200 accounts) with small models."""

from __future__ import annotations

import pytest
from live_factories import AS_OF, new_database


@pytest.fixture(scope="session")
def live_tables(small_demo):
    """Raw demo tables (1,200 accounts, seed 5: the pipeline tests' demo), as a database would hold them."""
    return small_demo.tables(1200, 5)


@pytest.fixture(scope="session")
def live_models(small_demo):
    """Folder with small trained churn and win models (shared with the pipeline tests)."""
    return small_demo.models(1200, 5, AS_OF)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def live_db(request, live_tables, tmp_path):
    """A fresh database (SQLite and PostgreSQL) with the demo tables and no scoring run."""
    db = new_database(request.param, live_tables, tmp_path, request)
    yield db
    db.dispose()

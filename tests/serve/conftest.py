"""A small scored demo database with published models, and a running service on loopback."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from serve_client import TOKEN

ROOT = Path(__file__).resolve().parents[2]
AS_OF = "2026-10-01"


@pytest.fixture(scope="session")
def scored_service_db(small_demo):
    """``(database path, models folder)``: 400 demo accounts, both models trained, one run written."""
    return small_demo.scored_db(400, 5, AS_OF)


@pytest.fixture
def service_copy(scored_service_db, tmp_path, copy_sqlite):
    """A private copy of the database, models and rules (tests that route leads or edit files)."""
    path, models = scored_service_db
    db = tmp_path / "demo.sqlite"
    copy_sqlite(path, db)
    shutil.copytree(models, tmp_path / "models")
    shutil.copytree(ROOT / "rules", tmp_path / "rules")
    return db, tmp_path / "models", tmp_path / "rules"


@pytest.fixture
def running(service_copy):
    """A :class:`engine.serve.ServiceServer` on a free loopback port, serving from a thread."""
    from engine.serve import ServeOptions, ServiceServer

    db, models, rules = service_copy
    server = ServiceServer(db, ServeOptions(token=TOKEN, max_body_bytes=4096, reload_poll_seconds=0.2), port=0,
                           rules_dir=rules, artifacts_dir=models)
    server.open().start_background()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_service_db(scored_service_db, postgres_url):
    """URL of a PostgreSQL database with 400 demo accounts and one scoring run (the SQLite fixture's models)."""
    import itertools

    import psycopg

    from engine.demo import generate_demo_tables
    from engine.pipeline import score
    from engine.storage import Database

    _, models = scored_service_db
    name = f"kam_serve_{next(itertools.count())}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = postgres_url.rsplit("/", 1)[0] + "/" + name
    db = Database(url)
    try:
        db.write_source_tables(generate_demo_tables(accounts=400, seed=5))
        score(db, as_of=AS_OF, artifacts_dir=models, max_quarantined=None)
    finally:
        db.dispose()
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend_service(request, service_copy):
    """A running service on SQLite (a private copy) or PostgreSQL (one database per session)."""
    from engine.serve import ServeOptions, ServiceServer

    db, models, rules = service_copy
    if request.param == "postgres":
        db = request.getfixturevalue("postgres_service_db")
    server = ServiceServer(db, ServeOptions(token=TOKEN, reload_poll_seconds=0), port=0, rules_dir=rules,
                           artifacts_dir=models)
    server.open().start_background()
    yield server
    server.stop()

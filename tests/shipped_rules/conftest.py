"""Fixtures for the shipped rules: a small generated demo database, its features and decisions."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

AS_OF = dt.date(2026, 10, 1)  # the demo history ends 2026-09-30


@pytest.fixture(scope="session")
def shipped_rules():
    from engine.pipeline._decide import load_default_rules

    return load_default_rules()


@pytest.fixture(scope="session")
def small_demo(shipped_rules):
    """2,000 generated accounts (seed 1), validated, with features, tiers and routes."""
    from engine.demo import generate_demo_tables
    from engine.features import build_account_features, build_opportunity_features
    from engine.pipeline._decide import route_opportunities, tier_accounts
    from engine.validate import validate_tables

    report = validate_tables(generate_demo_tables(accounts=2000, seed=1), as_of=AS_OF)
    assert report.ok, report.failures.head()
    tables = report.valid
    accounts = build_account_features(tables, AS_OF)
    opportunities = build_opportunity_features(tables, AS_OF, accounts=accounts)
    tiers = tier_accounts(accounts, shipped_rules["tiers"], as_of=AS_OF)
    routes = route_opportunities(opportunities, tiers, shipped_rules["routing"], as_of=AS_OF)
    return SimpleNamespace(tables=tables, accounts=accounts, opportunities=opportunities, tiers=tiers, routes=routes)

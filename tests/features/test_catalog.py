"""FEATURE_CATALOG covers every produced column; describe() phrases every entry."""

from __future__ import annotations

import math

import pytest

from engine._errors import ConfigError
from engine.features import (
    ACCOUNT_FEATURE_COLUMNS,
    FEATURE_CATALOG,
    OPPORTUNITY_FEATURE_COLUMNS,
    TRANSACTION_FEATURES,
    describe,
)

PRODUCED = sorted(set(ACCOUNT_FEATURE_COLUMNS) | set(OPPORTUNITY_FEATURE_COLUMNS) | set(TRANSACTION_FEATURES))


@pytest.mark.parametrize("feature", PRODUCED)
def test_every_produced_column_is_catalogued(feature):
    info = FEATURE_CATALOG.get(feature) or FEATURE_CATALOG[feature.removeprefix("account_")]
    assert info.description and info.formula and info.unit and info.higher and info.lower


@pytest.mark.parametrize("feature", sorted(FEATURE_CATALOG))
def test_every_entry_phrases_high_low_and_missing_values(feature):
    info = FEATURE_CATALOG[feature]
    value, typical = {"bool": (True, False), "category": ("telecom", None), "text": ("X1", None)}.get(
        info.kind, (12.5, 3.0)
    )
    higher = describe(feature, value, typical, "higher")
    lower = describe(feature, value, typical, "lower")
    assert higher and lower and "{" not in higher + lower
    missing = describe(feature, math.nan, typical, "higher")
    assert missing and "nan" not in missing.lower()


def test_the_reasons_read_like_a_sales_manager_would_say_them():
    assert describe("days_since_key_contact_left", 40, None, "lower") == (
        "decision- or management-level contact left 40 days ago"
    )
    assert describe("coverage_levels", 1, 3, "lower") == "relationship covers only 1 of 3 levels (typical 3)"
    assert describe("recency_days", 210.4, 35, "higher") == "last order 210 days ago (typical 35)"
    assert describe("share_of_wallet", 0.02, 0.2) == "only 2% share of wallet (typical 20%)"
    assert describe("revenue_change_12m", -0.3, 0.05, -1) == "revenue down -30% on the prior 12 months (typical +5%)"
    assert describe("owner_rep_active", False) == "no active owning rep (the rep has left or the account is unassigned)"
    assert describe("recency_days", None) == "no order on record"
    assert describe("account_share_of_wallet", 0.5, 0.1) == "buys 50% of its IT budget from us (typical 10%)"


def test_unknown_features_get_a_generic_phrase():
    assert describe("mystery_score", 2.5, 1.0, "higher") == "mystery score is 2.5, above the typical 1"
    assert describe("mystery_score", 0.5, 1.0) == "mystery score is 0.5, below the typical 1"
    assert describe("mystery_flag", "yes") == "mystery flag is yes"
    assert describe("mystery_score", float("nan"), 1.0) == "mystery score is unknown"


def test_a_bad_direction_is_refused():
    with pytest.raises(ConfigError, match="direction"):
        describe("recency_days", 10, 5, "sideways")

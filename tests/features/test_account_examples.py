"""Hand-computed values for every column of build_account_features on one small database."""

from __future__ import annotations

import functools
import math

import numpy as np
import pandas as pd
import pytest
from features_factories import AS_OF, tables

from engine.features import ACCOUNT_FEATURE_COLUMNS, build_account_features


def _days(date: str) -> float:
    return float((pd.Timestamp(AS_OF) - pd.Timestamp(date)).days)


GAPS = np.array([276.0, 30.0, 30.0])  # distinct order days -366, -90, -60, -30
NAN = math.nan
EXPECTED = {
    "account_id": ["A1", "A2", "A3", "A4"],
    "name": ["Customer A1", "Customer A2", "Customer A3", "Customer A4"],
    "region": ["shanghai", "shanghai", "fujian", "shanghai"],
    "industry": ["finance", "finance", "education", "finance"],
    "admin_level": [NAN, "county", NAN, NAN],
    "strategic": [True, False, False, False],
    "status": ["active"] * 4,
    "employees": [500.0, 100.0, 100.0, 100.0],
    "it_spend_potential": [10_000.0, 0.0, 1_000_000.0, 1_000_000.0],
    "owner_rep_id": ["R1"] * 4,
    "owner_partner_id": ["P1"] * 4,
    "territory": ["shanghai/finance", "shanghai/finance", "fujian/education", "shanghai/finance"],
    "created_before_as_of": [True, True, False, True],
    "account_age_days": [_days("2020-07-01"), _days("2023-07-01"), 0.0, _days("2021-01-01")],
    "revenue_12m": [650.0, 0.0, 0.0, 0.0],
    "margin_12m": [65.0, 0.0, 0.0, 0.0],
    "units_12m": [7.0, 0.0, 0.0, 0.0],
    "revenue_prev_12m": [400.0, 0.0, 0.0, 0.0],
    "margin_prev_12m": [40.0, 0.0, 0.0, 0.0],
    "revenue_change_12m": [0.625, NAN, NAN, NAN],
    "margin_change_12m": [0.625, NAN, NAN, NAN],
    "revenue_90d": [650.0, 0.0, 0.0, 0.0],
    "revenue_prev_90d": [0.0, 0.0, 0.0, 0.0],
    "revenue_change_90d": [NAN, NAN, NAN, NAN],
    "orders_12m": [4, 0, 0, 0],
    "recency_days": [30.0, 731.0, NAN, NAN],
    "frequency_36m": [5, 1, 0, 0],
    "monetary_36m": [210.0, 1000.0, NAN, NAN],
    "share_of_wallet": [0.065, NAN, 0.0, 0.0],
    "product_breadth_12m": [3, 0, 0, 0],
    "mean_order_interval_days": [112.0, NAN, NAN, NAN],
    "order_interval_cv": [float(GAPS.std() / GAPS.mean()), NAN, NAN, NAN],
    "days_overdue": [0.0, NAN, NAN, NAN],
    "tickets_12m": [3, 2, 0, 0],
    "tickets_open": [2, 0, 0, 0],
    "complaints_90d": [2, 0, 0, 0],
    "unresolved_complaints": [2, 0, 0, 0],
    # tickets closed in the 12 months: A1 10 h; A2 30 h and 50 h; global median 30 h
    "resolution_hours_ratio": [10 / 30, 40 / 30, NAN, NAN],
    "satisfaction_avg_12m": [4.0, 3.5, NAN, NAN],
    "contacts_active": [2, 1, 0, 0],
    "coverage_levels": [2, 1, 0, 0],
    "single_level_coverage": [False, True, False, False],
    "days_since_key_contact_left": [40.0, NAN, NAN, NAN],
    "rep_changes_24m": [2, 0, 0, 0],
    "owner_rep_active": [True, False, False, False],
    "days_since_rep_change": [99.0, 365.0, NAN, NAN],
    "days_since_last_visit": [5.0, 91.0, NAN, NAN],
    "visits_90d": [2, 0, 0, 0],
    "open_opportunities": [2, 0, 0, 0],
    "won_deals_12m": [1, 0, 0, 0],
    "lost_deals_12m": [3, 0, 0, 0],
    "competitor_in_lost_deals_12m": [1, 0, 0, 0],
    "revenue_rank_in_territory": [1.0, 2.0, NAN, 3.0],  # A2 and A4 tie at 0: account_id decides
    "territory_accounts": [3, 3, 0, 3],
    "revenue_share_in_territory": [1.0, 0.0, NAN, 0.0],
}


@functools.cache
def _features(dates: str) -> pd.DataFrame:
    return build_account_features(tables(dates), AS_OF)


def test_every_column_has_a_hand_computed_example():
    assert list(EXPECTED) == list(ACCOUNT_FEATURE_COLUMNS)


@pytest.mark.parametrize("dates", ["iso", "datetime"])
@pytest.mark.parametrize("column", list(EXPECTED))
def test_hand_computed_value(column, dates):
    features = _features(dates)
    got = features[column].tolist()
    for account, value, expected in zip(EXPECTED["account_id"], got, EXPECTED[column]):
        if isinstance(expected, float) and math.isnan(expected):
            assert pd.isna(value), (column, account, value)
        elif isinstance(expected, float):
            assert value == pytest.approx(expected, rel=1e-12), (column, account)
        else:
            assert value == expected, (column, account)


def test_dtypes_are_the_documented_ones():
    features = build_account_features(tables(), AS_OF)
    for column, dtype in ACCOUNT_FEATURE_COLUMNS.items():
        assert str(features[column].dtype) == dtype, column


def test_result_does_not_depend_on_row_order():
    ordered = tables()
    shuffled = {name: frame.sample(frac=1.0, random_state=3) for name, frame in ordered.items() if name != "customers"}
    shuffled["customers"] = ordered["customers"]
    pd.testing.assert_frame_equal(build_account_features(ordered, AS_OF), build_account_features(shuffled, AS_OF))


def test_one_row_per_customer_in_customer_order():
    base = tables()
    base["customers"] = base["customers"].iloc[::-1].reset_index(drop=True)
    features = build_account_features(base, AS_OF)
    assert features["account_id"].tolist() == ["A4", "A3", "A2", "A1"]
    assert features.loc[features["account_id"] == "A1", "revenue_12m"].item() == 650.0

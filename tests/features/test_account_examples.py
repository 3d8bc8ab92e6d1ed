"""Hand-computed values for every column of build_account_features on one small database."""

from __future__ import annotations

import datetime as dt
import functools
import math

import numpy as np
import pandas as pd
import pytest
from features_factories import customer, database

from engine.features import ACCOUNT_FEATURE_COLUMNS, build_account_features

AS_OF = dt.date(2024, 7, 1)


def d(offset: int) -> str:
    """ISO date ``offset`` days from the as-of date."""
    return (AS_OF + dt.timedelta(days=offset)).isoformat()


def order(account, offset, line, amount, units=1):
    return {"account_id": account, "order_date": d(offset), "product_line": line, "units": units,
            "amount": float(amount), "margin": amount / 10, "channel": "direct"}


def ticket(account, kind, opened, closed, hours=None, rating=None):
    return {"account_id": account, "kind": kind, "severity": "low", "opened_date": d(opened),
            "closed_date": None if closed is None else d(closed), "resolution_hours": hours, "satisfaction": rating}


def contact(account, level, start, end):
    return {"account_id": account, "level": level, "role": "x", "active_from": d(start),
            "active_to": None if end is None else d(end)}


def owner(account, rep, start, end):
    return {"account_id": account, "rep_id": rep, "start_date": d(start), "end_date": None if end is None else d(end)}


def deal(account, created, closed, outcome, competitor=None):
    return {"account_id": account, "created_date": d(created), "closed_date": None if closed is None else d(closed),
            "outcome": outcome, "competitor": competitor, "source": "web", "product_line": "server",
            "est_units": 1, "est_amount": 10.0, "stage": "lead"}


def tables(dates="iso"):
    rows = dict(
        customers=[
            customer("A1", created="2020-07-01", it_spend_potential=10_000.0, employees=500, strategic=True),
            customer("A2", created="2023-07-01", it_spend_potential=0.0, admin_level="county"),
            customer("A3", region="fujian", industry="education", created=d(0)),
            customer("A4", created="2021-01-01"),
        ],
        orders=[
            order("A1", -30, "server", 300, units=3),
            order("A1", -30, "services", 50),  # same day: one purchase day for the rhythm
            order("A1", -60, "notebook", 200, units=2),
            order("A1", -90, "server", 100),  # first day of the 90-day window
            order("A1", -366, "desktop", 400, units=4),  # last day of the prior 12 months
            order("A1", 0, "server", 9999),  # on the as-of day: a label row, never a feature row
            order("A2", -731, "server", 1000),  # before the prior 12 months, inside 36 months
        ],
        tickets=[
            ticket("A1", "complaint", -10, None),
            ticket("A1", "repair", -100, -95, hours=10.0, rating=4),
            ticket("A1", "complaint", -50, 0, hours=999.0, rating=1),  # closes on the as-of day: open at A
            ticket("A1", "repair", -400, -380, hours=1000.0, rating=1),  # closed before the 12 months
            ticket("A2", "inquiry", -20, -19, hours=30.0, rating=2),
            ticket("A2", "inquiry", -30, -28, hours=50.0, rating=5),
        ],
        contacts=[
            contact("A1", "operations", -500, None),
            contact("A1", "management", -500, -40),
            contact("A1", "decision", -300, 0),  # last day in role is the as-of day: still active
            contact("A1", "decision", -900, -200),
            contact("A2", "operations", -100, None),
            contact("A2", "management", 0, None),  # starts on the as-of day: not yet
        ],
        ownership=[
            owner("A1", "R1", -1000, -400),
            owner("A1", "R2", -399, -100),
            owner("A1", "R1", -99, None),
            owner("A2", "R1", -365, -10),
        ],
        visits=[
            {"account_id": "A1", "rep_id": "R1", "visit_date": d(k), "kind": "onsite"} for k in (-5, -80, -200, 0)
        ]
        + [{"account_id": "A2", "rep_id": "R1", "visit_date": d(-91), "kind": "phone"}],
        opportunities=[
            deal("A1", -200, -100, "lost", "Dell"),
            deal("A1", -300, -250, "lost"),
            deal("A1", -500, -400, "lost", "Dell"),  # closed before the 12 months
            deal("A1", -100, -50, "won"),
            deal("A1", -30, None, "open"),
            deal("A1", -20, 5, "won"),  # open at A; its win is in the future
            deal("A1", -40, -10, "lost", "   "),  # blank competitor is not a name
        ],
    )
    return database(dates=dates, **rows)


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

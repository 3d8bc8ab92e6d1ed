"""Opportunity features and the churn/win training frames."""

from __future__ import annotations

import pandas as pd
import pytest
from features_factories import AS_OF, customer, d, database, deal, order, tables

from engine._errors import ConfigError, DataError
from engine.features import (
    CHURN_FEATURE_COLUMNS,
    OPPORTUNITY_FEATURE_COLUMNS,
    WIN_FEATURE_COLUMNS,
    build_account_features,
    build_churn_training_frame,
    build_opportunity_features,
    build_win_training_frame,
    data_end_date,
)


def prospect(created, closed, outcome, region="fujian", industry="education"):
    row = deal(None, created, closed, outcome)
    row.update(prospect_name="New School", region=region, industry=industry)
    return row


def opportunity_tables():
    base = tables()
    extra = pd.DataFrame(
        [prospect(-10, None, "open"), prospect(-300, -200, "won"), prospect(-300, -250, "lost"),
         prospect(-300, -5, "won", region="shanghai")]
    ).astype({"est_units": "int64"})
    frame = pd.concat([base["opportunities"], extra.reindex(columns=base["opportunities"].columns)], ignore_index=True)
    frame["opportunity_id"] = [f"OP{i}" for i in range(len(frame))]
    base["opportunities"] = frame.astype({c: "str" for c in frame.columns if frame[c].dtype == object})
    return base


def test_open_opportunities_with_hand_computed_values():
    f = build_opportunity_features(opportunity_tables(), AS_OF)
    assert list(f.columns) == list(OPPORTUNITY_FEATURE_COLUMNS)
    for column, dtype in OPPORTUNITY_FEATURE_COLUMNS.items():
        assert str(f[column].dtype) == dtype, column
    # open at A: A1's deal created -30 (open), A1's deal created -20 (closes +5), the new prospect
    assert f["opportunity_id"].tolist() == ["OP4", "OP5", "OP7"]
    linked, _, new = (f.iloc[i] for i in range(3))
    assert not linked["is_prospect"] and new["is_prospect"]
    assert linked["territory"] == "shanghai/finance" and new["territory"] == "fujian/education"
    assert linked["age_days"] == 30 and new["age_days"] == 10
    assert linked["account_revenue_12m"] == 650.0 and linked["account_lost_deals_12m"] == 3
    assert linked["account_age_days"] == build_account_features(tables(), AS_OF)["account_age_days"].iloc[0]
    assert pd.isna(new["account_revenue_12m"])
    # fujian/education closed in the 12 months: one won, one lost
    assert new["territory_win_rate_12m"] == 0.5 and new["territory_closed_deals_12m"] == 2
    # shanghai/finance: A1 won 1, lost 3, plus the shanghai-region prospect that names education
    assert linked["territory_closed_deals_12m"] == 4 and linked["territory_win_rate_12m"] == 0.25
    assert not linked["competitor"]


def test_precomputed_accounts_give_the_same_result():
    base = opportunity_tables()
    accounts = build_account_features(base, AS_OF)
    pd.testing.assert_frame_equal(
        build_opportunity_features(base, AS_OF, accounts=accounts), build_opportunity_features(base, AS_OF)
    )


def churn_tables():
    return database(
        customers=[customer("A1"), customer("A2"), customer("A3"), customer("A4", created=d(-10))],
        orders=[
            order("A1", -100, "server", 10), order("A1", 0, "server", 10),  # buys on A: not churned
            order("A2", -50, "server", 10), order("A2", 30, "server", 10),  # buys at A + horizon: churned
            order("A3", -400, "server", 10),  # no order in the 12 months: not eligible
            order("A4", -5, "server", 10),  # new account, eligible, churned
            order("A1", 60, "server", 1),  # the data runs to A + 60
        ],
    )


def test_churn_training_frame_labels_and_eligibility():
    X, y, meta = build_churn_training_frame(churn_tables(), [AS_OF], horizon_days=30)
    assert list(X.columns) == list(CHURN_FEATURE_COLUMNS)
    assert meta["account_id"].tolist() == ["A1", "A2", "A4"]
    assert y.tolist() == [0, 1, 1] and y.name == "churned"
    assert (meta["as_of"] == pd.Timestamp(AS_OF)).all()
    assert len(X) == len(y) == len(meta) and X.index.equals(y.index)


def test_churn_training_frame_stacks_as_of_dates():
    X, y, meta = build_churn_training_frame(churn_tables(), [d(-30), AS_OF], horizon_days=30)
    assert meta["as_of"].nunique() == 2 and len(X) == len(y) == len(meta)
    first = meta["as_of"] == pd.Timestamp(d(-30))
    # at A-30 the window is [A-30, A): nobody buys in it; A4 is created only at A-10
    assert dict(zip(meta.loc[first, "account_id"], y[first])) == {"A1": 1, "A2": 1}


def test_churn_label_window_past_the_data_is_refused():
    with pytest.raises(DataError, match="on or before"):
        build_churn_training_frame(churn_tables(), [d(40)], horizon_days=30)
    assert data_end_date(churn_tables()) == pd.Timestamp(d(60))


def test_churn_horizon_must_be_positive():
    with pytest.raises(ConfigError):
        build_churn_training_frame(churn_tables(), [AS_OF], horizon_days=0)


def test_win_training_frame():
    X, y, meta = build_win_training_frame(opportunity_tables(), [AS_OF, d(-100)])
    assert list(X.columns) == list(WIN_FEATURE_COLUMNS)
    assert "stage" not in X.columns
    rows = dict(zip(zip(meta["opportunity_id"], meta["as_of"].dt.date.astype(str)), y))
    # at A: OP5 (won at +5) is labelled; OP4 and the open prospect OP7 never closed
    assert rows[("OP5", d(0))] == 1 and ("OP4", d(0)) not in rows and ("OP7", d(0)) not in rows
    # at A-100: A1's deal created -200 and lost on -100 is still open; so is the prospect won at -5
    assert rows[("OP10", d(-100))] == 1 and rows[("OP0", d(-100))] == 0
    assert sorted(opportunity for opportunity, when in rows if when == d(-100)) == ["OP0", "OP10"]
    assert y.name == "won" and len(X) == len(y) == len(meta)

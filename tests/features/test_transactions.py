"""from_transactions and churn_labels: hand-computed values and the as-of boundary."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pandas.testing import assert_frame_equal, assert_series_equal

from engine._errors import ConfigError, DataError
from engine.features import TRANSACTION_FEATURES, churn_labels, from_transactions

AS_OF = pd.Timestamp("2024-07-01")


def tx(rows):
    frame = pd.DataFrame(rows, columns=["customer_id", "date", "amount"])
    return frame.astype({"customer_id": "str", "date": "str", "amount": "float64"})


def d(offset):
    return (AS_OF + pd.Timedelta(days=offset)).date().isoformat()


def test_hand_computed_features():
    log = tx(
        [
            ("a", d(-400), 100.0),
            ("a", d(-200), 50.0),
            ("a", d(-100), 30.0),
            ("a", d(-100), 20.0),
            ("a", d(-10), 40.0),
            ("a", d(0), 999.0),  # on the as-of day: not a feature row
            ("b", d(-95), 10.0),
        ]
    )
    f = from_transactions(log, as_of=AS_OF)
    assert list(f.columns) == list(TRANSACTION_FEATURES)
    assert f.index.name == "customer_id" and f.index.tolist() == ["a", "b"]
    a = f.loc["a"]
    assert a["recency_days"] == 10 and a["frequency"] == 5 and a["tenure_days"] == 400
    assert a["monetary"] == pytest.approx(48.0) and a["monetary_total"] == 240.0
    assert a["transactions_12m"] == 4 and a["transactions_90d"] == 1
    assert a["amount_12m"] == 140.0 and a["amount_prev_12m"] == 100.0
    assert a["amount_change_12m"] == pytest.approx(0.4)
    assert a["amount_90d"] == 40.0 and a["amount_prev_90d"] == 50.0  # d(-100) is in
    assert a["amount_change_90d"] == pytest.approx(-0.2)
    gaps = np.array([200.0, 100.0, 90.0])  # distinct days -400, -200, -100, -10
    assert a["mean_interval_days"] == pytest.approx(gaps.mean())
    assert a["interval_cv"] == pytest.approx(gaps.std() / gaps.mean())
    assert a["days_overdue"] == 0.0
    b = f.loc["b"]
    assert b["recency_days"] == 95 and np.isnan(b["mean_interval_days"]) and np.isnan(b["days_overdue"])
    assert np.isnan(b["amount_change_12m"])


def test_overdue_counts_days_past_the_usual_gap():
    log = tx([("a", d(-300), 1.0), ("a", d(-250), 1.0), ("a", d(-200), 1.0)])
    assert from_transactions(log, as_of=AS_OF).loc["a", "days_overdue"] == 150.0


def test_default_as_of_is_the_day_after_the_last_row():
    log = tx([("a", "2024-01-01", 1.0), ("a", "2024-01-11", 1.0)])
    f = from_transactions(log)
    assert f.loc["a", "recency_days"] == 1 and f.loc["a", "frequency"] == 2


def test_without_amounts_the_monetary_columns_are_left_out():
    log = pd.DataFrame({"cust": ["x", "x"], "when": pd.to_datetime(["2024-01-01", "2024-02-01"])})
    f = from_transactions(log, customer="cust", date="when", amount=None, as_of="2024-03-01")
    assert "monetary" not in f.columns and f.loc["x", "frequency"] == 2


def test_labels_window_is_half_open_from_as_of():
    log = tx(
        [
            ("on_as_of", d(-5), 1.0),
            ("on_as_of", d(0), 1.0),  # a purchase on as_of counts as buying in the window
            ("last_day", d(-5), 1.0),
            ("last_day", d(29), 1.0),  # as_of + horizon - 1: inside
            ("after", d(-5), 1.0),
            ("after", d(30), 1.0),  # as_of + horizon: outside
            ("new", d(3), 1.0),  # no purchase before as_of: not eligible
        ]
    )
    labels = churn_labels(log, as_of=AS_OF, horizon_days=30)
    assert labels.to_dict() == {"after": 1, "last_day": 0, "on_as_of": 0}
    assert labels.name == "churned" and labels.dtype == "int64"


def test_labels_need_as_of_and_a_positive_horizon():
    log = tx([("a", d(-1), 1.0)])
    with pytest.raises(ConfigError):
        churn_labels(log, horizon_days=30)
    with pytest.raises(ConfigError):
        churn_labels(log, as_of=AS_OF, horizon_days=0)


def test_missing_column_is_a_data_error_naming_it():
    with pytest.raises(DataError, match="missing \\['amount'\\]"):
        from_transactions(pd.DataFrame({"customer_id": ["a"], "date": ["2024-01-01"]}), as_of=AS_OF)


rows = st.lists(
    st.tuples(st.sampled_from("abcde"), st.integers(-500, 200), st.integers(0, 100).map(float)), max_size=40
)


def _log(drawn):
    return tx([(c, d(offset), amount) for c, offset, amount in drawn])


@settings(max_examples=150)
@given(rows, rows, st.integers(1, 120))
def test_features_read_only_rows_before_as_of_and_labels_only_the_window(drawn, other, horizon):
    log = _log(drawn)
    features = from_transactions(log, as_of=AS_OF)
    labels = churn_labels(log, as_of=AS_OF, horizon_days=horizon)
    # same customers on both sides
    assert features.index.equals(labels.index)
    # rows on/after as_of (another drawn set) never change a feature
    future = _log([row for row in other if row[1] >= 0])
    with_future = pd.concat([log, future], ignore_index=True)
    assert_frame_equal(from_transactions(with_future, as_of=AS_OF), features)
    # changing rows before as_of (keeping who bought) and rows after the window never changes a label
    past = [row for row in drawn if row[1] < 0]
    window = [row for row in drawn if 0 <= row[1] < horizon]
    moved_past = [(c, -1, 0.0) for c, _, _ in past]
    beyond = [(c, horizon + extra, 1.0) for c, extra, _ in other if extra >= 0]
    assert_series_equal(churn_labels(_log(moved_past + window + beyond), as_of=AS_OF, horizon_days=horizon), labels)
    # and the label is exactly "no row in [as_of, as_of + horizon)"
    buyers = {c for c, _, _ in window}
    assert labels.to_dict() == {c: int(c not in buyers) for c in sorted({c for c, _, _ in past})}


def test_datetime_and_iso_strings_give_the_same_features():
    log = tx([("a", d(-10), 1.0), ("a", d(-40), 2.0), ("b", d(-3), 5.0)])
    as_datetime = log.assign(date=pd.to_datetime(log["date"]))
    as_dates = log.assign(date=[dt.date.fromisoformat(x) for x in log["date"]])
    expected = from_transactions(log, as_of=AS_OF)
    assert_frame_equal(from_transactions(as_datetime, as_of=AS_OF), expected)
    assert_frame_equal(from_transactions(as_dates, as_of=AS_OF.date()), expected)


def test_empty_log_gives_empty_frames():
    empty = tx([])
    assert len(from_transactions(empty, as_of=AS_OF)) == 0
    assert len(churn_labels(empty, as_of=AS_OF, horizon_days=10)) == 0

"""Input robustness: date representations, empty and missing tables, bad input, categoricals."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from features_factories import AS_OF, customer, database, tables
from pandas.testing import assert_frame_equal

from engine._asof import default_as_of
from engine._errors import AsOfError, DataError
from engine._normalise import NULL_DAY, as_of_day, day_numbers
from engine.features import (
    ACCOUNT_FEATURE_COLUMNS,
    build_account_features,
    build_opportunity_features,
)

EXPECTED = build_account_features(tables("iso"), AS_OF)


def _convert(convert):
    converted = {}
    for name, frame in tables("iso").items():
        frame = frame.copy()
        for column in frame.columns:
            if column.endswith(("_date", "_from", "_to")):
                frame[column] = convert(frame[column])
        converted[name] = frame
    return converted


@pytest.mark.parametrize(
    "convert",
    [
        pytest.param(lambda s: pd.to_datetime(s), id="datetime64"),
        pytest.param(lambda s: pd.to_datetime(s).astype("datetime64[s]"), id="datetime64[s]"),
        pytest.param(lambda s: pd.to_datetime(s).dt.tz_localize("Asia/Shanghai"), id="tz-aware"),
        pytest.param(lambda s: pd.Series([None if pd.isna(x) else dt.date.fromisoformat(x) for x in s],
                                         dtype=object), id="date-objects"),
        pytest.param(lambda s: s.astype(object), id="object-strings"),
        pytest.param(lambda s: (s + "T00:00:00").where(s.notna()), id="iso-timestamps"),
        pytest.param(lambda s: pd.Series(pd.to_datetime(s).array, dtype="timestamp[us][pyarrow]"), id="arrow"),
    ],
)
def test_every_date_representation_gives_the_same_features(convert):
    assert_frame_equal(build_account_features(_convert(convert), AS_OF), EXPECTED)


@pytest.mark.parametrize("as_of", [AS_OF, "2024-07-01", pd.Timestamp("2024-07-01 15:00"), np.datetime64("2024-07-01")])
def test_as_of_forms(as_of):
    assert_frame_equal(build_account_features(tables(), as_of), EXPECTED)


def test_categorical_columns_give_the_same_features():
    categorical = {name: frame.astype({c: "category" for c in frame.columns if frame[c].dtype == "str"
                                       and not c.endswith(("_date", "_from", "_to"))})
                   for name, frame in tables().items()}
    assert_frame_equal(build_account_features(categorical, AS_OF), EXPECTED)


def test_only_customers_given():
    only = {"customers": tables()["customers"]}
    features = build_account_features(only, AS_OF)
    assert list(features.columns) == list(ACCOUNT_FEATURE_COLUMNS)
    assert (features["revenue_12m"] == 0).all() and features["recency_days"].isna().all()
    assert (features["coverage_levels"] == 0).all() and not features["owner_rep_active"].any()


def test_empty_tables_without_columns_count_as_empty():
    empty = {name: pd.DataFrame() for name in tables() if name != "customers"}
    features = build_account_features({"customers": tables()["customers"], **empty}, AS_OF)
    for column, dtype in ACCOUNT_FEATURE_COLUMNS.items():
        assert str(features[column].dtype) == dtype, column


def test_no_customers_gives_an_empty_frame_with_every_column():
    features = build_account_features(database(), AS_OF)
    assert len(features) == 0 and list(features.columns) == list(ACCOUNT_FEATURE_COLUMNS)
    assert len(build_opportunity_features(database(), AS_OF)) == 0


def test_without_ownership_table_the_reps_snapshot_is_used():
    base = database(customers=[customer("A1", owner_rep_id="R1"), customer("A2", owner_rep_id="R2")],
                    reps=[{"rep_id": "R1", "active": True}, {"rep_id": "R2", "active": False}])
    del base["ownership"]
    assert build_account_features(base, AS_OF)["owner_rep_active"].tolist() == [True, False]


def test_rows_of_unknown_accounts_are_ignored():
    base = tables()
    base["orders"] = pd.concat(
        [base["orders"], base["orders"].iloc[:1].assign(account_id="NOPE")], ignore_index=True
    )
    assert_frame_equal(build_account_features(base, AS_OF), EXPECTED)


def test_missing_customers_table_is_a_data_error():
    with pytest.raises(DataError, match="customers"):
        build_account_features({}, AS_OF)


def test_missing_column_is_a_data_error_naming_it():
    base = tables()
    base["orders"] = base["orders"].drop(columns=["margin"])
    with pytest.raises(DataError, match="margin"):
        build_account_features(base, AS_OF)


def test_unparseable_date_is_a_data_error():
    base = tables()
    base["visits"] = base["visits"].assign(visit_date="yesterday")
    with pytest.raises(DataError, match="visits.visit_date"):
        build_account_features(base, AS_OF)


def test_bad_as_of_is_the_one_as_of_error():
    # issue 15: one as-of normaliser, one error (AsOfError, a ConfigError) at every entry point
    with pytest.raises(AsOfError, match="got 'not a date'"):
        build_account_features(tables(), "not a date")
    with pytest.raises(AsOfError, match="'2024-06-30'"):
        build_account_features(tables(), "30/06/2024")


def test_no_as_of_means_the_day_after_the_newest_event_in_the_tables():
    base = tables()
    assert as_of_day(None, base) == as_of_day(default_as_of(base))
    pd.testing.assert_frame_equal(build_account_features(base, None),
                                  build_account_features(base, default_as_of(base)))


def test_null_dates_become_the_far_future_day():
    days = day_numbers(pd.Series(["1970-01-03", None], dtype="str"))
    assert days.tolist() == [2, int(NULL_DAY)]
    assert day_numbers(pd.Series([], dtype="datetime64[ns]")).dtype == np.int64

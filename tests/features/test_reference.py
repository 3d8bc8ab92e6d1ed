"""Features built per partition with the whole database's FeatureReference equal one pass.

The partitions here are cut by the test itself (plain pandas ``isin`` on territories), so the
check does not lean on the pipeline's partitioner.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine._errors import DataError
from engine.demo import generate_demo_tables
from engine.features import (
    FeatureReference,
    build_account_features,
    build_opportunity_features,
    feature_reference,
)
from engine.validate import validate_tables

AS_OF = "2026-10-01"


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    return validate_tables(generate_demo_tables(accounts=600, seed=5), as_of=AS_OF).valid


@pytest.fixture(scope="module")
def whole(tables):
    accounts = build_account_features(tables, AS_OF)
    return accounts, build_opportunity_features(tables, AS_OF, accounts=accounts)


def _territory(frame: pd.DataFrame) -> pd.Series:
    return frame["region"].astype(str) + "/" + frame["industry"].astype(str)


def _split(tables, partition_of_territory: dict[str, int], n: int) -> list[dict[str, pd.DataFrame]]:
    """Cut the tables by territory: accounts, their rows, prospects by their own territory."""
    customers = tables["customers"]
    account_part = _territory(customers).map(partition_of_territory)
    part_of_account = pd.Series(account_part.to_numpy(), index=customers["account_id"].to_numpy())
    opportunities = tables["opportunities"]
    opportunity_part = opportunities["account_id"].map(part_of_account)
    prospects = opportunities["account_id"].isna()
    opportunity_part[prospects] = _territory(opportunities[prospects]).map(partition_of_territory)
    parts = []
    for k in range(n):
        part = {}
        for name, frame in tables.items():
            if name == "customers":
                rows = account_part == k
            elif name == "opportunities":
                rows = opportunity_part == k
            elif "account_id" in frame.columns:
                rows = frame["account_id"].map(part_of_account) == k
            else:
                rows = pd.Series(True, index=frame.index)
            part[name] = frame[rows.to_numpy()].reset_index(drop=True)
        parts.append(part)
    return parts


def _by_territory(tables, n: int, seed: int) -> dict[str, int]:
    names = sorted(set(_territory(tables["customers"])) | set(_territory(tables["opportunities"])))
    rng = np.random.default_rng(seed)
    return {name: int(k) for name, k in zip(names, rng.integers(0, n, len(names)))}


def _features_per_partition(parts, reference):
    accounts, opportunities = [], []
    for part in parts:
        a = build_account_features(part, AS_OF, reference=reference)
        accounts.append(a)
        opportunities.append(build_opportunity_features(part, AS_OF, accounts=a, reference=reference))
    return accounts, opportunities


def _in_order(frames: list[pd.DataFrame], like: pd.DataFrame, key: str) -> pd.DataFrame:
    combined = pd.concat(frames, ignore_index=True)
    order = pd.Index(combined[key]).get_indexer(like[key])
    assert (order >= 0).all(), "a row went missing in the partitions"
    return combined.iloc[order].reset_index(drop=True)


def test_partitions_with_the_reference_equal_one_pass(tables, whole):
    accounts, opportunities = whole
    reference = feature_reference(tables, AS_OF)
    parts = _split(tables, _by_territory(tables, 4, seed=1), 4)
    assert all(len(p["customers"]) for p in parts)
    got_accounts, got_opportunities = _features_per_partition(parts, reference)
    pd.testing.assert_frame_equal(_in_order(got_accounts, accounts, "account_id"), accounts, check_exact=True)
    pd.testing.assert_frame_equal(
        _in_order(got_opportunities, opportunities, "opportunity_id"), opportunities, check_exact=True
    )


@settings(max_examples=8, deadline=None)
@given(n=st.integers(min_value=1, max_value=7), seed=st.integers(min_value=0, max_value=2**16))
def test_any_territory_partitioning_equals_one_pass(tables, whole, n, seed):
    accounts, opportunities = whole
    reference = feature_reference(tables, AS_OF)
    parts = _split(tables, _by_territory(tables, n, seed), n)
    got_accounts, got_opportunities = _features_per_partition(parts, reference)
    pd.testing.assert_frame_equal(_in_order(got_accounts, accounts, "account_id"), accounts, check_exact=True)
    pd.testing.assert_frame_equal(
        _in_order(got_opportunities, opportunities, "opportunity_id"), opportunities, check_exact=True
    )


def test_without_the_reference_the_global_median_differs(tables, whole):
    """Guards the test above: the partition's own median is not the database's."""
    accounts, _ = whole
    parts = _split(tables, _by_territory(tables, 4, seed=1), 4)
    local = _in_order([build_account_features(p, AS_OF) for p in parts], accounts, "account_id")
    expected = accounts["resolution_hours_ratio"].to_numpy()
    got = local["resolution_hours_ratio"].to_numpy()
    assert not np.array_equal(np.nan_to_num(expected, nan=-1), np.nan_to_num(got, nan=-1))


def test_territory_win_rate_is_exact_even_when_a_territory_is_split(tables, whole):
    """The reference carries the territories' deal counts, so a split territory keeps them."""
    _, opportunities = whole
    reference = feature_reference(tables, AS_OF)
    customers = tables["customers"]
    half = set(customers["account_id"].iloc[::2])
    parts = []
    for keep in (True, False):
        part = {}
        for name, frame in tables.items():
            if "account_id" in frame.columns:
                linked = frame["account_id"].isin(half)
                rows = linked if keep else ~linked
                part[name] = frame[rows.to_numpy()].reset_index(drop=True)
            else:
                part[name] = frame
        parts.append(part)
    got = _in_order(
        [build_opportunity_features(p, AS_OF, reference=reference) for p in parts], opportunities, "opportunity_id"
    )
    for column in ("territory_win_rate_12m", "territory_closed_deals_12m"):
        pd.testing.assert_series_equal(got[column], opportunities[column], check_exact=True)


def test_reference_holds_the_database_statistics(tables, whole):
    reference = feature_reference(tables, AS_OF)
    tickets = tables["tickets"]
    closed = pd.to_datetime(tickets["closed_date"])
    window = (closed < pd.Timestamp(AS_OF)) & (closed >= pd.Timestamp(AS_OF) - pd.Timedelta(days=365))
    hours = tickets.loc[window & tickets["account_id"].isin(tables["customers"]["account_id"]), "resolution_hours"]
    assert reference.resolution_hours_median == float(np.median(hours.dropna().to_numpy(dtype=float)))
    _, opportunities = whole
    by_territory = opportunities.drop_duplicates("territory").set_index("territory")
    for territory, (won, decided) in reference.territory_deals.items():
        if territory in by_territory.index:
            assert by_territory.loc[territory, "territory_closed_deals_12m"] == decided
            rate = by_territory.loc[territory, "territory_win_rate_12m"]
            assert math.isclose(rate, won / decided)
    assert list(reference.territory_deals) == sorted(reference.territory_deals)


def test_reference_from_another_day_is_refused(tables):
    reference = feature_reference(tables, "2026-09-30")
    with pytest.raises(DataError, match="2026-10-01.*2026-09-30"):
        build_account_features(tables, AS_OF, reference=reference)
    with pytest.raises(DataError, match="same as_of"):
        build_opportunity_features(tables, AS_OF, reference=reference)


def test_reference_of_an_empty_database():
    customers = pd.DataFrame({"account_id": pd.Series([], dtype="str"), "region": pd.Series([], dtype="str"),
                              "industry": pd.Series([], dtype="str")})
    reference = feature_reference({"customers": customers}, AS_OF)
    assert isinstance(reference, FeatureReference)
    assert math.isnan(reference.resolution_hours_median)
    assert dict(reference.territory_deals) == {}

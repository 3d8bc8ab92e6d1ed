"""Partitions hold whole territories, every row exactly once, shared tables everywhere."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine._errors import ConfigError
from engine.demo import generate_demo_tables
from engine.pipeline._partition import partition_tables, plan_partitions
from engine.validate import validate_tables

REGIONS = ["fujian", "henan", "hubei", None]
INDUSTRIES = ["finance", "education", "telecom"]


@pytest.fixture(scope="module")
def demo() -> dict[str, pd.DataFrame]:
    return validate_tables(generate_demo_tables(accounts=800, seed=3), as_of="2026-10-01").valid


def _territory(frame: pd.DataFrame) -> pd.Series:
    return frame["region"].astype(object).fillna("\0") + "/" + frame["industry"].astype(object).fillna("\0")


@st.composite
def databases(draw):
    n = draw(st.integers(min_value=0, max_value=30))
    customers = pd.DataFrame({
        "account_id": pd.Series([f"A{i:03d}" for i in range(n)], dtype="str"),
        "region": pd.Series(draw(st.lists(st.sampled_from(REGIONS), min_size=n, max_size=n)), dtype="str"),
        "industry": pd.Series(draw(st.lists(st.sampled_from(INDUSTRIES), min_size=n, max_size=n)), dtype="str"),
    })
    ids = [f"A{i:03d}" for i in range(n)] + ["ORPHAN"]
    m = draw(st.integers(min_value=0, max_value=60))
    orders = pd.DataFrame({
        "order_id": pd.Series([f"O{i}" for i in range(m)], dtype="str"),
        "account_id": pd.Series(draw(st.lists(st.sampled_from(ids), min_size=m, max_size=m)), dtype="str"),
    })
    k = draw(st.integers(min_value=0, max_value=20))
    linked = draw(st.lists(st.sampled_from([*ids, None]), min_size=k, max_size=k))
    opportunities = pd.DataFrame({
        "opportunity_id": pd.Series([f"X{i}" for i in range(k)], dtype="str"),
        "account_id": pd.Series(linked, dtype="str"),
        "region": pd.Series(draw(st.lists(st.sampled_from(REGIONS), min_size=k, max_size=k)), dtype="str"),
        "industry": pd.Series(draw(st.lists(st.sampled_from(INDUSTRIES), min_size=k, max_size=k)), dtype="str"),
    })
    reps = pd.DataFrame({"rep_id": pd.Series(["R1", "R2"], dtype="str")})
    return {"reps": reps, "customers": customers, "orders": orders, "opportunities": opportunities}


@settings(max_examples=60, deadline=None)
@given(database=databases(), n=st.integers(min_value=1, max_value=6))
def test_partitions_keep_territories_whole_and_rows_once(database, n):
    parts = partition_tables(database, n)
    customers, orders, opportunities = database["customers"], database["orders"], database["opportunities"]
    assert 1 <= len(parts) <= n
    for part in parts:
        assert set(part) == set(database)
        pd.testing.assert_frame_equal(part["reps"], database["reps"])
    # accounts: each exactly once, in table order within a partition
    seen = pd.concat([p["customers"]["account_id"] for p in parts]).tolist()
    assert sorted(seen) == sorted(customers["account_id"].tolist())
    position = {a: i for i, a in enumerate(customers["account_id"])}
    for part in parts:
        ids = part["customers"]["account_id"].tolist()
        assert [position[a] for a in ids] == sorted(position[a] for a in ids)
    # a territory lives in one partition
    owner = {}
    for number, part in enumerate(parts):
        for territory in set(_territory(part["customers"])):
            assert owner.setdefault(territory, number) == number
    # child rows follow their account; orphans (which no feature reads) are left out when split
    account_part = {a: i for i, p in enumerate(parts) for a in p["customers"]["account_id"]}
    for number, part in enumerate(parts):
        linked = part["orders"]["account_id"].isin(list(account_part))
        assert all(account_part[a] == number for a in part["orders"].loc[linked, "account_id"])
    kept = sum(len(p["orders"]) for p in parts)
    if len(parts) > 1:
        assert kept == int(orders["account_id"].isin(customers["account_id"]).sum())
    else:
        assert kept == len(orders)
    # opportunities: linked ones with their account, others by their own territory, each once
    assert sorted(pd.concat([p["opportunities"]["opportunity_id"] for p in parts]).tolist()) == sorted(
        opportunities["opportunity_id"].tolist()
    )
    for number, part in enumerate(parts):
        frame = part["opportunities"]
        linked = frame["account_id"].isin(list(account_part))
        assert all(account_part[a] == number for a in frame.loc[linked, "account_id"])
        for territory in _territory(frame[~linked]):
            if territory in owner:
                assert owner[territory] == number
            owner.setdefault(territory, number)


def test_demo_partitions_are_balanced_and_deterministic(demo):
    plan = plan_partitions(demo, 4)
    again = plan_partitions({name: demo[name] for name in reversed(list(demo))}, 4)
    assert plan.territories == again.territories
    for name in plan.rows:
        np.testing.assert_array_equal(plan.rows[name], again.rows[name])
    sizes = [sum(int((rows == k).sum()) for rows in plan.rows.values()) for k in range(4)]
    assert max(sizes) <= 1.2 * min(sizes)
    assert set(plan.shared) == {"reps", "partners"}
    assert sum(len(t) for t in plan.territories) == len(set(_territory(demo["customers"])) | set(
        _territory(demo["opportunities"])))


def test_more_partitions_than_territories_gives_one_per_territory():
    customers = pd.DataFrame({"account_id": ["A1", "A2", "A3"], "region": ["fujian", "fujian", "henan"],
                              "industry": ["finance", "finance", "finance"]})
    parts = partition_tables({"customers": customers}, 10)
    assert [p["customers"]["account_id"].tolist() for p in parts] == [["A1", "A2"], ["A3"]]


def test_one_partition_is_the_database_itself(demo):
    [part] = partition_tables(demo, 1)
    assert all(part[name] is demo[name] for name in demo)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_bad_partition_counts_are_refused(demo, bad):
    with pytest.raises(ConfigError, match="partitions must be a whole number"):
        plan_partitions(demo, bad)

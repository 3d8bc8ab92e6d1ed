"""assignment_routes: how routed opportunities are joined to their accounts."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from engine._errors import DataError
from engine._normalise import duplicate_keys, encode_keys, key_array
from engine.pipeline._decide import assignment_routes


def _tables(opportunity_ids, account_ids, customer_ids):
    opportunities = pd.DataFrame({
        "opportunity_id": opportunity_ids,
        "account_id": account_ids,
        "region": ["own-region"] * len(opportunity_ids),
        "industry": ["own-industry"] * len(opportunity_ids),
        "est_amount": [100.0] * len(opportunity_ids),
    }).astype({"opportunity_id": "str", "account_id": "str"})
    customers = pd.DataFrame({
        "account_id": customer_ids,
        "region": [f"region-{i}" for i in range(len(customer_ids))],
        "industry": ["finance"] * len(customer_ids),
        "owner_rep_id": [f"R{i}" for i in range(len(customer_ids))],
        "owner_partner_id": [None] * len(customer_ids),
    }).astype({"account_id": "str"})
    routes = pd.DataFrame({"opportunity_id": opportunity_ids, "route": ["inside"] * len(opportunity_ids)})
    return routes, {"opportunities": opportunities, "customers": customers}


def test_linked_opportunities_take_their_accounts_territory_and_owner():
    routes, tables = _tables(["O2", "O1"], ["A2", None], ["A1", "A2"])
    out = assignment_routes(routes, tables)
    assert out["opportunity_id"].tolist() == ["O2", "O1"]
    assert out["region"].tolist() == ["region-1", "own-region"]  # the prospect keeps its own
    assert out["owner_rep_id"].tolist()[0] == "R1" and pd.isna(out["owner_rep_id"][1])


def test_a_null_account_id_links_to_no_account_even_a_null_one():
    routes, tables = _tables(["O1"], [None], ["A1", None])
    out = assignment_routes(routes, tables)
    assert pd.isna(out["account_id"][0]) and out["region"][0] == "own-region" and pd.isna(out["owner_rep_id"][0])


@pytest.mark.parametrize(("opportunities", "customers", "named"), [
    (["O1", "O1"], ["A1", "A2"], "opportunity_id ['O1']"),
    (["O1", "O2"], ["A1", "A1"], "account_id ['A1']"),
])
def test_duplicate_keys_are_refused_not_joined_to_the_first(opportunities, customers, named):
    routes, tables = _tables(opportunities, ["A1", "A1"], customers)
    with pytest.raises(DataError, match=re.escape(named) + ".*validate_tables"):
        assignment_routes(routes, tables)


def test_unknown_routed_opportunity_is_a_column_mismatch():
    routes, tables = _tables(["O1"], ["A1"], ["A1"])
    routes = pd.DataFrame({"opportunity_id": ["O9"], "route": ["inside"]})
    with pytest.raises(Exception, match=r"\['O9'\] are not in the opportunities table"):
        assignment_routes(routes, tables)


def test_encode_keys_maps_nulls_to_minus_one():
    keys = key_array(pd.Series(["A1", None, "A2"], dtype="str"))
    got = encode_keys(pd.Series([None, "A2", "A1", "A9"], dtype="str"), keys)
    assert got.tolist() == [-1, 2, 0, -1]


@pytest.mark.parametrize(("values", "expected"), [
    ([], []), (["A1"], []), (["A1", "A2", "A3"], []), (["A3", "A1", "A2"], []),
    (["A1", None, None], []), (["A2", "A1", "A2"], ["A2"]), (["A1", "A1"], ["A1"]),
])
def test_duplicate_keys(values, expected):
    assert duplicate_keys(pd.Series(values, dtype="str")) == expected

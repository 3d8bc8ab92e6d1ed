"""Value at risk, expected deal value, priority rank within each owner's book."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import engine
from engine.models import expected_deal_value, priority_rank, value_at_risk


def test_value_at_risk_and_expected_deal_value():
    assert value_at_risk(pd.Series([0.2, np.nan]), [1000.0, 5.0]).tolist()[0] == 200.0
    assert np.isnan(value_at_risk([0.2, np.nan], [1000.0, 5.0]).iloc[1])
    assert expected_deal_value([0.5], [80.0]).tolist() == [40.0]
    with pytest.raises(engine.DataError, match="probabilities"):
        value_at_risk([1.2], [10.0])


def test_rank_ties_broken_by_key_and_missing_last():
    book = pd.DataFrame({"owner_id": ["r1"] * 4 + ["r2"],
                         "account_id": ["d", "b", "c", "a", "e"],
                         "value_at_risk": [50.0, 50.0, np.nan, 10.0, 1.0]})
    assert priority_rank(book).tolist() == [2, 1, 4, 3, 1]


@settings(max_examples=50)
@given(st.lists(st.tuples(st.sampled_from(["r1", "r2", "r3"]), st.integers(0, 5)), min_size=1,
                max_size=40))
def test_rank_is_a_permutation_per_owner_and_independent_of_row_order(rows):
    book = pd.DataFrame(rows, columns=["owner_id", "value_at_risk"]).assign(
        account_id=[f"a{i:03d}" for i in range(len(rows))])
    ranks = priority_rank(book)
    for _, group in ranks.groupby(book["owner_id"]):
        assert sorted(group) == list(range(1, len(group) + 1))
    shuffled = book.sample(frac=1.0, random_state=1)
    assert priority_rank(shuffled).sort_index().tolist() == ranks.tolist()


def test_missing_columns_named():
    with pytest.raises(engine.ColumnMismatchError, match="owner_id"):
        priority_rank(pd.DataFrame({"value_at_risk": [1.0], "account_id": ["a"]}))

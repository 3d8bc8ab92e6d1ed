"""Drift: training bins in the card, PSI per input and for the score at scoring."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.models import DriftCheck, training_distribution
from engine.models._drift import PSI_RETRAIN, SCORE, psi


def test_same_population_is_stable_and_a_moved_input_says_retrain(fitted_churn, mixed_data, mixed_frame):
    X, _ = mixed_data
    distribution = training_distribution(fitted_churn, X, fitted_churn.predict_proba(X)[:, 1])
    fresh, _ = mixed_frame(3000, seed=21)
    check = DriftCheck(fitted_churn, distribution)
    for start in range(0, 3000, 1000):  # batches, as partitions come
        part = fresh.iloc[start:start + 1000]
        check.add(part, fitted_churn.predict_proba(part)[:, 1])
    report = check.report("churn").set_index("feature")
    assert set(report.index) == {*fitted_churn.feature_types_, SCORE}
    assert (report["psi"] < 0.1).all() and set(report["status"]) == {"stable"}
    assert report["rows"].iloc[0] == 3000

    moved = fresh.assign(complaints_90d=fresh["complaints_90d"] + 4, region="north")
    check = DriftCheck(fitted_churn, distribution)
    check.add(moved, fitted_churn.predict_proba(moved)[:, 1])
    report = check.report("churn").set_index("feature")
    assert report.loc["complaints_90d", "status"] == "retrain"
    assert report.loc["region", "psi"] > PSI_RETRAIN
    assert report.loc["revenue_12m", "status"] == "stable"
    assert report.loc[SCORE, "psi"] > 0.1  # more complaints: scores moved too
    assert report["psi"].is_monotonic_decreasing


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=3, max_size=12))
def test_psi_is_zero_for_equal_shares_and_positive_otherwise(weights):
    shares = np.asarray(weights) + 1e-3
    shares = shares / shares.sum()
    assert abs(psi(shares, shares)) < 1e-12
    other = np.roll(shares, 1)
    assert psi(shares, other) >= -1e-12

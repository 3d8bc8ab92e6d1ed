"""Metrics and the time split."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import engine
from engine.models import evaluate, expected_calibration_error, time_split, top_decile_capture, top_decile_lift


def test_evaluate_known_values():
    y = np.array([1] * 10 + [0] * 90)
    p = np.r_[np.full(10, 0.9), np.full(90, 0.1)]
    result = evaluate(y, p)
    assert result["roc_auc"] == 1.0 and result["pr_auc"] == 1.0
    assert result["lift_top_decile"] == pytest.approx(10.0)
    assert result["capture_top_decile"] == pytest.approx(1.0)
    assert result["brier"] == pytest.approx(0.01)
    assert result["ece"] == pytest.approx(0.1)  # both bins off by 0.1


@settings(max_examples=60)
@given(st.lists(st.tuples(st.booleans(), st.floats(0, 1)), min_size=2, max_size=200))
def test_metric_ranges(pairs):
    y = np.array([int(a) for a, _ in pairs])
    p = np.array([b for _, b in pairs])
    assert 0 <= expected_calibration_error(y, p) <= 1
    if 0 < y.sum() < len(y):
        result = evaluate(y, p)
        assert 0 <= result["capture_top_decile"] <= 1
        assert 0 <= result["lift_top_decile"] <= 1 / y.mean() + 1e-9


def test_calibrated_probabilities_have_small_ece():
    rng = np.random.default_rng(0)
    p = rng.random(200_000)
    y = (rng.random(200_000) < p).astype(int)
    assert expected_calibration_error(y, p) < 0.005
    assert top_decile_lift(y, p) > 1.8 and top_decile_capture(y, p) > 0.18


def test_bad_inputs():
    with pytest.raises(engine.DataError):
        evaluate([0, 1], [0.5, 1.5])
    with pytest.raises(engine.InsufficientDataError):
        evaluate([0, 0], [0.5, 0.5])


def test_time_split_leaves_out_rows_whose_label_reaches_validation():
    meta = pd.DataFrame({"as_of": pd.date_range("2024-01-31", periods=12, freq="ME")})
    split = time_split(meta, "as_of", "2024-10-01", horizon_days=60)
    assert meta["as_of"][split.validation].min() == pd.Timestamp("2024-10-31")
    assert meta["as_of"][split.train].max() == pd.Timestamp("2024-07-31")
    assert not (split.train & split.validation).any()
    with pytest.raises(engine.DataError, match="date column"):
        time_split(meta, "asof", "2024-10-01")
    with pytest.raises(engine.InsufficientDataError):
        time_split(meta, "as_of", "2030-01-01")

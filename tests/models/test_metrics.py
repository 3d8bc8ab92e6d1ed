"""Metrics and the time split."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import auc, roc_auc_score

import engine
from engine.models import (
    evaluate,
    expected_calibration_error,
    time_split,
    top_decile_capture,
    top_decile_lift,
    validation_curves,
)
from engine.models._metrics import CALIBRATION_BINS, CURVE_POINTS


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


def _nondecreasing(values) -> bool:
    return bool(np.all(np.diff(np.asarray(values, dtype=float)) >= 0))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.floats(0, 1)), min_size=2, max_size=400))
def test_curves_are_monotone_bounded_and_small(pairs):
    y = np.array([int(a) for a, _ in pairs])
    p = np.array([b for _, b in pairs])
    if not 0 < y.sum() < len(y):
        with pytest.raises(engine.InsufficientDataError):
            validation_curves(y, p)
        return
    curves = validation_curves(y, p)
    roc, gains, calibration = curves["roc"], curves["gains"], curves["calibration"]
    assert len(roc["fpr"]) == len(roc["tpr"]) <= CURVE_POINTS
    assert (roc["fpr"][0], roc["tpr"][0], roc["fpr"][-1], roc["tpr"][-1]) == (0.0, 0.0, 1.0, 1.0)
    assert _nondecreasing(roc["fpr"]) and _nondecreasing(roc["tpr"])
    assert len(gains["share"]) == len(gains["captured"]) == CURVE_POINTS
    assert (gains["share"][0], gains["captured"][0], gains["share"][-1], gains["captured"][-1]) == (0.0, 0.0, 1.0, 1.0)
    assert _nondecreasing(gains["share"]) and _nondecreasing(gains["captured"])
    assert gains["captured"][10] == pytest.approx(top_decile_capture(y, p), abs=1e-6)
    assert 1 <= len(calibration["count"]) <= CALIBRATION_BINS and sum(calibration["count"]) == len(y)
    assert _nondecreasing(calibration["predicted"])
    assert all(0 <= v <= 1 for v in calibration["predicted"] + calibration["observed"])


def test_curves_of_many_rows_are_downsampled_and_match_the_metrics():
    rng = np.random.default_rng(3)
    p = rng.random(50_000)
    y = (rng.random(50_000) < p).astype(int)
    curves = validation_curves(y, p)
    assert len(curves["roc"]["fpr"]) <= CURVE_POINTS  # never one point per row
    # The thinned ROC keeps its area: trapezoids over the kept vertices.
    area = auc(curves["roc"]["fpr"], curves["roc"]["tpr"])
    assert area == pytest.approx(roc_auc_score(y, p), abs=0.002)
    calibration = curves["calibration"]
    assert calibration["count"] == [5_000] * CALIBRATION_BINS  # quantile bins: equal rows
    # Calibrated scores: each bin's observed rate is its mean probability, within noise.
    assert np.max(np.abs(np.subtract(calibration["predicted"], calibration["observed"]))) < 0.03
    # Rows in the bins weight ECE-like gaps; a plateau of equal scores is one bin, not ten.
    plateau = validation_curves([0, 1] * 50, [0.3] * 100)["calibration"]
    assert plateau == {"predicted": [0.3], "observed": [0.5], "count": [100]}


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


def test_calibration_noise_is_the_ece_of_calibrated_draws():
    """A perfectly calibrated model's ECE on 3,000 rows is about the floor, and below p95 in
    about 95% of samples; one outcome per group of three rows raises the floor."""
    from engine.models import calibration_noise, expected_calibration_error

    rng = np.random.default_rng(1)
    p = rng.uniform(0.1, 0.7, 3000)
    floor = calibration_noise(p)
    observed = [expected_calibration_error((rng.random(3000) < p).astype(int), p) for _ in range(200)]
    assert np.mean(observed) == pytest.approx(floor["mean"], rel=0.15)
    assert 0.88 <= np.mean(np.array(observed) <= floor["p95"]) <= 0.99
    repeated = np.repeat(p[:1000], 3)  # one deal at three as-of dates: one outcome
    assert calibration_noise(repeated, np.repeat(np.arange(1000), 3))["mean"] > 1.3 * calibration_noise(repeated)["mean"]
    # How often a calibrated model meets a target: the share of observed ECEs at most it.
    target = float(np.median(observed))
    assert calibration_noise(p, target=target)["share_within_target"] == pytest.approx(0.5, abs=0.12)
    assert calibration_noise(p, target=1.0)["share_within_target"] == 1.0


@given(st.lists(st.floats(0, 1), min_size=10, max_size=200))
@settings(max_examples=60, deadline=None, derandomize=True)
def test_quantile_ece_bins_hold_about_equal_rows(values):
    from engine.models._metrics import _bins

    bins = _bins(np.array(values), 10, "quantile")
    counts = np.bincount(bins, minlength=10)
    assert counts.max() - counts.min() <= 1 and counts.sum() == len(values)
    p = np.array(values)
    order = np.argsort(p, kind="stable")
    assert (np.diff(bins[order]) >= 0).all()  # bins follow the score order


@given(st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1)), min_size=1, max_size=200),
       st.sampled_from(["uniform", "quantile"]))
@settings(max_examples=80, deadline=None, derandomize=True)
def test_calibration_error_against_truth_is_the_ece_with_true_chances_for_outcomes(pairs, binning):
    """With 0/1 "true probabilities" it is the ECE itself; it is 0 for the truth, never more than
    the mean distance to the truth, and the same whichever the bins' rows are summed in."""
    from engine.models import calibration_error_against_truth

    truth, proba = (np.array(column) for column in zip(*pairs))
    error = calibration_error_against_truth(truth, proba, binning=binning)
    assert 0.0 <= error <= np.abs(proba - truth).mean() + 1e-12
    assert calibration_error_against_truth(truth, truth, binning=binning) == pytest.approx(0.0, abs=1e-12)
    outcomes = (truth > 0.5).astype(int)
    assert calibration_error_against_truth(outcomes, proba, binning=binning) == pytest.approx(
        expected_calibration_error(outcomes, proba, binning=binning), abs=1e-12)
    assert calibration_error_against_truth(truth, np.c_[1 - proba, proba], binning=binning) == pytest.approx(error)


def test_calibration_error_against_truth_sees_through_the_draw():
    """A model equal to the truth has a noisy ECE on drawn outcomes but none against the truth;
    a model 0.05 too high everywhere shows 0.05 against the truth."""
    from engine.models import calibration_error_against_truth, calibration_noise

    rng = np.random.default_rng(7)
    truth = rng.uniform(0.2, 0.6, 2000)
    drawn = (rng.random(2000) < truth).astype(int)
    assert expected_calibration_error(drawn, truth) > 0.005
    assert calibration_error_against_truth(truth, truth) == 0.0
    high = calibration_error_against_truth(truth, truth + 0.05)
    assert high == pytest.approx(0.05, abs=1e-9)
    assert high > calibration_noise(truth + 0.05)["p95"] > 0.0


@pytest.mark.parametrize("truth, proba, match", [
    ([0.2, np.nan], [0.1, 0.2], "true_proba in \\[0, 1\\].*Fix: drop the rows whose true probability"),
    ([0.2, 1.2], [0.1, 0.2], "true_proba in \\[0, 1\\]"),
    ([0.2, 0.3], [0.1, 1.5], "proba in \\[0, 1\\].*Fix: pass the positive-class column"),
    ([0.2, 0.3], [0.1, 0.2, 0.3], "equal length"),
])
def test_calibration_error_against_truth_names_the_bad_input_and_the_fix(truth, proba, match):
    from engine.models import calibration_error_against_truth

    with pytest.raises(engine.DataError, match=match) as raised:
        calibration_error_against_truth(truth, proba)
    assert "Fix" in str(raised.value)


def test_calibration_error_against_truth_on_no_rows_is_insufficient_data_as_the_ece():
    from engine.models import calibration_error_against_truth

    with pytest.raises(engine.InsufficientDataError, match="zero rows"):
        calibration_error_against_truth([], [])
    with pytest.raises(engine.InsufficientDataError, match="zero rows"):
        expected_calibration_error([], [])

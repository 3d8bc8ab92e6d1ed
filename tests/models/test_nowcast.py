"""The nowcast of a no-event rate from open label windows, and the level shift it drives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine._errors import ArgumentError, InsufficientDataError
from engine.models import ChurnModel, level_shift, nowcast_no_event_rate
from engine.models._columns import to_internal_matrix


def _waits(rng, n: int, never: float, hazard: float) -> np.ndarray:
    """Days to the first event: a share ``never`` never buys, the rest at a constant hazard per day."""
    waits = rng.exponential(1 / hazard, n)
    waits[rng.random(n) < never] = np.inf
    return waits


def _frame(rng, dates, never_by_date, n=20_000, hazard=1 / 60):
    as_of = np.repeat(pd.to_datetime(dates).to_numpy(), n)
    waits = np.concatenate([_waits(rng, n, never, hazard) for never in never_by_date])
    return as_of, waits


def _observed(as_of, waits, cutoff):
    """What is known at the cut-off: events after it are not seen yet."""
    watched = (pd.Timestamp(cutoff) - pd.to_datetime(as_of)).days.to_numpy()
    return np.where(waits < watched, waits, np.inf)


def test_recovers_a_rate_that_moved_after_the_labelled_dates():
    rng = np.random.default_rng(0)
    dates = pd.date_range("2024-01-31", periods=12, freq="ME")
    never = [0.10] * 6 + [0.20] * 6  # the share that never buys doubles after the labelled dates
    as_of, waits = _frame(rng, dates, never)
    cutoff = dates[6] + pd.Timedelta(days=120)  # dates 0-2 labelled (180 days), 3..10 open at the cut-off
    table = nowcast_no_event_rate(as_of, _observed(as_of, waits, cutoff), cutoff, 180)
    truth = 0.20 + 0.80 * np.exp(-180 / 60)
    history = 0.10 + 0.90 * np.exp(-180 / 60)
    drifted = table[table["as_of"] >= dates[6]]
    assert list(table["observed_days"]) == sorted(table["observed_days"], reverse=True)
    assert (table["as_of"] < cutoff).all() and (table["as_of"] + pd.Timedelta(days=180) > cutoff).all()
    # Every drifted date moves from the history's level (0.145) towards the new one (0.240),
    # the further the more days of its window were watched: the observed days are exact, only
    # the tail is borrowed from the history (here a tail with fewer never-buyers, so the
    # nowcast stays low the fewer days it has seen).
    errors = np.abs(drifted["rate"] - truth).to_numpy()
    assert (drifted["rate"] > history).all()
    assert np.all(np.diff(errors) > 0), errors  # oldest (best watched) first
    assert errors[0] < 0.4 * abs(history - truth)


def test_without_drift_the_nowcast_is_the_rate():
    rng = np.random.default_rng(1)
    dates = pd.date_range("2024-01-31", periods=10, freq="ME")
    as_of, waits = _frame(rng, dates, [0.15] * 10)
    cutoff = dates[-1] + pd.Timedelta(days=10)
    table = nowcast_no_event_rate(as_of, _observed(as_of, waits, cutoff), cutoff, 180)
    assert len(table) == 6
    assert np.abs(table["rate"] - (0.15 + 0.85 * np.exp(-3))).max() < 0.012


def test_no_open_date_gives_an_empty_table_and_no_labelled_date_an_error():
    dates = pd.to_datetime(["2024-01-31", "2024-02-29"])
    empty = nowcast_no_event_rate(dates, [1.0, np.inf], "2025-01-01", 180)
    assert empty.empty and list(empty.columns)[-1] == "rate"
    with pytest.raises(InsufficientDataError, match="borrow the tail"):
        nowcast_no_event_rate(dates, [1.0, np.inf], "2024-03-15", 180)
    with pytest.raises(ArgumentError, match="horizon_days"):
        nowcast_no_event_rate(dates, [1.0, np.inf], "2024-03-15", 0)
    with pytest.raises(ArgumentError, match="one days_to_event per as-of date"):
        nowcast_no_event_rate(dates, [1.0], "2024-03-15", 180)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0.001, 0.999), min_size=1, max_size=40), st.floats(0.01, 0.99))
def test_level_shift_reaches_the_target_and_keeps_the_order(probabilities, target):
    p = np.array(probabilities)
    shift = level_shift(p, target)
    logit = np.log(np.clip(p, 1e-6, 1 - 1e-6)) - np.log1p(-np.clip(p, 1e-6, 1 - 1e-6))
    q = 1 / (1 + np.exp(-(logit + shift)))
    assert q.mean() == pytest.approx(target, abs=1e-6)
    assert np.array_equal(np.argsort(q, kind="stable"), np.argsort(p, kind="stable"))


def test_relevel_moves_the_mean_everywhere_the_model_scores_and_keeps_the_ranking():
    rng = np.random.default_rng(2)
    X = pd.DataFrame({"x": rng.normal(size=1_000), "c": rng.choice(["a", "b"], 1_000)})
    y = (rng.random(1_000) < 1 / (1 + np.exp(-(X["x"] - 1)))).astype(int)
    model = ChurnModel(candidates={"logistic": [{}]}, random_state=0).fit(X, y)
    before = model.predict_proba(X)[:, 1]
    model.relevel(X.iloc[:500], 0.5, source="test")
    after = model.predict_proba(X)[:, 1]
    assert after[:500].mean() == pytest.approx(0.5, abs=1e-6)
    assert np.array_equal(np.argsort(after, kind="stable"), np.argsort(before, kind="stable"))
    record = model.recalibration_
    assert record["target_rate"] == 0.5 and record["source"] == "test" and record["shift"] > 0
    assert record["mean_before"] == pytest.approx(before[:500].mean())
    scorer = model.compile_scorer()  # the record-by-record path applies the same shift
    assert np.allclose(scorer.predict(to_internal_matrix(X, model._schema)), after, atol=1e-9)

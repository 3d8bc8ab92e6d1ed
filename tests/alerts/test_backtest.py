"""The backtest's pieces: the cut has no future in it, the demo's churn dates fit its tables, and
the figures are computed as documented (the full replay is benchmarks/bench_alerts.py)."""

from __future__ import annotations

import pandas as pd
import pytest

from engine._errors import ConfigError
from engine.alerts._backtest import (
    _check_demo_truth,
    _figures,
    _Snapshot,
    cut_tables,
    demo_churn_dates,
)


def test_the_cut_keeps_only_what_was_known_before_it(world):
    cut = pd.Timestamp("2026-01-01")
    past = cut_tables(world, cut)
    for name, column in {"orders": "order_date", "tickets": "opened_date", "visits": "visit_date",
                         "opportunities": "created_date", "customers": "created_date"}.items():
        assert (pd.to_datetime(past[name][column]) < cut).all()
    for name, column in {"tickets": "closed_date", "ownership": "end_date", "contacts": "active_to",
                         "opportunities": "closed_date"}.items():
        assert not (pd.to_datetime(past[name][column]) >= cut).any()
    still_open = pd.to_datetime(past["opportunities"]["closed_date"]).isna()
    assert set(past["opportunities"].loc[still_open, "outcome"].astype(str)) <= {"open"}
    assert past["tickets"].loc[pd.to_datetime(past["tickets"]["closed_date"]).isna(), "satisfaction"].isna().all()


def test_the_simulators_churn_dates_fit_the_demo_tables(world):
    churn = demo_churn_dates(len(world["customers"]), seed=3)
    assert len(churn) > 10
    _check_demo_truth(world, churn)  # nobody orders after their churn date
    with pytest.raises(ConfigError, match="does not fit this database"):
        _check_demo_truth(world, demo_churn_dates(len(world["customers"]), seed=4))


def test_figures_follow_their_definitions():
    d1, d2, d3 = pd.Timestamp("2026-01-01"), pd.Timestamp("2026-02-01"), pd.Timestamp("2026-03-01")
    signals = pd.DataFrame({"account_id": ["A", "B", "C", "D"], "owner_rep_id": ["R1", "R1", "R2", "R2"],
                            "expected_margin_12m": [100.0, 300.0, 50.0, 10.0]})
    snaps = [_Snapshot(d, signals) for d in (d1, d2, d3)]
    churn = pd.Series(pd.to_datetime(["2026-02-15", "2026-03-20"]), index=["A", "B"])  # C and D stay
    told = pd.DataFrame({"account_id": ["A", "C"], "kind": "k", "date": [d1, d2], "rep": ["R1", "R2"]})
    f = _figures("p", told, snaps, churn, suppressed=7)
    assert (f.churners, f.caught_churners, f.new_alerts, f.alerted_accounts) == (2, 1, 2, 2)
    assert f.recall_of_lost_value == pytest.approx(100 / 400)  # A caught (100), B missed (300)
    assert f.precision == pytest.approx(0.5)  # A churned within 180 days of its alert, C did not
    assert f.median_lead_days == (churn["A"] - d1).days
    assert f.base_rate == pytest.approx(5 / 12)  # A and B at d1 and d2, B at d3: of 4 accounts x 3 dates
    assert (f.per_rep_run_median, f.suppressed_repeats) == (0.0, 7)

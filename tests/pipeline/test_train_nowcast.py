"""kam train churn with ``training.level: nowcast``: re-levelled to the open windows, never past the cut-off."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from engine.features import data_end_date
from engine.features._training import days_to_first_order
from engine.pipeline import train_model
from engine.validate import validate_tables

AS_OF = "2026-10-01"


@pytest.fixture(scope="module")
def valid_tables(demo_tables):
    return validate_tables(demo_tables, as_of=AS_OF).valid


def test_days_to_first_order_sees_only_orders_before_the_cutoff():
    tables = {"customers": pd.DataFrame({"account_id": ["A1", "A2", "A3"]}),
              "orders": pd.DataFrame({"account_id": ["A1", "A1", "A2", "A9"],
                                      "order_date": pd.to_datetime(["2025-01-01", "2025-01-20", "2025-03-05",
                                                                    "2025-01-02"])})}
    meta = pd.DataFrame({"account_id": ["A1", "A2", "A3", "A9", "A1"],
                         "as_of": pd.to_datetime(["2025-01-01"] * 4 + ["2025-01-02"])})
    days = days_to_first_order(tables, meta, "2025-03-01")
    # an order on the as-of date counts (day 0); A2's order is after the cut-off; A3 never
    # ordered; A9 is no customer; from 2025-01-02 A1's next order is 18 days later
    assert days.tolist() == [0.0, np.inf, np.inf, np.inf, 18.0]
    assert days_to_first_order(tables, meta, "2025-03-06")[1] == 63.0


def test_nowcast_level_is_recorded_and_reads_nothing_from_the_cutoff_on(valid_tables, tmp_path, small_model_spec):
    spec = dataclasses.replace(small_model_spec("churn"), as_of_periods=16, validation_periods=2, level="nowcast")
    result = train_model(valid_tables, "churn", spec=spec, artifacts_dir=tmp_path / "a")
    record = result.card.validation["recalibration"]
    cutoff = pd.Timestamp(record["cutoff"])
    assert cutoff == pd.Timestamp(result.card.validation_window["start"])
    dates = pd.to_datetime([row["as_of"] for row in record["nowcast"]])
    assert len(dates) >= 3
    assert (dates < cutoff).all() and (dates + pd.Timedelta(days=180) > cutoff).all()
    assert [row["observed_days"] for row in record["nowcast"]] == list((cutoff - dates).days)
    rates = np.array([row["rate"] for row in record["nowcast"]])
    weights = np.array([row["rows"] for row in record["nowcast"]])
    assert record["target_rate"] == pytest.approx(np.average(rates, weights=weights), abs=1e-3)
    assert "re-levelled to the nowcast rate of the open label windows (log-odds shift" \
        in result.card.validation["calibration"]
    # Orders from the cut-off on change the validation labels, never the level.
    orders = valid_tables["orders"]
    later = (pd.to_datetime(orders["order_date"]) >= cutoff).to_numpy()
    keep = ~later | (np.arange(len(orders)) % 2 == 0)  # half the orders from the cut-off on
    cut = dict(valid_tables, orders=orders[keep])
    again = train_model(cut, "churn", spec=spec, artifacts_dir=tmp_path / "b", data_end=data_end_date(valid_tables))
    assert again.card.validation["recalibration"]["nowcast"] == record["nowcast"]
    assert again.card.validation["recalibration"]["shift"] == pytest.approx(record["shift"], abs=1e-9)

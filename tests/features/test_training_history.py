"""history_limits: churn features that read further back than the recorded history."""

from __future__ import annotations

import pandas as pd

from engine.features import CHURN_FEATURE_COLUMNS
from engine.features._training import CHURN_FEATURE_HISTORY, history_limits


def _tables(first_order: str, first_visit: str, first_owner: str) -> dict[str, pd.DataFrame]:
    return {"orders": pd.DataFrame({"order_date": pd.to_datetime([first_order, "2025-06-01"])}),
            "visits": pd.DataFrame({"visit_date": pd.to_datetime([first_visit, "2025-06-01"])}),
            "contacts": pd.DataFrame({"active_to": pd.to_datetime([None, "2025-01-01"])}),
            "ownership": pd.DataFrame({"start_date": pd.to_datetime([first_owner, "2025-01-01"])})}


def test_short_history_censors_days_since_and_leaves_out_windows_never_whole():
    tables = _tables("2023-10-01", "2023-11-01", "2015-01-01")
    censor, dropped = history_limits(tables, CHURN_FEATURE_COLUMNS, "2024-10-31", "2025-07-31")
    # Ages up to the history before the first training date: 2023-10-01 -> 2024-10-31.
    assert censor["recency_days"] == 396.0
    assert censor["days_since_last_visit"] == 365.0
    assert "days_since_key_contact_left" not in censor  # no contact left before the first training date
    # 669 days of orders at the latest training date: the 24- and 36-month order windows are never whole.
    assert {"frequency_36m", "revenue_prev_12m", "revenue_change_12m", "days_overdue"} <= set(dropped)
    assert "669 days" in dropped["frequency_36m"]
    # Ownership goes back to 2015: its 24-month window is whole, its 'days since' barely bounded.
    assert "rep_changes_24m" not in dropped
    assert censor["days_since_rep_change"] > 3000
    assert not set(dropped) & {"revenue_12m", "orders_12m", "tickets_12m"}  # windows inside the history


def test_a_long_history_changes_nothing_but_the_age_bound():
    tables = _tables("2018-01-01", "2018-01-01", "2018-01-01")
    censor, dropped = history_limits(tables, CHURN_FEATURE_COLUMNS, "2024-10-31", "2025-07-31")
    assert dropped == {}
    assert min(censor.values()) > 6 * 365


def test_every_declared_feature_is_a_churn_feature():
    assert set(CHURN_FEATURE_HISTORY) <= set(CHURN_FEATURE_COLUMNS)

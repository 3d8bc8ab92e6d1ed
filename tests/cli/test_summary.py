"""The run summary counts what it says it counts."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pandas as pd

from engine.cli._summary import summary_dict


def _result():
    scores = pd.DataFrame({"region": ["fujian", "fujian", "henan"], "value_at_risk": [10.0, 5.0, 1.0],
                           "tier": ["A", "C", "C"]})
    routes = pd.DataFrame(
        {
            "route": ["owner", "inside", "outside", "partner"],
            "assignment_status": ["assigned", "assigned", "unassigned", "unassigned"],
            # an inactive owner's lead is re-assigned within the team: assigned, with a note
            "status_reason": [None, "owner_inactive", "all_at_capacity", "ownership_conflict"],
            "expected_deal_value": [1.0, 2.0, 3.0, 4.0],
        }
    )
    run = {"tier_counts": json.dumps({"A": 1, "C": 2}), "route_counts": json.dumps({"owner": 1}),
           "assigned": 2, "rows_quarantined": 0}
    return SimpleNamespace(account_scores=scores, opportunity_routes=routes, run=run, run_id="r", as_of="2026-10-01",
                           written=True, conflicts=pd.DataFrame({"x": [1]}), seconds={"load": 0.1})


def test_not_assigned_counts_only_unassigned_rows():
    data = summary_dict(_result())
    assert data["not_assigned"] == {"all_at_capacity": 1, "ownership_conflict": 1}
    assert data["assigned"] == 2


def test_value_at_risk_by_region_is_summed_and_ordered():
    data = summary_dict(_result())
    assert data["value_at_risk_top_regions"] == {"fujian": 15.0, "henan": 1.0}
    assert data["value_at_risk_total"] == 16.0

"""Helpers of the alert tests: fake scoring runs over a small demo world."""

from __future__ import annotations

import datetime as dt

import pandas as pd

AS_OF = dt.date(2026, 10, 1)


def scores_for(tables, as_of, risky=(), p_risky=0.95, margin=2_000_000.0) -> pd.DataFrame:
    """account_scores of a fake run: every account at 5% churn risk except ``risky`` ones."""
    from engine.features import build_account_features

    f = build_account_features(tables, as_of)
    p = f["account_id"].isin(list(risky)).map({True: p_risky, False: 0.05}).astype(float)
    m = f["margin_12m"].clip(lower=0).where(~f["account_id"].isin(list(risky)), margin)
    return pd.DataFrame({
        "account_id": f["account_id"], "name": f["name"], "region": f["region"], "territory": f["territory"],
        "owner_rep_id": f["owner_rep_id"], "owner_partner_id": f["owner_partner_id"], "tier": "B",
        "serving_role": "inside_with_partners", "churn_probability": p, "expected_margin_12m": m,
        "value_at_risk": p * m, "top_reasons": '["relationship covers only 1 of 3 levels (typical 3)"]',
    })


def write_scoring_run(db, tables, as_of, risky=(), **kw) -> str:
    """Write a fake scoring run (runs + account_scores) as of ``as_of``; return its id."""
    run_id = f"run-{as_of.isoformat()}"
    started = pd.Timestamp(as_of).isoformat()
    db.write_run(run_id, {"runs": pd.DataFrame([{"started_at": started, "as_of": as_of.isoformat()}]),
                          "account_scores": scores_for(tables, as_of, risky, **kw)})
    return run_id

"""Fixtures for the call plan: a small demo database holding a scoring run made without models.

The plan reads a scoring run (account_scores, opportunity_routes, runs); training models here
would only slow the tests down, so the run is built directly from the demo tables with seeded
churn probabilities. What the plan does with a run is the same whoever wrote it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.demo import generate_demo_tables
from engine.storage import Database

AS_OF = "2026-10-01"
RUN_ID = "2026-10-01-test"


def scoring_run(tables: dict[str, pd.DataFrame], seed: int = 7) -> dict[str, pd.DataFrame]:
    """account_scores, opportunity_routes and runs shaped like `kam score` writes them."""
    rng = np.random.default_rng(seed)
    customers = tables["customers"]
    orders = tables["orders"]
    recent = orders[orders["order_date"] >= pd.Timestamp(AS_OF) - pd.Timedelta(days=365)]
    margin = recent.groupby("account_id")["margin"].sum().reindex(customers["account_id"], fill_value=0.0).clip(lower=0)
    potential = customers["it_spend_potential"].rank(pct=True).to_numpy()
    tier = np.where(potential > 0.9, "A", np.where(potential > 0.7, "B", "C"))
    churn = rng.beta(1.2, 6.0, len(customers))
    scores = pd.DataFrame({
        "account_id": customers["account_id"].to_numpy(),
        "name": customers["name"].to_numpy(),
        "owner_rep_id": customers["owner_rep_id"].to_numpy(),
        "owner_partner_id": customers["owner_partner_id"].to_numpy(),
        "tier": tier,
        "churn_probability": churn,
        "expected_margin_12m": margin.to_numpy(),
        "value_at_risk": churn * margin.to_numpy(),
    })
    opps = tables["opportunities"]
    open_deals = opps[opps["closed_date"].isna() & opps["account_id"].notna()]
    routes = pd.DataFrame({
        "opportunity_id": open_deals["opportunity_id"].to_numpy(),
        "account_id": open_deals["account_id"].to_numpy(),
        "route": np.where(open_deals["est_amount"].to_numpy() < 50_000, "partner", "owner"),
        "copy_outside": open_deals["est_amount"].to_numpy() < 50_000,
        "copied_rep_id": np.where(open_deals["est_amount"].to_numpy() < 50_000, "R99999", None),
        "win_probability": 0.4,
        "expected_deal_value": 0.4 * open_deals["est_amount"].to_numpy(),
    })
    runs = pd.DataFrame({"started_at": [pd.Timestamp("2026-10-01 02:00")], "as_of": [AS_OF]})
    return {"runs": runs, "account_scores": scores, "opportunity_routes": routes}


@pytest.fixture(scope="session")
def run_id() -> str:
    """The id of the scoring run in ``plan_db``."""
    return RUN_ID


@pytest.fixture(scope="session")
def plan_tables():
    """Demo tables of 600 accounts (with departed owners' books and partners)."""
    return generate_demo_tables(accounts=600, seed=3)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def plan_db(request, plan_tables, tmp_path):
    """A database with the demo tables and one scoring run: SQLite file or a new PostgreSQL database."""
    if request.param == "postgres":
        target = request.getfixturevalue("new_postgres_database")("kam_plan")
    else:
        target = str(tmp_path / "plan.sqlite")
    db = Database(target)
    db.write_source_tables(plan_tables)
    db.write_run(RUN_ID, scoring_run(plan_tables))
    yield db
    db.dispose()

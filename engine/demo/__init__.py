"""The demo customer database: a realistic, causal, reproducible key-account world.

``generate_demo_tables`` builds one DataFrame per contract table (pure and deterministic for
``accounts, seed, end_date``); ``generate_demo_database`` writes them through
:mod:`engine.storage`. What is generated, and which signals cause churn and deal outcomes, is
documented in ``docs/demo-data.md``.
"""

from engine.demo._database import DemoSummary, generate_demo_database
from engine.demo._params import CHURN_COEFFICIENTS, DEMO_END_DATE, HISTORY_MONTHS, WIN_COEFFICIENTS
from engine.demo._tables import MAX_ACCOUNTS, generate_demo_tables, top_revenue_share

__all__ = [
    "generate_demo_tables",
    "generate_demo_database",
    "DemoSummary",
    "DEMO_END_DATE",
    "HISTORY_MONTHS",
    "CHURN_COEFFICIENTS",
    "WIN_COEFFICIENTS",
    "MAX_ACCOUNTS",
    "top_revenue_share",
]

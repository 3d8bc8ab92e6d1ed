"""The demo database's fixed parameters: sizes, mixes, and the causal model's coefficients.

Every figure here is documented in ``docs/demo-data.md``; change both together.
"""

from __future__ import annotations

import datetime as dt
from types import MappingProxyType
from typing import Any

from engine._domain import INDUSTRIES, REGIONS

__all__ = [
    "DEMO_END_DATE",
    "HISTORY_MONTHS",
    "CHURN_COEFFICIENTS",
    "WIN_COEFFICIENTS",
]

#: The demo's fixed "today": the last day of its history (so the demo is fully reproducible).
DEMO_END_DATE = dt.date(2026, 9, 30)

#: Months of history ending at the end date (3 years).
HISTORY_MONTHS = 36
#: Months simulated before the history starts and not recorded, so the signals and the churn
#: rate are at their steady level from the first recorded month.
BURN_IN_MONTHS = 24

# --- organisation -------------------------------------------------------------------------------
#: Field reps own about the top 20 accounts of their territory; inside reps about 200 each.
OUTSIDE_BOOK = 20
INSIDE_BOOK = 200
#: Share of each territory (region x industry), by potential, owned by field (outside) reps.
OUTSIDE_SHARE = 0.20
#: Accounts per partner (about 1,000 partners for 20,000 accounts).
ACCOUNTS_PER_PARTNER = 20
#: Reps per team lead in a region's key-account team.
TEAM_SIZE = 25
REP_CAPACITY = MappingProxyType({"outside": 25, "inside": 250})
PARTNER_TIER_SHARES = MappingProxyType({"platinum": 0.10, "gold": 0.30, "silver": 0.60})
PARTNER_CAPACITY = MappingProxyType({"platinum": 120, "gold": 60, "silver": 25})
#: Share of partners off the programme (inactive; they own no accounts).
INACTIVE_PARTNER_SHARE = 0.01
#: Share of partners also licensed for a second region.
SECOND_REGION_SHARE = 0.15

# Deliberate ownership conflicts (the demo is otherwise clean), as functions of the size:
#: owner reps who left in the last 30 days and whose book is not reassigned yet: accounts // 5000
DEPARTED_OWNER_REPS_PER_ACCOUNTS = 5000
#: accounts owned by a partner not licensed for the account's region: accounts // 2000
OUT_OF_REGION_ACCOUNTS_PER_ACCOUNTS = 2000

#: Relative size of the regions (share of accounts).
REGION_WEIGHTS = MappingProxyType(
    {
        "heilongjiang_jilin": 3.5,
        "shanxi_inner_mongolia": 3.5,
        "beijing_tianjin_hebei": 9.0,
        "liaoning": 3.5,
        "shandong": 7.0,
        "fujian": 4.0,
        "shanghai": 6.0,
        "jiangsu_anhui": 9.0,
        "zhejiang": 7.0,
        "sichuan_chongqing": 6.0,
        "northwest": 4.0,
        "xinjiang": 2.0,
        "yunnan_guizhou": 3.5,
        "guangdong": 9.0,
        "henan": 5.0,
        "hubei": 4.5,
        "shenzhen_guangxi": 5.0,
        "hunan_jiangxi": 5.0,
    }
)
#: Slower service in remote regions (multiplies resolution hours).
REGION_SERVICE_SLOWNESS = MappingProxyType(
    {r: (1.35 if r in ("xinjiang", "northwest", "yunnan_guizhou", "heilongjiang_jilin") else 1.0) for r in REGIONS}
)

#: Share of accounts per industry: government and education largest.
INDUSTRY_WEIGHTS = MappingProxyType(
    {
        "government": 0.22,
        "education": 0.20,
        "public_utilities": 0.05,
        "transport": 0.05,
        "finance": 0.08,
        "telecom": 0.06,
        "manufacturing": 0.10,
        "enterprise": 0.12,
        "military": 0.03,
        "power": 0.05,
        "energy": 0.04,
    }
)
#: Size of an industry's typical account (multiplies the IT-spend potential).
INDUSTRY_SIZE = MappingProxyType(
    {
        "government": 1.0,
        "education": 0.8,
        "public_utilities": 0.9,
        "transport": 1.0,
        "finance": 1.6,
        "telecom": 1.8,
        "manufacturing": 0.8,
        "enterprise": 0.7,
        "military": 1.1,
        "power": 1.3,
        "energy": 1.5,
    }
)
#: Yearly growth of order volume: telecom fastest.
INDUSTRY_GROWTH = MappingProxyType(
    {
        "government": 0.04,
        "education": 0.03,
        "public_utilities": 0.03,
        "transport": 0.04,
        "finance": 0.05,
        "telecom": 0.20,
        "manufacturing": 0.01,
        "enterprise": 0.02,
        "military": 0.03,
        "power": 0.05,
        "energy": 0.06,
    }
)
#: Seasonality (amplitude, peak calendar month): government spends its budget at year end,
#: education before the school year.
INDUSTRY_SEASON = MappingProxyType(
    {
        "government": (0.45, 12),
        "education": (0.40, 8),
        "public_utilities": (0.30, 12),
        "transport": (0.20, 6),
        "finance": (0.20, 3),
        "telecom": (0.25, 11),
        "manufacturing": (0.15, 4),
        "enterprise": (0.15, 6),
        "military": (0.35, 12),
        "power": (0.30, 11),
        "energy": (0.25, 10),
    }
)
#: Education is price-sensitive: price pressure starts more often there.
INDUSTRY_PRICE_SENSITIVITY = MappingProxyType({i: {"education": 1.6, "government": 1.2}.get(i, 1.0) for i in INDUSTRIES})
PUBLIC_SECTOR = ("government", "education", "public_utilities", "military", "power")
ADMIN_LEVEL_SHARES = MappingProxyType({"central": 0.04, "provincial": 0.14, "municipal": 0.36, "county": 0.46})
ADMIN_LEVEL_SIZE = MappingProxyType({"central": 4.0, "provincial": 2.0, "municipal": 1.0, "county": 0.5})

#: Product mix per industry (desktop, notebook, server, tablet, services).
PRODUCT_MIX = MappingProxyType(
    {
        "government": (0.45, 0.25, 0.12, 0.08, 0.10),
        "education": (0.50, 0.20, 0.08, 0.15, 0.07),
        "public_utilities": (0.35, 0.25, 0.20, 0.05, 0.15),
        "transport": (0.30, 0.25, 0.25, 0.05, 0.15),
        "finance": (0.30, 0.25, 0.30, 0.03, 0.12),
        "telecom": (0.15, 0.20, 0.45, 0.05, 0.15),
        "manufacturing": (0.40, 0.25, 0.15, 0.05, 0.15),
        "enterprise": (0.35, 0.40, 0.10, 0.05, 0.10),
        "military": (0.40, 0.25, 0.20, 0.05, 0.10),
        "power": (0.30, 0.25, 0.25, 0.05, 0.15),
        "energy": (0.30, 0.25, 0.25, 0.05, 0.15),
    }
)
#: List price per unit (CNY) and mean gross-margin rate per product line.
UNIT_PRICE = (4500.0, 6000.0, 40000.0, 3000.0, 1500.0)
MARGIN_RATE = (0.08, 0.10, 0.18, 0.12, 0.35)
#: Discount (margin points) given to an account under price pressure.
PRICE_PRESSURE_DISCOUNT = 0.04

# --- account size -------------------------------------------------------------------------------
#: Median IT-spend potential (CNY a year) and log-normal spread.
POTENTIAL_MEDIAN = 1_200_000.0
POTENTIAL_SIGMA = 1.55
#: Share of wallet: Beta(a, b).
WALLET_BETA = (2.0, 4.0)
#: Share of accounts created during the 3-year window (new accounts replace the churned ones).
NEW_ACCOUNT_SHARE = 0.22

# --- event rates (per account and month) --------------------------------------------------------
ORDER_RATE = 0.48  # scaled so the average account places ~10 orders in 3 years
ORDER_SIZE_ELASTICITY = 0.30  # bigger accounts order more often: rate ~ size ** 0.3
TICKET_RATE = 0.05
OPPORTUNITY_RATE = 0.045
PROSPECT_SHARE = 0.08  # share of opportunities for prospects (no account yet)
VISIT_RATE = MappingProxyType({"outside": 0.4, "inside": 0.07})
REP_LEAVE_RATE = 0.011  # per rep and month (~12.5% a year)
REASSIGN_RATE = 0.002  # per account and month, moved to another rep of the same team
CONTACT_END_RATE = (0.020, 0.015, 0.015)  # operations, management, decision
CONTACT_REPLACE_RATE = MappingProxyType({"outside": 0.40, "inside": 0.25})
CONTACT_NEW_LEVEL_RATE = MappingProxyType({"outside": 0.03, "inside": 0.01})
SERVICE_TROUBLE_ON, SERVICE_TROUBLE_OFF = 0.012, 0.08
PRICE_PRESSURE_ON, PRICE_PRESSURE_OFF = 0.01, 0.05
#: Monthly decay of the observed signals (half-life about 4 months).
SIGNAL_DECAY = 0.93

# --- the causal model ---------------------------------------------------------------------------
#: Monthly churn hazard: logistic(intercept + sum(weight * signal) + frailty).
#: Signals (see docs/demo-data.md): decayed counts of events the database records.
CHURN_COEFFICIENTS = MappingProxyType(
    {
        "intercept": -8.1,
        "service_trouble": 1.1,  # per decayed trouble point (complaint 1, >72h resolution 0.6, rating<=2 0.3), capped at 3
        "key_person_single_level": 2.2,  # per decayed management/decision contact ending that leaves <= 1 level covered, cap 2
        "key_person_multi_level": 0.6,  # the same ending with >= 2 levels still covered, cap 2
        "rep_turnover": 1.2,  # per decayed owner change (rep left 1.0, reassignment 0.6), cap 2
        "price_pressure": 1.0,  # per decayed lost deal (competitor named 1.0, none 0.3), cap 3
        "falling_volume": 0.8,  # times minus the latent engagement (log order-rate multiplier)
        "neglected_visits": 1.4,  # per visit gap beyond the role's expected gap (months / expected - 1), cap 3
        "size": -0.25,  # per log10 of potential over the median: big accounts churn less
        "frailty_sd": 0.2,  # per-account unobserved frailty, normal
    }
)
#: Engagement (log order-rate multiplier) is AR(1): e <- rho * e + noise - drag * signals.
ENGAGEMENT_RHO = 0.92
ENGAGEMENT_NOISE = 0.12
ENGAGEMENT_DRAG = 0.05

#: Opportunity win probability: logistic(intercept + sum(weight * driver) + noise).
WIN_COEFFICIENTS: MappingProxyType[str, Any] = MappingProxyType(  # numbers and per-category maps
    {
        "intercept": -0.35,
        "coverage_levels": 0.45,  # per contact level covered (0-3) above 2
        "service_trouble": -0.45,  # per decayed trouble point, capped at 3
        "competitor_named": -0.9,
        "log10_amount": -0.4,  # per log10 of est_amount over 100,000 CNY
        "source": {
            "referral": 0.5,
            "field": 0.3,
            "partner": 0.15,
            "inside_callout": 0.0,
            "marketing_event": -0.2,
            "web": -0.4,
        },
        "partner_tier": {"platinum": 0.4, "gold": 0.15, "silver": 0.0},
        "noise_sd": 0.6,
    }
)
COMPETITORS = ("Dell", "HP", "Huawei", "Inspur", "H3C", "Tongfang", "Great Wall", "Sugon")

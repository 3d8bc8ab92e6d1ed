"""Small builders of routes / reps / partners tables for the assignment tests."""

from __future__ import annotations

import pandas as pd

ROUTE_COLUMNS = ["opportunity_id", "account_id", "region", "industry", "route", "owner_rep_id", "owner_partner_id"]


def rep(rep_id, role="inside", region="shandong", industries="finance", capacity=10, active=True):
    return {
        "rep_id": rep_id,
        "role": role,
        "region": region,
        "industries": industries,
        "capacity": capacity,
        "active": active,
    }


def partner(partner_id, regions="shandong", industries="finance", capacity=10, active=True, tier="gold"):
    return {
        "partner_id": partner_id,
        "regions": regions,
        "industries": industries,
        "tier": tier,
        "capacity": capacity,
        "active": active,
    }


def route(
    opportunity_id,
    route="inside",
    account_id=None,
    region="shandong",
    industry="finance",
    owner_rep_id=None,
    owner_partner_id=None,
    est_amount=1000.0,
):
    return {
        "opportunity_id": opportunity_id,
        "account_id": account_id,
        "region": region,
        "industry": industry,
        "route": route,
        "owner_rep_id": owner_rep_id,
        "owner_partner_id": owner_partner_id,
        "est_amount": est_amount,
    }


def reps_table(*rows) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows), columns=["rep_id", "role", "region", "industries", "capacity", "active"])
    return frame.astype({"capacity": "int64", "active": "bool"})


def partners_table(*rows) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows), columns=["partner_id", "regions", "industries", "tier", "capacity", "active"])
    return frame.astype({"capacity": "int64", "active": "bool"})


def routes_table(*rows) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows), columns=[*ROUTE_COLUMNS, "est_amount"])
    return frame.astype({c: "str" for c in ROUTE_COLUMNS} | {"est_amount": "float64"})


def by_id(assignments: pd.DataFrame) -> pd.DataFrame:
    return assignments.set_index("opportunity_id")

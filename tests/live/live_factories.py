"""Helpers of the live-path tests (imported by the tests; conftest only holds fixtures)."""

from __future__ import annotations

import itertools
from typing import Any

import pandas as pd

from engine.storage import Database

AS_OF = "2026-10-01"
_counter = itertools.count()


def new_database(kind: str, tables, tmp_path, request) -> Database:
    """A fresh SQLite file or PostgreSQL database holding ``tables``."""
    if kind == "postgres":
        url = request.getfixturevalue("postgres_url")
        import psycopg

        name = f"kam_live_{next(_counter)}"
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        target = url.rsplit("/", 1)[0] + "/" + name
    else:
        target = str(tmp_path / f"live-{next(_counter)}.sqlite")
    db = Database(target)
    db.write_source_tables(tables)
    return db


def lead_of(opportunity: dict[str, Any]) -> dict[str, Any]:
    """The lead a CRM would send for a row of the opportunities table (JSON-ready values)."""
    fields = ("opportunity_id", "account_id", "prospect_name", "region", "industry", "created_date", "source",
              "product_line", "est_units", "est_amount", "stage", "competitor")
    lead = {}
    for name in fields:
        value = opportunity.get(name)
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            continue
        if hasattr(value, "item"):
            value = value.item()
        if hasattr(value, "isoformat"):
            value = value.isoformat()[:10]
        lead[name] = value
    return lead


def prospect(lead_id: str, region: str = "shandong", industry: str = "finance", amount: float = 30_000.0) -> dict:
    """A new prospect's lead in one territory."""
    return {"opportunity_id": lead_id, "prospect_name": f"Prospect {lead_id}", "region": region,
            "industry": industry, "source": "web", "product_line": "server", "est_units": 2,
            "est_amount": amount, "stage": "lead"}


def narrow_team(tables: dict[str, pd.DataFrame], capacity: int = 2) -> tuple[dict[str, pd.DataFrame], str, str, int]:
    """Tables where one inside team (region x industry) has ``capacity`` slots per active member.

    Returns the tables, the team's region and industry, and the number of free slots.
    """
    reps = tables["reps"].copy()
    inside = reps[(reps["role"] == "inside") & reps["active"].astype(bool)]
    members = inside.assign(industry=inside["industries"].str.split(";")).explode("industry")
    sizes = members.groupby(["region", "industry"]).size()
    region, industry = sizes.sort_values(ascending=False, kind="stable").index[0]
    team = members[(members["region"] == region) & (members["industry"] == industry)]["rep_id"]
    reps.loc[reps["rep_id"].isin(team), "capacity"] = capacity
    return {**tables, "reps": reps}, str(region), str(industry), capacity * len(team)


def route_in_process(url: str, models: str, leads: list[dict], start, out) -> None:
    """Child process: load a router, wait for the others, route ``leads``, report the decisions."""
    from engine.live import LiveRouter

    try:
        with LiveRouter(url, as_of=AS_OF, artifacts_dir=models) as router:
            start.wait(timeout=120)
            out.put([router.route(lead).as_dict() for lead in leads])
    except BaseException as error:  # reported to the parent, which fails the test with it
        out.put(repr(error))

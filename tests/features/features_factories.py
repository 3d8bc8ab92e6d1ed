"""Small contract-shaped tables for the feature tests, built from plain rows.

Also the one small database whose every feature value is computed by hand (``tables``, as of
``AS_OF``), shared by the account, opportunity and input tests. Shared test code lives in modules
like this one (``<package>_factories.py``, imported by that unique name), never in a conftest or
a test module.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from engine.contract import CUSTOMER_DATABASE

# Column names and date columns come from the data contract, the one place that states them.
_TABLES = ("customers", "reps", "orders", "tickets", "contacts", "ownership", "visits", "opportunities")
COLUMNS = {name: list(CUSTOMER_DATABASE[name].column_names) for name in _TABLES}
CUSTOMER_COLUMNS = COLUMNS["customers"]
DATE_COLUMNS = {
    name: [c.name for c in CUSTOMER_DATABASE[name].columns if c.type == "date"]
    for name in _TABLES
    if any(c.type == "date" for c in CUSTOMER_DATABASE[name].columns)
}
NUMERIC = {
    "orders": {"units": "int64", "amount": "float64", "margin": "float64"},
    "tickets": {"resolution_hours": "float64", "satisfaction": "float64"},
    "opportunities": {"est_units": "int64", "est_amount": "float64"},
    "customers": {"employees": "int64", "it_spend_potential": "float64"},
    "reps": {"capacity": "int64"},
}


def customer(account_id: str, *, region="shanghai", industry="finance", created="2020-01-01", **extra) -> dict:
    row = {
        "account_id": account_id,
        "name": f"Customer {account_id}",
        "region": region,
        "industry": industry,
        "admin_level": None,
        "employees": 100,
        "it_spend_potential": 1_000_000.0,
        "owner_rep_id": "R1",
        "owner_partner_id": "P1",
        "strategic": False,
        "created_date": created,
        "status": "active",
    }
    row.update(extra)
    return row


def frame(name: str, rows: list[dict], *, dates: str = "iso") -> pd.DataFrame:
    """A table from row dicts; missing columns filled with nulls; dates as ISO strings or datetime64."""
    numeric = NUMERIC.get(name, {})
    data = {}
    for column in COLUMNS[name]:
        values = [row.get(column) for row in rows]
        if column in DATE_COLUMNS.get(name, ()):
            if dates == "datetime":
                data[column] = pd.to_datetime(pd.Series(values, dtype=object))
            else:
                data[column] = pd.Series(values, dtype="str")
        elif column in numeric:
            complete = bool(rows) and all(value is not None for value in values)
            data[column] = pd.Series(values, dtype=numeric[column] if complete else "float64")
        elif column in ("strategic", "active"):
            data[column] = pd.Series(values, dtype=bool)
        else:
            data[column] = pd.Series(values, dtype="str")
    return pd.DataFrame(data)


def database(dates: str = "iso", **rows: list[dict]) -> dict[str, pd.DataFrame]:
    """Every contract table (empty unless rows are given)."""
    return {name: frame(name, rows.get(name, []), dates=dates) for name in COLUMNS}


# --- the hand-computed example database ---------------------------------------------------------
AS_OF = dt.date(2024, 7, 1)


def d(offset: int) -> str:
    """ISO date ``offset`` days from the as-of date."""
    return (AS_OF + dt.timedelta(days=offset)).isoformat()


def order(account, offset, line, amount, units=1):
    return {"account_id": account, "order_date": d(offset), "product_line": line, "units": units,
            "amount": float(amount), "margin": amount / 10, "channel": "direct"}


def ticket(account, kind, opened, closed, hours=None, rating=None):
    return {"account_id": account, "kind": kind, "severity": "low", "opened_date": d(opened),
            "closed_date": None if closed is None else d(closed), "resolution_hours": hours, "satisfaction": rating}


def contact(account, level, start, end):
    return {"account_id": account, "level": level, "role": "x", "active_from": d(start),
            "active_to": None if end is None else d(end)}


def owner(account, rep, start, end):
    return {"account_id": account, "rep_id": rep, "start_date": d(start), "end_date": None if end is None else d(end)}


def deal(account, created, closed, outcome, competitor=None):
    return {"account_id": account, "created_date": d(created), "closed_date": None if closed is None else d(closed),
            "outcome": outcome, "competitor": competitor, "source": "web", "product_line": "server",
            "est_units": 1, "est_amount": 10.0, "stage": "lead"}


def tables(dates="iso"):
    rows = dict(
        customers=[
            customer("A1", created="2020-07-01", it_spend_potential=10_000.0, employees=500, strategic=True),
            customer("A2", created="2023-07-01", it_spend_potential=0.0, admin_level="county"),
            customer("A3", region="fujian", industry="education", created=d(0)),
            customer("A4", created="2021-01-01"),
        ],
        orders=[
            order("A1", -30, "server", 300, units=3),
            order("A1", -30, "services", 50),  # same day: one purchase day for the rhythm
            order("A1", -60, "notebook", 200, units=2),
            order("A1", -90, "server", 100),  # first day of the 90-day window
            order("A1", -366, "desktop", 400, units=4),  # last day of the prior 12 months
            order("A1", 0, "server", 9999),  # on the as-of day: a label row, never a feature row
            order("A2", -731, "server", 1000),  # before the prior 12 months, inside 36 months
        ],
        tickets=[
            ticket("A1", "complaint", -10, None),
            ticket("A1", "repair", -100, -95, hours=10.0, rating=4),
            ticket("A1", "complaint", -50, 0, hours=999.0, rating=1),  # closes on the as-of day: open at A
            ticket("A1", "repair", -400, -380, hours=1000.0, rating=1),  # closed before the 12 months
            ticket("A2", "inquiry", -20, -19, hours=30.0, rating=2),
            ticket("A2", "inquiry", -30, -28, hours=50.0, rating=5),
        ],
        contacts=[
            contact("A1", "operations", -500, None),
            contact("A1", "management", -500, -40),
            contact("A1", "decision", -300, 0),  # last day in role is the as-of day: still active
            contact("A1", "decision", -900, -200),
            contact("A2", "operations", -100, None),
            contact("A2", "management", 0, None),  # starts on the as-of day: not yet
        ],
        ownership=[
            owner("A1", "R1", -1000, -400),
            owner("A1", "R2", -399, -100),
            owner("A1", "R1", -99, None),
            owner("A2", "R1", -365, -10),
        ],
        visits=[
            {"account_id": "A1", "rep_id": "R1", "visit_date": d(k), "kind": "onsite"} for k in (-5, -80, -200, 0)
        ]
        + [{"account_id": "A2", "rep_id": "R1", "visit_date": d(-91), "kind": "phone"}],
        opportunities=[
            deal("A1", -200, -100, "lost", "Dell"),
            deal("A1", -300, -250, "lost"),
            deal("A1", -500, -400, "lost", "Dell"),  # closed before the 12 months
            deal("A1", -100, -50, "won"),
            deal("A1", -30, None, "open"),
            deal("A1", -20, 5, "won"),  # open at A; its win is in the future
            deal("A1", -40, -10, "lost", "   "),  # blank competitor is not a name
        ],
    )
    return database(dates=dates, **rows)

"""Small contract-shaped tables for the feature tests, built from plain rows."""

from __future__ import annotations

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

"""The contract's source tables: created with typed DDL and bulk-loaded, replaced atomically.

The function behind :meth:`Database.write_source_tables` (documented there). Each table is loaded
into a staging table, then the old table is dropped and the staging table renamed, all of it in
one transaction with the other tables: a reader sees the old tables or the new ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import pandas as pd

from engine._errors import ConfigError
from engine.contract import Table

if TYPE_CHECKING:
    from engine.storage._database import Database

__all__ = ["SQL_TYPES", "write_source_tables"]

_STAGING_SUFFIX = "__kam_staging"

#: Logical contract type -> portable SQL type name used in DDL.
SQL_TYPES: dict[str, str] = {
    "string": "TEXT",
    "enum": "TEXT",
    "integer": "BIGINT",
    "number": "DOUBLE PRECISION",
    "boolean": "BOOLEAN",
    "date": "DATE",
}


def write_source_tables(db: Database, tables: Mapping[str, pd.DataFrame]) -> None:
    """Replace the contract tables ``tables`` in one transaction (see :meth:`Database.write_source_tables`)."""
    specs = {}
    for name, frame in tables.items():
        spec = db.contract[db._table(name)] if name in db.contract else None
        if spec is None:
            raise ConfigError(f"{name!r} is not a source table; expected one of {list(db.contract.table_names)}.")
        missing = [c for c in spec.column_names if c not in frame.columns]
        if missing:
            raise ConfigError(
                f"table {name!r} is missing contract columns {missing}. Expected columns "
                f"{list(spec.column_names)}; add the missing ones (null where unknown)."
            )
        specs[name] = spec
    with db._session("write source tables", write=True) as session:
        for name, frame in tables.items():
            spec = specs[name]
            staging = name + _STAGING_SUFFIX
            session.execute(f"DROP TABLE IF EXISTS {db._quote(staging)}")
            session.execute(_create_sql(db, staging, spec))
            types = {c.name: c.type for c in spec.columns}
            if len(frame):
                session.insert(staging, frame, list(spec.column_names), types)
            session.execute(f"DROP TABLE IF EXISTS {db._quote(name)}")
            session.execute(f"ALTER TABLE {db._quote(staging)} RENAME TO {db._quote(name)}")


def _create_sql(db: Database, name: str, spec: Table) -> str:
    # Deliberately no NOT NULL / PRIMARY KEY: the database may hold rows that break the
    # contract, and engine.validate is the one place that judges (and quarantines) them.
    cols = []
    for col in spec.columns:
        sql_type = SQL_TYPES[col.type]
        if db.dialect == "sqlite" and sql_type == "DOUBLE PRECISION":
            sql_type = "REAL"
        cols.append(f"{db._quote(col.name)} {sql_type}")
    return f"CREATE TABLE {db._quote(name)} ({', '.join(cols)})"

"""Storage: reading the customer database and writing kam's results (SQLAlchemy).

This is the only package that talks to SQLAlchemy and the database drivers.
"""

from engine.storage._database import RESULT_TABLES, SQL_TYPES, Database, mask_url

__all__ = ["Database", "RESULT_TABLES", "SQL_TYPES", "mask_url"]

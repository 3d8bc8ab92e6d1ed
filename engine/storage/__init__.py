"""Storage: reading the customer database and writing kam's results (SQLAlchemy).

This is the only package that talks to SQLAlchemy and the database drivers.
"""

from engine.storage._alerts import ALERT_TABLES, AlertStore
from engine.storage._database import RESULT_TABLES, SQL_TYPES, Database, mask_url
from engine.storage._live import LIVE_TABLES, LiveStore

__all__ = ["ALERT_TABLES", "AlertStore", "Database", "LIVE_TABLES", "LiveStore", "RESULT_TABLES", "SQL_TYPES", "mask_url"]

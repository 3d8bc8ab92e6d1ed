"""Moved to :mod:`engine._asof` (the stages below the pipeline normalise ``as_of`` there too).

Kept so that ``from engine.pipeline._asof import resolve_as_of`` goes on working.
"""

from engine._asof import (
    STALE_AFTER_DAYS,
    as_of_date,
    default_as_of,
    event_date_columns,
    newest_event_date,
    resolve_as_of,
    warn_if_stale,
)

__all__ = [
    "STALE_AFTER_DAYS",
    "as_of_date",
    "default_as_of",
    "event_date_columns",
    "newest_event_date",
    "resolve_as_of",
    "warn_if_stale",
]

"""The one rule for a run's as-of date, shared by every command and library entry point.

The as-of date is the run's "today": features use rows dated before it, and validation judges
a date after it as ``future_date``. When none is given:

* the default is **the day after the newest event in the data** (the latest order, ticket,
  visit, opportunity, ... on or before today: the contract's ``not_future`` date columns), so a
  database extracted last night is scored as of this morning, and an old extract (the demo data)
  is scored as of its own end rather than as of a today it knows nothing about;
* when that newest event is more than :data:`STALE_AFTER_DAYS` days before today, a
  :class:`~engine._errors.StaleDataWarning` says so (the nightly load may have stopped);
* with no dated row at all, the default is today.

An explicit as-of date more than :data:`STALE_AFTER_DAYS` days after the newest event is
warned about too: every activity feature would see weeks of nothing, and churn looks higher.

Cost: the default asks the database for the newest date of each event column (one ``MAX``
scan each, about 1 s at 200,000 accounts on SQLite). An explicit date costs no query: its
staleness is judged on the tables once they are read (:func:`warn_if_stale`).
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Mapping
from typing import Any

import pandas as pd

from engine._errors import ConfigError, StaleDataWarning
from engine._log import get_logger
from engine.contract import CUSTOMER_DATABASE, Contract

__all__ = [
    "STALE_AFTER_DAYS",
    "default_as_of",
    "event_date_columns",
    "newest_event_date",
    "resolve_as_of",
    "warn_if_stale",
]

#: Days between the newest event in the data and the as-of date (or today) before kam warns.
#: Two weeks: longer than a holiday week without orders, shorter than a load job broken unnoticed.
STALE_AFTER_DAYS = 14

_log = get_logger("asof")


def _today() -> dt.date:
    return pd.Timestamp.now(tz="UTC").date()


def event_date_columns(contract: Contract = CUSTOMER_DATABASE) -> list[tuple[str, str]]:
    """``(table, column)`` of every date that records an event (declared ``not_future``)."""
    return [(table.name, column.name) for table in contract.tables for column in table.columns
            if column.type == "date" and column.not_future]


def newest_event_date(source: Any, *, today: dt.date | None = None,
                      contract: Contract = CUSTOMER_DATABASE) -> dt.date | None:
    """The latest event date on or before ``today`` in a database or in a mapping of frames.

    Parameters
    ----------
    source : engine.storage.Database or mapping of str to DataFrame
        Where to look. A database is asked with one ``MAX`` query per column (nothing is read).
    today : datetime.date, optional
        Dates after it are ignored (a mistyped year must not move the as-of date); default today (UTC).

    Returns
    -------
    datetime.date or None
        None when no table holds a usable date.
    """
    from engine.storage import Database

    today = today or _today()
    newest: dt.date | None = None
    if isinstance(source, Database):
        present = source.table_names()
        for table, column in event_date_columns(contract):
            if table in present and column in source.columns(table):
                found = source.newest_date(table, column, not_after=today)
                newest = found if newest is None or (found is not None and found > newest) else newest
        return newest
    if not isinstance(source, Mapping):
        raise ConfigError(f"expected a Database or a mapping of table name to DataFrame; got {type(source).__name__}.")
    limit = pd.Timestamp(today)
    for table, column in event_date_columns(contract):
        frame = source.get(table)
        if not isinstance(frame, pd.DataFrame) or column not in frame.columns or frame.empty:
            continue
        values = frame[column]
        if not pd.api.types.is_datetime64_any_dtype(values.dtype):
            values = pd.to_datetime(values.astype("string"), errors="coerce", format="%Y-%m-%d")
        values = values[values <= limit]
        if len(values) and values.notna().any():
            found = values.max().date()
            newest = found if newest is None or found > newest else newest
    return newest


def default_as_of(source: Any, *, today: dt.date | None = None) -> dt.date:
    """The default as-of date: the day after the newest event (see the module notes), else today.

    Examples
    --------
    >>> import pandas as pd
    >>> orders = pd.DataFrame({"order_date": ["2026-09-29", "2026-09-30", "2099-01-01"]})
    >>> default_as_of({"orders": orders}, today=dt.date(2026, 10, 3))
    datetime.date(2026, 10, 1)
    """
    return resolve_as_of(None, source, today=today, warn=False)


def resolve_as_of(as_of: Any, source: Any, *, today: dt.date | None = None, warn: bool = True) -> dt.date:
    """The as-of date of a run: ``as_of`` when given, else :func:`default_as_of`; warns when stale.

    Parameters
    ----------
    as_of : date-like or None
        The date asked for (``None``: the default rule).
    source : Database or mapping of str to DataFrame
        The data the run reads.
    today : datetime.date, optional
        For tests; default today (UTC).
    warn : bool, default True
        Emit :class:`StaleDataWarning` when the data is older than :data:`STALE_AFTER_DAYS` days.
        For an explicit ``as_of`` and a database source, nothing is queried: call
        :func:`warn_if_stale` with the tables once read.

    Raises
    ------
    ConfigError
        ``as_of`` is not a date.
    """
    from engine.storage import Database

    today = today or _today()
    if as_of is None:
        newest = newest_event_date(source, today=today)
        chosen = newest + dt.timedelta(days=1) if newest is not None else today
        _log.info("as-of date %s: the day after the newest event in the data (%s)", chosen, newest or "none; today")
        if warn and newest is not None and (today - newest).days > STALE_AFTER_DAYS:
            warnings.warn(StaleDataWarning(
                f"the newest event in the data is from {newest}, {(today - newest).days} days before today; "
                f"scoring as of {chosen} (the day after it). If the data should be newer, check the load job; "
                "to score as of another date, pass --as-of (as_of=)."
            ), stacklevel=2)
        return chosen
    chosen = _parse(as_of)
    if warn and not isinstance(source, Database):
        warn_if_stale(chosen, source, today=today, stacklevel=3)
    return chosen


def warn_if_stale(as_of: dt.date, tables: Mapping[str, pd.DataFrame], *, today: dt.date | None = None,
                  stacklevel: int = 2) -> None:
    """Warn (:class:`StaleDataWarning`) when an explicit ``as_of`` is weeks after the newest event in ``tables``.

    Called with the tables a run has read (no database query), so an explicit date costs nothing.
    """
    newest = newest_event_date(tables, today=today)
    if newest is not None and (as_of - newest).days > STALE_AFTER_DAYS:
        warnings.warn(StaleDataWarning(
            f"the as-of date {as_of} is {(as_of - newest).days} days after the newest event in the data "
            f"({newest}): activity features will see that many days of nothing and churn will look higher. "
            "Load newer data, or leave out --as-of to use the day after the newest event."
        ), stacklevel=stacklevel)


def _parse(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError):
        stamp = pd.NaT
    if stamp is pd.NaT:
        raise ConfigError(f"as_of must be a date like 2026-10-01; got {value!r}.")
    return stamp.date()

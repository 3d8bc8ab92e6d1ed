"""The one rule for a run's as-of date, shared by every command and library entry point.

The as-of date is the run's "today": features use rows dated before it, validation judges a
date after it as ``future_date``, and rules compute ``days_since`` from it. Every entry point
that takes ``as_of=`` (``score``, ``score_frame``, ``validate_tables``, the feature builders,
``RuleSet.evaluate``/``decide``, ``check_rules``, ``diff_rulesets``, the CLI's ``--as-of``)
normalises it with :func:`as_of_date`, so it has one meaning and one error everywhere:

* a ``datetime.date``, ``datetime.datetime``, ``pandas.Timestamp``, ``numpy.datetime64`` or
  ISO text (``YYYY-MM-DD``, optionally with a time, or the basic form ``YYYYMMDD``) is that
  calendar date; the time of day is dropped and a timezone-aware value keeps its local date.
  Text in any other order (``30/06/2024``, ``06/30/2024``) is refused rather than guessed;
* anything else raises :class:`~engine._errors.AsOfError` (a ``ConfigError``) saying what was
  expected, what arrived and how to write it (:func:`calendar_date` is the same reading for any
  other date a person gives: ``--until``, ``--end-date``, the alerts' ``on=``/``until=``);
* ``None`` means the default below, computed from the data the call was given (a rule set or a
  feature frame holds no event dates, so for them it is today, UTC).

When none is given:

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
import re
import warnings
from collections.abc import Mapping
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from engine._errors import ArgumentError, AsOfError, StaleDataWarning
from engine._log import get_logger
from engine.contract import CUSTOMER_DATABASE, Contract

__all__ = [
    "STALE_AFTER_DAYS",
    "AsOf",
    "as_of_date",
    "calendar_date",
    "default_as_of",
    "event_date_columns",
    "newest_event_date",
    "resolve_as_of",
    "warn_if_stale",
]

#: What an ``as_of=`` argument may be (see :func:`as_of_date`); ``None`` asks for the default.
AsOf: TypeAlias = dt.date | pd.Timestamp | np.datetime64 | str | None

#: Days between the newest event in the data and the as-of date (or today) before kam warns.
#: Two weeks: longer than a holiday week without orders, shorter than a load job broken unnoticed.
STALE_AFTER_DAYS = 14

_log = get_logger("asof")


def _today() -> dt.date:
    return pd.Timestamp.now(tz="UTC").date()


def as_of_date(as_of: Any, data: Any = None, *, today: dt.date | None = None,
               contract: Contract = CUSTOMER_DATABASE) -> dt.date:
    """The as-of date ``as_of`` stands for: the one normaliser of every ``as_of=`` argument.

    Parameters
    ----------
    as_of : date-like or None
        A ``datetime.date``/``datetime``, ``pandas.Timestamp``, ``numpy.datetime64`` or ISO
        text (``YYYY-MM-DD`` or ``YYYYMMDD``). ``None``: the default rule (see the module notes) applied to ``data``.
    data : Database or mapping of str to DataFrame, optional
        What the default looks at when ``as_of`` is None; with nothing dated, today (UTC).
    today : datetime.date, optional
        For tests; default today (UTC).
    contract : Contract, default CUSTOMER_DATABASE
        Which date columns record events (declared ``not_future``).

    Raises
    ------
    AsOfError
        ``as_of`` is not a calendar date (a ``ConfigError``; also a ``TypeError``).

    Examples
    --------
    >>> as_of_date("2024-06-30")
    datetime.date(2024, 6, 30)
    >>> as_of_date(None, {}, today=dt.date(2024, 7, 1))
    datetime.date(2024, 7, 1)
    >>> as_of_date("30/06/2024")
    Traceback (most recent call last):
    ...
    engine._errors.AsOfError: expected as_of as a date (an ISO date such as '2026-10-01' or '20261001', a datetime.date, datetime or pandas.Timestamp); got '30/06/2024'. Fix: write the date year first, as '2024-06-30'.
    """
    if as_of is None:
        if data is None:  # nothing dated to look at: the rule's last branch, without a log line per record
            return today or _today()
        return resolve_as_of(None, data, today=today, warn=False, contract=contract)
    return _parse(as_of)


def calendar_date(value: Any, *, name: str = "as_of") -> dt.date:
    """``value`` as a calendar date, read as :func:`as_of_date` reads a given date; ``name`` is for the error.

    The one reading of a date a person typed (``--as-of``, ``--until``, ``end_date=``): ISO text
    (year first, optionally with a time, or ``YYYYMMDD``), a ``date``, ``datetime``, ``Timestamp``
    or ``datetime64``; anything else, ``30/06/2024`` included, is an :class:`AsOfError`. A
    ``name`` that is a command-line option (``--as-of``) words the error for the command line.

    Examples
    --------
    >>> calendar_date("2026-10-01T08:30"), calendar_date("20261001")
    (datetime.date(2026, 10, 1), datetime.date(2026, 10, 1))
    >>> calendar_date("06/07/2024", name="until")
    Traceback (most recent call last):
    ...
    engine._errors.AsOfError: expected until as a date (an ISO date such as '2026-10-01' or '20261001', a datetime.date, datetime or pandas.Timestamp); got '06/07/2024'. Fix: write the date year first (YYYY-MM-DD); '06/07/2024' could be day/month or month/day.
    >>> calendar_date("next monday", name="--as-of")
    Traceback (most recent call last):
    ...
    engine._errors.AsOfError: expected --as-of as a date written YYYY-MM-DD (or YYYYMMDD); got 'next monday'. Fix: pass --as-of as YYYY-MM-DD, e.g. --as-of 2026-10-01.
    """
    return _parse(value, name)


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
        raise ArgumentError(f"expected a Database or a mapping of table name to DataFrame; got {type(source).__name__}. "
                            "Fix: pass engine.Database(url) or {'customers': customers, 'orders': orders, ...}")
    limit = pd.Timestamp(today)
    for table, column in event_date_columns(contract):
        frame = source.get(table)
        if not isinstance(frame, pd.DataFrame) or column not in frame.columns or frame.empty:
            continue
        values = frame[column]
        if not pd.api.types.is_datetime64_any_dtype(values.dtype):
            # the validator's own reading of a date cell (ISO date, optionally with a time)
            import pyarrow as pa

            from engine.validate._dates import parse_iso_days

            days, ok, _ = parse_iso_days(pa.array(values.astype("string"), type=pa.large_string(), from_pandas=True))
            values = pd.Series(pd.to_datetime(days[ok], unit="D"))
        else:
            # calendar days, as the text branch reads them: a time of day or a time zone must not
            # move a date past `today` (a tz-aware column is read on its own wall clock)
            if getattr(values.dt, "tz", None) is not None:
                values = values.dt.tz_localize(None)
            values = values.dt.normalize()
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


def resolve_as_of(as_of: Any, source: Any, *, today: dt.date | None = None, warn: bool = True,
                  contract: Contract = CUSTOMER_DATABASE) -> dt.date:
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
    AsOfError
        ``as_of`` is not a date (a ``ConfigError``).
    """
    from engine.storage import Database

    today = today or _today()
    if as_of is None:
        newest = newest_event_date(source, today=today, contract=contract)
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


#: ISO dates, optionally with a time: the text accepted (``30/06/2024`` is refused, not guessed).
_ISO = re.compile(r"\s*(\d{4})-(\d{2})-(\d{2})([T ].*)?\s*")
#: ISO 8601's basic form ``YYYYMMDD`` (``20240630``): unambiguous, and what ``date.fromisoformat`` reads.
_ISO_BASIC = re.compile(r"\s*(\d{4})(\d{2})(\d{2})\s*")


def _parse(value: Any, name: str = "as_of") -> dt.date:
    stamp: Any = pd.NaT
    if isinstance(value, (pd.Timestamp, dt.datetime, np.datetime64)):
        stamp = pd.Timestamp(value)
    elif isinstance(value, dt.date):
        return value
    elif isinstance(value, str) and (basic := _ISO_BASIC.fullmatch(value)):
        try:
            return dt.date(*(int(part) for part in basic.groups()))
        except ValueError:
            stamp = pd.NaT  # 20240230: not a day of the calendar
    elif isinstance(value, str) and _ISO.fullmatch(value):
        try:
            stamp = pd.Timestamp(value)
        except (TypeError, ValueError):
            stamp = pd.NaT
    if stamp is pd.NaT:
        raise AsOfError(_message(value, name))
    if stamp.tzinfo is not None:  # a timezone-aware value keeps its local calendar date
        stamp = stamp.tz_localize(None)
    return stamp.date()


def _message(value: Any, name: str) -> str:
    """Expected / got / fix, in the words of whoever gave the date: a command-line option (``--as-of``) or code."""
    if name.startswith("--"):
        return (f"expected {name} as a date written YYYY-MM-DD (or YYYYMMDD); got {value!r}. "
                f"Fix: {_fix(value, option=name)}")
    return (f"expected {name} as a date (an ISO date such as '2026-10-01' or '20261001', a datetime.date, "
            f"datetime or pandas.Timestamp); got {value!r}. Fix: {_fix(value)}")


def _fix(value: Any, option: str | None = None) -> str:
    text = str(value).strip()
    parts = re.fullmatch(r"(\d{1,2})[/.](\d{1,2})[/.](\d{4})", text)
    certain = None
    if parts:
        first, second, year = (int(p) for p in parts.groups())
        if first > 12 >= second:  # day first, so the reading is certain
            certain = f"{year:04d}-{second:02d}-{first:02d}"
        elif second > 12 >= first:  # month first
            certain = f"{year:04d}-{first:02d}-{second:02d}"
        elif option is None:
            return f"write the date year first (YYYY-MM-DD); {text!r} could be day/month or month/day."
        else:
            return f"pass {option} as YYYY-MM-DD, e.g. {option} 2026-10-01; {text!r} could be day/month or month/day."
    if certain is not None:
        return (f"write the date year first, as '{certain}'." if option is None
                else f"pass {option} as YYYY-MM-DD, year first: {option} {certain}.")
    if option is not None:
        return f"pass {option} as YYYY-MM-DD, e.g. {option} 2026-10-01."
    return "pass a calendar date such as '2026-10-01' or datetime.date(2026, 10, 1)."

"""The alert state tables: alerts, their events, the outbox of notifications and its deliveries.

Everything here goes through :class:`engine.storage.Database` sessions (one transaction per
method that writes), so a crash never leaves half a change:

* :meth:`AlertStore.commit_run` writes a run's new alert states, their events, the run's
  outbox rows and the ``alert_runs`` marker in **one** transaction (the transactional outbox):
  a notification exists exactly when the state that caused it does;
* :meth:`AlertStore.record_attempt` records one delivery attempt and the delivery's new status
  in one transaction, after the send: a sender killed between its send and this commit sends
  again later, with the same idempotency key (at-least-once delivery).

The tables are kam's own state (not per-run results), created on first use. Dates are stored as
ISO text (``YYYY-MM-DD``), timestamps as ISO text in UTC, flags as 0/1, so the same SQL runs on
SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from engine._errors import DataError, StorageError, UnknownNameError
from engine._suggest import did_you_mean
from engine.storage._database import Database

__all__ = ["ALERT_TABLES", "AlertStore"]

_T, _I, _F = "TEXT", "BIGINT", "DOUBLE PRECISION"

#: Every alert table with its columns and SQL types.
ALERT_TABLES: dict[str, dict[str, str]] = {
    "alerts": {
        "alert_key": _T, "account_id": _T, "kind": _T, "state": _T, "severity": _T, "action": _T,
        "because": _T, "rule_id": _T, "hit_runs": _I, "clear_runs": _I, "notified_rank": _I,
        "last_notified_on": _T, "opened_on": _T, "snoozed_until": _T, "for_runs": _I, "cooldown_days": _I,
        "owner_rep_id": _T, "owner_partner_id": _T, "tier": _T, "churn_probability": _F, "value_at_risk": _F,
        "updated_run_id": _T, "updated_at": _T,
    },
    "alert_events": {
        "event_id": _T, "alert_key": _T, "account_id": _T, "kind": _T, "run_id": _T, "event_date": _T,
        "action": _T, "from_state": _T, "to_state": _T, "notify": _T, "suppressed": _I, "rule_id": _T,
        "because": _T, "actor": _T, "recorded_at": _T,
    },
    "alert_outbox": {
        "notification_id": _T, "run_id": _T, "recipient_type": _T, "recipient_id": _T, "alerts": _I,
        "created_at": _T, "payload": _T,
    },
    "alert_deliveries": {
        "notification_id": _T, "channel": _T, "status": _T, "attempts": _I, "next_attempt_at": _T,
        "delivered_at": _T, "last_error": _T,
    },
    "alert_attempts": {
        "notification_id": _T, "channel": _T, "attempt": _I, "started_at": _T, "seconds": _F,
        "outcome": _T, "status_code": _I, "detail": _T,
    },
    "alert_endpoints": {"channel": _T, "endpoint": _T, "disabled_at": _T, "reason": _T},
    "alert_runs": {
        "run_id": _T, "as_of": _T, "evaluated_at": _T, "ruleset_hash": _T, "keys": _I, "opened": _I,
        "escalated": _I, "suppressed": _I, "resolved": _I, "notifications": _I,
    },
}

_KEYS = {
    "alerts": ("alert_key",), "alert_events": ("event_id",), "alert_outbox": ("notification_id",),
    "alert_deliveries": ("notification_id", "channel"), "alert_attempts": ("notification_id", "channel", "attempt"),
    "alert_endpoints": ("channel", "endpoint"), "alert_runs": ("run_id",),
}
_CHUNK = 500


def now_text() -> str:
    """The current UTC time as ISO text (what the timestamp columns hold)."""
    return pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _plain(value: Any) -> Any:
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    if hasattr(value, "isoformat") and not isinstance(value, str):
        return value.isoformat()
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value


def _typed(value: Any, sql_type: str) -> Any:
    """A value as its column's type: whole numbers for BIGINT (a float 2.0 read back is 2), text for TEXT."""
    if value is None:
        return None
    if sql_type == _I:
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, float):
            if not value.is_integer():
                raise DataError(f"expected a whole number; got {value!r}. Fix: round the value before writing it")
            return int(value)
        return int(value)
    if sql_type == _F:
        return float(value)
    return value if isinstance(value, str) else str(value)


class AlertStore:
    """The alert tables of one database.

    Parameters
    ----------
    db : Database
        Where the tables live (the customer database the scoring run wrote to).
    """

    def __init__(self, db: Database):
        self.db = db
        self._ready = False

    # --- schema -----------------------------------------------------------------------------
    def _sql_type(self, sql_type: str) -> str:
        return "REAL" if sql_type == _F and self.db.dialect == "sqlite" else sql_type

    def _ensure(self, session) -> None:
        if self._ready:
            return
        present = session.table_names()
        for name, columns in ALERT_TABLES.items():
            if name in present:
                continue
            cols = ", ".join(f'"{c}" {self._sql_type(t)}' for c, t in columns.items())
            key = ", ".join(f'"{c}"' for c in _KEYS[name])
            session.execute(f'CREATE TABLE "{name}" ({cols}, PRIMARY KEY ({key}))')
        self._ready = True

    def _write(self, action: str):
        return self.db._session(action, write=True, fast=False)

    def ensure_tables(self) -> None:
        """Create the alert tables that do not exist yet."""
        with self._write("create the alert tables") as session:
            self._ensure(session)

    # --- helpers ----------------------------------------------------------------------------
    @staticmethod
    def _frame(rows: list[tuple], table: str, columns: Iterable[str] | None = None) -> pd.DataFrame:
        return pd.DataFrame.from_records(rows, columns=list(columns or ALERT_TABLES[table]))

    def _select(self, session, table: str, where: str = "", params: Mapping[str, Any] | None = None,
                order: str = "") -> pd.DataFrame:
        cols = ", ".join(f'"{c}"' for c in ALERT_TABLES[table])
        sql = f'SELECT {cols} FROM "{table}"' + (f" WHERE {where}" if where else "") + (f" ORDER BY {order}" if order else "")
        return self._frame(session.execute(sql, params or {}), table)

    def _insert(self, session, table: str, frame: pd.DataFrame) -> None:
        if frame is None or frame.empty:
            return
        columns = list(ALERT_TABLES[table])
        missing = [c for c in columns if c not in frame.columns]
        frame = frame.assign(**{c: None for c in missing})[columns]
        types = ALERT_TABLES[table]
        plain = pd.DataFrame({c: [_typed(_plain(v), types[c]) for v in frame[c].tolist()] for c in columns}, dtype=object)
        session.insert(table, plain, columns, {})

    def _delete_keys(self, session, table: str, column: str, keys: list[str]) -> None:
        for start in range(0, len(keys), _CHUNK):
            session.execute(f'DELETE FROM "{table}" WHERE "{column}" IN :keys', {"keys": keys[start:start + _CHUNK]})

    def read(self, table: str, where: str = "", params: Mapping[str, Any] | None = None, order: str = "") -> pd.DataFrame:
        """Rows of one alert table (all columns), optionally filtered with bound parameters."""
        if table not in ALERT_TABLES:
            raise UnknownNameError(f"expected an alert table, one of {sorted(ALERT_TABLES)}; got {table!r}"
                                   f"{did_you_mean(table, ALERT_TABLES)}. Fix: read one of those")
        if not self._ready and table not in self.db.table_names():
            return self._frame([], table)  # nothing evaluated yet: no table, nothing to create on a read
        with self.db._session(f"read {table}", fast=False) as session:  # a read: works on a read-only database
            return self._select(session, table, where, params, order)

    # --- a run ------------------------------------------------------------------------------
    def evaluated_run(self, run_id: str) -> dict | None:
        """The ``alert_runs`` row of ``run_id``, or None when it was never evaluated."""
        rows = self.read("alert_runs", '"run_id" = :run_id', {"run_id": run_id})
        return None if rows.empty else rows.iloc[0].to_dict()

    def latest_evaluated(self) -> dict | None:
        """The ``alert_runs`` row with the newest as-of date, or None."""
        rows = self.read("alert_runs", order='"as_of" DESC, "evaluated_at" DESC')
        return None if rows.empty else rows.iloc[0].to_dict()

    def state_version(self) -> tuple[int, str]:
        """``(number of alert events, newest event time)``: changes whenever any alert changes.

        Every change of state (a run, an ack, a snooze, a resolve, a live event) records an event,
        so an evaluation that read the states at one version commits only if it is still current.
        """
        if not self._ready and "alert_events" not in self.db.table_names():
            return (0, "")
        with self.db._session("read the alert state version", fast=False) as session:
            return self._version(session)

    @staticmethod
    def _version(session) -> tuple[int, str]:
        ((count, newest),) = session.execute('SELECT COUNT(*), MAX("recorded_at") FROM "alert_events"')
        return int(count or 0), str(newest or "")

    def commit_run(self, run: Mapping[str, Any], states: pd.DataFrame, events: pd.DataFrame,
                   outbox: pd.DataFrame, *, read_version: tuple[int, str] | None = None) -> bool:
        """Write one evaluated run atomically: new states, events, outbox rows and the run marker.

        Returns False (and writes nothing) when the run was already committed: evaluating the
        same run again changes nothing, even when two evaluations race. With ``read_version``
        (:meth:`state_version` taken before the states were read), a change of any alert in the
        meantime - a person's ack, snooze or resolve, a live event, another run - refuses the
        commit with a :class:`StorageError` instead of overwriting it; so does a newer run
        committed meanwhile.
        """
        with self._write(f"write the alerts of run {run['run_id']!r}") as session:
            self._ensure(session)
            done = session.execute('SELECT "run_id" FROM "alert_runs" WHERE "run_id" = :run_id', {"run_id": run["run_id"]})
            if done:
                return False
            if read_version is not None and self._version(session) != tuple(read_version):
                raise StorageError(
                    f"the alerts changed while run {run['run_id']!r} was being evaluated (a person's ack, snooze or "
                    "resolve, a live event, or another run was recorded); nothing was written, so that change is "
                    "kept. Fix: run `kam alerts evaluate` again."
                )
            newer = session.execute('SELECT "run_id", "as_of" FROM "alert_runs" WHERE "as_of" > :as_of',
                                    {"as_of": str(run["as_of"])})
            if newer:
                raise StorageError(
                    f"run {newer[0][0]!r} as of {newer[0][1]} was evaluated while run {run['run_id']!r} (as of "
                    f"{run['as_of']}) was; alerts move forward in time, so nothing was written for the older run."
                )
            if not states.empty:
                self._delete_keys(session, "alerts", "alert_key", states["alert_key"].astype(str).tolist())
                self._insert(session, "alerts", states)
            self._insert(session, "alert_events", events)
            self._insert(session, "alert_outbox", outbox)
            self._insert(session, "alert_runs", pd.DataFrame([dict(run)]))
            return True

    def commit_change(self, state: pd.DataFrame, events: pd.DataFrame, outbox: pd.DataFrame | None = None) -> None:
        """Write a person's action or one live event: the key's new state, its event, any outbox rows."""
        with self._write("write an alert change") as session:
            self._ensure(session)
            self._delete_keys(session, "alerts", "alert_key", state["alert_key"].astype(str).tolist())
            self._insert(session, "alerts", state)
            self._insert(session, "alert_events", events)
            if outbox is not None:
                self._insert(session, "alert_outbox", outbox)

    # --- delivery ---------------------------------------------------------------------------
    def due(self, channel: str, now: str, limit: int | None = None) -> pd.DataFrame:
        """Outbox rows not yet delivered on ``channel`` whose next attempt is due, oldest first."""
        with self._write(f"read the {channel} outbox") as session:
            self._ensure(session)
            rows = session.execute(
                'SELECT o."notification_id", o."run_id", o."recipient_type", o."recipient_id", o."alerts", '
                'o."created_at", o."payload", d."attempts" FROM "alert_outbox" o '
                'LEFT JOIN "alert_deliveries" d ON d."notification_id" = o."notification_id" AND d."channel" = :channel '
                "WHERE d.\"status\" IS NULL OR (d.\"status\" = 'retry' AND d.\"next_attempt_at\" <= :now) "
                'ORDER BY o."created_at", o."notification_id"',
                {"channel": channel, "now": now},
            )
        frame = self._frame(rows, "alert_outbox", [*ALERT_TABLES["alert_outbox"], "attempts"])
        frame["attempts"] = frame["attempts"].fillna(0).astype("int64")
        return frame if limit is None else frame.head(limit)

    def record_attempt(self, notification_id: str, channel: str, attempt: Mapping[str, Any], status: str,
                       next_attempt_at: str | None = None, delivered_at: str | None = None) -> None:
        """Record one attempt and the delivery's new status (``sent``, ``retry``, ``failed``) atomically."""
        with self._write(f"record a {channel} delivery attempt") as session:
            self._ensure(session)
            previous = session.execute(
                'SELECT "attempts" FROM "alert_deliveries" WHERE "notification_id" = :n AND "channel" = :c',
                {"n": notification_id, "c": channel},
            )
            attempts = int(previous[0][0]) + 1 if previous else 1
            if previous:
                session.execute('DELETE FROM "alert_deliveries" WHERE "notification_id" = :n AND "channel" = :c',
                                {"n": notification_id, "c": channel})
            self._insert(session, "alert_attempts", pd.DataFrame([{
                **attempt, "notification_id": notification_id, "channel": channel, "attempt": attempts}]))
            self._insert(session, "alert_deliveries", pd.DataFrame([{
                "notification_id": notification_id, "channel": channel, "status": status, "attempts": attempts,
                "next_attempt_at": next_attempt_at, "delivered_at": delivered_at,
                "last_error": None if status == "sent" else attempt.get("detail"),
            }]))

    def disable_endpoint(self, channel: str, endpoint: str, reason: str) -> None:
        """Mark an endpoint disabled (a webhook answered 410 Gone)."""
        with self._write(f"disable a {channel} endpoint") as session:
            self._ensure(session)
            session.execute('DELETE FROM "alert_endpoints" WHERE "channel" = :c AND "endpoint" = :e',
                            {"c": channel, "e": endpoint})
            self._insert(session, "alert_endpoints", pd.DataFrame([{
                "channel": channel, "endpoint": endpoint, "disabled_at": now_text(), "reason": reason}]))

    def enable_endpoint(self, channel: str, endpoint: str) -> None:
        """Re-enable an endpoint; digests held back on its channel are due again at once."""
        with self._write(f"re-enable a {channel} endpoint") as session:
            self._ensure(session)
            session.execute('DELETE FROM "alert_endpoints" WHERE "channel" = :c AND "endpoint" = :e',
                            {"c": channel, "e": endpoint})
            session.execute("UPDATE \"alert_deliveries\" SET \"next_attempt_at\" = '' "
                            "WHERE \"channel\" = :c AND \"status\" = 'retry'", {"c": channel})

    def disabled(self, channel: str, endpoint: str) -> str | None:
        """Why ``endpoint`` is disabled, or None when it is not."""
        rows = self.read("alert_endpoints", '"channel" = :c AND "endpoint" = :e', {"c": channel, "e": endpoint})
        return None if rows.empty else str(rows["reason"].iloc[0])

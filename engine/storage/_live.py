"""The live path's tables: one row per lead routed live, and the load each person carries.

Two tables, created on first use (``CREATE TABLE IF NOT EXISTS``), never per run:

``live_assignments``
    One row per lead routed by :func:`engine.route_lead`: the lead (``lead_id``, unique), the
    whole decision (tier, route, person, status, win probability, ...), the load it claimed
    (``load_claimed``: 1 or 0), when (``decided_at``, UTC) and a sequence number ``seq``
    (1, 2, ... in commit order).
``live_load``
    Open opportunities each rep or partner carries right now: the last scoring run's
    assignments (its ``assignment_load`` rows) plus every live assignment made since that run
    read the live table. ``live_meta`` (one row) remembers which run that base is.

Atomic capacity
---------------
Every live decision runs in ONE transaction that first takes the live lock: on SQLite the
database's write lock (``BEGIN IMMEDIATE``), on PostgreSQL (and other servers) the row of
``live_meta`` (``SELECT ... FOR UPDATE``). Inside it the loads are read, the person chosen, the
slot claimed with a conditional write (``UPDATE ... SET load = load + 1 WHERE load < capacity``)
and the decision inserted. Two leads routed at the same moment are therefore decided one after
the other, each seeing the other's claim: the last free slot is taken once. A lead already in
``live_assignments`` is never decided again (idempotent on ``lead_id``): its recorded decision
is returned.

This module is part of :mod:`engine.storage`, the only package that talks to the database.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pandas as pd

from engine._errors import StorageError
from engine.storage._database import Database
from engine.storage._live_postgres import bound_lock_wait as _bound_lock_wait
from engine.storage._live_postgres import lock_live_ddl as _lock_live_ddl
from engine.storage._live_postgres import lock_meta_statement
from engine.storage._live_postgres import require_read_committed as _require_read_committed
from engine.storage._live_postgres import waits_bounded as _waits_bounded
from engine.storage._live_sqlite import SqliteSession, sqlite_transaction
from engine.storage._results import runs_order

__all__ = ["LIVE_TABLES", "LIVE_COLUMNS", "LiveStore", "LiveClaim", "StaleBaseError"]

#: Tables of the live path (state across runs, like the alert tables; not per-run results).
LIVE_TABLES: tuple[str, ...] = ("live_assignments", "live_load", "live_meta")

#: Columns of ``live_assignments`` -> SQL type (``seq`` and ``lead_id`` first).
LIVE_COLUMNS: dict[str, str] = {
    "seq": "BIGINT",
    "lead_id": "TEXT",
    "decided_at": "TEXT",
    "as_of": "TEXT",
    "base_run_id": "TEXT",
    "account_id": "TEXT",
    "is_prospect": "BOOLEAN",
    "region": "TEXT",
    "industry": "TEXT",
    "est_amount": "DOUBLE PRECISION",
    "tier": "TEXT",
    "tier_source": "TEXT",
    "tier_rule_id": "TEXT",
    "tier_because": "TEXT",
    "route": "TEXT",
    "copy_outside": "BOOLEAN",
    "route_rule_id": "TEXT",
    "route_because": "TEXT",
    "route_status": "TEXT",
    "route_reason": "TEXT",
    "assignee_type": "TEXT",
    "assignee_id": "TEXT",
    "copied_rep_id": "TEXT",
    "basis": "TEXT",
    "status": "TEXT",
    "status_reason": "TEXT",
    "status_message": "TEXT",
    "owner_inactive": "BOOLEAN",
    "conflict": "BOOLEAN",
    "load_claimed": "BIGINT",
    "win_probability": "DOUBLE PRECISION",
    "expected_deal_value": "DOUBLE PRECISION",
    "tier_ruleset_hash": "TEXT",
    "routing_ruleset_hash": "TEXT",
    "win_model_sha256": "TEXT",
    "lead": "TEXT",
}

#: Columns of ``live_assignments`` a scoring run's commit re-reads (:meth:`LiveStore.under_live_lock`).
RECONCILED_COLUMNS: tuple[str, ...] = (
    "seq", "lead_id", "route", "copy_outside", "route_rule_id", "route_because", "route_status", "route_reason",
    "assignee_type", "assignee_id", "copied_rep_id", "basis", "status", "status_reason", "status_message",
    "owner_inactive", "conflict", "load_claimed",
)


class StaleBaseError(StorageError):
    """A newer scoring run than the caller's snapshot appeared; refresh and decide again."""

    def __init__(self, message: str, latest_run_id: str | None):
        super().__init__(message)
        self.latest_run_id = latest_run_id


@dataclass(frozen=True)
class LiveClaim:
    """What :meth:`LiveStore.decide` returns.

    Attributes
    ----------
    row : dict
        The ``live_assignments`` row (the recorded decision).
    replayed : bool
        True when the lead had been decided before: ``row`` is that earlier decision and
        nothing was written.
    """

    row: dict[str, Any]
    replayed: bool


#: Every LiveStore of this process, for a forked child (see _fresh_locks_after_fork).
_STORES: weakref.WeakSet[LiveStore] = weakref.WeakSet()


def _fresh_locks_after_fork() -> None:
    """In a forked child: a fresh write lock in every store; a store forked mid-decision refuses to write.

    A parent thread deciding at the fork held the store's lock (the child would have waited for it
    forever) and SQLite's write lock: the child's copy of the SQLite library still counts that lock
    as held by this process, so no connection of the child can ever write to the file.
    """
    for store in list(_STORES):
        store._forked_mid_write = store._write_lock.locked()
        store._write_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_fresh_locks_after_fork)


class LiveStore:
    """The live tables of one database.

    Parameters
    ----------
    database : Database
        Opened for writing (a read-only database refuses :meth:`decide`).

    Examples
    --------
    >>> import tempfile, os
    >>> store = LiveStore(Database(os.path.join(tempfile.mkdtemp(), "live.sqlite")))
    >>> store.recorded("O1") is None
    True
    >>> store.database.dispose()
    """

    def __init__(self, database: Database):
        self.database = database
        self._ready = False
        self._runs_columns: set[str] | None = None  # known once the runs table exists
        self._write_lock = threading.Lock()  # SQLite: this process's live transactions, one at a time
        self._forked_mid_write = False  # this process was forked while a parent thread decided
        _STORES.add(self)

    # --- schema ------------------------------------------------------------------------------
    def _q(self, name: str) -> str:
        return self.database._quote(name)

    def ensure_tables(self) -> None:
        """Create the live tables and their indexes when missing (idempotent)."""
        if self._ready:
            return
        db = self.database
        columns = []
        for name, sql_type in LIVE_COLUMNS.items():
            if db.dialect == "sqlite" and sql_type == "DOUBLE PRECISION":
                sql_type = "REAL"
            extra = " PRIMARY KEY" if name == "seq" else (" NOT NULL UNIQUE" if name == "lead_id" else "")
            columns.append(f"{self._q(name)} {sql_type}{extra}")
        with _waits_bounded(db, "create the live tables"), \
                db._session("create the live tables", write=True, fast=False) as session:
            # PostgreSQL's CREATE TABLE IF NOT EXISTS is not safe against itself: two workers
            # creating one table at once both pass the check and the second fails on the
            # catalog's unique index (pg_type). One creator at a time; the next finds the
            # tables committed and creates nothing. (On SQLite the write lock does this.)
            _bound_lock_wait(db, session)
            _lock_live_ddl(db, session)
            session.execute(f"CREATE TABLE IF NOT EXISTS {self._q('live_assignments')} ({', '.join(columns)})")
            session.execute(
                f"CREATE TABLE IF NOT EXISTS {self._q('live_load')} ({self._q('assignee_type')} TEXT NOT NULL, "
                f"{self._q('assignee_id')} TEXT NOT NULL, {self._q('load')} BIGINT NOT NULL, "
                f"PRIMARY KEY ({self._q('assignee_type')}, {self._q('assignee_id')}))"
            )
            session.execute(
                f"CREATE TABLE IF NOT EXISTS {self._q('live_meta')} ({self._q('id')} BIGINT PRIMARY KEY, "
                f"{self._q('base_run_key')} TEXT, {self._q('base_seq')} BIGINT NOT NULL, {self._q('seeded_at')} TEXT)"
            )
            if not session.execute(f"SELECT {self._q('id')} FROM {self._q('live_meta')}"):
                # '' = not seeded yet (NULL stands for "no scoring run"): the first decision seeds.
                # (ON CONFLICT: several workers starting at once may all find the table empty)
                session.execute(
                    f"INSERT INTO {self._q('live_meta')} VALUES (1, '', 0, NULL) ON CONFLICT DO NOTHING"
                )
            # One account's score in the latest run is looked up per lead: index it (kam's own table).
            if "account_scores" in session.table_names():
                session.execute(
                    f"CREATE INDEX IF NOT EXISTS {self._q('account_scores_run_account_idx')} "
                    f"ON {self._q('account_scores')} ({self._q('run_id')}, {self._q('account_id')})"
                )
        self._ready = True

    # --- reads -------------------------------------------------------------------------------
    def recorded(self, lead_id: str) -> dict[str, Any] | None:
        """The recorded decision for ``lead_id``, or None (also when no lead was ever routed)."""
        if not self._ready and "live_assignments" not in self.database.table_names():
            return None
        with self.database._session("read a live assignment", fast=False) as session:
            return _one_row(session, f"SELECT * FROM {self._q('live_assignments')} WHERE {self._q('lead_id')} = :lead",
                            {"lead": str(lead_id)})

    def assignments(self) -> pd.DataFrame:
        """Every live assignment, in ``seq`` order (empty frame with the columns when none)."""
        if "live_assignments" not in self.database.table_names():
            return _empty_assignments()
        with self.database._session("read the live assignments", fast=False) as session:
            frame = session.read(f"SELECT * FROM {self._q('live_assignments')} ORDER BY {self._q('seq')}")
        return frame

    def loads(self) -> dict[tuple[str, str], int]:
        """``(assignee_type, assignee_id) -> load`` as the live path counts it now."""
        if "live_load" not in self.database.table_names():
            return {}
        with self.database._session("read the live loads", fast=False) as session:
            rows = session.execute(
                f"SELECT {self._q('assignee_type')}, {self._q('assignee_id')}, {self._q('load')} "
                f"FROM {self._q('live_load')}"
            )
        return {(str(t), str(i)): int(n) for t, i, n in rows}

    def latest_run(self) -> tuple[str | None, str | None, str | None]:
        """``(run_id, as_of, key)`` of the newest scoring run, or ``(None, None, None)``.

        ``key`` is the run id and its start time: a run re-run under the same id has a new key.
        """
        with self.database._session("read the newest run", fast=False) as session:
            return _latest_run(self, session)

    def account_score(self, run_id: str, account_id: str, columns: Sequence[str]) -> dict[str, Any] | None:
        """One account's row of ``account_scores`` in ``run_id`` (an indexed lookup), or None."""
        with self.database._session("read an account score", fast=False) as session:
            present = set(session.columns("account_scores")) if "account_scores" in session.table_names() else set()
            if not present:
                return None
            wanted = ", ".join(self._q(c) for c in columns if c in present)
            return _one_row(
                session,
                f"SELECT {wanted} FROM {self._q('account_scores')} WHERE {self._q('run_id')} = :run "
                f"AND {self._q('account_id')} = :account",
                {"run": run_id, "account": str(account_id)},
            )

    def sync(self) -> str | None:
        """Count the loads from the newest scoring run now (under the live lock); return its key.

        Done by the first decision after a run anyway; a router calls it when it loads, so
        :meth:`loads` is current before the first lead.
        """
        self.ensure_tables()
        q = self._q
        with _waits_bounded(self.database, "count the live loads"), \
                self.database._session("count the live loads", write=True, fast=False) as session:
            meta = session.execute(lock_meta_statement(self.database, q("base_run_key")))  # with the bounded wait
            latest, _, key = _latest_run(self, session)
            if (meta[0][0] if meta else "") != key:
                self._seed(session, latest, key)
            return key

    # --- the one transaction -----------------------------------------------------------------
    def decide(
        self,
        lead_id: str,
        *,
        base_run_key: str | None,
        choose: Callable[[Callable[[Sequence[tuple[str, str]]], dict[tuple[str, str], int]]], dict[str, Any]],
        capacity_of: Callable[[str, str], int],
    ) -> LiveClaim:
        """Decide one lead and record it, in one transaction under the live lock.

        Parameters
        ----------
        lead_id : str
            The idempotency key: a lead already recorded returns its recorded decision.
        base_run_key : str or None
            Key of the scoring run the caller's snapshot (tiers) comes from (see
            :meth:`latest_run`); a newer run raises :class:`StaleBaseError` before anything is
            decided.
        choose : callable
            ``choose(load_of) -> row``: the decision, given ``load_of(people)`` which returns
            the current load of each ``(assignee_type, assignee_id)`` asked for. The row holds
            the :data:`LIVE_COLUMNS` values but ``seq``, ``decided_at`` and ``base_run_id``;
            with ``status == "assigned"`` and ``load_claimed == 1`` a slot of the assignee is
            claimed.
        capacity_of : callable
            ``capacity_of(assignee_type, assignee_id) -> int`` for the conditional claim.

        Returns
        -------
        LiveClaim

        Raises
        ------
        StaleBaseError
            A scoring run newer than ``base_run_key`` is in the database.
        StorageError
            The database cannot be written, or the claim found the slot taken (which the lock
            makes impossible; it is checked all the same and nothing is written).
        """
        self.ensure_tables()
        db = self.database
        q = self._q
        with self._transaction(f"route lead {lead_id!r}") as session:
            # the live lock, first (on PostgreSQL with the bounded wait, in the same round trip)
            meta = session.execute(lock_meta_statement(db, f"{q('base_run_key')}, {q('base_seq')}"))
            seeded_run = meta[0][0] if meta else ""
            existing = _one_row(session, f"SELECT * FROM {q('live_assignments')} WHERE {q('lead_id')} = :lead",
                                {"lead": str(lead_id)})
            if existing is not None:
                return LiveClaim(row=existing, replayed=True)
            latest, _, key = _latest_run(self, session)
            if key != base_run_key:
                raise StaleBaseError(
                    f"the newest scoring run is {key!r}, the router's snapshot is of {base_run_key!r}", latest
                )
            if seeded_run != key:  # '' (never seeded) differs from None (no run) too
                self._seed(session, latest, key)

            def load_of(people: Sequence[tuple[str, str]]) -> dict[tuple[str, str], int]:
                if not people:
                    return {}
                ids = sorted({person[1] for person in people})
                rows = session.execute(
                    f"SELECT {q('assignee_type')}, {q('assignee_id')}, {q('load')} FROM {q('live_load')} "
                    f"WHERE {q('assignee_id')} IN :ids", {"ids": ids})
                found = {(str(t), str(i)): int(n) for t, i, n in rows}
                return {person: found.get(person, 0) for person in people}

            row = dict(choose(load_of))
            claimed = int(row.get("load_claimed") or 0)
            if claimed:
                kind, person = str(row["assignee_type"]), str(row["assignee_id"])
                self._claim(session, kind, person, capacity_of(kind, person), lead_id)
            seq = session.execute(f"SELECT COALESCE(MAX({q('seq')}), 0) + 1 FROM {q('live_assignments')}")[0][0]
            row.update(seq=int(seq), decided_at=_now(), base_run_id=latest)
            names = list(LIVE_COLUMNS)
            session.execute(
                f"INSERT INTO {q('live_assignments')} ({', '.join(q(n) for n in names)}) "
                f"VALUES ({', '.join(':' + n for n in names)})",
                {n: _sql_value(row.get(n)) for n in names},
            )
            return LiveClaim(row={n: row.get(n) for n in names}, replayed=False)

    @contextmanager
    def _transaction(self, action: str) -> Iterator[Any]:
        """One write transaction under the live lock; on SQLite, with ``synchronous=NORMAL``.

        SQLite in WAL mode with ``synchronous=NORMAL`` does not wait for the disk on each
        commit (the WAL is synced at checkpoints): a committed decision survives a crash of the
        process, and the database stays consistent through a power loss or an OS crash, which
        may lose the last decisions committed before it (docs/live.md, "Durability").

        On a SQLite file the transaction runs on the database's kept write connection
        (:meth:`Database.kept_writer`: opened once, ``synchronous=NORMAL`` already), not on a
        new connection per decision (the connect and its pragmas cost more than the
        decision's statements). When there is none (an in-memory database, or it could not be
        opened), a connection of its own, with ``synchronous=NORMAL`` set for this
        transaction only (the setting is per connection and must be made outside a
        transaction).
        """
        db = self.database
        if db.dialect != "sqlite" or db.readonly:
            # (the wait for the live lock is bounded by decide()'s first statement: lock_meta_statement)
            with _waits_bounded(db, action), db._session(action, write=True, fast=False) as session:
                yield session
            return
        # SQLite runs one write transaction at a time: threads of this process queue here, on a
        # lock that wakes the next one at once, rather than in SQLite's busy handler (which
        # sleeps 1, 2, 5, ... 100 ms between tries: the tail latency under 8 concurrent leads).
        # The lock also gives the kept connection to one transaction at a time.
        if self._forked_mid_write:
            raise StorageError(
                f"expected a live store opened in this process to {action}; got one inherited through fork() "
                f"while another thread was writing to {db.display_url}, whose SQLite lock this process can never "
                "release. Fix: open the Database (or LiveRouter) in each process after forking, as `kam serve "
                "--workers` does, or fork before the first decision."
            )
        with self._write_lock, db.kept_writer() as writer:
            connection = writer.connection if writer is not None else None  # read once: dispose() may clear it
            if writer is not None and connection is not None:
                with sqlite_transaction(db, connection, action, on_driver_error=writer.reset) as raw:
                    yield raw
                return
            with db._session(action, fast=False) as session:  # a connection, no transaction yet
                with sqlite_transaction(db, session.conn.connection.driver_connection, action,
                                         normal_sync_here=True) as raw:
                    yield raw

    def _claim(self, session, kind: str, person: str, capacity: int, lead_id: str) -> None:
        q = self._q
        done = session.execute(
            f"UPDATE {q('live_load')} SET {q('load')} = {q('load')} + 1 WHERE {q('assignee_type')} = :kind "
            f"AND {q('assignee_id')} = :person AND {q('load')} < :capacity RETURNING {q('load')}",
            {"kind": kind, "person": person, "capacity": int(capacity)},
        )
        if done:
            return
        present = session.execute(
            f"SELECT {q('load')} FROM {q('live_load')} "
            f"WHERE {q('assignee_type')} = :kind AND {q('assignee_id')} = :person",
            {"kind": kind, "person": person},
        )
        if not present and capacity >= 1:
            session.execute(f"INSERT INTO {q('live_load')} VALUES (:kind, :person, 1)",
                            {"kind": kind, "person": person})
            return
        raise StorageError(
            f"lead {lead_id!r}: the last free slot of {kind} {person} (capacity {capacity}) was taken while it was "
            "being decided; nothing was written. Route the lead again."
        )

    def _seed(self, session, run_id: str | None, key: str | None) -> None:
        """Rebuild ``live_load`` from ``run_id``'s loads plus the live assignments it did not read.

        The base is the run's ``assignment_load`` rows, and the newest live decision it counted
        their ``live_seq``. A run that wrote none (it had nobody to load: no reps, no partners;
        or it predates ``assignment_load``) is counted from ``opportunity_routes``: the
        assignments it made itself, not those it kept from the live path (``decided_live``),
        which are live decisions and counted once, with every other live claim, below. (A live
        lead whose opportunity had closed by that run is then counted too: on the safe side.)
        """
        q = self._q
        tables = session.table_names()
        base: dict[tuple[str, str], int] = {}
        watermark = 0
        recorded = False
        if run_id is not None and "assignment_load" in tables:
            rows = session.execute(
                f"SELECT {q('assignee_type')}, {q('assignee_id')}, {q('load')}, {q('live_seq')} FROM "
                f"{q('assignment_load')} WHERE {q('run_id')} = :run", {"run": run_id})
            for kind, person, load, seq in rows:
                base[(str(kind), str(person))] = int(load)
                watermark = max(watermark, int(seq or 0))
                recorded = True
        if run_id is not None and not recorded and "opportunity_routes" in tables:
            own = ""
            if "decided_live" in session.columns("opportunity_routes"):
                own = f" AND ({q('decided_live')} IS NULL OR NOT {q('decided_live')})"
            rows = session.execute(
                f"SELECT {q('assignee_type')}, {q('assignee_id')}, COUNT(*) FROM {q('opportunity_routes')} "
                f"WHERE {q('run_id')} = :run AND {q('assignment_status')} = 'assigned'{own} "
                f"GROUP BY {q('assignee_type')}, {q('assignee_id')}", {"run": run_id})
            base = {(str(k), str(p)): int(n) for k, p, n in rows}
        rows = session.execute(
            f"SELECT {q('assignee_type')}, {q('assignee_id')}, SUM({q('load_claimed')}) FROM {q('live_assignments')} "
            f"WHERE {q('seq')} > :seq AND {q('load_claimed')} > 0 GROUP BY {q('assignee_type')}, {q('assignee_id')}",
            {"seq": watermark})
        for kind, person, count in rows:
            slot = (str(kind), str(person))
            base[slot] = base.get(slot, 0) + int(count)
        session.execute(f"DELETE FROM {q('live_load')}")
        for (kind, person), load in sorted(base.items()):
            if load:
                session.execute(f"INSERT INTO {q('live_load')} VALUES (:kind, :person, :load)",
                                {"kind": kind, "person": person, "load": int(load)})
        session.execute(
            f"UPDATE {q('live_meta')} SET {q('base_run_key')} = :run, {q('base_seq')} = :seq, {q('seeded_at')} = :at "
            f"WHERE {q('id')} = 1", {"run": key, "seq": watermark, "at": _now()})

    def under_live_lock(
        self, after_seq: int, reconcile: Callable[[pd.DataFrame, int], Mapping[str, pd.DataFrame]]
    ) -> Callable[[Any], Mapping[str, pd.DataFrame]]:
        """A ``before_write`` hook for :meth:`Database.write_run` that reconciles a run with live decisions.

        A scoring run reads the live decisions when it starts (:meth:`batch_view`) and commits
        minutes later; leads routed live in between claimed slots against the previous run's
        loads. The hook runs first inside the run's write transaction: it takes the live lock
        (SQLite: the transaction's write lock, ``BEGIN IMMEDIATE``, already held; PostgreSQL:
        the ``live_meta`` row, ``FOR UPDATE``, as :meth:`decide` does), reads every live
        decision with ``seq > after_seq`` and returns ``reconcile(decisions, newest_seq)``:
        the tables to write. No live decision can commit until the run has, so the run's
        loads and the live table agree when it does.

        Parameters
        ----------
        after_seq : int
            The newest ``seq`` the run counted when it started.
        reconcile : callable
            ``reconcile(decisions, newest_seq) -> tables``; ``decisions`` are the
            ``live_assignments`` rows after ``after_seq`` in ``seq`` order (an empty frame
            with the columns when there are none), ``newest_seq`` the newest ``seq`` now.
        """
        q = self._q

        def before_write(session) -> Mapping[str, pd.DataFrame]:
            db = self.database
            _lock_live_ddl(db, session)  # a router creating the live tables now waits for the run
            tables = session.table_names()
            if "live_assignments" not in tables or "live_meta" not in tables:  # never routed live
                return reconcile(_empty_assignments(RECONCILED_COLUMNS), int(after_seq))
            if db.dialect != "sqlite":
                _require_read_committed(db, session)
                session.execute(f"SELECT {q('id')} FROM {q('live_meta')} WHERE {q('id')} = 1 FOR UPDATE")
            names = list(RECONCILED_COLUMNS)
            select = ", ".join(q(n) for n in names)
            if db.dialect == "sqlite":
                # one JSON text per row: the ADBC driver types a column by its first values, and
                # a column NULL there (assignee_id of an unassigned lead) would break the read
                select = f"json_array({select})"
            rows = session.execute(f"SELECT {select} FROM {q('live_assignments')} WHERE {q('seq')} > :seq "
                                   f"ORDER BY {q('seq')}", {"seq": int(after_seq)})
            if db.dialect == "sqlite":
                rows = [tuple(json.loads(row[0])) for row in rows]
            fresh = pd.DataFrame.from_records(rows, columns=names) if rows else _empty_assignments(names)
            newest = max([int(after_seq), *(int(s) for s in fresh["seq"])])
            return reconcile(fresh, newest)

        return before_write

    def batch_view(self) -> tuple[pd.DataFrame, int]:
        """What a scoring run reads: every live assignment and the newest ``seq`` among them."""
        frame = self.assignments()
        watermark = int(pd.to_numeric(frame["seq"]).max()) if len(frame) else 0
        return frame, watermark


def _empty_assignments(names: Sequence[str] = tuple(LIVE_COLUMNS)) -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series([], dtype=object) for name in names})


def _latest_run(store: LiveStore, session) -> tuple[str | None, str | None, str | None]:
    """``(run_id, as_of, key)`` of the newest run; ``key`` also changes when a run id is re-run."""
    q = store._q
    if store._runs_columns is None:
        if "runs" not in session.table_names():
            return None, None, None
        store._runs_columns = set(session.columns("runs"))  # a result table, never dropped by kam
    if "started_at" in store._runs_columns:
        rows = session.execute(f"SELECT {q('run_id')}, {q('as_of')}, {q('started_at')} FROM {q('runs')} "
                               f"ORDER BY {runs_order(store.database.dialect, store._runs_columns)} LIMIT 1")
    else:
        rows = session.execute(
            f"SELECT {q('run_id')}, {q('as_of')}, '' FROM {q('runs')} ORDER BY {q('run_id')} DESC LIMIT 1")
    if not rows:
        return None, None, None
    run_id, as_of, started = rows[0]
    return str(run_id), str(as_of), f"{run_id}@{started}"


def _one_row(session, sql: str, params: Mapping[str, Any]) -> dict[str, Any] | None:
    if isinstance(session, SqliteSession):
        return session.one(sql, params)
    result = session.conn.execute(_text(sql), dict(params))
    row = result.fetchone()
    return None if row is None else dict(row._mapping)


def _text(sql: str):
    from sqlalchemy import text

    return text(sql)


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None).isoformat(timespec="microseconds")


def _sql_value(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and value != value:  # NaN is stored as NULL
        return None
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value

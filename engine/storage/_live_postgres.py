"""The live lock on PostgreSQL: bounded waits, the live tables' creation lock, the isolation a run needs.

Part of :mod:`engine.storage._live` (the live tables), split off as the PostgreSQL half (the
SQLite half is :mod:`engine.storage._live_sqlite`). On PostgreSQL the live lock is the row of
``live_meta`` (``SELECT ... FOR UPDATE``); a live transaction waits for it at most
:data:`LIVE_LOCK_WAIT_SECONDS`, and says what to do when it got none.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from engine._errors import StorageError
from engine.storage._live_sqlite import WRITE_LOCK_WAIT_SECONDS

if TYPE_CHECKING:
    from engine.storage._database import Database

__all__ = ["LIVE_DDL_LOCK_KEY", "LIVE_LOCK_WAIT_SECONDS", "bound_lock_wait", "lock_live_ddl",
           "lock_meta_statement", "require_read_committed", "waits_bounded"]


#: PostgreSQL advisory lock key under which the live tables are created (and which a scoring
#: run's commit holds): the first 8 bytes of sha256(b"kam live tables"), as a signed bigint.
LIVE_DDL_LOCK_KEY = 8251559092099994116


#: Seconds a live transaction on PostgreSQL waits for a lock (SQLite: ``begin_immediate``'s wait).
LIVE_LOCK_WAIT_SECONDS = WRITE_LOCK_WAIT_SECONDS


def bound_lock_wait(db: Database, session) -> None:
    """PostgreSQL: a live transaction waits at most :data:`LIVE_LOCK_WAIT_SECONDS` for a lock.

    A scoring run's commit holds the live lock while it writes its results (minutes on a big
    database); a live decision or a router starting then fails after the wait, as on SQLite
    (``BEGIN IMMEDIATE`` gives up after the same time), instead of hanging with it.
    """
    if db.dialect == "postgresql":
        session.execute(f"SET LOCAL lock_timeout = '{_lock_timeout_ms()}ms'")


def lock_meta_statement(db: Database, columns: str) -> str:
    """The statement that takes the live lock (the ``live_meta`` row) and reads ``columns`` of it.

    SQLite: a plain read (the transaction's ``BEGIN IMMEDIATE`` is the lock). Other servers:
    ``FOR UPDATE``. PostgreSQL: the same, and the bound on the lock wait set in the same round
    trip: ``set_config('lock_timeout', ..., true)`` is what ``SET LOCAL lock_timeout`` does (for
    the rest of the transaction only), evaluated in a one-row subquery joined to the row, so it
    runs before the row is produced and locked (the wait for the lock comes after it). A live
    decision then sends one statement fewer than with :func:`bound_lock_wait` first.
    """
    quoted = '"live_meta"'
    if db.dialect == "sqlite":
        return f'SELECT {columns} FROM {quoted} WHERE "id" = 1'
    if db.dialect != "postgresql":
        return f'SELECT {columns} FROM {quoted} WHERE "id" = 1 FOR UPDATE'
    return (f"SELECT {columns} FROM {quoted} CROSS JOIN (SELECT set_config('lock_timeout', "
            f"'{_lock_timeout_ms()}ms', true) AS \"bound\") AS \"bounded\" WHERE \"id\" = 1 FOR UPDATE OF {quoted}")


def _lock_timeout_ms() -> int:
    return max(1, int(LIVE_LOCK_WAIT_SECONDS * 1000))


@contextmanager
def waits_bounded(db: Database, action: str) -> Iterator[None]:
    """Say what a PostgreSQL lock timeout in a live transaction means, and what to do."""
    try:
        yield
    except StorageError as error:
        cause = error.__cause__
        if getattr(getattr(cause, "orig", cause), "sqlstate", None) != "55P03":  # lock_not_available
            raise
        raise StorageError(
            f"could not {action} on {db.display_url}: expected the live lock within "
            f"{LIVE_LOCK_WAIT_SECONDS:g} s; got none (a scoring run's commit or another live "
            "transaction held it). Nothing was written. Fix: send the lead again; if it keeps "
            "happening during the nightly run, route live outside the run's commit window.") from cause


def require_read_committed(db: Database, session) -> None:
    """PostgreSQL: the run's reconciliation must see decisions committed while it waited for the lock."""
    level = str(session.execute("SHOW transaction_isolation")[0][0]).strip().lower()
    if level != "read committed":
        raise StorageError(
            f"could not reconcile the run with live decisions on {db.display_url}: expected the "
            f"transaction isolation 'read committed'; got {level!r} (default_transaction_isolation). "
            "Fix: ALTER ROLE ... SET default_transaction_isolation = 'read committed' for kam's user.")


def lock_live_ddl(db: Database, session) -> None:
    """PostgreSQL: take the live tables' creation lock for the rest of the transaction."""
    if db.dialect == "postgresql":
        session.execute("SELECT pg_advisory_xact_lock(:key)", {"key": LIVE_DDL_LOCK_KEY})

"""kam's result tables: one run written atomically and idempotently, runs listed and read back.

The functions behind :meth:`Database.write_run`, :meth:`Database.list_runs` and
:meth:`Database.read_results` (documented there).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import pandas as pd

from engine._errors import ConfigError, StorageError
from engine._log import get_logger
from engine.storage._sessions import AdbcSession, check_identifier

if TYPE_CHECKING:
    from engine.storage._database import Database

__all__ = ["list_runs", "read_consistently", "read_results", "runs_order", "write_run"]

_log = get_logger("storage")
_T = TypeVar("_T")


def write_run(
    db: Database,
    run_id: str,
    tables: Mapping[str, pd.DataFrame],
    *,
    keep_runs: int | None,
    result_tables: Sequence[str],
    before_write: Callable[[Any], Mapping[str, pd.DataFrame]] | None = None,
) -> None:
    """Write one run's result tables in one transaction (see :meth:`Database.write_run`)."""
    if keep_runs is not None and (isinstance(keep_runs, bool) or not isinstance(keep_runs, int) or keep_runs < 1):
        raise ConfigError(f"keep_runs must be a whole number >= 1; got {keep_runs!r}.")
    prepared = _prepared(db, run_id, tables)  # names checked before the transaction opens
    with db._session(f"write results of run {run_id!r}", write=True) as session:
        if before_write is not None:  # inside the transaction, before anything is written
            prepared = _prepared(db, run_id, before_write(session))
        existing = session.table_names()
        for name, frame in prepared.items():
            quoted = db._quote(name)
            if name not in existing:
                cols = ", ".join(f"{db._quote(c)} {_sql_type_for(db.dialect, frame[c])}" for c in frame.columns)
                session.execute(f"CREATE TABLE {quoted} ({cols})")
                session.execute(f"CREATE INDEX {db._quote(name + '_run_id_idx')} ON {quoted} (\"run_id\")")
            else:
                present = set(session.columns(name))
                for column in frame.columns:
                    if column not in present:
                        session.execute(
                            f"ALTER TABLE {quoted} ADD COLUMN {db._quote(column)} {_sql_type_for(db.dialect, frame[column])}"
                        )
            session.execute(f'DELETE FROM {quoted} WHERE "run_id" = :run_id', {"run_id": run_id})
            if len(frame):
                session.insert(name, frame, list(frame.columns), {})
        if keep_runs is not None:
            _prune_runs(db, session, keep_runs, existing | set(prepared), result_tables)


def _prepared(db: Database, run_id: str, tables: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Each frame with ``run_id`` as its first column; table and column names checked."""
    prepared = {}
    for name, frame in tables.items():
        db._table(name)
        frame = frame.drop(columns=["run_id"], errors="ignore")
        frame.insert(0, "run_id", run_id)
        for column in frame.columns:
            check_identifier(str(column), f"column name in {name}")
        prepared[name] = frame
    return prepared


def _prune_runs(db: Database, session: Any, keep_runs: int, tables: set[str], result_tables: Sequence[str]) -> None:
    """Delete the rows of all but the newest ``keep_runs`` runs from every result table present."""
    if "runs" not in tables:
        return
    order = runs_order(db.dialect, session.columns("runs"))
    ordered = [r[0] for r in session.execute(f'SELECT "run_id" FROM "runs" ORDER BY {order}')]
    stale = ordered[keep_runs:]
    if not stale:
        return
    for name in sorted(t for t in tables if t in result_tables):
        session.execute(f'DELETE FROM {db._quote(name)} WHERE "run_id" IN :stale', {"stale": stale})


def _sql_type_for(dialect: str, series: pd.Series) -> str:
    """The SQL type of a new result column holding ``series``."""
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):  # stored as its values; no category: text
        dtype = dtype.categories.dtype if len(dtype.categories) else np.dtype(object)
    if pd.api.types.is_bool_dtype(dtype):
        return "BOOLEAN"
    if pd.api.types.is_integer_dtype(dtype):
        return "BIGINT"
    if pd.api.types.is_float_dtype(dtype):
        return "REAL" if dialect == "sqlite" else "DOUBLE PRECISION"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "TIMESTAMP"
    return "TEXT"


def list_runs(db: Database) -> pd.DataFrame:
    """The ``runs`` table, newest first (see :meth:`Database.list_runs`)."""
    if "runs" not in db.table_names():
        return pd.DataFrame()
    with db._session("read runs") as session:
        return session.read(f'SELECT * FROM "runs" ORDER BY {runs_order(db.dialect, session.columns("runs"))}')


def runs_order(dialect: str, columns: Collection[str]) -> str:
    """The ``ORDER BY`` terms of ``runs`` that put the newest run first: by ``started_at``, then run id.

    SQLite keeps a timestamp as text, spelt ``2026-10-01 06:00:00`` by kam's fast writes and
    ``2026-10-01T06:00:00`` by its other writes (and by a caller's text). Compared as text, every
    ``T`` of a day sorts after every space of that day, whatever the time; ``julianday`` reads both
    spellings (and fractions of a second) as the same instant, so runs of the same second are
    ordered by run id whatever their spelling. Text it cannot read sorts last, by that text.

    Parameters
    ----------
    dialect : str
        The database's dialect name (``"sqlite"``, ``"postgresql"``, ...).
    columns : collection of str
        The columns of the ``runs`` table.

    Returns
    -------
    str
        What follows ``ORDER BY``.
    """
    if "started_at" not in columns:
        return '"run_id" DESC'
    if dialect == "sqlite":
        return ('julianday("started_at") DESC, CASE WHEN julianday("started_at") IS NULL THEN "started_at" END DESC, '
                '"run_id" DESC')
    return '"started_at" DESC, "run_id" DESC'


def read_results(
    db: Database,
    name: str,
    run_id: str | None,
    *,
    columns: Sequence[str] | None,
    missing_ok: bool,
    account_id: str | None,
) -> pd.DataFrame:
    """One run's rows of result table ``name`` (see :meth:`Database.read_results`)."""
    quoted = db._quote(db._table(name))
    if name not in db.table_names():
        raise StorageError(f"result table {name!r} does not exist in {db.display_url}. Run `kam score` first.")
    select = "*"
    wanted: list[str] = []
    if columns is not None:
        stored = db.columns(name)
        unknown = [c for c in columns if c not in stored]
        if unknown and not missing_ok:
            raise ConfigError(f"result table {name!r} has no column(s) {unknown}; it has {stored}.")
        wanted = [c for c in columns if c in stored]
        select = ", ".join(db._quote(c) for c in wanted)
    if run_id is None and name != "runs":
        run_id = db.latest_run_id()
    if db._fast and run_id is not None and account_id is None and select != "*":
        # A run of a million accounts: ADBC reads it as Arrow in a fraction of the time.
        with db._session(f"read results from {name}") as session:
            if isinstance(session, AdbcSession):  # (a fast database opens ADBC sessions)
                return session.read_typed(name, wanted, where=('"run_id" = ?', (run_id,)))
    conditions, params = [], {}
    if run_id is not None:
        conditions.append('"run_id" = :run_id')
        params["run_id"] = run_id
    if account_id is not None:
        conditions.append('"account_id" = :account_id')
        params["account_id"] = str(account_id)
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    with db._session(f"read results from {name}", fast=False) as session:
        return session.read(f"SELECT {select} FROM {quoted}{where}", params)


def read_consistently(db: Database, run_id: str, read: Callable[[], _T], attempts: int) -> _T:
    """``read()``, again while run ``run_id`` was rewritten meanwhile (see :meth:`Database.read_consistently`)."""
    if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
        raise ConfigError(f"read_consistently: expected attempts as a whole number >= 1; got {attempts!r}.")
    for _attempt in range(attempts):
        before = _run_row(db, run_id)
        result = read()
        after = _run_row(db, run_id)
        if after == before:
            return result
        _log.info("run %s was rewritten while it was read; reading it again", run_id)
    raise StorageError(
        f"run {run_id!r} in {db.display_url} was rewritten while it was read, {attempts} times in a row; expected "
        "it to stay the same for one read. Fix: read it again once the `kam score` writing it has finished."
    )


def _run_row(db: Database, run_id: str) -> tuple[str, ...] | None:
    """Every value of ``run_id``'s row in ``runs``, as text (None: no such run, or no ``runs`` table).

    The whole row, not ``started_at`` alone: a start is kept to the second (a re-run may start in
    the same second) and a caller's run may have none; a re-run writes a new row (its end, its
    stage seconds to the millisecond).
    """
    try:
        with db._session("read a run's row") as session:  # one small query
            rows = session.read('SELECT * FROM "runs" WHERE "run_id" = :run_id', {"run_id": run_id})
    except StorageError:
        if "runs" not in db.table_names():  # (asked only then: the common case pays one query)
            return None
        raise
    return None if rows.empty else tuple(str(value) for value in rows.iloc[0])

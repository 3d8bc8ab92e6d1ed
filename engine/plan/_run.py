"""``kam plan``: read a scoring run, plan next week, write ``call_plans`` (atomic, idempotent)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from engine._asof import as_of_date
from engine._errors import DataError, StorageError
from engine._log import get_logger
from engine._progress import task
from engine.plan._plan import PLANNED_ALERT_STATES, PlanResult, plan_week
from engine.plan._spec import parse_week, week_after
from engine.rules import RuleSet
from engine.storage import Database

__all__ = ["CALL_PLANS", "plan", "read_plan"]

_log = get_logger("plan")

#: The result table the plan is written to (one plan per scoring run; planning again replaces it).
CALL_PLANS = "call_plans"


def _database(db: Database | str | Path) -> tuple[Database, bool]:
    return (db, False) if isinstance(db, Database) else (Database(db), True)


def _run_as_of(database: Database, run_id: str) -> dt.date | None:
    runs = database.list_runs()
    if runs.empty or "as_of" not in runs.columns:
        return None
    row = runs[runs["run_id"].astype(str) == run_id]
    if row.empty or pd.isna(row["as_of"].iloc[0]):
        return None
    return pd.Timestamp(str(row["as_of"].iloc[0])).date()


def _last_contact(database: Database, as_of: dt.date | None) -> pd.Series:
    """Each account's latest visit before the run's as-of date.

    Dates are read with validation's strict ISO parser: a malformed or future-dated visit (one
    that validation quarantines, e.g. 2062 for 2026) never counts as a contact, and planning from
    an older run never sees the visits made after it.
    """
    import pyarrow as pa

    from engine.validate import parse_iso_days

    visits = database.read_table("visits", columns=["account_id", "visit_date"])
    if visits.empty:
        return pd.Series(dtype="datetime64[ns]")
    days, ok, _ = parse_iso_days(pa.array(visits["visit_date"].astype(object).where(visits["visit_date"].notna(), None)
                                          .map(lambda v: v if v is None else str(v)), type=pa.large_string()))
    if as_of is not None:
        ok &= days < (as_of - dt.date(1970, 1, 1)).days
    kept = pd.Series(pd.to_datetime(days[ok], unit="D"), index=visits["account_id"].astype(object)[ok].to_numpy())
    return kept.groupby(level=0).max()


def _alerts(database: Database) -> pd.DataFrame | None:
    """The alerts people are expected to act on, from the early-warning state (docs/alerts.md).

    Open, escalated and acknowledged alerts count; pending ones have told nobody yet, snoozed ones
    were deferred by a person until a date, resolved ones are over. ``None`` before any alert
    was evaluated.
    """
    from engine.storage import AlertStore

    if "alerts" not in database.table_names():
        return None
    alerts = AlertStore(database).read("alerts")
    return alerts[alerts["state"].astype(str).isin(PLANNED_ALERT_STATES)].reset_index(drop=True)


def plan(
    db: Database | str | Path,
    *,
    week: str | dt.date | None = None,
    run_id: str | None = None,
    rules: RuleSet | str | Path | None = None,
    holdout_share: float = 0.0,
    seed: int = 0,
    write: bool = True,
) -> tuple[str, PlanResult]:
    """Plan next week from a scoring run in ``db`` and write it to ``call_plans``.

    Parameters
    ----------
    db : str or Database
        Database URL, SQLite path, or an open :class:`~engine.storage.Database`.
    week : str or date, optional
        ISO week ``YYYY-Www`` (or its Monday); default: the week after the run's as-of date.
    run_id : str, optional
        The scoring run to plan from (default: the newest).
    rules : path or RuleSet, optional
        The plan rule file (default: the shipped ``rules/plan.yaml``).
    holdout_share, seed
        See :func:`plan_week`.
    write : bool
        Write ``call_plans`` (one transaction: this run's earlier plan is replaced, never
        duplicated). False computes only.

    Returns
    -------
    (run_id, PlanResult)

    Raises
    ------
    StorageError
        No scoring run in the database, or it cannot be read or written.
    DataError
        The run has no account scores.
    """
    database, owned = _database(db)
    try:
        run_id = run_id or database.latest_run_id()
        if run_id is None:
            raise StorageError(
                f"no scoring run in {database.display_url}: nothing to plan from. Fix: run `kam score --db URL` first."
            )
        with task(f"planning from run {run_id}: reading"):
            # one version of the run's tables (a re-run of its id may commit between the two reads)
            scores, routes = database.read_consistently(run_id, lambda: (
                database.read_results("account_scores", run_id=run_id),
                database.read_results("opportunity_routes", run_id=run_id)
                if "opportunity_routes" in database.table_names() else None))
            if scores.empty:
                raise DataError(
                    f"run {run_id!r} has no rows in account_scores of {database.display_url}; expected the accounts of "
                    "a completed `kam score` run. Fix: pass --run with a run listed in the runs table."
                )
            reps = database.read_table("reps", columns=["rep_id", "role", "active"])
            partners = database.read_table("partners", columns=["partner_id", "active"])
            customers = database.read_table("customers", columns=["account_id", "status"])
            last_contact = _last_contact(database, _run_as_of(database, run_id))
            alerts = _alerts(database)
        status = customers.set_index(customers["account_id"].astype(object))["status"].astype(object)
        scores = scores.assign(status=status.reindex(scores["account_id"].astype(object)).to_numpy())
        if week is None:
            as_of = _run_as_of(database, run_id) or as_of_date(None)  # a run without one: today (UTC)
            week_start = week_after(as_of - dt.timedelta(days=1))
        elif isinstance(week, dt.date):
            week_start = week - dt.timedelta(days=week.weekday())
        else:
            week_start = parse_week(week)
        result = plan_week(
            scores, reps, partners, week_start=week_start, last_contact=last_contact, opportunities=routes,
            alerts=alerts, rules=rules, holdout_share=holdout_share, seed=seed,
        )
        if write:
            with task(f"writing {len(result.lines):,} plan lines"):
                database.write_run(run_id, {CALL_PLANS: result.lines})
            _log.info("wrote %s rows to %s for run %s, week %s", len(result.lines), CALL_PLANS, run_id, result.week)
        return run_id, result
    finally:
        if owned:
            database.dispose()


def read_plan(db: Database | str | Path, run_id: str | None = None) -> pd.DataFrame:
    """The ``call_plans`` rows of ``run_id`` (default: the newest run), by status, person and rank."""
    database, owned = _database(db)
    try:
        if CALL_PLANS not in database.table_names():
            raise StorageError(f"no call plan in {database.display_url}. Fix: run `kam plan --db URL` first.")
        lines = database.read_results(CALL_PLANS, run_id=run_id)
    finally:
        if owned:
            database.dispose()
    return lines


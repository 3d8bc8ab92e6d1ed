"""Plain, JSON-ready records of stored results (moved here from ``engine.cli`` for the service)."""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

from engine._arguments import check_type
from engine._errors import KamError, StorageError

if TYPE_CHECKING:
    import pandas as pd

    from engine.storage import Database

__all__ = ["ResultNotFoundError", "account_record", "runs_records"]

_RUN_COLUMNS = ("run_id", "as_of", "started_at", "finished_at", "accounts_scored", "opportunities_routed",
                "rows_in", "rows_quarantined", "assigned", "tier_counts", "route_counts")
_ACCOUNT_COLUMNS = ("account_id", "name", "region", "industry", "territory", "owner_rep_id", "owner_partner_id",
                    "tier", "management_mode", "serving_role", "tier_rule_id", "tier_because", "tier_status",
                    "churn_probability", "expected_margin_12m", "value_at_risk", "priority_rank")
_ROUTE_COLUMNS = ("opportunity_id", "route", "route_because", "assignee_type", "assignee_id", "assignment_status",
                  "status_reason", "win_probability", "est_amount", "expected_deal_value")
_ALERT_COLUMNS = ("alert_key", "kind", "state", "severity", "action", "because", "opened_on", "snoozed_until")


class ResultNotFoundError(KamError, LookupError):
    """The run or account asked for is not in the stored results.

    ``field`` names what was asked for (``"run_id"`` or ``"account_id"``) so a caller can point
    at its own parameter (the CLI at ``--run-id``, the service at the URL path).
    """

    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.field = field


def _plain(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _json_field(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return _plain(value)


def runs_records(database: Database, limit: int | None = None) -> list[dict[str, Any]]:
    """The runs in ``database``, newest first, as plain records (``tier_counts`` etc. as objects)."""
    from engine.storage import Database

    check_type("runs_records", "database", database, Database, "open the database first: engine.storage.Database(url)",
               described="an engine.storage.Database")
    runs = database.list_runs()
    if limit is not None:
        runs = runs.head(limit)
    columns = [c for c in _RUN_COLUMNS if c in runs.columns]
    return [{c: _json_field(row[c]) for c in columns} for _, row in runs.iterrows()]


def account_record(database: Database, account_id: str, run_id: str | None = None) -> dict[str, Any]:
    """One account's scores in a run (default the latest), with reasons, open opportunities and alerts.

    Parameters
    ----------
    database : engine.storage.Database
        An open database (read-only is enough).
    account_id : str
        The account, e.g. ``KA-000123``.
    run_id : str, optional
        A given run; default the latest.

    Returns
    -------
    dict
        ``run`` (id, as-of), ``account`` (tier, rule and why, churn probability, value at risk,
        priority), ``top_reasons`` (None: not computed; []: nothing raises the risk),
        ``opportunities`` (routes and assignees) and ``alerts`` (every alert not resolved).

    Raises
    ------
    StorageError
        No run has been written yet.
    ResultNotFoundError
        The run, or the account in that run, is not there (``field`` says which).
    """
    from engine.storage import Database

    check_type("account_record", "database", database, Database, "open the database first: engine.storage.Database(url)",
               described="an engine.storage.Database")
    present = database.table_names()
    if "account_scores" not in present:
        raise StorageError(f"no scoring run in {database.display_url} yet. Fix: run `kam score` first.")
    chosen = run_id or database.latest_run_id()
    if chosen is None:
        raise StorageError(f"no scoring run in {database.display_url} yet. Fix: run `kam score` first.")
    if run_id is not None:
        known_runs = set(database.list_runs()["run_id"].astype(str))
        if run_id not in known_runs:
            from engine._suggest import did_you_mean

            raise ResultNotFoundError(f"no run {run_id!r} in the database{did_you_mean(run_id, known_runs)}; "
                                      "`kam runs` lists them.", "run_id")

    def read() -> tuple[pd.DataFrame, pd.DataFrame | None, dict[str, Any]]:
        scores = database.read_results("account_scores", chosen, account_id=account_id)
        routes = (database.read_results("opportunity_routes", chosen, account_id=account_id)
                  if "opportunity_routes" in present else None)
        run = next((r for r in runs_records(database) if str(r["run_id"]) == str(chosen)), {"run_id": chosen})
        return scores, routes, run

    # one version of the run (a re-run of its id may commit between the reads)
    scores, routes, run = database.read_consistently(chosen, read)
    if scores.empty:
        raise ResultNotFoundError(
            f"account {account_id!r} is not in run {chosen} (accounts that were quarantined or are not in "
            "the customers table have no scores; `kam validate` shows rejected rows).", "account_id")
    row = scores.iloc[0]
    account = {c: _plain(row[c]) for c in _ACCOUNT_COLUMNS if c in scores.columns}
    reasons = _json_field(row["top_reasons"]) if "top_reasons" in scores.columns else None
    if isinstance(reasons, str):
        reasons = [reasons]
    opportunities: list[dict[str, Any]] = []
    if routes is not None:
        opportunities = [{c: _plain(r[c]) for c in _ROUTE_COLUMNS if c in routes.columns} for _, r in routes.iterrows()]
    return {
        "run": {"run_id": run.get("run_id"), "as_of": run.get("as_of")},
        "account": account,
        # None: not computed for this account (only the --reasons-for highest value at risk get them);
        # []: computed, and nothing raises its risk above the typical account's.
        "top_reasons": None if reasons is None else list(reasons),
        "opportunities": opportunities,
        "alerts": _account_alerts(database, account_id),
    }


def _account_alerts(database, account_id: str) -> list[dict[str, Any]]:
    """The account's alerts that are not resolved (open, escalated, acknowledged, snoozed, pending)."""
    from engine.storage import AlertStore

    alerts = AlertStore(database).read("alerts", '"account_id" = :account_id', {"account_id": str(account_id)})
    alerts = alerts[alerts["state"].astype(str) != "resolved"]
    return [{c: _plain(r[c]) for c in _ALERT_COLUMNS} for _, r in alerts.iterrows()]

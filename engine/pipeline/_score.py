"""``kam score``: one nightly run over the whole customer database.

read + validate -> account features -> tier rules -> churn model -> value at risk and priority
-> opportunity features -> routing rules -> assignment -> win model -> expected deal value
-> write ``account_scores``, ``opportunity_routes``, ``runs`` and ``rejects`` in one transaction.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from engine._asof import AsOf, resolve_as_of, warn_if_stale
from engine._errors import DataError
from engine._log import get_logger
from engine._progress import task
from engine.features import ACCOUNT_INPUT_COLUMNS
from engine.pipeline._backends import run_partitions
from engine.pipeline._combine import DEFAULT_REASONS_FOR, ScoredTables, combine_partitions
from engine.pipeline._decide import load_default_rules
from engine.pipeline._health import DEFAULT_MAX_QUARANTINED, check_run_health, warn_run_health
from engine.pipeline._ingest import read_and_validate
from engine.pipeline._reconcile import LiveReconciler
from engine.pipeline._rowwise import PartitionScores, score_partition
from engine.pipeline._run_models import _models
from engine.pipeline._stages import _Stages
from engine.storage import Database, LiveStore
from engine.validate import ValidationReport, rejects_frame, validate_tables

__all__ = ["ScoreResult", "ScoredTables", "PartitionScores", "score", "score_frame", "score_tables", "score_partition",
           "combine_partitions", "STAGES"]

#: The stages of a run, in order (their wall times are recorded in ``runs``).
#: ``partition`` is the time of the row-wise backend outside the partitions' own stages: the
#: cross-account reference statistics, the partition plan and cutting the tables (with Dask
#: also scheduling and transfers, less whatever overlapped the workers' summed stage times).
STAGES = (
    "load", "validate", "partition", "features", "tiers", "churn", "priority", "routes", "assign", "win", "write",
)

_log = get_logger("score")


@dataclass(frozen=True)
class ScoreResult:
    """Everything one run produced (also what was written, unless ``dry_run``).

    Attributes
    ----------
    run_id : str
    as_of : datetime.date
    account_scores : pandas.DataFrame
        One row per account: tier, management mode, serving role, deciding rule and its
        ``because``, churn probability, value at risk, top reasons, priority rank.
    opportunity_routes : pandas.DataFrame
        One row per open opportunity: route, assignee or status reason, deciding rule, win
        probability, expected deal value.
    conflicts : pandas.DataFrame
        Ownership conflicts found by assignment (reported, never resolved).
    run : dict
        The row written to ``runs``: hashes, counts, stage durations.
    validation : ValidationReport
        What validation found (``rejects`` are built from it).
    written : bool
        False for a dry run.
    model_drift : pandas.DataFrame or None
        PSI of every model input and score against the model card's training distribution
        (also written to the ``model_drift`` table; see docs/models.md, "Drift").
    """

    run_id: str
    as_of: Any
    account_scores: pd.DataFrame
    opportunity_routes: pd.DataFrame
    conflicts: pd.DataFrame
    run: dict[str, Any]
    validation: ValidationReport | None = None
    written: bool = False
    #: PSI of every model input and score against the training distribution (``model_drift``).
    model_drift: pd.DataFrame | None = None
    seconds: dict[str, float] = field(default_factory=dict)
    #: Each rep's and partner's load after assignment (live assignments included): the live
    #: path's base until the next run (``assignment_load`` table; see docs/live.md).
    assignment_load: pd.DataFrame | None = None



def score_tables(
    tables: Mapping[str, pd.DataFrame],
    *,
    as_of: AsOf,
    rules: Mapping[str, Any] | None = None,
    models: Mapping[str, Any] | None = None,
    artifacts_dir: str | Path | None = None,
    reasons_for: int = DEFAULT_REASONS_FOR,
    top_reasons: int = 3,
    stages: _Stages | None = None,
    backend: str = "local",
    scheduler: str | None = None,
    partitions: int | None = None,
    live: pd.DataFrame | None = None,
) -> ScoredTables:
    """Score validated tables: the pure middle of a run (no I/O besides loading the models).

    Returns
    -------
    ScoredTables
        Account scores, opportunity routes, conflicts, rule and model hashes, model drift.
    """
    as_of = resolve_as_of(as_of, tables, warn=False)
    rules = dict(rules) if rules is not None else load_default_rules()
    models = _models(models, artifacts_dir)
    stages = stages or _Stages(None)
    started = time.perf_counter()
    with task(f"scoring: features, tiers, churn, routes, win ({backend})"):
        parts = run_partitions(
            tables, as_of=as_of, rules=rules, models=models, backend=backend, scheduler=scheduler,
            partitions=partitions,
        )
    inside = sum(sum(part.seconds.values()) for part in parts)
    stages.seconds["partition"] = max(0.0, time.perf_counter() - started - inside)
    return combine_partitions(
        parts, tables, models=models, rules=rules, reasons_for=reasons_for, top_reasons=top_reasons, stages=stages,
        live=live,
    )


def _default_run_id(as_of, meta: Mapping[str, str]) -> str:
    """One run per as-of date and configuration: re-running it replaces its rows."""
    digest = hashlib.sha256(json.dumps(dict(sorted(meta.items()))).encode()).hexdigest()[:10]
    return f"{as_of.isoformat()}-{digest}"


def _run_row(run_id, as_of, started, finished, meta, report, scores, routed, stages) -> dict[str, Any]:
    counts = report.counts if report is not None else None
    row = {
        "started_at": started,
        "finished_at": finished,
        "as_of": as_of.isoformat(),
        **meta,
        "rows_in": int(counts["rows"].sum()) if counts is not None else int(len(scores)),
        "rows_quarantined": int(report.n_quarantined) if report is not None else 0,
        "accounts_scored": int(len(scores)),
        "opportunities_routed": int(len(routed)),
        "tier_counts": json.dumps(scores["tier"].astype(object).fillna("(none)").value_counts().sort_index().to_dict()),
        "route_counts": json.dumps(routed["route"].astype(object).fillna("(none)").value_counts().sort_index().to_dict()),
        "assigned": int((routed.get("assignment_status") == "assigned").sum()) if len(routed) else 0,
        "stage_seconds": json.dumps({k: round(v, 3) for k, v in stages.seconds.items()}),
    }
    return row


def score(
    db: Database | str | Path,
    *,
    as_of: AsOf = None,
    rules_dir: str | Path | None = None,
    artifacts_dir: str | Path | None = None,
    run_id: str | None = None,
    keep_runs: int | None = 30,
    dry_run: bool = False,
    reasons_for: int = DEFAULT_REASONS_FOR,
    progress: Callable[[str, str], None] | None = None,
    backend: str = "local",
    scheduler: str | None = None,
    partitions: int | None = None,
    max_quarantined: float | None = DEFAULT_MAX_QUARANTINED,
    models: Mapping[str, Any] | None = None,
) -> ScoreResult:
    """Score a whole customer database and write the results of the run atomically.

    Parameters
    ----------
    db : Database, URL or path
        The customer database (results are written to the same database).
    as_of : date-like, optional
        The run's date; features use only rows dated before it. Default: the day after the
        newest event in the data (see :func:`engine._asof.resolve_as_of`); a
        :class:`~engine._errors.StaleDataWarning` when that is weeks before today.
    rules_dir : path, optional
        Folder with ``tiers.yaml`` and ``routing.yaml`` (default: the shipped rules).
    artifacts_dir : path, optional
        Folder with the current ``churn.joblib`` and ``win.joblib`` and their cards. Default
        (:func:`engine._paths.default_artifacts_dir`, never the working directory):
        ``$KAM_MODELS_DIR`` when set, else ``models/artifacts`` of the checkout kam runs from.
    models : mapping, optional
        ``{"churn": fitted, "win": fitted}``: models fitted in memory (a notebook's
        ``ChurnModel().fit(X, y)``), used instead of loading from ``artifacts_dir``.
    run_id : str, optional
        Default: the as-of date and a digest of the rule and model hashes, so re-running the
        same run replaces its rows instead of adding more.
    keep_runs : int or None, default 30
        Keep the results of the newest N runs; None keeps all.
    dry_run : bool, default False
        Compute everything, write nothing.
    reasons_for : int, default 1,000
        How many of the highest value-at-risk accounts get their top reasons (null for the
        others).
    progress : callable, optional
        Called with ``(stage, "start" | "done")``.
    backend : {"local", "dask"}, default "local"
        Where the row-wise stages run; ``"dask"`` partitions accounts by territory over a Dask
        cluster (identical results).
    scheduler : str, optional
        Address of a Dask scheduler (``tcp://host:8786``); default a LocalCluster.
    partitions : int, optional
        Number of account partitions (default chosen by the backend).
    max_quarantined : float or None, default 0.05
        Largest share of any one input table's rows that may be quarantined; above it the run
        fails before writing (see :func:`engine.pipeline._health.check_run_health`). ``None``
        switches the share check off.

    Returns
    -------
    ScoreResult

    Raises
    ------
    DataError
        A contract table is missing, too many rows were quarantined, or no account is left to
        score. Nothing is written; the previous results are intact.
    StorageError
        The database cannot be read or written (a SQLite file that does not exist is never
        created).
    """
    owns_db = not isinstance(db, Database)
    # Scoring reads an existing database: a mistyped SQLite path must fail, never create a file.
    database: Database = db if isinstance(db, Database) else Database(db, create=False, readonly=dry_run)
    try:
        run_started = time.perf_counter()
        _log.info("scoring %s (backend %s%s)", database.display_url, backend, ", dry run" if dry_run else "")
        stages = _Stages(progress)
        started = pd.Timestamp.now(tz="UTC").tz_localize(None)
        with task("scoring: loading rules and models"):
            rules = load_default_rules(rules_dir)
            models = _models(models, artifacts_dir)
        _log.info("rules: tiers %s, routing %s", rules["tiers"].hash[:12], rules["routing"].hash[:12])
        as_of_date = resolve_as_of(as_of, database)
        # Live decisions made before the data is read are kept; those made while the run computes
        # are taken in at its commit, under the live lock (engine.pipeline._reconcile).
        live_store = LiveStore(database)
        live, live_seq = live_store.batch_view()
        report = _read_and_validate(database, as_of_date, stages)
        if as_of is not None:
            warn_if_stale(as_of_date, report.valid)
        check_run_health(report, max_quarantined, source=database.display_name)
        customers = report.valid.get("customers")
        if customers is None or len(customers) == 0:
            raise DataError(
                f"expected at least one valid customer to score in {database.display_name}; got none "
                f"({_customer_counts(report)}). Nothing was written; the previous results are intact."
            )
        scored = score_tables(
            report.valid,
            as_of=as_of_date,
            rules=rules,
            models=models,
            reasons_for=reasons_for,
            stages=stages,
            backend=backend,
            scheduler=scheduler,
            partitions=partitions,
            live=live,
        )
        run_id = run_id or _default_run_id(as_of_date, scored.meta)
        _log_decisions(scored.account_scores, scored.opportunity_routes, scored.conflicts)
        with stages.stage("write", "writing results" if not dry_run else "dry run: nothing written"):
            result = _result(run_id, as_of_date, started, report, scored, stages)
            if not dry_run:
                rejects = _without_urls(rejects_frame(report, run_id), database)
                reconciler = LiveReconciler(
                    {
                        "runs": pd.DataFrame([{k: v for k, v in result.run.items() if k != "run_id"}]),
                        "account_scores": result.account_scores,
                        "opportunity_routes": result.opportunity_routes,
                        "rejects": rejects,
                        "assignment_load": _assignment_load(result.assignment_load, live_seq),
                        **({"model_drift": result.model_drift} if result.model_drift is not None else {}),
                    },
                    _opportunity_ids(report),
                )
                database.write_run(run_id, reconciler.tables, keep_runs=keep_runs,
                                   before_write=live_store.under_live_lock(live_seq, reconciler))
                result = reconciler.applied(result)
        # the write stage's own time belongs in the returned run row: a new result, never a mutated one
        run = {**result.run, "stage_seconds": json.dumps({k: round(v, 3) for k, v in stages.seconds.items()})}
        _log.info(
            "run %s as of %s: %s %d account scores, %d opportunity routes, %d rejects in %.1f s",
            run_id, as_of_date, "wrote" if not dry_run else "computed (dry run)", len(result.account_scores),
            len(result.opportunity_routes),
            len(report.failures), time.perf_counter() - run_started,
        )
        return dataclasses.replace(result, run=run, written=not dry_run, seconds=dict(stages.seconds))
    finally:
        if owns_db:
            database.dispose()


def _assignment_load(load: pd.DataFrame | None, live_seq: int) -> pd.DataFrame:
    """Each person's load after the run and the newest live decision it counted (the live path's base)."""
    if load is None:
        return pd.DataFrame(columns=["assignee_type", "assignee_id", "capacity", "load", "live_seq"])
    return pd.DataFrame({"assignee_type": load["assignee_type"], "assignee_id": load["assignee_id"],
                         "capacity": load["capacity"], "load": load["load_after"],
                         "live_seq": np.full(len(load), int(live_seq), dtype=np.int64)})


def _opportunity_ids(report: ValidationReport) -> set[str]:
    """Every opportunity id the run read (open and closed): a live lead among them is not pending."""
    opportunities = report.valid.get("opportunities")
    return set() if opportunities is None else set(opportunities["opportunity_id"].astype(str))


def _customer_counts(report: ValidationReport) -> str:
    if "customers" not in report.counts.index:
        return "no customers table"
    row = report.counts.loc["customers"]
    return f"{int(row['rows']):,} customers in, {int(row['quarantined']):,} quarantined"


def _log_decisions(scores: pd.DataFrame, routed: pd.DataFrame, conflicts: pd.DataFrame) -> None:
    """One INFO line per decision stage: how many of each outcome (never one line per row)."""
    if not _log.isEnabledFor(20):  # logging.INFO: the counts below cost a few group-bys
        return
    tiers = scores["tier"].astype(object).fillna("(none)").value_counts().sort_index().to_dict()
    _log.info("tiers decided for %d accounts: %s", len(scores), tiers)
    _log.info("churn: mean probability %.3f, value at risk %.0f CNY in total",
              float(scores["churn_probability"].mean()) if len(scores) else 0.0,
              float(scores["value_at_risk"].sum()) if len(scores) else 0.0)
    routes = routed["route"].astype(object).fillna("(none)").value_counts().sort_index().to_dict()
    assigned = int((routed["assignment_status"] == "assigned").sum()) if "assignment_status" in routed else 0
    _log.info("routes decided for %d open opportunities: %s; %d assigned; %d ownership conflicts",
              len(routed), routes, assigned, len(conflicts))


def _without_urls(frame: pd.DataFrame, database: Database) -> pd.DataFrame:
    """``frame`` with the database's URL (any form) replaced by its name: kam never writes a URL into a table."""
    forms = {database.url.render_as_string(hide_password=False), database.display_url,
             database.url.render_as_string(hide_password=True)}
    for column in frame.columns:
        if frame[column].dtype == object or pd.api.types.is_string_dtype(frame[column].dtype):
            values = frame[column]
            for form in forms:
                values = values.str.replace(form, database.display_name, regex=False)
            frame[column] = values
    return frame


def _result(run_id, as_of_date, started, report, scored: ScoredTables, stages) -> ScoreResult:
    """Stamp the rows with the run id and build the ``runs`` row and the result (not written)."""
    drift, scores, routed = scored.model_drift, scored.account_scores, scored.opportunity_routes
    load = scored.assignment_load
    scores.insert(0, "run_id", run_id)
    routed.insert(0, "run_id", run_id)
    finished = pd.Timestamp.now(tz="UTC").tz_localize(None)
    run_row = _run_row(run_id, as_of_date, started, finished, scored.meta, report, scores, routed, stages)
    return ScoreResult(
        run_id=run_id,
        as_of=as_of_date,
        account_scores=scores,
        opportunity_routes=routed,
        conflicts=scored.conflicts,
        run={"run_id": run_id, **run_row},
        validation=report,
        written=False,
        seconds=dict(stages.seconds),
        model_drift=None if drift is None else drift.assign(run_id=run_id),
        assignment_load=load,
    )


#: The large child tables are read by the account features only: their valid frames keep just
#: the columns the features read (every column is still validated). ~0.8 GB less at a million
#: accounts. Derived from the features' own list, so a new feature column is never dropped here.
FEATURE_COLUMNS = {name: ACCOUNT_INPUT_COLUMNS[name] for name in ("orders", "tickets", "contacts", "visits")}


def _read_and_validate(database: Database, as_of_date, stages: _Stages) -> ValidationReport:
    """Read and validate the source tables (reads overlap validation, see ``read_and_validate``)."""
    if stages.progress is not None:
        stages.progress("load", "start")
        stages.progress("validate", "start")
    with task(f"reading and validating {database.display_name}"):
        ingested = read_and_validate(database, as_of=as_of_date, columns=FEATURE_COLUMNS)
    stages.seconds = {**ingested.seconds, **stages.seconds}
    counts = ingested.report.counts
    _log.info(
        "read %d rows from %d tables (%s); %d quarantined, %d failures",
        int(counts["rows"].sum()), len(counts),
        ", ".join(f"{table} {int(row['rows'])}" for table, row in counts.iterrows()),
        ingested.report.n_quarantined, len(ingested.report.failures),
    )
    if stages.progress is not None:
        stages.progress("validate", "done")
        stages.progress("load", "done")
    return ingested.report


def score_frame(
    tables: Mapping[str, pd.DataFrame] | pd.DataFrame,
    *,
    as_of: AsOf = None,
    rules_dir: str | Path | None = None,
    artifacts_dir: str | Path | None = None,
    run_id: str | None = None,
    reasons_for: int = DEFAULT_REASONS_FOR,
    backend: str = "local",
    scheduler: str | None = None,
    partitions: int | None = None,
    models: Mapping[str, Any] | None = None,
    **other_tables: pd.DataFrame,
) -> ScoreResult:
    """Score data already in memory (nothing is written).

    Parameters
    ----------
    tables : mapping of str to DataFrame, or the customers DataFrame
        The contract tables; or the ``customers`` table, with the other tables as keyword
        arguments (``orders=...``, ``opportunities=...``). A table left out is reported by
        validation as missing (``missing_table``) and counts as empty.
    artifacts_dir, models, backend, scheduler, partitions
        As for :func:`score`: ``models={"churn": fitted, "win": fitted}`` scores with models
        fitted in memory; without it the published models are loaded from ``artifacts_dir``.

    Warns
    -----
    RunHealthWarning
        A contract table was left out, most rows of a table were quarantined, or no account
        was scored.
    StaleDataWarning
        The as-of date is weeks away from the newest event in the frames.
    """
    if isinstance(tables, pd.DataFrame):
        tables = {"customers": tables, **other_tables}
    elif other_tables:
        tables = {**tables, **other_tables}
    stages = _Stages(None)
    as_of_date = resolve_as_of(as_of, tables)
    started = pd.Timestamp.now(tz="UTC").tz_localize(None)
    with stages.stage("validate"):
        report = validate_tables(dict(tables), as_of=as_of_date, source="in-memory frames")
    scored = score_tables(
        report.valid,
        as_of=as_of_date,
        rules=load_default_rules(rules_dir),
        models=_models(models, artifacts_dir),
        reasons_for=reasons_for,
        stages=stages,
        backend=backend,
        scheduler=scheduler,
        partitions=partitions,
    )
    run_id = run_id or _default_run_id(as_of_date, scored.meta)
    warn_run_health(report, len(scored.account_scores))
    return _result(run_id, as_of_date, started, report, scored, stages)

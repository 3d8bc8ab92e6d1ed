"""Read what a report needs from a results database: one run, its comparison run, and context.

The report reads results and never writes. The per-run tables (``runs``, ``account_scores``,
``opportunity_routes``, ``rejects``) must be there; the tables of later stages (``alerts``,
``alert_events``, ``alert_runs``, ``call_plans``), the drift against the training distribution
(``model_drift``, written by scoring runs since drift checks exist) and the model cards are read when present and
with the columns they have, and are ``None`` otherwise, so the page can say "not available for
this run" instead of inventing anything.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from engine._arguments import check_type
from engine._errors import ConfigError, StorageError
from engine._log import get_logger
from engine.storage import Database

__all__ = ["OPTIONAL_TABLES", "ReportInputs", "RunData", "read_inputs"]

_log = get_logger("report")

#: Columns of ``account_scores`` the report uses (the long ``*_because`` sentences are left out:
#: a million of them would cost seconds to read and the page never shows them one per account).
ACCOUNT_COLUMNS = (
    "account_id", "name", "region", "industry", "owner_rep_id", "owner_partner_id", "tier",
    "tier_rule_id", "tier_status", "churn_probability", "revenue_12m",
    "expected_margin_12m", "value_at_risk", "top_reasons",
)
ROUTE_COLUMNS = (
    "opportunity_id", "account_id", "region", "industry", "est_amount", "route", "route_rule_id",
    "route_status", "assignee_type", "assignee_id", "assignment_status",
    "status_reason", "win_probability", "expected_deal_value",
)
REJECT_COLUMNS = ("table_name", "row_number", "reason")
#: Text columns the report groups and counts by: categoricals once at read, cheap afterwards.
CATEGORICAL = (
    "region", "industry", "owner_rep_id", "owner_partner_id", "tier", "tier_rule_id", "tier_status", "route",
    "route_rule_id", "route_status", "assignee_type", "assignee_id", "assignment_status", "status_reason",
    "table_name", "reason",
)

#: Tables written by later stages (alerts, call plans) or by newer scoring runs (drift): read
#: only when they exist.
OPTIONAL_TABLES = ("alerts", "alert_events", "alert_runs", "call_plans", "model_drift")


@dataclass(frozen=True)
class RunData:
    """One scoring run's rows (only the columns the report uses).

    Attributes
    ----------
    run : dict
        The run's row of ``runs`` (JSON columns decoded).
    accounts, routes, rejects : pandas.DataFrame
    """

    run: dict[str, Any]
    accounts: pd.DataFrame
    routes: pd.DataFrame
    rejects: pd.DataFrame

    @property
    def run_id(self) -> str:
        return str(self.run["run_id"])


@dataclass(frozen=True)
class ReportInputs:
    """Everything the numbers of a report are computed from.

    Attributes
    ----------
    current : RunData
    previous : RunData or None
        The comparison run (``--compare``, or by default the run before ``current``).
    runs : pandas.DataFrame
        Every run in the database, newest first.
    reps, partners : pandas.DataFrame or None
        The people (for capacity), when the source tables are there.
    optional : dict of str to DataFrame or None
        :data:`OPTIONAL_TABLES` -> the table, or None when it does not exist.
    cards : dict of str to dict or None
        Model kind -> its model card (as written by ``kam train``) when a card whose artifact
        sha256 matches the run's model was found, else None.
    card_notes : dict of str to str
        Why a card is missing.
    rulesets : dict of str to RuleSet
        The rule files on disk (to list rules that never fired and their versions).
    source : str
        The database, password masked.
    """

    current: RunData
    previous: RunData | None
    runs: pd.DataFrame
    reps: pd.DataFrame | None
    partners: pd.DataFrame | None
    optional: dict[str, pd.DataFrame | None]
    cards: dict[str, dict[str, Any] | None]
    card_notes: dict[str, str]
    rulesets: dict[str, Any]
    source: str


def _decode_run(row: pd.Series) -> dict[str, Any]:
    run = {}
    for key, value in row.items():
        if isinstance(value, str) and key in ("tier_counts", "route_counts", "stage_seconds", "drift"):
            try:
                value = json.loads(value)
            except ValueError:
                pass
        run[str(key)] = None if _missing(value) else value
    return run


def _missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _read_run(db: Database, runs: pd.DataFrame, run_id: str) -> RunData:
    row = runs.loc[runs["run_id"].astype(str) == run_id]
    if row.empty:
        known = ", ".join(runs["run_id"].astype(str).head(10))
        raise ConfigError(
            f"run {run_id!r} is not in {db.display_url}. Expected one of the runs in its `runs` table "
            f"(newest first: {known}). Fix: pass --run with one of those, or omit it for the newest."
        )
    accounts = db.read_results("account_scores", run_id=run_id, columns=ACCOUNT_COLUMNS, missing_ok=True)
    routes = (
        db.read_results("opportunity_routes", run_id=run_id, columns=ROUTE_COLUMNS, missing_ok=True)
        if db.has_table("opportunity_routes") else pd.DataFrame(columns=list(ROUTE_COLUMNS))
    )
    rejects = (
        db.read_results("rejects", run_id=run_id, columns=REJECT_COLUMNS, missing_ok=True)
        if db.has_table("rejects") else pd.DataFrame(columns=list(REJECT_COLUMNS))
    )
    accounts, routes, rejects = (_categorise(frame) for frame in (accounts, routes, rejects))
    if accounts.empty:
        raise StorageError(
            f"run {run_id!r} in {db.display_url} has no rows in account_scores: there is nothing to "
            "report. Fix: run `kam score` again, or pick another run with --run."
        )
    return RunData(run=_decode_run(row.iloc[0]), accounts=accounts, routes=routes, rejects=rejects)


def _read_runs(
    db: Database, run_id: str, previous_id: str | None
) -> tuple[RunData, RunData | None, dict[str, pd.DataFrame | None]]:
    """Both runs and their optional tables, each run from one version of it (a re-run may commit meanwhile)."""

    def read() -> tuple[RunData, RunData | None, dict[str, pd.DataFrame | None]]:
        runs = db.list_runs()
        current = _read_run(db, runs, run_id)
        previous = _read_run(db, runs, previous_id) if previous_id is not None else None
        return current, previous, _optional_tables(db, [run_id] + ([previous_id] if previous_id is not None else []))

    if previous_id is None:
        return db.read_consistently(run_id, read)
    return db.read_consistently(run_id, lambda: db.read_consistently(previous_id, read))


def _categorise(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(**{c: frame[c].astype("category") for c in CATEGORICAL if c in frame.columns})


#: The columns of the optional tables the report uses (the others are never read).
OPTIONAL_COLUMNS = {
    "alerts": ("alert_key", "account_id", "kind", "state", "severity", "action", "value_at_risk"),
    "alert_events": ("run_id", "alert_key", "from_state", "to_state"),
    "alert_runs": ("run_id", "opened", "escalated", "resolved"),
    "call_plans": ("run_id", "week", "assignee_type", "assignee_id", "status", "account_id", "value_at_risk",
                   "recommended_action"),
    "model_drift": ("run_id", "model", "feature", "psi", "status", "rows", "training_rows"),
}
#: Tables with one set of rows per run: only the reported and the comparison run are read.
_PER_RUN = ("alert_events", "call_plans", "model_drift")


def _optional_tables(db: Database, run_ids: list[str]) -> dict[str, pd.DataFrame | None]:
    present = db.table_names()
    wanted = [name for name in OPTIONAL_TABLES if name in present]
    if not wanted:
        return dict.fromkeys(OPTIONAL_TABLES)
    # The alert and plan tables may not be in this kam's allow-list of result tables (they
    # are added by later stages); name them explicitly to read them.
    reader = Database(db.url, extra_tables=wanted, readonly=db.readonly, create=False)
    try:
        out: dict[str, pd.DataFrame | None] = dict.fromkeys(OPTIONAL_TABLES)
        for name in wanted:
            stored = reader.columns(name)
            columns = [c for c in OPTIONAL_COLUMNS[name] if c in stored]
            if name in _PER_RUN and "run_id" in stored:
                parts = [reader.read_results(name, run_id=run, columns=columns) for run in run_ids]
                out[name] = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
            else:
                out[name] = reader.read_table(name, columns=columns)
        return out
    finally:
        reader.dispose()


def _people(db: Database, name: str) -> pd.DataFrame | None:
    try:
        return db.read_table(name) if db.has_table(name) else None
    except StorageError:
        return None


def _cards(artifacts_dir: Path | None, run: dict[str, Any]) -> tuple[dict[str, dict | None], dict[str, str]]:
    """The model cards whose artifact is the one the run used (matched by sha256)."""
    cards: dict[str, dict | None] = {}
    notes: dict[str, str] = {}
    for kind in ("churn", "win"):
        wanted = str(run.get(f"{kind}_model_sha256") or "")
        cards[kind] = None
        if artifacts_dir is None:
            notes[kind] = "no model folder was given (--models), so the model card could not be read."
            continue
        found = []
        for path in sorted(Path(artifacts_dir).glob("*.card.json")):
            try:
                card = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if card.get("kind") == kind:
                found.append((path, card))
        match = [(p, c) for p, c in found if wanted and c.get("sha256") == wanted]
        if match:
            cards[kind] = {**match[0][1], "card_path": str(match[0][0])}
        elif found:
            notes[kind] = (
                f"the {kind} card in {artifacts_dir} is for artifact sha256 {str(found[0][1].get('sha256'))[:12]}…, "
                f"not the one this run used ({wanted[:12]}…); the model was retrained since."
            )
        else:
            notes[kind] = f"no {kind} model card (*.card.json) in {artifacts_dir}."
    return cards, notes


def _rulesets(rules_dir: str | Path | None) -> dict[str, Any]:
    """The tier and routing rule sets on disk (the run records only their hashes)."""
    from engine._paths import default_rules_dir
    from engine.rules import load_rule_dir

    folder = Path(rules_dir) if rules_dir is not None else default_rules_dir()
    if not folder.is_dir():
        raise ConfigError(f"rules folder {folder} does not exist. Expected the folder of tiers.yaml and routing.yaml.")
    loaded = load_rule_dir(folder)
    return {name: loaded[name] for name in ("tiers", "routing") if name in loaded}


def read_inputs(
    db: Database,
    *,
    run_id: str | None = None,
    compare: str | None | bool = True,
    artifacts_dir: str | Path | None = None,
    rules_dir: str | Path | None = None,
) -> ReportInputs:
    """Read one run, its comparison run and the context a report needs.

    Parameters
    ----------
    db : Database
    run_id : str, optional
        Default: the newest run.
    compare : str, bool or None, default True
        A run id; True for the run before ``run_id`` (if any); False or None for none.
    artifacts_dir : path, optional
        Folder of the model cards (matched to the run by the artifact's sha256).
    rules_dir : path, optional
        Folder of the rule files (default: the shipped rules).
    """
    check_type("read_inputs", "db", db, Database, "open the database first: engine.storage.Database(url)",
               described="an engine.storage.Database")
    runs = db.list_runs()
    if runs.empty:
        raise StorageError(
            f"{db.display_url} holds no scoring run (no `runs` table or it is empty). "
            "Fix: run `kam score --db URL` first."
        )
    ids = runs["run_id"].astype(str).tolist()
    run_id = str(run_id) if run_id is not None else ids[0]
    previous_id: str | None = None
    if isinstance(compare, str) and compare:
        if compare == run_id:
            raise ConfigError(f"--compare {compare!r} is the run being reported. Fix: compare with another run.")
        previous_id = compare
    elif compare is True and run_id in ids and ids.index(run_id) + 1 < len(ids):
        previous_id = ids[ids.index(run_id) + 1]
    current, previous, optional = _read_runs(db, run_id, previous_id)
    rulesets = _rulesets(rules_dir)
    cards, notes = _cards(Path(artifacts_dir) if artifacts_dir is not None else None, current.run)
    _log.info(
        "report inputs: run %s (%d accounts, %d opportunities), comparison %s",
        run_id, len(current.accounts), len(current.routes), previous.run_id if previous else "none",
    )
    return ReportInputs(
        current=current,
        previous=previous,
        runs=runs,
        reps=_people(db, "reps"),
        partners=_people(db, "partners"),
        optional=optional,
        cards=cards,
        card_notes=notes,
        rulesets=rulesets,
        source=db.display_url,
    )

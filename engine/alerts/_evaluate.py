"""Evaluating a scoring run: signals -> policies -> lifecycle -> digests -> one transaction.

:func:`advance` is the pure whole-run step (states and matches in, new states, events and
notified alerts out); :func:`evaluate_run` reads a run from the database, calls it, builds the
digests and commits states, events, outbox rows and the run marker together. The backtest calls
:func:`advance` directly, in memory.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from engine._arguments import check_frame
from engine._asof import AsOf, as_of_date
from engine._errors import StorageError
from engine._log import get_logger
from engine.alerts._digest import build_digests
from engine.alerts._lifecycle import STATE_COLUMNS, AlertStateError, transition_frame
from engine.alerts._policy import evaluate_policies, load_alert_rules
from engine.alerts._signals import build_signals
from engine.rules._ruleset import rule_engine
from engine.storage import ALERT_TABLES, AlertStore, Database, using_database
from engine.storage._alerts import now_text

__all__ = ["AlertRunSummary", "advance", "empty_states", "evaluate_run"]

log = get_logger("alerts")

_META = ("account_id", "kind", "severity", "action", "because", "rule_id", "for_runs", "cooldown_days")
_CONTEXT = ("owner_rep_id", "owner_partner_id", "tier", "churn_probability", "value_at_risk")


@dataclass(frozen=True)
class AlertRunSummary:
    """What evaluating one scoring run did.

    Attributes
    ----------
    run_id, as_of :
        The scoring run.
    evaluated : bool
        False when the run had been evaluated before: nothing changed this time.
    alerts_active : int
        Alert keys open, escalated, acknowledged or snoozed after the run.
    opened, escalated, suppressed, resolved : int
        Transitions of this run (``suppressed``: repeats held back by the cooldown).
    notifications : int
        Digests written to the outbox (one per recipient).
    by_kind_severity : dict
        ``"kind/severity"`` -> alerts notified in this run.
    recipients : dict
        Recipient type (rep, manager, partner) -> digests.
    digests : pandas.DataFrame
        The outbox rows of this run.
    """

    run_id: str
    as_of: Any
    evaluated: bool
    alerts_active: int = 0
    opened: int = 0
    escalated: int = 0
    suppressed: int = 0
    resolved: int = 0
    notifications: int = 0
    by_kind_severity: dict[str, int] = field(default_factory=dict)
    recipients: dict[str, int] = field(default_factory=dict)
    digests: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Plain data (for ``--json``)."""
        out = {k: getattr(self, k) for k in ("run_id", "evaluated", "alerts_active", "opened", "escalated",
                                              "suppressed", "resolved", "notifications", "by_kind_severity",
                                              "recipients")}
        out["as_of"] = str(self.as_of)
        out["seconds"] = round(self.seconds, 3)
        return out


def empty_states() -> pd.DataFrame:
    """An empty ``alerts`` table frame."""
    return pd.DataFrame({c: pd.Series(dtype=object) for c in ALERT_TABLES["alerts"]})


def _key(account_id: pd.Series, kind: pd.Series) -> pd.Series:
    return account_id.astype(str) + ":" + kind.astype(str)


def _event_id(run_id: str, key: str, action: str) -> str:
    return "evt_" + hashlib.sha256(f"{run_id}\x1f{key}\x1f{action}".encode()).hexdigest()[:32]


def advance(states: pd.DataFrame, matches: pd.DataFrame, signals: pd.DataFrame, as_of: AsOf, run_id: str,
            *, engine: str | None = None, now: str | None = None,
            backend: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """One run's step of every alert key that matters: those that match and those still active.

    Parameters
    ----------
    states : pandas.DataFrame
        The ``alerts`` table (any number of keys; columns of :data:`engine.storage.ALERT_TABLES`).
    matches : pandas.DataFrame
        :func:`engine.alerts._policy.evaluate_policies` of the run.
    signals : pandas.DataFrame
        The run's signal frame (for owners, tier, scores, reasons).
    as_of : date-like
        The run's as-of date (read as every ``as_of=`` is, :func:`engine._asof.as_of_date`).
    engine : {"vectorized", "durable"}, default "vectorized"
        The rule engine of the lifecycle (``backend=`` is the old name, deprecated).

    Returns
    -------
    (new_states, events, notified)
        ``alerts`` rows of every key stepped; ``alert_events`` rows of every key whose state
        changed or that was notified or suppressed; the notified alerts joined with their signals.
    """
    for name, value in (("states", states), ("matches", matches), ("signals", signals)):
        check_frame("advance", name, value, "pass the alert states, the policy matches and the signals as DataFrames")
    engine = rule_engine(engine, backend, "vectorized", "advance")
    now = now or now_text()
    day = pd.Timestamp(as_of_date(as_of))
    matches = matches.assign(alert_key=_key(matches["account_id"], matches["kind"])).set_index("alert_key")
    old = states.set_index(states["alert_key"].astype(str)) if len(states) else empty_states().set_index("alert_key")
    # keys that can change without matching: pending (clears), open/escalated/acknowledged/snoozed
    # (clear runs, escalation, snooze end). An inactive or resolved key only changes when it matches.
    live = old.index[~old["state"].astype(str).isin(["inactive", "resolved"])] if len(old) else old.index
    keys = matches.index.union(live)
    frame = pd.DataFrame(index=keys)
    frame["state"] = old["state"].reindex(keys).fillna("inactive").astype(str)
    for column in ("hit_runs", "clear_runs", "notified_rank"):
        frame[column] = pd.to_numeric(old[column].reindex(keys), errors="coerce").fillna(0).astype("int64")
    for column in ("last_notified_on", "opened_on", "snoozed_until"):
        frame[column] = pd.to_datetime(old[column].reindex(keys), errors="coerce")
    holds = keys.isin(matches.index)
    frame["action"] = "observe"
    frame["on"] = day
    frame["holds"] = holds
    frame["severity"] = matches["severity"].reindex(keys)
    frame["for_runs"] = matches["for_runs"].reindex(keys).fillna(pd.to_numeric(old["for_runs"].reindex(keys), errors="coerce")).fillna(1)
    frame["cooldown_days"] = matches["cooldown_days"].reindex(keys).fillna(
        pd.to_numeric(old["cooldown_days"].reindex(keys), errors="coerce")).fillna(0)
    frame["until"] = pd.NaT
    stepped = transition_frame(frame, engine=engine)

    new = pd.DataFrame(index=keys)
    new["alert_key"] = keys
    for column in _META:
        mine = matches[column].reindex(keys) if column in matches else pd.Series(np.nan, index=keys)
        theirs = old[column].reindex(keys) if column in old else pd.Series(np.nan, index=keys)
        new[column] = mine.where(holds, theirs)
    unknown_account = new["account_id"].isna()
    if unknown_account.any():
        split = keys[unknown_account].str.split(":", n=1)
        new.loc[unknown_account, "account_id"] = [p[0] for p in split]
        new.loc[unknown_account, "kind"] = [p[1] for p in split]
    context = signals.drop_duplicates("account_id").set_index(signals["account_id"].drop_duplicates().astype(str))
    for column in _CONTEXT:
        current = context[column].reindex(new["account_id"].astype(str)).to_numpy() if column in context else np.nan
        previous = old[column].reindex(keys).to_numpy() if column in old else np.nan
        new[column] = np.where(pd.isna(current), previous, current)
    for column in STATE_COLUMNS:
        new[column] = stepped[column]
    for column in ("last_notified_on", "opened_on", "snoozed_until"):
        new[column] = pd.to_datetime(new[column]).dt.strftime("%Y-%m-%d").where(new[column].notna(), None)
    new["updated_run_id"] = run_id
    new["updated_at"] = now

    changed = (stepped["from_state"] != stepped["state"]) | (stepped["notify"] != "none") | stepped["suppressed"]
    ev = stepped[changed]
    events = pd.DataFrame({
        "event_id": [_event_id(run_id, k, "observe") for k in ev.index],
        "alert_key": ev.index,
        "account_id": new.loc[ev.index, "account_id"].to_numpy(),
        "kind": new.loc[ev.index, "kind"].to_numpy(),
        "run_id": run_id,
        "event_date": day.date().isoformat(),
        "action": "observe",
        "from_state": ev["from_state"].to_numpy(),
        "to_state": ev["state"].to_numpy(),
        "notify": ev["notify"].to_numpy(),
        "suppressed": ev["suppressed"].astype("int64").to_numpy(),
        "rule_id": ev["rule_id"].to_numpy(),
        "because": ev["because"].to_numpy(),
        "actor": "run",
        "recorded_at": now,
    })
    told = stepped.index[stepped["notify"] != "none"]
    notified = new.loc[told, ["alert_key", *_META]].copy()
    notified["notify"] = stepped.loc[told, "notify"].to_numpy()
    extra = [c for c in signals.columns if c not in notified.columns or c in _CONTEXT]
    sig = context[[c for c in extra if c != "account_id"]]
    stored = notified[[c for c in _CONTEXT if c in notified.columns]]
    notified = notified.drop(columns=list(stored.columns)).join(sig, on="account_id")
    # An account missing from this run (its row quarantined) keeps the owners stored with its alert:
    # an escalation must still reach its rep and manager, never a recipient called "nan".
    for column in stored.columns:
        current = notified[column] if column in notified.columns else pd.Series(None, index=notified.index, dtype=object)
        notified[column] = current.where(current.notna(), stored[column])
    return new.reset_index(drop=True), events.reset_index(drop=True), notified.reset_index(drop=True)


def _previous_scores(db: Database, runs: pd.DataFrame, as_of) -> pd.DataFrame | None:
    if "as_of" not in runs:
        return None
    earlier = runs[pd.to_datetime(runs["as_of"]) < pd.Timestamp(as_of)]
    if earlier.empty:
        return None
    previous = earlier.sort_values("as_of").iloc[-1]["run_id"]
    return db.read_results("account_scores", run_id=str(previous))


def evaluate_run(
    db: Database | str,
    run_id: str | None = None,
    *,
    rules: Any = None,
    tables: dict[str, pd.DataFrame] | None = None,
    engine: str | None = None,
    backend: str | None = None,
) -> AlertRunSummary:
    """Evaluate the alert policies on a scoring run and commit the result.

    In one transaction: the alert states, their events, one digest per recipient in the outbox,
    and the run marker. Evaluating a run that was evaluated before changes nothing (the summary
    says ``evaluated=False``).

    Parameters
    ----------
    db : Database or str
        The database the scoring run wrote to.
    run_id : str, optional
        The scoring run (default: the newest).
    rules : path or RuleSet, optional
        Alert policies (default: the shipped ``rules/alerts.yaml``).
    tables : dict, optional
        The validated customer tables (read and validated from ``db`` when omitted).
    engine : {"vectorized", "durable"}, default "vectorized"
        Rule engine for policies and lifecycle (identical results). ``backend=`` is the old
        name (deprecated: ``backend`` is where a scoring run executes, local or dask).

    Raises
    ------
    StorageError
        No scoring run in the database, or ``run_id`` is not one of them.
    AlertStateError
        The run is older than the newest run already evaluated (alerts move forward in time).
    """
    engine = rule_engine(engine, backend, "vectorized", "evaluate_run")
    started = time.perf_counter()
    with using_database(db) as database:
        return _evaluate(database, run_id, rules, tables, engine, started)


def _evaluate(db: Database, run_id, rules, tables, engine: str, started) -> AlertRunSummary:
    from engine.features import build_account_features

    runs = db.list_runs()
    if runs.empty:
        raise StorageError(f"no scoring run in {db.display_url}. Fix: run `kam score --db URL` first, then "
                           "`kam alerts evaluate`.")
    if run_id is None:
        run_id = str(runs["run_id"].iloc[0])
    chosen = runs[runs["run_id"].astype(str) == run_id]
    if chosen.empty:
        known = ", ".join(runs["run_id"].astype(str).head(5))
        raise StorageError(f"run {run_id!r} is not in {db.display_url} (newest runs: {known}). Fix: pass one of "
                           "them with --run, or omit --run for the newest.")
    as_of = pd.Timestamp(chosen["as_of"].iloc[0]).date()
    store = AlertStore(db)
    done = store.evaluated_run(run_id)
    if done is not None:
        log.info("run %s was evaluated at %s; nothing changes", run_id, done["evaluated_at"])
        return AlertRunSummary(run_id, as_of, False, seconds=time.perf_counter() - started)
    latest = store.latest_evaluated()
    if latest is not None and str(latest["as_of"]) > as_of.isoformat():
        raise AlertStateError(
            f"run {run_id!r} is as of {as_of}, older than run {latest['run_id']!r} (as of {latest['as_of']}) whose "
            "alerts are already evaluated; alerts move forward in time. Fix: evaluate the newest run, or a run "
            "as of a later date."
        )
    ruleset = rules if hasattr(rules, "evaluate") else load_alert_rules(rules)
    if tables is None:
        from engine.pipeline._ingest import read_and_validate

        tables = read_and_validate(db, as_of=as_of).tables
    scores = db.read_results("account_scores", run_id=run_id)
    features = build_account_features(tables, as_of)
    signals = build_signals(scores, features, tables, as_of, _previous_scores(db, runs, as_of))
    matches = evaluate_policies(signals, ruleset, as_of, engine=engine)
    version = store.state_version()  # before the states: a change after this refuses the commit
    states = store.read("alerts")
    now = now_text()
    new, events, notified = advance(states, matches, signals, as_of, run_id, engine=engine, now=now)
    digests = build_digests(notified, tables.get("reps"), run_id, as_of, now)
    summary = _summary(run_id, as_of, new, events, notified, digests, started)
    run = {"run_id": run_id, "as_of": as_of.isoformat(), "evaluated_at": now, "ruleset_hash": ruleset.hash,
           "keys": len(new), "opened": summary.opened, "escalated": summary.escalated,
           "suppressed": summary.suppressed, "resolved": summary.resolved, "notifications": len(digests)}
    try:
        committed = store.commit_run(run, new, events, digests, read_version=version)
    except StorageError:
        # a concurrent evaluation of the same run committed first (the run marker's primary key
        # refused ours, and our transaction rolled back): nothing changed here
        if store.evaluated_run(run_id) is None:
            raise
        committed = False
    if not committed:
        return AlertRunSummary(run_id, as_of, False, seconds=time.perf_counter() - started)
    log.info("alerts of run %s as of %s: %d matched, %d opened, %d escalated, %d suppressed, %d resolved, %d digests",
             run_id, as_of, len(matches), summary.opened, summary.escalated, summary.suppressed, summary.resolved,
             len(digests))
    return summary


def _summary(run_id, as_of, new, events, notified, digests, started) -> AlertRunSummary:
    notify = events["notify"] if len(events) else pd.Series(dtype=str)
    to_state = events["to_state"] if len(events) else pd.Series(dtype=str)
    by_kind = Counter(f"{k}/{s}" for k, s in zip(notified["kind"], notified["severity"]))
    return AlertRunSummary(
        run_id=run_id, as_of=as_of, evaluated=True,
        alerts_active=int(new["state"].isin(["open", "escalated", "acknowledged", "snoozed"]).sum()),
        opened=int((notify == "opened").sum()), escalated=int((notify == "escalated").sum()),
        suppressed=int(events["suppressed"].sum()) if len(events) else 0,
        resolved=int((to_state == "resolved").sum()), notifications=len(digests),
        by_kind_severity=dict(sorted(by_kind.items())),
        recipients=dict(sorted(Counter(digests["recipient_type"]).items())) if len(digests) else {},
        digests=digests, seconds=time.perf_counter() - started,
    )

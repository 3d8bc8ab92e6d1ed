"""One event at a time: an account's new signal arriving between nightly runs, and people's actions.

:func:`on_event` decides the alert policies for one account with durable_rules (through
:mod:`engine.rules`) and advances each alert kind that now holds with the lifecycle's
:func:`engine.alerts._lifecycle.transition` (durable_rules too). No per-account state lives in
durable_rules: the alert state is read from and written to the ``alerts`` table, so any number of
accounts can be handled (durable_rules holds at most 1,024 states per host).

An event only *adds* evidence: a kind the event does not match is left as it is (the nightly run
judges whether a condition cleared). Each event has an id; posting the same event again changes
nothing.

:func:`act` applies a person's action (acknowledge, snooze until a date, resolve) to one alert.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from engine._asof import AsOf, as_of_date, calendar_date
from engine._errors import DataError
from engine.alerts._digest import build_digests
from engine.alerts._lifecycle import (
    AlertState,
    AlertStateError,
    Effect,
    Event,
    transition,
)
from engine.alerts._policy import load_alert_rules
from engine.storage import AlertStore, Database, using_database
from engine.storage._alerts import now_text

__all__ = ["EventResult", "act", "on_event"]


@dataclass(frozen=True)
class EventResult:
    """What one event did to one alert key."""

    alert_key: str
    effect: Effect
    notifications: int


def _state_of(row: Mapping[str, Any] | None) -> AlertState:
    if row is None:
        return AlertState()

    def day(value):
        return None if value is None or pd.isna(value) else dt.date.fromisoformat(str(value)[:10])

    return AlertState(str(row["state"]), int(row["hit_runs"] or 0), int(row["clear_runs"] or 0),
                      int(row["notified_rank"] or 0), day(row["last_notified_on"]), day(row["opened_on"]),
                      day(row["snoozed_until"]))


def _state_row(key: str, base: Mapping[str, Any], new: AlertState, run_id: str, now: str) -> dict[str, Any]:
    row = dict(base)
    row.update({
        "alert_key": key, "state": new.state, "hit_runs": new.hit_runs, "clear_runs": new.clear_runs,
        "notified_rank": new.notified_rank,
        "last_notified_on": None if new.last_notified_on is None else new.last_notified_on.isoformat(),
        "opened_on": None if new.opened_on is None else new.opened_on.isoformat(),
        "snoozed_until": None if new.snoozed_until is None else new.snoozed_until.isoformat(),
        "updated_run_id": run_id, "updated_at": now,
    })
    return row


def _event_row(event_id, key, account_id, kind, run_id, on, action, effect: Effect, actor, now) -> dict[str, Any]:
    return {"event_id": event_id, "alert_key": key, "account_id": account_id, "kind": kind, "run_id": run_id,
            "event_date": on.isoformat(), "action": action, "from_state": effect.from_state,
            "to_state": effect.to_state, "notify": effect.notify, "suppressed": int(effect.suppressed),
            "rule_id": effect.rule_id, "because": effect.because, "actor": actor, "recorded_at": now}


def on_event(db: Database | str, account_id: str, signals: Mapping[str, Any], *, event_id: str,
             on: AsOf = None, rules: Any = None) -> list[EventResult]:
    """Evaluate one account's new signals now and advance its alerts.

    Parameters
    ----------
    db : Database or str
        The database holding the scoring runs and the alert tables.
    account_id : str
        The account; its tier, owners and scores come from the newest scoring run.
    signals : mapping
        Policy inputs known now (``{"days_since_key_contact_left": 0, "coverage_levels": 1}``);
        inputs not given are taken from the newest run's scores where it has them (``status``
        from ``customers``), else null.
    event_id : str
        The event's own id (e.g. the CRM change id): the same id twice changes nothing.
    on : date-like, optional
        The event's day (default today).

    Returns
    -------
    list of EventResult
        One per alert kind the event matched (empty when none did, or the event was seen).
    """
    with using_database(db) as database:
        return _on_event(database, str(account_id), dict(signals), str(event_id), on, rules)


def _on_event(db: Database, account_id, signals, event_id, on, rules) -> list[EventResult]:
    day = as_of_date(on)  # the one reading of a date; none given: today (UTC)
    ruleset = rules if hasattr(rules, "evaluate") else load_alert_rules(rules)
    unknown = sorted(set(signals) - set(ruleset.inputs))
    if unknown:
        raise DataError(f"event {event_id!r}: unknown signal(s) {unknown}; the alert policies read "
                        f"{sorted(ruleset.inputs)}. Fix: name the signals like the inputs of rules/alerts.yaml.")
    store = AlertStore(db)
    run_tag = f"event:{event_id}"
    seen = store.read("alert_events", '"run_id" = :r', {"r": run_tag})
    if len(seen):
        return []
    scores = db.read_results("account_scores")
    mine = scores[scores["account_id"].astype(str) == account_id]
    if mine.empty:
        raise DataError(f"event {event_id!r}: account {account_id!r} is not in the newest scoring run. Fix: check "
                        "the account id, or score the database first.")
    context = mine.iloc[0].to_dict()
    if "status" not in signals and "status" not in context and db.has_table("customers"):
        customers = db.read_table("customers", ["account_id", "status"])
        status = customers.loc[customers["account_id"].astype(str) == account_id, "status"]
        context["status"] = str(status.iloc[0]) if len(status) else None
    record = {name: signals.get(name, context.get(name)) for name in ruleset.inputs}
    record = {k: (None if v is not None and not isinstance(v, str) and pd.isna(v) else v) for k, v in record.items()}
    decision = ruleset.decide(record, as_of=day, engine="durable")
    if decision.status == "error":
        raise DataError(f"event {event_id!r} for account {account_id!r}: {decision.reason}. Fix: send values of "
                        "the types rules/alerts.yaml declares.")
    if decision.status != "decided":
        return []
    out = decision.outputs
    chosen: dict[str, int] = {}
    for i, kind in enumerate(out["kind"]):
        best = chosen.get(kind)
        rank = {"low": 1, "medium": 2, "high": 3}.get(out["severity"][i], 0)
        if best is None or rank > {"low": 1, "medium": 2, "high": 3}.get(out["severity"][best], 0):
            chosen[kind] = i
    states = store.read("alerts", '"account_id" = :a', {"a": account_id})
    by_key = {str(r["alert_key"]): r for r in states.to_dict("records")}
    now = now_text()
    results, new_rows, event_rows, notified = [], [], [], []
    for kind, i in sorted(chosen.items()):
        key = f"{account_id}:{kind}"
        event = Event("observe", day, True, out["severity"][i], int(out["for_runs"][i] or 1), int(out["cooldown_days"][i] or 0))
        new, effect = transition(_state_of(by_key.get(key)), event)
        base = {"account_id": account_id, "kind": kind, "severity": out["severity"][i], "action": out["action"][i],
                "because": decision.because[i], "rule_id": decision.rule_id[i], "for_runs": event.for_runs,
                "cooldown_days": event.cooldown_days, **{c: context.get(c) for c in
                ("owner_rep_id", "owner_partner_id", "tier", "churn_probability", "value_at_risk")}}
        new_rows.append(_state_row(key, base, new, run_tag, now))
        eid = "evt_" + hashlib.sha256(f"{run_tag}\x1f{key}".encode()).hexdigest()[:32]
        event_rows.append(_event_row(eid, key, account_id, kind, run_tag, day, "observe", effect, "event", now))
        if effect.notify != "none":
            notified.append({**base, **{c: context.get(c) for c in ("name", "serving_role", "top_reasons")},
                             "alert_key": key, "notify": effect.notify, "churn_probability_change": None})
        results.append(EventResult(key, effect, 0))
    if not new_rows:
        return []
    reps = db.read_table("reps", ["rep_id", "manager_id"]) if db.has_table("reps") else None
    digests = build_digests(pd.DataFrame(notified), reps, run_tag, day, now) if notified else None
    store.commit_change(pd.DataFrame(new_rows), pd.DataFrame(event_rows), digests)
    count = 0 if digests is None else len(digests)
    return [EventResult(r.alert_key, r.effect, count) for r in results]


def act(db: Database | str, alert_key: str, action: str, *, until: AsOf = None, actor: str = "cli",
        on: AsOf = None) -> Effect:
    """Acknowledge, snooze (until a date, inclusive) or resolve one alert.

    Raises
    ------
    AlertStateError
        No such alert, or the action does not fit its state.
    """
    with using_database(db) as database:
        store = AlertStore(database)
        rows = store.read("alerts", '"alert_key" = :k', {"k": alert_key})
        if rows.empty:
            raise AlertStateError(f"no alert {alert_key!r}. Fix: take the key (ACCOUNT:KIND) from `kam alerts list`.")
        row = rows.iloc[0].to_dict()
        day = as_of_date(on)  # the one reading of a date; none given: today (UTC)
        until_day = None if until is None else calendar_date(until, name="until")
        if action == "snooze" and until_day is not None and until_day < day:
            raise AlertStateError(f"cannot snooze {alert_key!r} until {until_day}: that day has passed. Fix: give a "
                                  "date from today on.")
        new, effect = transition(_state_of(row), Event(action, day, until=until_day))
        now = now_text()
        tag = f"{actor}:{now}"
        eid = "evt_" + hashlib.sha256(f"{tag}\x1f{alert_key}\x1f{action}".encode()).hexdigest()[:32]
        base = {k: row[k] for k in row if k not in ("alert_key",)}
        store.commit_change(pd.DataFrame([_state_row(alert_key, base, new, str(row["updated_run_id"]), now)]),
                            pd.DataFrame([_event_row(eid, alert_key, row["account_id"], row["kind"], tag, day, action,
                                                     effect, actor, now)]))
        return effect

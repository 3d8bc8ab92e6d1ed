"""The alert lifecycle: one declared state machine, one transition function, two engines.

The states, actions and transitions are declared in ``lifecycle.yaml`` (beside this module), a
rule set in kam's own rule language. This module only derives the counters the rules read and
applies the decision to the state:

* :func:`transition_frame` advances many alert keys at once (a whole run) with the vectorized
  rule engine;
* :func:`transition` advances one key by one event (``engine.alerts.on_event``) with
  durable_rules (through :mod:`engine.rules`; no per-key state lives in durable_rules: one
  state id is reused for every record, so 20,000+ keys never meet its 1,024-state limit).

Both call the same :func:`derive_inputs` before the rules and the same :func:`apply_decisions`
after them, so they give the same transitions (``tests/alerts/test_lifecycle.py``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd

from engine._arguments import check_frame, check_type
from engine._errors import DataError
from engine.rules._ruleset import rule_engine

__all__ = [
    "ACTIONS",
    "ACTIVE_STATES",
    "SEVERITY_RANK",
    "STATES",
    "STATE_COLUMNS",
    "AlertState",
    "AlertStateError",
    "Effect",
    "Event",
    "apply_decisions",
    "derive_inputs",
    "lifecycle_rules",
    "transition",
    "transition_frame",
]

STATES = ("inactive", "pending", "open", "escalated", "acknowledged", "snoozed", "resolved")
ACTIONS = ("observe", "ack", "snooze", "resolve")
#: States in which an alert has been told to someone and is not over.
ACTIVE_STATES = ("open", "escalated", "acknowledged", "snoozed")
SEVERITY_RANK = {"low": 1, "medium": 2, "high": 3}
#: The state of one key as stored (``alerts`` table) and as :func:`transition_frame` takes it.
STATE_COLUMNS = ("state", "hit_runs", "clear_runs", "notified_rank", "last_notified_on", "opened_on", "snoozed_until")
#: The event columns :func:`transition_frame` takes.
EVENT_COLUMNS = ("action", "on", "holds", "severity", "for_runs", "cooldown_days", "until")


class AlertStateError(DataError):
    """A person's action does not fit the alert's state (e.g. acknowledging a pending alert)."""


@dataclass(frozen=True)
class AlertState:
    """The lifecycle state of one alert key (account, kind)."""

    state: str = "inactive"
    hit_runs: int = 0
    clear_runs: int = 0
    notified_rank: int = 0
    last_notified_on: dt.date | None = None
    opened_on: dt.date | None = None
    snoozed_until: dt.date | None = None


@dataclass(frozen=True)
class Event:
    """What happened to a key: a run observed its condition, or a person acted on it.

    Attributes
    ----------
    action : {"observe", "ack", "snooze", "resolve"}
    on : datetime.date
        The run's as-of date, or the day of the person's action.
    holds : bool
        ``observe``: the alert's condition holds on this run.
    severity : str, optional
        ``observe``: the severity when it holds (low, medium, high).
    for_runs, cooldown_days : int
        The kind's policy (``rules/alerts.yaml``).
    until : datetime.date, optional
        ``snooze``: the last day of the snooze.
    """

    action: str
    on: dt.date
    holds: bool = False
    severity: str | None = None
    for_runs: int = 1
    cooldown_days: int = 0
    until: dt.date | None = None


@dataclass(frozen=True)
class Effect:
    """What a transition causes: a notification (``opened`` / ``escalated``) or none."""

    notify: str
    suppressed: bool
    rule_id: str
    because: str
    from_state: str
    to_state: str


@lru_cache(maxsize=1)
def lifecycle_rules():
    """The lifecycle rule set (``engine/alerts/lifecycle.yaml``), loaded once."""
    from engine.rules import RuleSet

    text = resources.files("engine.alerts").joinpath("lifecycle.yaml").read_text("utf-8")
    return RuleSet.from_text(text, file="engine/alerts/lifecycle.yaml")


def _day_numbers(values: Any) -> np.ndarray:
    """Dates (date objects, datetime64, ISO text) -> float day numbers since 1970-01-01, NaN when missing."""
    arr = np.asarray(values)
    if not np.issubdtype(arr.dtype, np.datetime64):
        arr = pd.to_datetime(pd.Index(arr, dtype=object), errors="raise").tz_localize(None).to_numpy()
    days = arr.astype("datetime64[D]")
    out = days.astype("int64").astype("float64")
    out[np.isnat(days)] = np.nan
    return out


def _as_dates(days: np.ndarray) -> np.ndarray:
    """Float day numbers -> datetime64[ns] (NaT for NaN)."""
    out = np.full(len(days), np.datetime64("NaT"), dtype="datetime64[ns]")
    known = ~np.isnan(days)
    out[known] = days[known].astype("int64").astype("datetime64[D]").astype("datetime64[ns]")
    return out


def derive_inputs(frame: pd.DataFrame) -> pd.DataFrame:
    """The lifecycle rules' inputs from state and event columns (shared by both paths).

    ``frame`` holds :data:`STATE_COLUMNS` and :data:`EVENT_COLUMNS`. Run counters advance only
    on ``observe``: ``hit_runs`` counts consecutive runs on which the condition held (this one
    included), ``clear_runs`` consecutive runs on which it did not.
    """
    action = frame["action"].astype(str).to_numpy()
    observe = action == "observe"
    holds = frame["holds"].fillna(False).to_numpy(dtype=bool) & observe
    hit = frame["hit_runs"].to_numpy(dtype="int64")
    clear = frame["clear_runs"].to_numpy(dtype="int64")
    ranks = np.array([SEVERITY_RANK.get(v, 0) if isinstance(v, str) else 0 for v in frame["severity"]], dtype="int64")
    on = _day_numbers(frame["on"])
    return pd.DataFrame({
        "action": action,
        "state": frame["state"].astype(str).to_numpy(),
        "holds": holds,
        "hit_runs": np.where(observe, np.where(holds, hit + 1, 0), hit).astype("int64"),
        "clear_runs": np.where(observe, np.where(holds, 0, clear + 1), clear).astype("int64"),
        "for_runs": frame["for_runs"].fillna(1).to_numpy(dtype="int64"),
        "severity_rank": np.where(holds, ranks, 0).astype("int64"),
        "notified_rank": frame["notified_rank"].to_numpy(dtype="int64"),
        "days_since_notified": on - _day_numbers(frame["last_notified_on"]),
        "cooldown_days": frame["cooldown_days"].fillna(0).to_numpy(dtype="int64"),
        "days_since_opened": on - _day_numbers(frame["opened_on"]),
        # a snooze lasts up to and including its `until` day
        "snooze_days_left": _day_numbers(frame["snoozed_until"]) - on + 1.0,
    }, index=frame.index)


def apply_decisions(frame: pd.DataFrame, inputs: pd.DataFrame, decisions: pd.DataFrame) -> pd.DataFrame:
    """The new state columns and the effect of every row (shared by both paths).

    Returns a frame aligned to ``frame`` with :data:`STATE_COLUMNS` (the new state) and
    ``from_state``, ``notify``, ``suppressed``, ``refused``, ``rule_id``, ``because``.
    """
    status = decisions["status"].astype(str).to_numpy()
    if (status == "error").any():
        bad = str(decisions["reason"].to_numpy()[status == "error"][0])
        raise DataError(f"the alert lifecycle could not decide a transition: {bad}. Fix: check the state "
                        "columns of the alerts table (state, counters, dates).")
    before = frame["state"].astype(str).to_numpy()
    nxt = decisions["next_state"].astype(object).to_numpy()
    after = np.where(pd.isna(nxt), before, nxt).astype(object)
    notify = decisions["notify"].astype(str).to_numpy()
    suppressed = decisions["suppressed"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    action = frame["action"].astype(str).to_numpy()
    on = _day_numbers(frame["on"])
    # A snooze that ends opens the alert again as news: people get the full acknowledgement time
    # from that day (they had acknowledged it, or chose to defer it), not from the first opening.
    entered_open = (after == "open") & (~np.isin(before, ACTIVE_STATES) | (before == "snoozed"))
    told = notify != "none"
    # a repeat held back by the cooldown counts as told at its severity: the recipients heard of
    # the key within the cooldown, so only a later rise in severity is news
    rank = np.where(told | suppressed, inputs["severity_rank"].to_numpy(), frame["notified_rank"].to_numpy(dtype="int64"))
    rank = np.where(np.isin(after, ("inactive", "resolved")), 0, rank).astype("int64")
    until = _day_numbers(frame["until"]) if "until" in frame else np.full(len(frame), np.nan)
    snoozed = np.where(action == "snooze", until, _day_numbers(frame["snoozed_until"]))
    return pd.DataFrame({
        "state": after,
        "hit_runs": np.where(action == "resolve", 0, inputs["hit_runs"].to_numpy()).astype("int64"),
        "clear_runs": inputs["clear_runs"].to_numpy(dtype="int64"),
        "notified_rank": rank,
        "last_notified_on": _as_dates(np.where(notify == "opened", on, _day_numbers(frame["last_notified_on"]))),
        "opened_on": _as_dates(np.where(entered_open, on, _day_numbers(frame["opened_on"]))),
        "snoozed_until": _as_dates(np.where(after == "snoozed", snoozed, np.nan)),
        "from_state": before,
        "notify": notify,
        "suppressed": suppressed,
        "refused": decisions["refused"].astype("boolean").fillna(False).to_numpy(dtype=bool),
        "rule_id": decisions["rule_id"].astype(str).to_numpy(),
        "because": decisions["because"].astype(str).to_numpy(),
    }, index=frame.index)


def _check_frame(frame: pd.DataFrame) -> None:
    check_frame("transition_frame", "frame", frame, "pass the alert states joined with the run's events")
    missing = [c for c in (*STATE_COLUMNS, *EVENT_COLUMNS) if c not in frame.columns and c != "until"]
    if missing:
        raise DataError(f"transition_frame needs the columns {missing}; got {list(frame.columns)}. Fix: pass "
                        "the alert states joined with the run's events.")
    for name, allowed in (("state", STATES), ("action", ACTIONS)):
        bad = ~frame[name].astype(str).isin(allowed)
        if bad.any():
            raise DataError(f"{name} {frame[name][bad].iloc[0]!r} in row {frame.index[bad][0]!r} is not one of "
                            f"{list(allowed)}. Fix: correct the alerts table.")


def transition_frame(frame: pd.DataFrame, engine: str | None = None, *, backend: str | None = None) -> pd.DataFrame:
    """Advance every row (one alert key and its event) by one step.

    Parameters
    ----------
    frame : pandas.DataFrame
        :data:`STATE_COLUMNS` (the current state) and :data:`EVENT_COLUMNS` (what happened).
    engine : {"vectorized", "durable"}, default "vectorized"
        The rule engine that decides (identical results; vectorized is the batch path).
        ``backend=`` is the old name (deprecated: ``backend`` is where a run executes).

    Returns
    -------
    pandas.DataFrame
        See :func:`apply_decisions`.
    """
    engine = rule_engine(engine, backend, "vectorized", "transition_frame")
    _check_frame(frame)
    if frame.empty:
        return apply_decisions(frame, derive_inputs(frame), pd.DataFrame(
            {"next_state": [], "notify": [], "suppressed": [], "refused": [], "rule_id": [], "because": [],
             "status": [], "reason": []}, index=frame.index))
    inputs = derive_inputs(frame)
    decisions = lifecycle_rules().evaluate(inputs.reset_index(drop=True), engine=engine)
    decisions.index = frame.index
    return apply_decisions(frame, inputs, decisions)


def _frame_of(state: AlertState, event: Event) -> pd.DataFrame:
    row = {**state.__dict__, **event.__dict__}
    return pd.DataFrame([row], columns=[*STATE_COLUMNS, *EVENT_COLUMNS])


def transition(state: AlertState, event: Event, engine: str | None = None, *,
               backend: str | None = None) -> tuple[AlertState, Effect]:
    """Advance one alert key by one event: the pure transition function ``(state, event) -> (state, effect)``.

    Decided by durable_rules by default (the one-event path); ``engine="vectorized"`` gives
    the same answer (``backend=`` is the old name of ``engine=``, deprecated).

    Raises
    ------
    AlertStateError
        The event is a person's action that does not fit the state (``ack`` of a pending
        alert, ``resolve`` of a resolved one).

    Examples
    --------
    >>> import datetime as dt
    >>> s, e = transition(AlertState(), Event("observe", dt.date(2026, 1, 5), True, "high", for_runs=1, cooldown_days=30))
    >>> s.state, e.notify
    ('open', 'opened')
    """
    engine = rule_engine(engine, backend, "durable", "transition")
    check_type("transition", "state", state, AlertState, "pass an engine.alerts.AlertState")
    check_type("transition", "event", event, Event, "pass an engine.alerts.Event")
    if event.action not in ACTIONS:
        raise AlertStateError(f"action {event.action!r} is not one of {list(ACTIONS)}.")
    if event.action == "snooze" and event.until is None:
        raise AlertStateError("a snooze needs the last day it lasts (until=DATE). Fix: pass --until 2026-12-31.")
    frame = _frame_of(state, event)
    inputs = derive_inputs(frame)
    record = inputs.iloc[0].to_dict()
    decision = lifecycle_rules().decide(
        {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in record.items()}, engine=engine
    )
    outputs = dict(decision.outputs)
    decisions = pd.DataFrame([{**outputs, "rule_id": decision.rule_id, "because": decision.because,
                               "status": decision.status, "reason": decision.reason}])
    result = apply_decisions(frame, inputs, decisions).iloc[0]
    if bool(result["refused"]):
        raise AlertStateError(f"cannot {event.action} an alert that is {state.state}: {result['because']}")

    def day(value):
        return None if pd.isna(value) else pd.Timestamp(value).date()

    new = replace(
        state, state=str(result["state"]), hit_runs=int(result["hit_runs"]), clear_runs=int(result["clear_runs"]),
        notified_rank=int(result["notified_rank"]), last_notified_on=day(result["last_notified_on"]),
        opened_on=day(result["opened_on"]), snoozed_until=day(result["snoozed_until"]),
    )
    effect = Effect(str(result["notify"]), bool(result["suppressed"]), str(result["rule_id"]), str(result["because"]),
                    state.state, new.state)
    return new, effect

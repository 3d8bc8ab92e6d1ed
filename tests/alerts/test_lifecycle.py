"""The alert lifecycle: both engines give the same transitions, and its invariants hold."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine._paths import default_rules_dir
from engine.alerts import (
    ACTIVE_STATES,
    AlertState,
    AlertStateError,
    Event,
    lifecycle_rules,
    transition,
    transition_frame,
)
from engine.alerts._lifecycle import STATE_COLUMNS
from engine.rules import check_rules

START = dt.date(2026, 1, 1)
RESOLVE_AFTER = lifecycle_rules().spec.parameters["resolve_after_clear_runs"]
ESCALATE_AFTER = lifecycle_rules().spec.parameters["escalate_unacked_days"]


def test_lifecycle_and_policies_pass_the_rules_check():
    from importlib import resources

    lifecycle = resources.files("engine.alerts").joinpath("lifecycle.yaml")
    assert check_rules([str(lifecycle)]) == []
    assert check_rules([default_rules_dir() / "alerts.yaml"]) == []


observe = st.builds(
    lambda holds, sev, gap: ("observe", holds, sev, gap, None),
    st.booleans(), st.sampled_from(["low", "medium", "high"]), st.integers(0, 40),
)
person = st.builds(
    lambda action, gap, span: (action, False, None, gap, span),
    st.sampled_from(["ack", "snooze", "resolve"]), st.integers(0, 10), st.integers(0, 60),
)
histories = st.lists(st.one_of(observe, observe, observe, person), min_size=1, max_size=14)
policies = st.tuples(st.integers(1, 3), st.sampled_from([0, 7, 30, 90]))


def _play(history, for_runs, cooldown, backend):
    """Apply a history to one key; refused actions are skipped. Returns [(day, state, effect)]."""
    state, day, out = AlertState(), START, []
    for action, holds, severity, gap, span in history:
        day = day + dt.timedelta(days=gap)
        until = day + dt.timedelta(days=span) if action == "snooze" else None
        event = Event(action, day, holds, severity, for_runs, cooldown, until)
        try:
            state, effect = transition(state, event, engine=backend)
        except AlertStateError:
            out.append((day, state, None, event))
            continue
        out.append((day, state, effect, event))
    return out


@settings(max_examples=30)
@given(histories, policies)
def test_durable_and_vectorized_give_the_same_transitions(history, policy):
    durable = _play(history, *policy, backend="durable")
    vectorized = _play(history, *policy, backend="vectorized")
    assert durable == vectorized


@settings(max_examples=15)
@given(st.lists(st.tuples(histories, policies), min_size=1, max_size=6), st.integers(0, 10))
def test_a_whole_run_in_one_frame_equals_one_event_at_a_time(keys, step):
    """transition_frame over many keys (vectorized) equals transition per key (durable_rules)."""
    rows, expected = [], []
    for history, (for_runs, cooldown) in keys:
        played = _play(history[:-1], for_runs, cooldown, backend="vectorized")
        state = played[-1][1] if played else AlertState()
        day = (played[-1][0] if played else START) + dt.timedelta(days=step)
        action, holds, severity, _, span = history[-1]
        event = Event(action, day, holds, severity, for_runs, cooldown,
                      day + dt.timedelta(days=span) if action == "snooze" else None)
        rows.append({**state.__dict__, **event.__dict__})
        try:
            expected.append(transition(state, event, engine="durable"))
        except AlertStateError:
            expected.append(None)
    frame = pd.DataFrame(rows)
    result = transition_frame(frame)
    for i, want in enumerate(expected):
        got = result.iloc[i]
        if want is None:
            assert bool(got["refused"])
            continue
        new, effect = want
        assert got["state"] == new.state and got["notify"] == effect.notify
        assert bool(got["suppressed"]) == effect.suppressed and got["rule_id"] == effect.rule_id
        for column in STATE_COLUMNS[1:4]:
            assert int(got[column]) == getattr(new, column)


@settings(max_examples=40)
@given(histories, policies)
def test_no_key_is_told_opened_twice_within_its_cooldown(history, policy):
    opened = [day for day, _, effect, _ in _play(history, *policy, "vectorized") if effect and effect.notify == "opened"]
    cooldown = policy[1]
    assert all((b - a).days >= cooldown for a, b in zip(opened, opened[1:]))


@settings(max_examples=40)
@given(histories, policies)
def test_nothing_is_sent_while_snoozed_and_no_alert_before_its_runs(history, policy):
    for_runs = policy[0]
    for _day, state, effect, event in _play(history, *policy, "vectorized"):
        if effect is None:
            continue
        if effect.from_state == "snoozed" and state.state == "snoozed":
            assert effect.notify == "none"
        if effect.notify == "opened" and effect.from_state != "snoozed":
            assert event.holds and state.hit_runs >= for_runs
        if effect.notify == "escalated" and effect.rule_id == "unacknowledged":
            assert effect.from_state == "open"  # an acknowledged alert is never escalated for being unacknowledged


@settings(max_examples=30)
@given(histories, policies)
def test_an_escalation_for_severity_is_news(history, policy):
    """Escalated for severity only above the severity last told (or held back by the cooldown)."""
    rank = {"low": 1, "medium": 2, "high": 3}
    told = 0
    for _, state, effect, event in _play(history, *policy, "vectorized"):
        if effect is None:
            continue
        if effect.rule_id == "severity-rose":
            assert rank[event.severity] > told
        if effect.notify != "none" or effect.suppressed:
            told = rank.get(event.severity, 0)
        if state.state in ("inactive", "resolved"):
            told = 0


@settings(max_examples=30)
@given(histories, policies)
def test_every_alert_can_resolve(history, policy):
    """From any reachable state, enough clear runs (after any snooze ends) resolve an active alert."""
    played = _play(history, *policy, "vectorized")
    state, day = played[-1][1], played[-1][0]
    if state.snoozed_until is not None:
        day = max(day, state.snoozed_until) + dt.timedelta(days=1)
    for _ in range(RESOLVE_AFTER + 1):
        day += dt.timedelta(days=1)
        state, _ = transition(state, Event("observe", day, False, None, *policy), engine="vectorized")
    assert state.state not in ACTIVE_STATES
    assert state.state in ("resolved", "inactive")


def test_the_documented_path():
    """pending for N runs -> open -> escalated (severity rose) -> resolved after M clear runs; cooldown."""
    s = AlertState()
    steps = [(True, "medium"), (True, "medium"), (True, "high"), (False, None), (False, None), (True, "medium"),
             (True, "medium")]
    seen = []
    for i, (holds, severity) in enumerate(steps):
        s, e = transition(s, Event("observe", START + dt.timedelta(days=10 * i), holds, severity, 2, 90))
        seen.append((s.state, e.notify, e.suppressed))
    assert seen == [
        ("pending", "none", False), ("open", "opened", False), ("escalated", "escalated", False),
        ("escalated", "none", False), ("resolved", "none", False), ("pending", "none", False),
        ("open", "none", True),  # within the 90-day cooldown: reopened silently
    ]


def test_unacknowledged_alerts_escalate_and_acknowledged_ones_do_not():
    s, _ = transition(AlertState(), Event("observe", START, True, "medium", 1, 30))
    later = START + dt.timedelta(days=ESCALATE_AFTER)
    escalated, effect = transition(s, Event("observe", later, True, "medium", 1, 30))
    assert (escalated.state, effect.notify) == ("escalated", "escalated")
    acked, _ = transition(s, Event("ack", START))
    kept, effect = transition(acked, Event("observe", later, True, "medium", 1, 30))
    assert (kept.state, effect.notify) == ("acknowledged", "none")


def test_snooze_until_a_date_then_told_again():
    s, _ = transition(AlertState(), Event("observe", START, True, "medium", 1, 7))
    s, _ = transition(s, Event("snooze", START, until=START + dt.timedelta(days=20)))
    quiet, e = transition(s, Event("observe", START + dt.timedelta(days=20), True, "high", 1, 7))
    assert (quiet.state, e.notify) == ("snoozed", "none")
    back, e = transition(quiet, Event("observe", START + dt.timedelta(days=21), True, "medium", 1, 7))
    assert (back.state, e.notify) == ("open", "opened")


@pytest.mark.parametrize("backend", ["durable", "vectorized"])
def test_acknowledged_then_snoozed_is_not_escalated_as_unacknowledged_when_the_snooze_ends(backend):
    s, _ = transition(AlertState(), Event("observe", START, True, "medium", 1, 30), backend)
    s, _ = transition(s, Event("ack", START + dt.timedelta(days=1)), backend)
    s, _ = transition(s, Event("snooze", START + dt.timedelta(days=1), until=START + dt.timedelta(days=30)), backend)
    back, e = transition(s, Event("observe", START + dt.timedelta(days=31), True, "medium", 1, 30), backend)
    assert back.state == "open"
    nxt, e = transition(back, Event("observe", START + dt.timedelta(days=32), True, "medium", 1, 30), backend)
    assert (nxt.state, e.notify) == ("open", "none")  # not "escalated: nobody acknowledged it"
    late = START + dt.timedelta(days=31 + ESCALATE_AFTER)
    due, e = transition(nxt, Event("observe", late, True, "medium", 1, 30), backend)
    assert (due.state, e.notify) == ("escalated", "escalated")  # the clock restarted when the snooze ended


@pytest.mark.parametrize("action,state", [("ack", "pending"), ("snooze", "inactive"), ("resolve", "resolved")])
def test_actions_that_do_not_fit_are_refused_with_a_reason(action, state):
    with pytest.raises(AlertStateError, match=f"cannot {action} an alert that is {state}"):
        transition(AlertState(state=state), Event(action, START, until=START))


def test_more_keys_than_durable_rules_holds_states():
    """durable_rules holds at most 1,024 states per host; alert state lives in kam's table, so
    2,000 keys decided by durable_rules in one go give the vectorized answer."""
    n = 2_000
    frame = pd.DataFrame({
        "state": ["inactive", "pending", "open", "acknowledged"] * (n // 4), "hit_runs": [0, 1, 1, 3] * (n // 4),
        "clear_runs": 0, "notified_rank": [0, 0, 2, 2] * (n // 4), "last_notified_on": pd.NaT, "opened_on": pd.NaT,
        "snoozed_until": pd.NaT, "action": "observe", "on": pd.Timestamp(START), "holds": [True, True, True, False] * (n // 4),
        "severity": "high", "for_runs": 2, "cooldown_days": 30, "until": pd.NaT,
    })
    pd.testing.assert_frame_equal(transition_frame(frame, engine="durable"), transition_frame(frame))

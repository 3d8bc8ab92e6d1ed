"""The old ``backend=`` keyword of the rule-driven alert functions picks the rule engine it names.

A spy on ``RuleSet.evaluate`` / ``RuleSet.decide`` records the engine each call really used, so a
shim that warns and then drops ``backend=`` (running the default engine) fails here. Every call
asks for the engine that is NOT the function's default.
"""

from __future__ import annotations

import datetime as dt
import inspect
from collections.abc import Callable

import pandas as pd
import pytest
from alerts_factories import AS_OF, scores_for, write_scoring_run

import engine
from engine.alerts import (
    AlertState,
    Event,
    advance,
    evaluate_policies,
    evaluate_run,
    load_alert_rules,
    transition,
)
from engine.alerts._evaluate import empty_states
from engine.alerts._lifecycle import _frame_of, transition_frame
from engine.alerts._signals import build_signals
from engine.rules import RuleSet
from engine.storage import Database


@pytest.fixture
def engines_used(monkeypatch) -> list[str]:
    """Every rule engine ``RuleSet.evaluate`` / ``RuleSet.decide`` runs with while the test runs."""
    used: list[str] = []
    for method in ("evaluate", "decide"):
        original = getattr(RuleSet, method)
        signature = inspect.signature(original)

        def spy(self, *args, _original=original, _signature=signature, _method=method, **kwargs):
            asked = _signature.bind(self, *args, **kwargs).arguments.get("engine")
            used.append(asked or ("vectorized" if _method == "evaluate" else "durable"))
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(RuleSet, method, spy)
    return used


@pytest.fixture(scope="module")
def signals(world) -> pd.DataFrame:
    from engine.features import build_account_features

    risky = sorted(world["customers"]["account_id"].astype(str))[:4]
    return build_signals(scores_for(world, AS_OF, risky), build_account_features(world, AS_OF), world, AS_OF)


def _event() -> Event:
    return Event("observe", dt.date(2026, 1, 5), True, "high", for_runs=1, cooldown_days=30)


def _ran_with(used: list[str], call: Callable[[], object], asked: str) -> object:
    """Run ``call`` (which passes ``backend=asked``); it warns, and every rule evaluation used ``asked``."""
    used.clear()
    with pytest.warns(engine.KamDeprecationWarning, match=rf"\(backend='{asked}'\) is now .*\(engine='{asked}'\)"):
        result = call()
    assert used, "no rule set was evaluated"
    assert set(used) == {asked}, f"backend={asked!r} ran {sorted(set(used))}"
    return result


def test_evaluate_policies_backend_runs_the_engine_it_names(engines_used, signals):
    rules = load_alert_rules()
    old = _ran_with(engines_used, lambda: evaluate_policies(signals, rules, AS_OF, backend="durable"), "durable")
    assert len(old) > 0  # the risky accounts match: the durable engine really decided rows
    pd.testing.assert_frame_equal(old, evaluate_policies(signals, rules, AS_OF, engine="durable"))


def test_transition_frame_backend_runs_the_engine_it_names(engines_used):
    frame = _frame_of(AlertState(), _event())
    old = _ran_with(engines_used, lambda: transition_frame(frame, backend="durable"), "durable")
    pd.testing.assert_frame_equal(old, transition_frame(frame, engine="durable"))


def test_transition_backend_runs_the_engine_it_names(engines_used):
    """transition's default is durable (one event): the old keyword asks for vectorized."""
    old = _ran_with(engines_used, lambda: transition(AlertState(), _event(), backend="vectorized"), "vectorized")
    assert old == transition(AlertState(), _event(), engine="vectorized")


def test_advance_backend_runs_the_engine_it_names(engines_used, signals):
    matches = evaluate_policies(signals, load_alert_rules(), AS_OF)
    assert len(matches) > 0
    old = _ran_with(engines_used, lambda: advance(empty_states(), matches, signals, AS_OF, "run-1", backend="durable",
                                                   now="2026-10-01T06:00:00"), "durable")
    new = advance(empty_states(), matches, signals, AS_OF, "run-1", engine="durable", now="2026-10-01T06:00:00")
    for got, expected in zip(old, new):  # type: ignore[call-overload]
        pd.testing.assert_frame_equal(got, expected)


def test_evaluate_run_backend_runs_the_engine_it_names(engines_used, world, tmp_path):
    db = Database(tmp_path / "kam.sqlite")
    try:
        run = write_scoring_run(db, world, AS_OF, sorted(world["customers"]["account_id"].astype(str))[:4])
        summary = _ran_with(engines_used, lambda: evaluate_run(db, run, tables=world, backend="durable"), "durable")
        assert summary.evaluated  # type: ignore[attr-defined]
    finally:
        db.dispose()


@pytest.mark.parametrize("call", [
    lambda s, d: evaluate_policies(s, load_alert_rules(), AS_OF, engine="vectorized", backend="durable"),
    lambda s, d: transition_frame(_frame_of(AlertState(), _event()), engine="vectorized", backend="durable"),
    lambda s, d: transition(AlertState(), _event(), engine="durable", backend="vectorized"),
    lambda s, d: advance(empty_states(), pd.DataFrame(), s, AS_OF, "run-1", engine="vectorized", backend="durable"),
    lambda s, d: evaluate_run(d / "absent.sqlite", engine="vectorized", backend="durable"),
], ids=["evaluate_policies", "transition_frame", "transition", "advance", "evaluate_run"])
def test_engine_and_backend_that_disagree_are_a_config_error(call, signals, tmp_path):
    with pytest.warns(engine.KamDeprecationWarning), pytest.raises(engine.ConfigError,
                                                                   match=r"expected one rule engine; got engine="):
        call(signals, tmp_path)
    assert not (tmp_path / "absent.sqlite").exists()  # refused before any database is opened

"""One as-of normaliser (engine/_asof.py): one meaning of None, one error, at every entry point."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import engine
from engine._asof import as_of_date
from engine.rules import RuleSet

RULES = """
name: t
version: "1"
hit_policy: first
inputs:
  days: date
outputs:
  tier: {type: enum, values: [a, b]}
rules:
  - id: recent
    when: days_since(days) < 30
    then: {tier: a}
    because: seen in the last 30 days
default:
  then: {tier: b}
  because: not seen for 30 days
"""


@pytest.fixture
def ruleset(tmp_path) -> RuleSet:
    path = tmp_path / "t.yaml"
    path.write_text(RULES)
    return engine.load_rules(path)


@pytest.mark.parametrize("value", [
    "2024-06-30", "2024-06-30T23:59:00", " 2024-06-30 ", "20240630", dt.date(2024, 6, 30), dt.datetime(2024, 6, 30, 18),
    pd.Timestamp("2024-06-30 12:00"), np.datetime64("2024-06-30"),
    pd.Timestamp("2024-06-30 23:30", tz="America/New_York"),  # its own local date, not UTC's
])
def test_every_date_form_is_the_same_calendar_date(value):
    assert as_of_date(value) == dt.date(2024, 6, 30)


@pytest.mark.parametrize(("value", "fix"), [
    ("30/06/2024", "'2024-06-30'"),
    ("06/30/2024", "'2024-06-30'"),
    ("01/02/2024", "could be day/month or month/day"),
    ("someday", "such as '2026-10-01'"),
    (20240630, "such as '2026-10-01'"),
    (pd.NaT, "such as '2026-10-01'"),
    ("2024-02-30", "such as '2026-10-01'"),
    ("20240230", "such as '2026-10-01'"),
    ("2024630", "such as '2026-10-01'"),
    ("202406301", "such as '2026-10-01'"),
])
def test_anything_else_is_one_error_with_expected_got_fix(value, fix):
    with pytest.raises(engine.AsOfError) as info:
        as_of_date(value)
    message = str(info.value)
    assert message.startswith("expected as_of as a date") and f"got {value!r}" in message and fix in message
    assert isinstance(info.value, engine.ConfigError) and isinstance(info.value, TypeError)


def test_every_entry_point_raises_the_same_error_for_a_day_first_date(ruleset):
    frame = pd.DataFrame({"days": [dt.date(2024, 6, 1)]})
    calls = [
        lambda: ruleset.evaluate(frame, as_of="30/06/2024"),
        lambda: ruleset.evaluate(frame, engine="durable", as_of="30/06/2024"),
        lambda: ruleset.decide({"days": dt.date(2024, 6, 1)}, as_of="30/06/2024"),
        lambda: engine.validate_tables({}, as_of="30/06/2024"),
        lambda: engine.build_account_features({"customers": pd.DataFrame({"account_id": []})}, "30/06/2024"),
        lambda: engine.score_frame({}, as_of="30/06/2024"),
    ]
    for call in calls:
        with pytest.raises(engine.AsOfError, match="write the date year first, as '2024-06-30'"):
            call()


def test_every_other_date_argument_reads_dates_the_same_way(tmp_path):
    """The alerts' as-of (``on=``, ``advance``, the signals), ``until=`` and the demo's ``end_date``."""
    from engine.alerts import advance
    from engine.alerts._signals import complaint_and_competitor_signals

    empty = pd.DataFrame()
    calls = {
        "as_of": [lambda: advance(empty, empty, empty, "06/07/2024", "run"),
                  lambda: complaint_and_competitor_signals({}, "06/07/2024")],
        "end_date": [lambda: engine.generate_demo_tables(accounts=10, end_date="06/07/2024")],
        "until": [lambda: engine._asof.calendar_date("06/07/2024", name="until")],
    }
    for name, name_calls in calls.items():
        for call in name_calls:
            with pytest.raises(engine.AsOfError, match=rf"^expected {name} as a date .*could be day/month or month/day"):
                call()


@pytest.mark.parametrize("argv, option", [
    (["alerts", "snooze", "A1:churn_risk", "--until", "06/07/2024"], "--until"),
    (["rules", "diff", "rules/tiers.yaml", "rules/tiers.yaml", "--as-of", "2024/06/30"], "--as-of"),
    (["score", "--as-of", "30/06/2024"], "--as-of"),
    (["validate", "--as-of", "30/06/2024"], "--as-of"),
    (["route", "--lead", "LEAD.json", "--as-of", "30/06/2024"], "--as-of"),
])
def test_the_command_line_reads_a_date_option_as_the_library_does(argv, option, tmp_path, capsys):
    """A usage error (exit 2) with the library's own message, before any database is opened."""
    from engine.cli import main

    (tmp_path / "LEAD.json").write_text('{"opportunity_id": "O1", "account_id": "A1"}')
    argv = [str(tmp_path / word) if word == "LEAD.json" else word for word in argv]
    code = main([*argv, "--db", str(tmp_path / "absent.sqlite")])
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2 and f"expected {option} as a date written YYYY-MM-DD" in err, err
    assert f"Fix: pass {option} as YYYY-MM-DD" in err and "datetime.date(" not in err, err


def test_kam_rules_check_reads_its_as_of_as_the_other_commands_do(capsys):
    from engine.cli import main

    code = main(["rules", "check", "rules/plan.yaml", "--as-of", "30/06/2024"])
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2 and "expected --as-of as a date written YYYY-MM-DD" in err, err


def test_the_command_line_takes_the_basic_iso_form_as_main_did(tmp_path, capsys):
    """``--as-of 20240630`` (what ``date.fromisoformat`` read before the one normaliser) still works."""
    from engine.cli import main

    rules = tmp_path / "t.yaml"
    rules.write_text(RULES)
    code = main(["rules", "diff", str(rules), str(rules), "--as-of", "20240630", "--db", str(tmp_path / "absent.sqlite")])
    err = " ".join(capsys.readouterr().err.split())
    assert "expected --as-of as a date" not in err, err
    assert code != 2, err  # not a usage error: the date was read (the absent database is the next complaint)


def test_none_is_the_day_after_the_newest_event_or_today_utc():
    today = dt.date(2026, 10, 3)
    orders = pd.DataFrame({"order_date": ["2026-09-29", "2026-09-30", "2099-01-01"]})
    assert as_of_date(None, {"orders": orders}, today=today) == dt.date(2026, 10, 1)
    assert as_of_date(None, {}, today=today) == today  # nothing dated
    assert as_of_date(None, today=today) == today  # no data at all (a rule set, a feature frame)
    before = pd.Timestamp.now(tz="UTC").date()
    assert as_of_date(None) in {before, pd.Timestamp.now(tz="UTC").date()}  # (the test may run across midnight)


def test_rules_count_days_from_the_same_date(ruleset):
    frame = pd.DataFrame({"days": [dt.date(2024, 6, 10)]})
    for value in ["2024-06-30", dt.datetime(2024, 6, 30, 23), np.datetime64("2024-06-30")]:
        assert ruleset.evaluate(frame, as_of=value)["tier"].tolist() == ["a"]
    assert ruleset.evaluate(frame, as_of="2024-08-30")["tier"].tolist() == ["b"]


@settings(max_examples=200, deadline=None)
@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2200, 12, 31)))
def test_iso_text_round_trips(day):
    assert as_of_date(day.isoformat()) == day == as_of_date(pd.Timestamp(day))
    assert as_of_date(day.strftime("%Y%m%d")) == day == engine._asof.calendar_date(day.strftime("%Y%m%d"), name="--as-of")
    with pytest.raises(engine.AsOfError):
        as_of_date(day.strftime("%d/%m/%Y"))


def test_engine_names_the_rule_engine_and_backend_still_works_with_a_warning(ruleset):
    """issue 15: ``backend=`` meant vectorized|durable here and local|dask in score; rules say engine=."""
    frame = pd.DataFrame({"days": [dt.date(2024, 6, 10)]})
    expected = ruleset.evaluate(frame, engine="durable", as_of="2024-06-30")
    with pytest.warns(engine.KamDeprecationWarning, match=r"RuleSet.evaluate\(backend='durable'\) is now"):
        old = ruleset.evaluate(frame, backend="durable", as_of="2024-06-30")
    pd.testing.assert_frame_equal(old, expected)
    with pytest.warns(engine.KamDeprecationWarning):
        assert ruleset.decide({"days": dt.date(2024, 6, 10)}, as_of="2024-06-30", backend="vectorized").outputs == {"tier": "a"}
    with pytest.raises(engine.ConfigError, match="did you mean 'durable'"):
        ruleset.evaluate(frame, engine="durabel")

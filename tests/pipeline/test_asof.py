"""One rule for the default as-of date, shared by every command (issue 11)."""

from __future__ import annotations

import datetime as dt
import warnings

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine._asof import STALE_AFTER_DAYS, default_as_of, newest_event_date, resolve_as_of
from engine._errors import ConfigError, StaleDataWarning
from engine.storage import Database

TODAY = dt.date(2026, 11, 29)

dates = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2100, 12, 31))
cells = st.one_of(dates.map(dt.date.isoformat), st.none(), st.sampled_from(["2023/10/13", "20231013", "", "x", "2023-10"]))


@given(orders=st.lists(cells, max_size=20), visits=st.lists(cells, max_size=20))
def test_default_as_of_is_the_day_after_the_newest_usable_event_on_or_before_today(orders, visits):
    frames = {"orders": pd.DataFrame({"order_date": pd.Series(orders, dtype=object)}),
              "visits": pd.DataFrame({"visit_date": pd.Series(visits, dtype=object)})}
    usable = []
    for value in orders + visits:
        try:
            day = dt.date.fromisoformat(value) if value and len(value) == 10 and value[4] == "-" else None
        except ValueError:
            day = None
        if day is not None and day <= TODAY:
            usable.append(day)
    expected = max(usable) + dt.timedelta(days=1) if usable else TODAY
    assert default_as_of(frames, today=TODAY) == expected


def test_a_mistyped_future_year_does_not_move_the_default(tmp_path):
    frames = {"orders": pd.DataFrame({"order_date": ["2026-11-20", "2062-11-20"]})}
    assert default_as_of(frames, today=TODAY) == dt.date(2026, 11, 21)


def test_database_and_frames_agree_and_bad_cells_are_skipped(tmp_path):
    import sqlite3

    path = tmp_path / "db.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE orders (order_date TEXT)")
    conn.executemany("INSERT INTO orders VALUES (?)",
                     [("2026-09-30",), ("2099-01-01",), (b"\xff\xfe",), ("2026/10/13",), (20261013,), (None,)])
    conn.execute("CREATE TABLE visits (visit_date TEXT)")
    conn.execute("INSERT INTO visits VALUES ('2026-10-02')")
    conn.commit()
    conn.close()
    with Database(path, readonly=True) as db:
        assert newest_event_date(db, today=TODAY) == dt.date(2026, 10, 2)
        assert default_as_of(db, today=TODAY) == dt.date(2026, 10, 3)


def test_stale_data_warns_and_fresh_data_does_not():
    stale = {"orders": pd.DataFrame({"order_date": ["2026-09-30"]})}
    with pytest.warns(StaleDataWarning, match="60 days before today"):
        assert resolve_as_of(None, stale, today=TODAY) == dt.date(2026, 10, 1)
    fresh = {"orders": pd.DataFrame({"order_date": [(TODAY - dt.timedelta(days=STALE_AFTER_DAYS)).isoformat()]})}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        resolve_as_of(None, fresh, today=TODAY)


def test_an_explicit_as_of_far_after_the_data_warns():
    frames = {"orders": pd.DataFrame({"order_date": ["2026-09-30"]})}
    with pytest.warns(StaleDataWarning, match="after the newest event"):
        assert resolve_as_of("2026-12-31", frames, today=TODAY) == dt.date(2026, 12, 31)


def test_no_dated_row_means_today_and_a_bad_date_is_a_config_error():
    assert default_as_of({}, today=TODAY) == TODAY
    with pytest.raises(ConfigError, match="2026-10-01"):
        resolve_as_of("yesterday", {}, today=TODAY)

"""One strict ISO date reader for validation and features: non-ISO forms are refused, with a fix."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st
from validate_factories import AS_OF, valid_tables

from engine import DataError
from engine._normalise import day_numbers
from engine.validate import date_hint, parse_iso_days, validate_tables

EPOCH = dt.date(1970, 1, 1)
TIME = st.sampled_from(["", "T00:00", "T23:59:59", " 12:30:00.123456", "T08:00Z", "T08:00+08:00", "T08:00-0530"])


def _reference(text: str | None):
    """Python's own reading: YYYY-MM-DD, optionally a time and offset (the wall date is kept)."""
    if text is None or not text.strip():
        return "blank"
    text = text.strip()
    head, tail = text[:10], text[10:]
    if len(head) != 10 or head[4] != "-" or head[7] != "-" or not (head[:4] + head[5:7] + head[8:]).isascii():
        return None
    if not (head[:4] + head[5:7] + head[8:]).isdigit():
        return None
    try:
        day = dt.date.fromisoformat(head)
    except ValueError:
        return None
    if tail:
        if tail[0] not in "T " or not tail[1:]:
            return None
        try:
            dt.time.fromisoformat(tail[1:].replace("z", "Z"))
        except ValueError:
            return None
        import re

        if not re.fullmatch(r"[T ]\d\d:\d\d(:\d\d(\.\d{1,9})?)?([zZ]|[+-]\d\d(:?\d\d)?)?", tail):
            return None
    return (day - EPOCH).days


CELLS = st.one_of(
    st.none(),
    st.builds(lambda d, t: d.isoformat() + t, st.dates(), TIME),
    st.sampled_from(["2023/10/13", "20231013", "2023-10", "2023-1-5", "2023-02-30", "2024-02-29", " 2024-01-05 ",
                     "", "  ", "2023-10-13T25:00", "2023-10-13T", "２０２３-10-13", "2023-10-13x", "NaT"]),
    st.text(max_size=14),
)


@given(st.lists(CELLS, max_size=40))
def test_parse_iso_days_agrees_with_pythons_strict_reading(cells):
    days, ok, blank = parse_iso_days(pa.array(cells, type=pa.large_string()))
    for cell, d, good, empty in zip(cells, days, ok, blank):
        expected = _reference(cell)
        if expected == "blank":
            assert empty and not good, cell
        elif expected is None:
            assert not good and not empty, cell
        else:
            assert good and d == expected, cell


@pytest.mark.parametrize(("value", "fix"), [
    ("2023/10/13", "write it as 2023-10-13"),
    ("20231013", "write it as 2023-10-13"),
    ("2023-10", "a month is not a date: write the day too, e.g. 2023-10-01"),
    ("2023-1-5", "write it as 2023-01-05"),
    ("2023-02-30", "there is no day 30 in month 2 of 2023"),
])
def test_non_iso_dates_are_wrong_type_with_a_fix(value, fix):
    """`2023/10/13` and `20231013` passed and `2023-10` silently became 2023-10-01."""
    tables = valid_tables(rows=20, seed=4)
    orders = tables["orders"]
    orders["order_date"] = orders["order_date"].astype(str).astype(object)
    orders.loc[orders.index[0], "order_date"] = value
    report = validate_tables(tables, as_of=AS_OF)
    own = report.failures[(report.failures["table"] == "orders") & (report.failures["column"] == "order_date")]
    assert own[["row", "reason"]].values.tolist() == [[0, "wrong_type"]]
    assert fix in own["message"].iloc[0]
    assert date_hint(value) == fix


@pytest.mark.parametrize("value", ["2023/10/13", "20231013", "2023-10"])
def test_features_refuse_non_iso_dates_too(value):
    with pytest.raises(DataError, match="expected ISO dates"):
        day_numbers(pd.Series(["2023-10-12", value], dtype="str"), where="orders.order_date")


def test_features_read_iso_dates_and_datetimes_like_validation():
    values = pd.Series(["1970-01-02", "1970-01-03T23:59:00+08:00", None], dtype="str")
    days = day_numbers(values)
    assert days[:2].tolist() == [1, 2] and days[2] > 10**6
    assert np.array_equal(parse_iso_days(pa.array(["1970-01-02", "1970-01-03T23:59:00+08:00", None]))[0][:2], days[:2])

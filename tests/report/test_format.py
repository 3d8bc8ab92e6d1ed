"""Numbers formatted for people: thousands separators, CNY, percentages (property tests)."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from engine.report._render import format_cny, format_number, format_percent

finite = st.floats(min_value=-1e13, max_value=1e13, allow_nan=False, allow_infinity=False)


@given(finite)
def test_thousands_separators_read_back_as_the_rounded_number(value):
    text = format_number(value)
    assert float(text.replace(",", "")) == float(f"{value:.0f}") or text == "0"
    digits = text.lstrip("-").split(",")
    assert all(len(group) == 3 for group in digits[1:]) and 1 <= len(digits[0]) <= 3


@given(finite)
def test_cny_names_the_currency_and_keeps_the_sign(value):
    text = format_cny(value)
    assert text.lstrip("−").startswith("CNY ")
    assert text.startswith("−") == (value < 0 and text != "CNY 0"), "no sign on an amount shown as 0"
    compact = format_cny(value, compact=True)
    if abs(value) >= 1e3:
        assert compact.split()[-1] in ("k", "m", "bn")


@given(st.floats(min_value=-10, max_value=10, allow_nan=False))
def test_percentages_and_points(value):
    assert float(format_percent(value, digits=2).rstrip("%")) == float(f"{value * 100:.2f}")
    assert format_percent(value, signed=True, points=True).endswith(" pp")


def test_missing_values_show_a_dash():
    assert format_number(None) == format_cny(math.nan) == format_percent(None) == "–"

"""Render the report's numbers into one self-contained HTML page (Jinja2, inline CSS and SVG).

The page loads nothing: no script, no font, no image, no style sheet from anywhere else; its
Content-Security-Policy forbids every fetch, so a mail client or browser that opens it from a
shared folder makes no request at all.
"""

from __future__ import annotations

import math
from importlib import resources
from typing import Any

from engine._arguments import check_mapping
from engine.report._charts import render_charts

__all__ = ["SECTIONS", "format_cny", "format_number", "format_percent", "render_report"]

#: The page's sections, in order: (id, heading).
SECTIONS = (
    ("headline", "Headline"),
    ("tiers", "Tiers"),
    ("territories", "Territories"),
    ("routes", "Routes and people"),
    ("risk", "Risk"),
    ("alerts-plans", "Alerts and plans"),
    ("models", "Models"),
    ("rules", "Rules"),
    ("manifest", "Run manifest"),
)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def format_number(value: Any, digits: int = 0, signed: bool = False) -> str:
    """A number with thousands separators (``1,234,567``); an en dash when missing.

    Examples
    --------
    >>> format_number(1234567.4), format_number(-3.14159, 2), format_number(12, signed=True), format_number(None)
    ('1,234,567', '-3.14', '+12', '–')
    """
    if _missing(value):
        return "–"
    text = f"{float(value):{'+' if signed else ''},.{digits}f}"
    return "0" if text in ("-0", "+0") and digits == 0 else text


def format_cny(value: Any, signed: bool = False, compact: bool = False) -> str:
    """An amount in yuan: ``CNY 1,234,567``, or ``CNY 1.23 m`` when ``compact``.

    Examples
    --------
    >>> format_cny(1234567.8), format_cny(1234567.8, compact=True), format_cny(-2500, signed=True)
    ('CNY 1,234,568', 'CNY 1.23 m', '−CNY 2,500')
    """
    if _missing(value):
        return "–"
    value = float(value)
    sign = "−" if value < 0 else ("+" if signed and value > 0 else "")
    amount = abs(value)
    if compact:
        for limit, suffix in ((1e9, " bn"), (1e6, " m"), (1e3, " k")):
            if amount >= limit:
                return f"{sign}CNY {amount / limit:,.2f}{suffix}"
    shown = f"{amount:,.0f}"
    return f"{sign if shown != '0' else ''}CNY {shown}"


def format_percent(value: Any, digits: int = 1, signed: bool = False, points: bool = False) -> str:
    """A share as a percentage (``0.1234`` -> ``12.3%``); ``points`` for a change of a share (pp).

    Examples
    --------
    >>> format_percent(0.1234), format_percent(0.02, signed=True, points=True), format_percent(None)
    ('12.3%', '+2.0 pp', '–')
    """
    if _missing(value):
        return "–"
    text = f"{float(value) * 100:{'+' if signed else ''}.{digits}f}"
    return f"{text} pp" if points else f"{text}%"


def _label(value: Any) -> str:
    return str(value).replace("_", " ") if value is not None else "–"


def _short(value: Any, length: int = 12) -> str:
    text = str(value or "")
    return text if len(text) <= length else text[:length] + "…"


def _environment():
    from jinja2 import Environment, StrictUndefined

    env = Environment(autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(num=format_number, cny=format_cny, pct=format_percent, label=_label, short=_short)
    return env


def _read(name: str) -> str:
    return resources.files("engine.report").joinpath("templates", name).read_text(encoding="utf-8")


def render_report(numbers: dict[str, Any]) -> str:
    """The HTML page for the numbers of :func:`~engine.report.report_numbers`.

    Parameters
    ----------
    numbers : dict
        As returned by :func:`~engine.report.report_numbers`.

    Returns
    -------
    str
        One self-contained HTML document (UTF-8 text).
    """
    check_mapping("render_report", "numbers", numbers, "pass the numbers of engine.report.report_numbers")
    from markupsafe import Markup

    charts = render_charts(numbers)
    env = _environment()
    template = env.from_string(_read("report.html.j2"))
    return template.render(
        n=numbers,
        charts={key: {"key": c.key, "title": c.title, "description": c.description, "svg": Markup(c.svg)}
                for key, c in charts.items()},
        css=Markup(_read("report.css")),
        sections=SECTIONS,
    )

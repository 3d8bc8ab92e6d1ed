"""One lead as it arrives: parsed and validated with the contract's ``opportunities`` columns.

A lead is a JSON object (a dict) with the columns of the ``opportunities`` table
(``docs/data-model.md``): ``opportunity_id`` (the lead's id, the idempotency key), either an
``account_id`` or a prospect's ``prospect_name``, ``region`` and ``industry``, and the deal's
``source``, ``product_line``, ``est_units``, ``est_amount`` and ``stage``; ``created_date``
(default: the day before the as-of date) and ``competitor`` are optional. Every value is checked
with the contract's own column rules (type, allowed values, minimum); every problem is
collected and reported at once in a :class:`LeadError` naming the field, what was expected,
what arrived and the fix.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine._errors import DataError
from engine._suggest import closest, suggestion
from engine.contract import CUSTOMER_DATABASE

__all__ = ["Lead", "LeadError", "parse_lead", "LEAD_FIELDS"]

_SPEC = CUSTOMER_DATABASE["opportunities"]
#: Fields a lead may carry: the opportunity columns an open lead has (no outcome, no closed date).
LEAD_FIELDS: tuple[str, ...] = tuple(c for c in _SPEC.column_names if c not in ("closed_date", "outcome"))
#: Fields that are optional on a lead although the contract requires them on a stored row.
_DEFAULTED = ("created_date",)
#: Names people send for a field, and the field they mean.
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_ALIASES = {"lead_id": "opportunity_id", "id": "opportunity_id", "name": "prospect_name", "amount": "est_amount",
            "units": "est_units", "account": "account_id", "created": "created_date"}


class LeadError(DataError):
    """A lead is not valid; ``problems`` lists ``(field, expected, got, fix)`` for each problem."""

    def __init__(self, message: str, problems: list[tuple[str, str, str, str]]):
        super().__init__(message)
        self.problems = problems


@dataclass(frozen=True)
class Lead:
    """A validated lead. ``account_id`` is None for a prospect (which has region and industry)."""

    opportunity_id: str
    account_id: str | None
    prospect_name: str | None
    region: str | None
    industry: str | None
    created_date: dt.date | None
    source: str
    product_line: str
    est_units: int
    est_amount: float
    stage: str
    competitor: str | None

    @property
    def is_prospect(self) -> bool:
        """True for a lead without an account."""
        return self.account_id is None

    def as_dict(self) -> dict[str, Any]:
        """The lead as JSON-ready data (dates as ISO text)."""
        out = {name: getattr(self, name) for name in LEAD_FIELDS}
        out["created_date"] = self.created_date.isoformat() if self.created_date else None
        return out


def _blank(value: Any) -> bool:
    if isinstance(value, float):
        return math.isnan(value)
    return value is None or (isinstance(value, str) and not value.strip())


def _check(column, value: Any) -> tuple[Any, tuple[str, str, str] | None]:
    """``(parsed, None)`` or ``(None, (expected, got, fix))`` for one value of a contract column."""
    got = repr(value)
    if column.type in ("string", "enum"):
        if not isinstance(value, str):
            return None, (f"text{' (one of ' + ', '.join(column.allowed) + ')' if column.allowed else ''}",
                          f"{got} ({type(value).__name__})", f"send {column.name} as a JSON string")
        text = value.strip()
        if column.allowed and text not in column.allowed:
            hint = suggestion(text, column.allowed) or f"use one of {', '.join(column.allowed)}"
            return None, (f"one of {', '.join(column.allowed)}", got, hint)
        return text, None
    if column.type in ("integer", "number"):
        finite = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        if not finite:
            return None, (f"a finite {'whole ' if column.type == 'integer' else ''}number",
                          f"{got} ({type(value).__name__})",
                          f"send {column.name} as a JSON number")
        if column.type == "integer" and float(value) != math.floor(float(value)):
            return None, ("a whole number", got, f"round {column.name} to a whole number")
        if column.minimum is not None and value < column.minimum:
            return None, (f"a number >= {column.minimum:g}", got, f"correct {column.name}")
        if column.maximum is not None and value > column.maximum:
            return None, (f"a number <= {column.maximum:g}", got, f"correct {column.name}")
        return (int(value) if column.type == "integer" else float(value)), None
    if column.type == "date":
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return value, None
        if isinstance(value, str) and _ISO_DAY.fullmatch(value.strip()):
            try:
                return dt.date.fromisoformat(value.strip()), None
            except ValueError:
                pass
        return None, ("an ISO date YYYY-MM-DD", got, f"send {column.name} like \"2026-10-01\"")
    raise AssertionError(f"column type {column.type!r} of opportunities.{column.name} has no lead check")


def parse_lead(data: Mapping[str, Any], *, source: str = "lead") -> Lead:
    """Validate one lead (a dict, e.g. parsed JSON) and return it as a :class:`Lead`.

    Parameters
    ----------
    data : mapping
        Field -> value, with the field names of the contract's ``opportunities`` table.
    source : str, default "lead"
        How errors name where the lead came from (a file name, ``"request body"``).

    Returns
    -------
    Lead

    Raises
    ------
    LeadError
        Every problem at once: an unknown field (with a did-you-mean), a missing required
        field, a value of the wrong type or outside the allowed values, a prospect without
        ``prospect_name`` / ``region`` / ``industry``.

    Examples
    --------
    >>> lead = parse_lead({"opportunity_id": "L1", "prospect_name": "Acme", "region": "shandong",
    ...                    "industry": "finance", "source": "web", "product_line": "server",
    ...                    "est_units": 3, "est_amount": 90000, "stage": "lead"})
    >>> lead.is_prospect, lead.est_amount
    (True, 90000.0)
    >>> try:
    ...     parse_lead({"opportunity_id": "L2", "account_id": "A1", "est_amont": 5})
    ... except LeadError as error:
    ...     print(error.problems[0][0], "->", error.problems[0][3])
    est_amont -> rename it to 'est_amount'
    """
    if not isinstance(data, Mapping):
        raise LeadError(
            f"{source}: expected a JSON object with the lead's fields; got {type(data).__name__}. "
            f"Fix: send an object like {{\"opportunity_id\": \"L1\", \"account_id\": \"K0000001\", ...}}.",
            [("(lead)", "a JSON object", type(data).__name__, "send an object")])
    problems: list[tuple[str, str, str, str]] = []
    for key in data:
        if key not in LEAD_FIELDS:
            meant = _ALIASES.get(str(key)) or closest(str(key), LEAD_FIELDS)
            problems.append((str(key), f"one of the fields {', '.join(LEAD_FIELDS)}", "an unknown field",
                             f"rename it to {meant!r}" if meant else "remove it"))
    values: dict[str, Any] = {}
    for column in _SPEC.columns:
        if column.name not in LEAD_FIELDS:
            continue
        value = data.get(column.name)
        if _blank(value):
            values[column.name] = None
            if column.required and column.name not in _DEFAULTED:
                problems.append((column.name, f"a value ({column.description.rstrip('.')})", "nothing",
                                 f"add {column.name} to the lead"))
            continue
        parsed, problem = _check(column, value)
        if problem is not None:
            problems.append((column.name, *problem))
        values[column.name] = parsed
    if values.get("account_id") is None:
        for name in ("prospect_name", "region", "industry"):
            if values.get(name) is None and not any(p[0] == name for p in problems):
                problems.append((name, f"a value: a lead without account_id is a prospect and names its {name}",
                                 "nothing", f"add {name}, or link the lead to its account with account_id"))
    if problems:
        lines = [f"  {field}: expected {expected}; got {got}. Fix: {fix}{'' if fix.endswith(('?', '.')) else '.'}"
                 for field, expected, got, fix in problems]
        lead_id = values.get("opportunity_id")
        where = f"{source} {lead_id!r}" if lead_id else source
        raise LeadError(f"{where}: {len(problems)} problem{'s' if len(problems) > 1 else ''}:\n" + "\n".join(lines),
                        problems)
    checked: dict[str, Any] = {name: values.get(name) for name in LEAD_FIELDS}  # each field checked above
    return Lead(**checked)

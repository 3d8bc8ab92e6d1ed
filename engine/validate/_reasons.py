"""Reason codes of validation failures: what each means and how to fix it.

The codes are part of the public contract: they are written to the ``rejects`` table and
documented in ``docs/data-model.md`` (``tests/contract`` checks that the two agree).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

__all__ = ["Reason", "REASONS", "QUARANTINE", "WARNING"]

QUARANTINE: Final = "quarantine"
WARNING: Final = "warning"


@dataclass(frozen=True)
class Reason:
    """One reason code.

    Parameters
    ----------
    code : str
        The code written to ``failures.reason`` and ``rejects.reason``.
    severity : {"quarantine", "warning"}
        ``quarantine`` removes the row from the valid data; ``warning`` only reports.
    meaning : str
        What the code means.
    example : str
        A value that triggers it.
    fix : str
        The generic fix (the failure's ``hint`` is more specific).
    """

    code: str
    severity: Literal["quarantine", "warning"]
    meaning: str
    example: str
    fix: str


_ALL = (
    Reason(
        "missing_table",
        QUARANTINE,
        "A table of the contract is absent from the input. Nothing of it can be used, and every "
        "reference into it becomes an orphan.",
        "no `orders` table in the database",
        "load the table (check its name and the source).",
    ),
    Reason(
        "missing_column",
        QUARANTINE,
        "A contract column is absent from a table. Every row of the table is quarantined with one "
        "failure per missing column; the run goes on.",
        "`orders` without an `amount` column",
        "add the column or rename the one that holds it (the hint suggests the nearest name).",
    ),
    Reason(
        "unexpected_column",
        WARNING,
        "A column (or a whole table) that the contract does not know, or a column name given twice. "
        "Reported as a warning and left out of the valid data; no row is quarantined.",
        "`orders.amt`",
        "remove or rename the column.",
    ),
    Reason(
        "wrong_type",
        QUARANTINE,
        "The value cannot be read as the column's type (or a date is outside 1677-09-22..2262-04-11).",
        '`"abc"` in a number, `3.5` in an integer, `"maybe"` in a boolean, `"2024-13-45"` in a date',
        "write the value in the column's type: digits for numbers, whole numbers for integers, "
        "true/false for booleans, ISO `YYYY-MM-DD` for dates.",
    ),
    Reason(
        "null_required",
        QUARANTINE,
        "A required column is null: None, NaN, NaT, an empty or blank string, or the literal "
        '`"nan"` in a numeric column.',
        "`amount` = NaN",
        "fill the value.",
    ),
    Reason(
        "unknown_category",
        QUARANTINE,
        "A value (or one element of a `;`-separated multi-value column) is not among the allowed "
        "values. The hint suggests the nearest allowed value.",
        "`region = \"Shanghaii\"` (did you mean 'shanghai'?)",
        "use one of the allowed values listed in this document.",
    ),
    Reason(
        "duplicate_key",
        QUARANTINE,
        "The primary key appears on more than one row. *Every* occurrence is quarantined: kam cannot "
        "know which row is authoritative.",
        "two rows with `order_id = O1`",
        "remove the duplicate rows or give each row its own key.",
    ),
    Reason(
        "orphan",
        QUARANTINE,
        "A reference points to a key that is not among the *valid* rows of the referenced table: "
        "either unknown, or its row was quarantined (cascade), or the referenced table is missing.",
        "an order for account `A999` that is not in `customers`",
        "load the parent row, correct the reference, or fix the quarantined parent row.",
    ),
    Reason(
        "future_date",
        QUARANTINE,
        "A date that must not be in the future is after the run's as-of date.",
        "`order_date = 2999-01-01`",
        "correct the date, or run with a later as-of date.",
    ),
    Reason(
        "negative_value",
        QUARANTINE,
        "A value below zero in a column whose minimum is 0 (amounts, counts).",
        "`amount = -5`",
        "check the sign; returns and credits are not orders.",
    ),
    Reason(
        "out_of_range",
        QUARANTINE,
        "A value below a minimum other than 0, or above a maximum.",
        "`satisfaction = 7` (1-5)",
        "bring the value into the documented range.",
    ),
    Reason(
        "non_finite",
        QUARANTINE,
        "+inf or -inf (also the strings `inf`, `-Infinity`, or a numeric string too large for a float).",
        "`amount = inf`",
        "write a finite number (a division by zero upstream is the usual cause).",
    ),
    Reason(
        "row_check",
        QUARANTINE,
        "A rule across several columns of one row failed; the message names the check.",
        "`margin` greater than `amount`",
        "see the check's hint.",
    ),
    Reason(
        "empty_key",
        QUARANTINE,
        "The primary key is null, empty or blank.",
        '`order_id = ""`',
        "give every row a unique identifier.",
    ),
)

#: Reason code -> :class:`Reason`, in documentation order.
REASONS: dict[str, Reason] = {r.code: r for r in _ALL}

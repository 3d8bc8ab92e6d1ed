"""The customer-database contract is consistent with itself."""

from __future__ import annotations

import re

import pytest

from engine.contract import CUSTOMER_DATABASE
from engine.validate import validate_tables

TABLES = CUSTOMER_DATABASE.tables
COLUMNS = [(t, c) for t in TABLES for c in t.columns]
_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*")


def _id(value):
    if isinstance(value, tuple):
        return f"{value[0].name}.{value[1].name}"
    return getattr(value, "name", None)


def test_table_names_are_unique_identifiers():
    names = [t.name for t in TABLES]
    assert len(names) == len(set(names))
    assert all(_IDENTIFIER.fullmatch(n) for n in names)


@pytest.mark.parametrize("table", TABLES, ids=_id)
def test_table_has_unique_columns_and_a_required_string_key(table):
    names = table.column_names
    assert len(names) == len(set(names)), names
    assert all(_IDENTIFIER.fullmatch(n) for n in names)
    key = table.column(table.key)
    assert key.type == "string" and key.required and key.references is None


@pytest.mark.parametrize(("table", "column"), COLUMNS, ids=_id)
def test_column_options_fit_its_type(table, column):
    assert column.type in ("string", "integer", "number", "boolean", "date", "enum")
    assert column.description.strip()
    if column.type == "enum":
        assert column.allowed, "an enum needs allowed values"
        assert len(set(column.allowed)) == len(column.allowed)
        assert all(isinstance(v, str) and v == v.strip() and v and ";" not in v for v in column.allowed)
    else:
        assert column.allowed is None and not column.multi
    if column.minimum is not None or column.maximum is not None:
        assert column.type in ("integer", "number")
    if column.minimum is not None and column.maximum is not None:
        assert column.minimum <= column.maximum
    if column.not_future:
        assert column.type == "date"
    if column.references_or:
        assert column.references is not None


@pytest.mark.parametrize(
    ("table", "column"), [(t, c) for t, c in COLUMNS if c.references], ids=_id
)
def test_references_point_at_an_earlier_tables_key(table, column):
    parent_name, parent_column = column.references.split(".")
    assert parent_name in CUSTOMER_DATABASE, column.references
    parent = CUSTOMER_DATABASE[parent_name]
    assert parent_column == parent.key, "references must point at the parent's primary key"
    assert column.type == parent.column(parent_column).type
    order = CUSTOMER_DATABASE.table_names
    assert order.index(parent_name) <= order.index(table.name), "parents come first"


@pytest.mark.parametrize(("table", "check"), [(t, c) for t in TABLES for c in t.checks], ids=_id)
def test_row_checks_read_existing_columns_and_explain_themselves(table, check):
    assert set(check.columns) <= set(table.column_names)
    assert check.description.strip() and check.hint.strip()
    assert callable(check.fails)


def test_every_table_is_reported_even_when_the_input_is_empty():
    report = validate_tables({}, as_of="2024-01-01")
    assert list(report.failures["table"]) == list(CUSTOMER_DATABASE.table_names)
    assert set(report.failures["reason"]) == {"missing_table"}
    for table in TABLES:
        assert list(report.valid[table.name].columns) == list(table.column_names)

"""Property: thousands of hostile cells are each reported and quarantined; nothing else changes.

Valid tables are generated from the contract, then random cells are overwritten with hostile
values: wrong types, None, NaN, +/-inf, huge ints, unknown categories, blank strings, future
dates, duplicate keys, unknown references, lone surrogates. Plain text columns also receive
*benign* hostile values (any unicode, very long strings) that must pass through unchanged.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from validate_factories import AS_OF, valid_tables

from engine.contract import CUSTOMER_DATABASE
from engine.validate import validate_tables

TABLES = CUSTOMER_DATABASE.table_names
BREAK, BENIGN, DUPLICATE = "break", "benign", "duplicate"


@functools.lru_cache(maxsize=None)
def _base(seed: int) -> dict:
    return valid_tables(rows=60, seed=seed)


_NULLS = st.sampled_from([None, np.nan, "", "   ", pd.NaT, pd.NA])
_WRONG_FOR_TEXT = st.sampled_from([True, 3.5, b"bytes", [1, 2], {"a": 1}, "bad\ud800text", math.inf])
_NOT_NUMBERS = st.sampled_from(["abc", "12abc", True, b"1", [1], "1,5", "١٢", pd.Timestamp("2024-01-01")])
_NON_FINITE = st.sampled_from([math.inf, -math.inf, "inf", "-Infinity", "1e400", np.float64("inf")])
_NOT_BOOLEANS = st.sampled_from(["maybe", 2, -1, 0.5, "yes please", "ja", pd.Timestamp("2024-01-01")])
_NOT_DATES = st.sampled_from(["2024-13-45", "31/12/2023", "yesterday", 20240105, 3.5, True, "2024-02-30", "0000-01-01"])


def _breaks_enum(text: str, column) -> bool:
    if not text.strip():
        return False  # blank is null: breaking only when required, drawn elsewhere
    if column.multi:
        return any(element.strip() not in column.allowed for element in text.split(";"))
    return text not in column.allowed


@functools.lru_cache(maxsize=None)
def _hostile(table_name: str, column_name: str) -> st.SearchStrategy:
    """(kind, value) for one cell of ``column`` (built once per column: strategies are costly)."""
    table = CUSTOMER_DATABASE[table_name]
    column = table.column(column_name)
    options = []
    if column.name == table.key:
        options += [st.tuples(st.just(BREAK), _NULLS), st.tuples(st.just(DUPLICATE), st.integers(0, 10**6))]
    elif column.required:
        options.append(st.tuples(st.just(BREAK), _NULLS))
    if column.type in ("string", "enum"):
        options.append(st.tuples(st.just(BREAK), _WRONG_FOR_TEXT))
    if column.type == "string" and column.references:
        options.append(st.tuples(st.just(BREAK), st.text(min_size=1, max_size=30).map(lambda t: "ZZ-" + t)))
    if column.type == "string" and not column.references and column.name != table.key:
        long_text = st.text(min_size=1, max_size=20).map(lambda t: t * 400)
        text = st.one_of(st.text(min_size=1, max_size=60), long_text).filter(lambda t: t.strip() != "")
        options.append(st.tuples(st.just(BENIGN), text))
    if column.type == "enum":
        unknown = st.one_of(st.text(min_size=1, max_size=40), st.sampled_from(["Servr", "SHANGHAI", "gold ", "x;y"]))
        options.append(st.tuples(st.just(BREAK), unknown.filter(lambda t: _breaks_enum(t, column))))
    if column.type in ("integer", "number"):
        options += [st.tuples(st.just(BREAK), _NOT_NUMBERS), st.tuples(st.just(BREAK), _NON_FINITE)]
        if column.minimum is not None:
            below = st.floats(max_value=column.minimum - 1, allow_nan=False, allow_infinity=False, min_value=-1e300)
            if column.type == "integer":
                below = st.integers(max_value=int(column.minimum) - 1, min_value=-(2**62))
            options.append(st.tuples(st.just(BREAK), below))
        if column.maximum is not None:
            options.append(st.tuples(st.just(BREAK), st.integers(int(column.maximum) + 1, 10**9)))
    if column.type == "integer":
        options.append(st.tuples(st.just(BREAK), st.sampled_from([3.5, "3.5", 10**30, -(10**25), 2**63, "99999999999999999999"])))
    if column.type == "boolean":
        options.append(st.tuples(st.just(BREAK), _NOT_BOOLEANS))
    if column.type == "date":
        options.append(st.tuples(st.just(BREAK), _NOT_DATES))
        if column.not_future:
            later = st.integers(1, 400_000).map(lambda d: (AS_OF + pd.Timedelta(days=d)) if d < 80_000 else f"{2300 + d % 7000:04d}-01-01")
            options.append(st.tuples(st.just(BREAK), later))
    return st.one_of(options)


@st.composite
def _scenario(draw):
    seed = draw(st.integers(0, 2))
    base = _base(seed)
    n = draw(st.integers(1, 200))
    cells = {}
    for _ in range(n):
        table = CUSTOMER_DATABASE[draw(st.sampled_from(TABLES))]
        if len(base[table.name]) == 0:
            continue
        row = draw(st.integers(0, len(base[table.name]) - 1))
        column = draw(st.sampled_from(table.columns))
        cells[(table.name, row, column.name)] = draw(_hostile(table.name, column.name))
    return seed, cells


def _apply(base: dict, cells: dict) -> dict:
    tables = {name: frame.copy() for name, frame in base.items()}
    for (name, row, column), (kind, value) in cells.items():
        frame = tables[name]
        if frame[column].dtype != object:
            frame[column] = frame[column].astype(object)
        if kind == DUPLICATE:
            value = base[name][column].iat[value % len(base[name])]
        frame.iat[row, frame.columns.get_loc(column)] = value
    return tables


@settings(max_examples=30, deadline=None)
@given(_scenario())
def test_hostile_cells_are_reported_quarantined_and_nothing_else_changes(scenario):
    seed, cells = scenario
    base = _base(seed)
    tables = _apply(base, cells)
    report = validate_tables(tables, as_of=AS_OF)  # must not raise

    failed = set(zip(report.failures["table"], report.failures["row"]))
    breaking = set()
    for (name, row, column), (kind, _value) in cells.items():
        if kind == BREAK:
            breaking.add((name, row))
        elif kind == DUPLICATE:
            key = tables[name][column].iat[row]
            if (tables[name][column] == key).sum() > 1:
                breaking.add((name, row))
    # 1. every malformed row is reported and quarantined
    for name, row in breaking:
        assert (name, row) in failed, (name, row, {c: v for c, v in cells.items() if c[:2] == (name, row)})
        assert row in report.quarantined[name].index

    # 2. a row that was not broken is quarantined only through another row's fault
    mutated_keys = {
        name: {repr(tables[name][CUSTOMER_DATABASE[name].key].iat[row]) for (n, row, col) in cells if n == name}
        for name in TABLES
    }
    is_breaking = [(t, r) in breaking for t, r in zip(report.failures["table"], report.failures["row"])]
    explained = report.failures[~np.array(is_breaking, dtype=bool)]
    for failure in explained.to_dict("records"):
        assert failure["reason"] in ("orphan", "duplicate_key"), failure.to_dict()
        if failure["reason"] == "duplicate_key":
            assert repr(failure["key"]) in mutated_keys[failure["table"]]

    # 3. rows that came through are exactly the input rows, values and dtypes
    touched = {(name, row) for (name, row, _column) in cells}
    for name in TABLES:
        valid = report.valid[name]
        assert len(valid) + len(report.quarantined[name]) == len(tables[name])
        untouched = [i for i in valid.index if (name, i) not in touched]
        pd.testing.assert_frame_equal(valid.loc[untouched], base[name].loc[untouched])
        for (n, row, column), (kind, value) in cells.items():
            if n == name and kind == BENIGN and row in valid.index:
                assert valid.at[row, column] == value

    # 4. the valid output is referentially closed
    for name in TABLES:
        for column in CUSTOMER_DATABASE[name].columns:
            if column.references:
                parent, parent_column = column.references.split(".")
                values = report.valid[name][column.name].dropna()
                allowed = set(report.valid[parent][parent_column]) | set(column.references_or)
                assert values.isin(allowed).all(), (name, column.name)

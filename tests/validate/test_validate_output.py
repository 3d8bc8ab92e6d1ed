"""The shape of what validation hands on: coerced dtypes, quarantine, rejects rows, summary."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import ConfigError, ContractError, SpecError
from engine.contract import Column, Contract, RowCheck, Table
from engine.validate import REJECTS_COLUMNS, rejects_frame, validate_tables
from engine.validate._coerce import coerce

ITEMS = Table(
    "items",
    "test table",
    "item_id",
    (
        Column("item_id", "string", "id"),
        Column("count", "integer", "n", minimum=0),
        Column("maybe_count", "integer", "n", required=False),
        Column("price", "number", "p"),
        Column("flag", "boolean", "f"),
        Column("maybe_flag", "boolean", "f", required=False),
        Column("day", "date", "d"),
        Column("colour", "enum", "c", allowed=("red", "green")),
    ),
)
CONTRACT = Contract((ITEMS,))


def _as_text() -> pd.DataFrame:
    """Everything as a loader that only knows text would deliver it."""
    return pd.DataFrame(
        {
            "item_id": ["a", "b", "c"],
            "count": ["1", "2", "3"],
            "maybe_count": ["4", "", None],
            "price": ["1.5", "2", "-3e2"],
            "flag": ["true", "0", "Yes"],
            "maybe_flag": ["f", None, "1"],
            "day": ["2024-01-02", "2024-01-03T15:30:00", "2024-01-04 08:00"],
            "colour": ["red", "green", "red"],
        },
        index=[10, 11, 12],
    )


def test_values_are_coerced_to_logical_dtypes():
    report = validate_tables({"items": _as_text()}, contract=CONTRACT, as_of="2024-06-30")
    assert report.ok
    valid = report.valid["items"]
    assert dict(valid.dtypes.astype(str)) == {
        "item_id": "str",
        "count": "int64",
        "maybe_count": "Int64",
        "price": "float64",
        "flag": "bool",
        "maybe_flag": "boolean",
        "day": "datetime64[ns]",
        "colour": "str",
    }
    assert list(valid.index) == [10, 11, 12]  # the input's index labels are kept
    assert valid["maybe_count"].tolist()[0] == 4 and valid["maybe_count"].isna().tolist() == [False, True, True]
    assert valid["flag"].tolist() == [True, False, True]
    assert valid["day"].tolist() == [pd.Timestamp("2024-01-02"), pd.Timestamp("2024-01-03"), pd.Timestamp("2024-01-04")]
    assert valid["price"].tolist() == [1.5, 2.0, -300.0]


def test_python_dates_and_timezones_keep_the_calendar_day():
    frame = _as_text().astype({"day": object})
    frame.loc[10, "day"] = pd.Timestamp("2024-01-02 23:30", tz="Asia/Shanghai")
    frame.loc[11, "day"] = __import__("datetime").date(2024, 1, 3)
    frame.loc[12, "day"] = "2024-01-04T01:00:00+08:00"
    report = validate_tables({"items": frame}, contract=CONTRACT, as_of="2024-06-30")
    assert report.valid["items"]["day"].dt.day.tolist() == [2, 3, 4]


def test_quarantined_rows_are_the_input_rows_untouched():
    frame = _as_text()
    frame.loc[11, "count"] = "two"
    frame.loc[12, "colour"] = "blue"
    report = validate_tables({"items": frame}, contract=CONTRACT, as_of="2024-06-30")
    quarantined = report.quarantined["items"]
    assert list(quarantined.index) == [1, 2] and quarantined.index.name == "row"
    pd.testing.assert_frame_equal(quarantined.drop(columns="reasons"), frame.iloc[[1, 2]].set_axis([1, 2]).rename_axis("row"))
    assert quarantined["reasons"].tolist() == ["wrong_type:count", "unknown_category:colour"]
    assert report.counts.loc["items"].to_dict() == {"rows": 3, "valid": 1, "quarantined": 2, "failures": 2, "warnings": 0}
    assert "items: 3 rows, 1 valid, 2 quarantined" in report.summary()
    assert "wrong_type: 1" in report.summary()


def test_rejects_frame_has_one_row_per_failure_with_the_raw_record():
    frame = _as_text().astype(object)
    frame.loc[10, "price"] = math.inf
    frame.loc[10, "count"] = np.nan
    frame.loc[11, "day"] = pd.Timestamp("2999-01-01")
    frame.loc[12, "item_id"] = "zé\ud800"
    report = validate_tables({"items": frame}, contract=CONTRACT, as_of="2024-06-30")
    rejects = rejects_frame(report, "run-7")
    assert list(rejects.columns) == list(REJECTS_COLUMNS)
    assert len(rejects) == len(report.failures)
    assert (rejects["run_id"] == "run-7").all()
    assert rejects["row_number"].tolist() == [0, 0, 1, 2]
    first = json.loads(rejects["raw_record"].iat[0])
    assert first["price"] == "inf" and first["count"] is None and first["item_id"] == "a"
    assert json.loads(rejects["raw_record"].iat[2])["day"] == "2999-01-01T00:00:00"
    assert json.loads(rejects["raw_record"].iat[3])["item_id"] == "zé\ud800"
    for text in rejects["raw_record"]:
        text.encode("utf-8")  # storable anywhere


def test_rejects_frame_for_table_level_failures_has_no_raw_record():
    report = validate_tables({}, contract=CONTRACT, as_of="2024-06-30")
    rejects = rejects_frame(report, "r")
    assert rejects["reason"].tolist() == ["missing_table"]
    assert rejects["row_number"].isna().all() and rejects["raw_record"].isna().all()


def test_rejects_frame_of_a_clean_run_is_empty_with_the_columns():
    report = validate_tables({"items": _as_text()}, contract=CONTRACT, as_of="2024-06-30")
    rejects = rejects_frame(report, "r")
    assert rejects.empty and list(rejects.columns) == list(REJECTS_COLUMNS)


def test_not_a_dataframe_is_a_contract_error():
    with pytest.raises(ContractError, match="expected a pandas DataFrame for table 'items'; got list"):
        validate_tables({"items": [1, 2]}, contract=CONTRACT)


def test_bad_as_of_is_a_config_error():
    with pytest.raises(ConfigError, match="expected as_of as a date"):
        validate_tables({"items": _as_text()}, contract=CONTRACT, as_of="someday")


def test_a_row_check_that_raises_is_a_spec_error_not_a_swallowed_failure():
    def broken(frame):
        raise KeyError("no such column")

    table = Table("t", "t", "id", (Column("id", "string", "id"),), (RowCheck("c", ("id",), "d", broken, "h"),))
    with pytest.raises(SpecError, match="row check 'c' of table 't' raised KeyError") as raised:
        validate_tables({"t": pd.DataFrame({"id": ["a"]})}, contract=Contract((table,)))
    assert isinstance(raised.value.__cause__, KeyError)


def test_a_reference_cycle_is_a_spec_error():
    a = Table("a", "a", "id", (Column("id", "string", "id"), Column("b", "string", "b", references="b.id")))
    b = Table("b", "b", "id", (Column("id", "string", "id"), Column("a", "string", "a", references="a.id")))
    with pytest.raises(SpecError, match="cycle"):
        validate_tables({}, contract=Contract((a, b)))


def test_duplicate_column_labels_use_the_first_and_warn():
    frame = pd.concat([_as_text(), _as_text()[["price"]].assign(price="oops")], axis=1)
    report = validate_tables({"items": frame}, contract=CONTRACT, as_of="2024-06-30")
    assert report.ok
    assert report.warnings["message"].str.contains("appears more than once").any()


def test_parents_are_validated_first_whatever_the_contract_order():
    child = Table("child", "c", "id", (Column("id", "string", "id"), Column("p", "string", "p", references="parent.id")))
    parent = Table("parent", "p", "id", (Column("id", "string", "id"), Column("n", "integer", "n")))
    tables = {"parent": pd.DataFrame({"id": ["x", "y"], "n": [1, "bad"]}), "child": pd.DataFrame({"id": ["1", "2"], "p": ["x", "y"]})}
    report = validate_tables(tables, contract=Contract((child, parent)))
    assert report.failures[["table", "reason"]].values.tolist() == [["child", "orphan"], ["parent", "wrong_type"]]


# --- coercion properties -----------------------------------------------------------------------
@settings(max_examples=200)
@given(st.lists(st.integers(min_value=-(2**63), max_value=2**63 - 1), min_size=1, max_size=20))
def test_integers_survive_text_round_trip_exactly(values):
    coerced = coerce(pd.Series([str(v) for v in values], dtype="str"), "integer")
    assert coerced.values.tolist() == values and not coerced.failed.any()


@settings(max_examples=200)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=20))
def test_finite_floats_survive_text_round_trip(values):
    coerced = coerce(pd.Series([repr(v) for v in values], dtype="str"), "number")
    assert coerced.values.tolist() == values


@settings(max_examples=200)
@given(st.lists(st.one_of(st.none(), st.text(), st.integers(), st.floats(), st.booleans(), st.dates(), st.binary()), max_size=20))
def test_coercion_never_raises_and_every_cell_gets_one_verdict(values):
    series = pd.Series(values, dtype=object)
    for ctype in ("string", "enum", "integer", "number", "boolean", "date"):
        c = coerce(series, ctype)
        assert len(c.values) == len(values)
        verdicts = c.null.astype(int) + c.bad + c.too_large + c.nonfinite
        assert (verdicts <= 1).all()
        usable = verdicts == 0
        assert c.values[usable].notna().all() and c.values[~usable].isna().all()

"""Whole numbers reach the database and come back exactly: no trip through float64."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import StorageError
from engine.storage._convert import arrow_to_pandas, column_to_arrow, column_to_python

INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
#: ids past 2**53 (where float64 stops being exact) are the ones that used to be rounded
BIG = st.one_of(st.integers(min_value=2**53, max_value=2**63 - 1), st.integers(min_value=-(2**63), max_value=-(2**53)))
#: every example holds a null and a whole number past 2**53, among any others, in any order
UNITS = st.tuples(st.lists(st.one_of(st.none(), BIG, INT64), max_size=6), BIG.map(lambda v: v | 1)).flatmap(
    lambda drawn: st.permutations([*drawn[0], None, drawn[1]])
)


def _orders(units: list[int | None]) -> pd.DataFrame:
    n = len(units)
    return pd.DataFrame(
        {
            "order_id": [f"O{i}" for i in range(n)],
            "account_id": ["A1"] * n,
            "order_date": ["2025-01-31"] * n,
            "product_line": ["desktop"] * n,
            "units": pd.array(units, dtype="Int64"),
            "amount": [1.0] * n,
            "margin": [0.5] * n,
            "channel": ["direct"] * n,
        }
    )


def _as_python(series: pd.Series) -> list[int | None]:
    return [None if pd.isna(v) else int(v) for v in series.astype(object)]


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(units=UNITS)
def test_nullable_whole_numbers_round_trip_exactly(database, units):
    database.write_source_tables({"orders": _orders(units)})
    assert _as_python(database.read_table("orders")["units"]) == units
    assert _as_python(database.read_table("orders", columns=["units"])["units"]) == units


@given(units=UNITS)
def test_both_driver_conversions_keep_every_digit(units):
    series = pd.Series(pd.array(units, dtype="Int64"), name="units")
    assert column_to_arrow(series, "integer").to_pylist() == units
    assert column_to_python(series, "integer") == units


def test_an_id_past_two_to_the_53_beside_a_null_is_not_rounded():
    # the regression: Int64 with a null went through float64 (9007199254740993 -> ...992)
    series = pd.Series(pd.array([2**53 + 1, None], dtype="Int64"), name="account_number")
    assert column_to_arrow(series, "integer").to_pylist() == [2**53 + 1, None]
    back = arrow_to_pandas(pa.table({"account_number": pa.array([2**53 + 1, None], type=pa.int64())}))
    assert back["account_number"].dtype == "Int64"
    assert back["account_number"].tolist()[0] == 2**53 + 1


def test_small_nullable_integers_still_read_as_float():
    # columns float64 holds exactly keep their former dtype: downstream arithmetic is unchanged
    back = arrow_to_pandas(pa.table({"units": pa.array([3, None], type=pa.int64()), "x": [1.0, 2.0]}))
    assert back["units"].dtype == "float64" and back.columns.tolist() == ["units", "x"]


@pytest.mark.parametrize("convert", [column_to_arrow, column_to_python])
def test_an_unsigned_value_past_int64_is_refused_not_wrapped(convert):
    series = pd.Series(pd.array([1, None, 2**64 - 1], dtype="UInt64"), name="external_id")
    with pytest.raises(StorageError, match=r"'external_id' holds 18446744073709551615 at row 2.*as text"):
        convert(series, "integer")


def test_a_result_that_repeats_a_column_name_is_read_by_position():
    """``SELECT id, id``: looked at by name, the repeated column is a frame and had no dtype."""
    import pandas as pd

    from engine.storage._convert import exact_integer_columns

    big = 2**53 + 1
    rows = [(big, 1.5), (None, 2.5)]
    frame = pd.DataFrame.from_records(rows, columns=["id", "id"])
    out = exact_integer_columns(frame, rows)
    assert list(out.columns) == ["id", "id"]
    assert out.iloc[0, 0] == big and pd.isna(out.iloc[1, 0]) and str(out.dtypes.iloc[0]) == "Int64"
    assert out.iloc[:, 1].tolist() == [1.5, 2.5]

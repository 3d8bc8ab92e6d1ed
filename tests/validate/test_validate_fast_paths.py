"""The fast paths of validation (Arrow date parsing, lazy loaders, narrowed columns) agree
with the general paths they shortcut."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from validate_factories import AS_OF, valid_tables

from engine import ConfigError
from engine.validate import validate_tables
from engine.validate._arrays import duplicated as _duplicated
from engine.validate._coerce import coerce

DATES = st.one_of(
    st.dates().map(str),
    st.text(max_size=12),
    st.sampled_from(
        ["2024-02-30", "2023-02-29", "2024-1-05", " 2024-01-05 ", "1677-09-21", "2262-04-12", "9999-12-31", "NaT", ""]
    ),
)


@given(st.lists(st.one_of(st.none(), DATES), max_size=30))
def test_arrow_date_path_agrees_with_the_object_path(values):
    fast = coerce(pd.Series(values, dtype="str"), "date")
    slow = coerce(pd.Series(values, dtype=object), "date")
    assert fast.values.equals(slow.values)
    for mask in ("null", "bad", "too_large", "late"):
        assert (getattr(fast, mask) == getattr(slow, mask)).all(), mask


@given(st.lists(st.one_of(st.none(), DATES), max_size=30), st.integers(0, 30), st.sampled_from(["string", "large_string"]))
def test_arrow_dates_in_sliced_chunks_agree_with_the_object_path(values, cut, text_type):
    """As read from a database: several chunks, the first sliced (the dropped probe row)."""
    import pyarrow as pa

    kind = getattr(pa, text_type)()
    head = pa.array(["probe", *values[:cut]], type=kind).slice(1)
    tail = pa.array(values[cut:], type=kind)
    arrow = pa.chunked_array([head, tail], type=kind)
    series = pd.Series(pd.arrays.ArrowStringArray(arrow)).astype("str")
    fast = coerce(series, "date")
    slow = coerce(pd.Series(values, dtype=object), "date")
    assert fast.values.equals(slow.values)
    for mask in ("null", "bad", "too_large", "late"):
        assert (getattr(fast, mask) == getattr(slow, mask)).all(), mask


KEYS = st.lists(st.one_of(st.none(), st.sampled_from(["", " ", "A1", "A2", "A10", "a1", "é"]), st.text(max_size=4)))


@given(KEYS, st.sampled_from(["as given", "sorted", "reversed"]), st.sampled_from([None, 1, 3]))
def test_duplicate_keys_agree_with_pandas(keys, order, chunk):
    """Sorted keys take the neighbour-comparison path, others the hash path; both equal pandas."""
    present = sorted(k for k in keys if k is not None)
    keys = {"as given": keys, "sorted": present, "reversed": present[::-1]}[order]
    series = pd.Series(keys, dtype="str")
    if chunk:  # as read from a database: several Arrow chunks
        import pyarrow as pa

        chunks = [pa.array(keys[i : i + chunk], type=pa.large_string()) for i in range(0, len(keys), chunk)]
        series = pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array(chunks, type=pa.large_string())))
        series = series.astype("str")
    assert _duplicated(series).tolist() == series.duplicated(keep=False).tolist()


def _with_bad_rows():
    tables = valid_tables(80, seed=11)
    orders = tables["orders"].copy()
    orders.loc[orders.index[0], "amount"] = -3.0
    orders.loc[orders.index[1], "account_id"] = "NOPE"
    return {**tables, "orders": orders}


def test_loaders_give_the_same_report_as_frames():
    tables = _with_bad_rows()
    eager = validate_tables(tables, as_of=AS_OF)
    lazy = validate_tables({name: (lambda frame=frame: frame) for name, frame in tables.items()}, as_of=AS_OF)
    pd.testing.assert_frame_equal(eager.failures, lazy.failures)
    pd.testing.assert_frame_equal(eager.counts, lazy.counts)
    for name in tables:
        pd.testing.assert_frame_equal(eager.valid[name], lazy.valid[name])


def test_columns_narrow_only_the_valid_frame():
    tables = _with_bad_rows()
    full = validate_tables(tables, as_of=AS_OF)
    narrow = validate_tables(tables, as_of=AS_OF, columns={"orders": ["order_id", "account_id", "amount"]})
    assert list(narrow.valid["orders"].columns) == ["order_id", "account_id", "amount"]
    pd.testing.assert_frame_equal(full.failures, narrow.failures)  # every column still validated
    assert list(narrow.quarantined["orders"].columns) == list(full.quarantined["orders"].columns)


def test_unknown_narrowed_column_is_a_config_error():
    with pytest.raises(ConfigError, match="did you mean"):
        validate_tables(valid_tables(5), as_of=AS_OF, columns={"orders": ["ammount"]})

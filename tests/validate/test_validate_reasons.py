"""One test per reason code: a minimal break of valid data and the exact failure row it gives."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from engine import ContractError
from engine._asof import default_as_of
from engine.contract import CUSTOMER_DATABASE
from engine.validate import FAILURE_COLUMNS, REASONS, validate_tables


def _set(frame: pd.DataFrame, row: int, column: str, value) -> pd.DataFrame:
    """A copy of ``frame`` with one cell replaced (the column becomes object if it must)."""
    out = frame.copy()
    if column not in out.columns:
        raise KeyError(column)
    out[column] = out[column].astype(object)
    out.iat[row, out.columns.get_loc(column)] = value
    return out


def _only_failure(report, table: str | None = None, row: int | None = None) -> dict:
    """The single failure (of ``table``'s ``row``: other rows may be cascade orphans)."""
    failures = report.failures
    if table is not None:
        failures = failures[failures["table"] == table]
    if row is not None:
        failures = failures[failures["row"] == row]
    assert len(failures) == 1, failures.to_string()
    return failures.iloc[0].to_dict()


def _break(tables, as_of, table, row, column, value):
    broken = dict(tables, **{table: _set(tables[table], row, column, value)})
    return validate_tables(broken, as_of=as_of), broken


def _key(tables, table, row):
    return tables[table][CUSTOMER_DATABASE[table].key].iat[row]


def test_valid_tables_pass_untouched(tables, as_of):
    report = validate_tables(tables, as_of=as_of)
    assert report.ok and report.failures.empty and report.warnings.empty
    for name, frame in tables.items():
        pd.testing.assert_frame_equal(report.valid[name], frame)
        assert report.quarantined[name].empty
    assert list(report.failures.columns) == list(FAILURE_COLUMNS)
    report.raise_if_any()  # nothing to raise


def test_missing_table_is_reported_and_orphans_its_children(tables, as_of):
    del tables["customers"]
    report = validate_tables(tables, as_of=as_of, source="demo.db")
    first = report.failures.iloc[0].to_dict()
    assert first["table"] == "customers" and first["reason"] == "missing_table"
    assert pd.isna(first["row"]) and pd.isna(first["column"])
    assert "demo.db" in first["message"]
    assert list(report.valid["customers"].columns) == list(CUSTOMER_DATABASE["customers"].column_names)
    assert report.valid["customers"].empty
    # every order points at an account that cannot be resolved
    orders = report.failures[report.failures["table"] == "orders"]
    assert set(orders["reason"]) == {"orphan"}
    assert orders["message"].str.contains("table 'customers' is missing").all()
    assert report.valid["orders"].empty
    assert len(report.quarantined["orders"]) == len(tables["orders"])


def test_missing_column_quarantines_the_table_without_crashing(tables, as_of):
    tables["orders"] = tables["orders"].drop(columns=["amount"]).rename(columns={"units": "unitz"})
    report = validate_tables(tables, as_of=as_of)
    orders = report.failures[report.failures["table"] == "orders"]
    n = len(tables["orders"])
    assert (orders["reason"] == "missing_column").all()
    assert sorted(orders["column"].unique()) == ["amount", "units"]
    assert len(orders) == 2 * n and sorted(orders["row"].unique()) == list(range(n))
    units = orders[orders["column"] == "units"].iloc[0]
    assert "did you mean 'unitz'" in units["hint"]
    assert report.valid["orders"].empty and len(report.quarantined["orders"]) == n
    assert list(report.valid["orders"].columns) == list(CUSTOMER_DATABASE["orders"].column_names)
    # other tables are unaffected
    pd.testing.assert_frame_equal(report.valid["customers"], tables["customers"])


def test_missing_column_on_an_empty_table_is_still_reported(tables, as_of):
    tables["visits"] = tables["visits"].iloc[0:0].drop(columns=["kind"])
    report = validate_tables(tables, as_of=as_of)
    row = _only_failure(report)
    assert (row["table"], row["column"], row["reason"]) == ("visits", "kind", "missing_column")
    assert pd.isna(row["row"])


def test_unexpected_column_is_a_warning_not_a_quarantine(tables, as_of):
    tables["orders"] = tables["orders"].assign(amout=1.0)
    tables["orderz"] = pd.DataFrame({"x": [1]})
    report = validate_tables(tables, as_of=as_of)
    assert report.ok
    warnings = report.warnings.set_index("column", drop=False)
    assert warnings.loc["amout", "reason"] == "unexpected_column"
    assert "did you mean 'amount'" in warnings.loc["amout", "hint"]
    table_warning = report.warnings[report.warnings["table"] == "orderz"].iloc[0]
    assert "did you mean 'orders'" in table_warning["hint"]
    assert "amout" not in report.valid["orders"].columns
    assert len(report.valid["orders"]) == len(tables["orders"])
    assert report.counts.loc["orders", "warnings"] == 1


@pytest.mark.parametrize(
    ("table", "column", "value", "expected"),
    [
        ("orders", "amount", "abc", "a number"),
        ("orders", "units", 3.5, "a whole number"),
        ("reps", "active", "maybe", "a boolean"),
        ("orders", "order_date", "2024-13-45", "an ISO date"),
        ("orders", "units", 10**30, "64-bit integer range"),
        ("orders", "amount", True, "a number"),
        ("orders", "order_date", 20240105, "an ISO date"),
        ("ownership", "end_date", "9999-12-31", "a date between"),
    ],
)
def test_wrong_type(tables, as_of, table, column, value, expected):
    report, _ = _break(tables, as_of, table, 3, column, value)
    row = _only_failure(report, table, 3)
    assert row["table"] == table and row["row"] == 3 and row["column"] == column
    assert row["key"] == _key(tables, table, 3)
    assert row["reason"] == "wrong_type"
    assert row["value"] == repr(value)
    assert expected in row["message"] and repr(value) in row["message"]
    assert row["hint"]


@pytest.mark.parametrize("value", [None, np.nan, "nan", "", "   ", pd.NA, pd.NaT])
def test_null_required(tables, as_of, value):
    report, _ = _break(tables, as_of, "orders", 2, "amount", value)
    row = _only_failure(report)
    assert (row["table"], row["row"], row["column"], row["reason"]) == ("orders", 2, "amount", "null_required")
    assert "required column 'amount'" in row["message"]


def test_null_in_optional_column_is_fine(tables, as_of):
    report, _ = _break(tables, as_of, "tickets", 1, "resolution_hours", np.nan)
    assert report.ok


def test_unknown_category_suggests_the_nearest(tables, as_of):
    report, _ = _break(tables, as_of, "orders", 4, "product_line", "Servr")
    row = _only_failure(report)
    assert (row["row"], row["column"], row["reason"], row["value"]) == (4, "product_line", "unknown_category", "'Servr'")
    assert "did you mean 'server'?" in row["hint"]
    assert "desktop, notebook, server, tablet, services" in row["message"]


def test_unknown_category_display_name_maps_to_slug(tables, as_of):
    report, _ = _break(tables, as_of, "customers", 0, "region", "Beijing-Tianjin-Hebei")
    row = report.failures[report.failures["table"] == "customers"].iloc[0]
    assert row["reason"] == "unknown_category" and "did you mean 'beijing_tianjin_hebei'?" in row["hint"]


def test_unknown_category_checks_each_element_of_a_multi_column(tables, as_of):
    report, _ = _break(tables, as_of, "partners", 5, "industries", "finance;educaton; telecom ;bankk")
    rows = report.failures.query("table == 'partners'")
    assert list(rows["row"]) == [5, 5]
    assert list(rows["value"]) == ["'educaton'", "'bankk'"]
    assert (rows["reason"] == "unknown_category").all() and (rows["column"] == "industries").all()
    assert "did you mean 'education'?" in rows.iloc[0]["hint"]
    assert "in 'finance;educaton; telecom ;bankk'" in rows.iloc[1]["message"]


def test_duplicate_key_quarantines_every_copy(tables, as_of):
    orders = tables["orders"].copy()
    orders.iat[5, 0] = orders.iat[2, 0]
    tables["orders"] = orders
    report = validate_tables(tables, as_of=as_of)
    rows = report.failures
    assert list(rows["row"]) == [2, 5] and (rows["reason"] == "duplicate_key").all()
    assert (rows["key"] == orders.iat[2, 0]).all()
    assert "on 2 rows (rows 2, 5)" in rows.iloc[0]["message"]
    assert list(report.quarantined["orders"].index) == [2, 5]
    assert len(report.valid["orders"]) == len(orders) - 2


def test_orphan_unknown_reference(tables, as_of):
    report, _ = _break(tables, as_of, "orders", 6, "account_id", "A-NOPE")
    row = _only_failure(report)
    assert (row["row"], row["column"], row["reason"], row["value"]) == (6, "account_id", "orphan", "'A-NOPE'")
    assert "customers.account_id" in row["message"] and "not there" in row["message"]


def test_orphan_respects_references_or(tables, as_of):
    report, _ = _break(tables, as_of, "orders", 1, "channel", "direct")
    assert report.ok
    report, _ = _break(tables, as_of, "orders", 1, "channel", "Direct")
    row = _only_failure(report)
    assert (row["column"], row["reason"]) == ("channel", "orphan")
    assert "or 'direct'" in row["message"]


def test_cascade_orphans_children_of_a_quarantined_parent(tables, as_of):
    account = tables["customers"]["account_id"].iat[0]
    report, _ = _break(tables, as_of, "customers", 0, "employees", -1)
    children = {
        name: int((tables[name]["account_id"] == account).sum())
        for name in ("orders", "tickets", "contacts", "visits", "opportunities", "ownership")
    }
    assert sum(children.values()) > 0
    orphans = report.failures[report.failures["reason"] == "orphan"]
    for name, n in children.items():
        mine = orphans[orphans["table"] == name]
        assert len(mine) >= n  # visits may also be orphaned through a contact of that account
        assert report.counts.loc[name, "quarantined"] >= n
    first = orphans.iloc[0]
    assert "quarantined" in first["message"] and repr(account) in first["message"]


def test_cascade_follows_a_self_reference_chain(tables, as_of):
    reps = tables["reps"].copy()
    ids = list(reps["rep_id"])
    reps["manager_id"] = pd.Series([None, ids[0], ids[1], *[None] * (len(ids) - 3)], dtype="str")
    reps = _set(reps, 0, "capacity", 0)  # rep 0 breaks; 1 reports to 0; 2 reports to 1
    tables["reps"] = reps
    report = validate_tables(tables, as_of=as_of)
    rep_failures = report.failures[report.failures["table"] == "reps"]
    assert list(rep_failures["row"]) == [0, 1, 2]
    assert list(rep_failures["reason"]) == ["out_of_range", "orphan", "orphan"]
    assert set(report.quarantined["reps"].index) == {0, 1, 2}
    owned = tables["customers"]["owner_rep_id"].isin(ids[:3]).sum()
    assert (report.failures.query("table == 'customers'")["reason"] == "orphan").sum() == owned


def test_future_date(tables, as_of):
    later = (as_of + pd.Timedelta(days=1)).date().isoformat()
    report, _ = _break(tables, as_of, "orders", 7, "order_date", later)
    row = _only_failure(report)
    assert (row["row"], row["column"], row["reason"], row["value"]) == (7, "order_date", "future_date", repr(later))
    assert as_of.date().isoformat() in row["message"]
    # the as-of date itself is allowed, and dates without not_future may be later
    assert validate_tables(_break(tables, as_of, "orders", 7, "order_date", as_of)[1], as_of=as_of).ok
    assert _break(tables, as_of, "contacts", 0, "active_to", "2030-01-01")[0].ok


def test_future_date_beyond_the_date_range_is_still_future(tables, as_of):
    report, _ = _break(tables, as_of, "orders", 7, "order_date", "2999-01-01")
    assert _only_failure(report)["reason"] == "future_date"


def test_future_date_default_as_of_is_the_day_after_the_newest_event(tables):
    # issue 15: one as-of rule everywhere (engine/_asof.py); a date after today never moves it
    broken = dict(tables, orders=_set(tables["orders"], 0, "order_date", "2200-01-01"))
    report = validate_tables(broken)
    assert report.as_of == pd.Timestamp(default_as_of(broken))
    assert report.as_of <= pd.Timestamp.now(tz="UTC").tz_localize(None).normalize() + pd.Timedelta(days=1)
    assert list(report.failures["reason"]) == ["future_date"]


def test_negative_value(tables, as_of):
    report, _ = _break(tables, as_of, "orders", 8, "units", -4)
    row = _only_failure(report)
    assert (row["row"], row["column"], row["reason"], row["value"]) == (8, "units", "negative_value", "-4")
    assert "expected a value >= 0; got -4" == row["message"]


@pytest.mark.parametrize(
    ("table", "column", "value", "message"),
    [
        ("tickets", "satisfaction", 7, "expected a value between 1 and 5; got 7"),
        ("tickets", "satisfaction", 0, "expected a value between 1 and 5; got 0"),
        ("reps", "capacity", 0, "expected a value >= 1; got 0"),
    ],
)
def test_out_of_range(tables, as_of, table, column, value, message):
    report, _ = _break(tables, as_of, table, 1, column, value)
    row = report.failures.iloc[0]
    assert (row["table"], row["row"], row["column"], row["reason"]) == (table, 1, column, "out_of_range")
    assert row["message"] == message


@pytest.mark.parametrize("value", [math.inf, -math.inf, "inf", "-Infinity", "1e400"])
def test_non_finite(tables, as_of, value):
    report, _ = _break(tables, as_of, "orders", 9, "margin", value)
    row = _only_failure(report)
    assert (row["row"], row["column"], row["reason"]) == (9, "margin", "non_finite")
    assert row["message"] == f"expected a finite number; got {value!r}"


def test_row_check(tables, as_of):
    amount = tables["orders"]["amount"].iat[3]
    report, _ = _break(tables, as_of, "orders", 3, "margin", amount + 1)
    row = _only_failure(report)
    assert (row["row"], row["column"], row["reason"]) == (3, "margin", "row_check")
    assert "'margin_within_amount'" in row["message"] and "margin is not greater than amount" in row["message"]
    assert row["hint"] == CUSTOMER_DATABASE["orders"].checks[0].hint


def test_row_check_that_reads_nulls(tables, as_of):
    opportunities = tables["opportunities"]
    report, _ = _break(
        dict(tables, opportunities=_set(opportunities, 0, "account_id", None)), as_of, "opportunities", 0, "region", None
    )
    checks = report.failures[report.failures["reason"] == "row_check"]
    assert list(checks["row"]) == [0] and "'prospect_needs_territory'" in checks.iloc[0]["message"]


def test_row_check_skips_cells_that_already_failed(tables, as_of):
    report, _ = _break(tables, as_of, "orders", 3, "margin", "lots")
    assert list(_only_failure(report).items())[4] == ("reason", "wrong_type")


@pytest.mark.parametrize("value", ["", "   ", None, np.nan])
def test_empty_key(tables, as_of, value):
    report, _ = _break(tables, as_of, "orders", 4, "order_id", value)
    row = _only_failure(report)
    assert (row["row"], row["column"], row["reason"]) == (4, "order_id", "empty_key")
    assert pd.isna(row["key"])


def test_every_reason_code_is_exercised_by_a_test():
    import pathlib

    source = pathlib.Path(__file__).read_text()
    for code in REASONS:
        assert f'"{code}"' in source, code


def test_all_failures_are_collected_in_one_pass(tables, as_of):
    tables["reps"] = _set(tables["reps"], 2, "role", "outsid")
    tables["orders"] = _set(_set(tables["orders"], 0, "amount", "abc"), 5, "units", -1)
    tables["tickets"] = _set(tables["tickets"], 4, "satisfaction", 9)
    del tables["visits"]
    report = validate_tables(tables, as_of=as_of)
    found = set(zip(report.failures["table"], report.failures["row"].fillna(-1), report.failures["reason"]))
    assert {
        ("reps", 2, "unknown_category"),
        ("orders", 0, "wrong_type"),
        ("orders", 5, "negative_value"),
        ("tickets", 4, "out_of_range"),
        ("visits", -1, "missing_table"),
    } <= found
    with pytest.raises(ContractError) as raised:
        report.raise_if_any()
    assert raised.value.failure_cases is report.failures
    assert "quarantined" in str(raised.value)


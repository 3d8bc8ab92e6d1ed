"""Storage: round trips, atomic and idempotent writes, allow-listed names, masked secrets."""

from __future__ import annotations

import threading
import traceback

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import ConfigError, MissingDependencyError, StorageError
from engine.storage import Database, LiveStore, mask_url


def _reps(n: int = 3) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "rep_id": [f"R{i}" for i in range(n)],
            "name": [f"Rep {i}" for i in range(n)],
            "role": ["outside", "inside", "inside"][:n] + ["inside"] * max(0, n - 3),
            "region": ["shanghai"] * n,
            "industries": ["finance;telecom"] * n,
            "manager_id": [None] + ["R0"] * (n - 1),
            "capacity": [20, 200, 200][:n] + [200] * max(0, n - 3),
            "active": [True, False, True][:n] + [True] * max(0, n - 3),
        }
    )


def _orders() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "order_id": ["O1", "O2", "O3"],
            "account_id": ["A1", "A1", "A2"],
            "order_date": pd.to_datetime(["2025-01-31", "2025-02-01", None]),
            "product_line": ["desktop", "server", "services"],
            "units": [10, 2, 0],
            "amount": [50_000.0, np.nan, 1_234.5],
            "margin": [5_000.0, -10.0, 0.0],
            "channel": ["direct", "P1", "direct"],
        }
    )


def test_source_tables_round_trip(database):
    database.write_source_tables({"reps": _reps(), "orders": _orders()})
    assert {"reps", "orders"} <= database.table_names()
    reps = database.read_table("reps")
    assert reps["rep_id"].tolist() == ["R0", "R1", "R2"]
    assert reps["manager_id"].isna().tolist() == [True, False, False]
    assert [bool(v) for v in reps["active"]] == [True, False, True]
    orders = database.read_table("orders")
    dates = pd.to_datetime(orders["order_date"].astype(object), format="ISO8601")
    assert dates.dt.strftime("%Y-%m-%d").fillna("NULL").tolist() == ["2025-01-31", "2025-02-01", "NULL"]
    assert orders["amount"].isna().tolist() == [False, True, False]
    assert orders["margin"].tolist() == [5_000.0, -10.0, 0.0]
    assert database.count_rows("orders") == 3
    assert database.read_table("orders", columns=["order_id"]).columns.tolist() == ["order_id"]


def test_null_first_rows_keep_their_types(database):
    """ADBC infers types from the first rows; a column that starts with nulls must still read."""
    orders = pd.concat([_orders().iloc[[2]]] * 3000 + [_orders().iloc[[0]]], ignore_index=True)
    orders["order_id"] = [f"O{i}" for i in range(len(orders))]
    database.write_source_tables({"orders": orders})
    back = database.read_table("orders")
    assert back["order_date"].notna().sum() == 1
    assert str(back["order_date"].dropna().iloc[0])[:10] == "2025-01-31"


def test_mixed_types_fall_back_to_the_general_reader(database):
    """SQLite lets a text sit in an integer column; reading must not crash (validation judges it)."""
    orders = _orders()
    orders["units"] = orders["units"].astype(object)
    orders.loc[1, "units"] = "twelve"
    if database.dialect == "postgresql":
        with pytest.raises(StorageError, match="Nothing was written"):
            database.write_source_tables({"orders": orders})
        return
    database.write_source_tables({"orders": orders})
    back = database.read_table("orders")
    assert back["units"].tolist()[1] == "twelve"


def test_estimated_rows_match_the_count_on_a_fresh_table(database):
    database.write_source_tables({"reps": _reps(7), "orders": _orders()})
    # SQLite: the largest rowid; PostgreSQL: the count until ANALYZE gives the planner a figure
    assert database.estimate_rows("reps") == database.count_rows("reps") == 7
    assert database.estimate_rows("orders") == 3


def test_estimated_rows_of_a_table_without_rowid_are_counted(tmp_path):
    import sqlite3

    path = tmp_path / "norowid.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE reps (rep_id TEXT PRIMARY KEY, name TEXT) WITHOUT ROWID")
        conn.executemany("INSERT INTO reps VALUES (?, ?)", [("R1", "a"), ("R2", "b")])
    for fast in (True, False):
        with Database(path, fast_sqlite=fast) as db:
            assert db.estimate_rows("reps") == 2


def test_failed_source_write_leaves_previous_tables(database):
    database.write_source_tables({"reps": _reps(), "orders": _orders()})
    bad = _orders()
    bad.loc[0, "amount"] = np.inf
    with pytest.raises(StorageError, match="infinity"):
        database.write_source_tables({"reps": _reps(2), "orders": bad})
    assert database.count_rows("reps") == 3  # the first table of the failed batch was rolled back
    assert database.count_rows("orders") == 3
    assert not any(name.endswith("__kam_staging") for name in database.table_names())


def test_missing_contract_column_is_a_clear_error(database):
    with pytest.raises(ConfigError, match=r"missing contract columns \['channel'\]"):
        database.write_source_tables({"orders": _orders().drop(columns=["channel"])})


def _scores(run: str, n: int) -> dict[str, pd.DataFrame]:
    started = pd.Timestamp("2026-01-01") + pd.Timedelta(days=int(run.split("-")[1]))
    return {
        "runs": pd.DataFrame({"started_at": [started], "accounts": [n]}),
        "account_scores": pd.DataFrame(
            {"account_id": [f"A{i}" for i in range(n)], "tier": ["A"] * n, "churn_probability": np.linspace(0, 1, n)}
        ),
    }


def test_write_run_is_idempotent(database):
    database.write_run("run-1", _scores("run-1", 5))
    database.write_run("run-1", _scores("run-1", 5))
    assert database.count_rows("account_scores") == 5
    assert database.count_rows("runs") == 1
    back = database.read_results("account_scores")
    assert set(back["run_id"]) == {"run-1"}
    assert back["churn_probability"].tolist() == pytest.approx(np.linspace(0, 1, 5).tolist())


def test_categorical_results_are_written_as_their_values(database):
    """Rule outputs arrive as categoricals: every kind of category is stored as its value."""
    scores = pd.DataFrame({
        "account_id": ["A1", "A2", "A3"],
        "tier": pd.Categorical(["A", None, "C"]),
        "priority_rank": pd.Categorical([3, 1, 2]),
        "expected_margin_12m": pd.Categorical([2.5, None, 2.5]),
        "tier_rule_id": pd.Categorical(["top", 7, None]),  # mixed category types: stored as text
        "strategic": pd.Categorical([True, None, False]),
        "visits": pd.Categorical([None, 4, 5]),
    })
    database.write_run("run-1", {"account_scores": scores})
    back = database.read_results("account_scores").sort_values("account_id").reset_index(drop=True)
    assert back["tier"].tolist()[::2] == ["A", "C"] and pd.isna(back["tier"][1])
    assert back["priority_rank"].astype(int).tolist() == [3, 1, 2]
    assert back["expected_margin_12m"][0] == 2.5 and pd.isna(back["expected_margin_12m"][1])
    assert [str(v) for v in back["tier_rule_id"][:2]] == ["top", "7"] and pd.isna(back["tier_rule_id"][2])
    assert back["strategic"][0] == 1 and pd.isna(back["strategic"][1]) and back["strategic"][2] == 0
    assert pd.isna(back["visits"][0]) and back["visits"][1:].astype(int).tolist() == [4, 5]


def test_categorical_source_columns_follow_their_contract_type(database):
    orders = _orders().head(2)
    orders["order_date"] = pd.Categorical(["2025-01-31T10:30:00", "2025-02-01"])  # dates, as text
    orders["product_line"] = pd.Categorical(["desktop", None])
    orders["channel"] = pd.Categorical([None, None])  # no category at all
    database.write_source_tables({"orders": orders})
    back = database.read_table("orders")
    dates = pd.to_datetime(back["order_date"].astype(object), format="ISO8601")
    assert dates.dt.strftime("%Y-%m-%d").tolist() == ["2025-01-31", "2025-02-01"]
    assert back["product_line"].tolist()[0] == "desktop" and pd.isna(back["product_line"][1])
    assert back["channel"].isna().all()


def test_a_fraction_in_a_whole_number_column_is_refused(database):
    orders = _orders()
    orders["units"] = [10.0, 1.5, 0.0]
    with pytest.raises(StorageError, match=r"'units' is a whole-number column; got 1.5 at row 1"):
        database.write_source_tables({"orders": orders})


_SPELLINGS = ["fast", "sqlalchemy", "text T", "text space"]


@settings(max_examples=30)
@given(st.lists(st.tuples(st.integers(0, 3 * 86_400) | st.integers(0, 2), st.sampled_from(_SPELLINGS)),
                min_size=2, max_size=6))
def test_the_latest_run_is_the_latest_started_whatever_its_timestamp_spelling(tmp_path_factory, runs):
    """SQLite keeps ``started_at`` as text: kam's fast writes spell it with a space, its other writes
    (and a caller's text) with a ``T``. Compared as text, a ``T`` of a day came after every space
    of that day; the latest run, the retention and the live store's base must go by the time,
    then (runs of the same second) by run id."""
    path = tmp_path_factory.mktemp("spellings") / "kam.sqlite"
    start = pd.Timestamp("2026-10-01 00:00:00")
    for k, (offset, spelling) in enumerate(runs):
        at = start + pd.Timedelta(seconds=offset)
        value = {"text T": at.strftime("%Y-%m-%dT%H:%M:%S"), "text space": at.strftime("%Y-%m-%d %H:%M:%S")}.get(
            spelling, at)
        frame = pd.DataFrame({"as_of": ["2026-10-01"], "started_at": [value]})
        with Database(path, fast_sqlite=spelling == "fast") as db:
            db.write_run(f"run-{k}", {"runs": frame})
    newest_first = [f"run-{k}" for offset, k in sorted(((offset, k) for k, (offset, _) in enumerate(runs)),
                                                          reverse=True)]
    with Database(path) as db:
        assert db.list_runs()["run_id"].tolist() == newest_first
        assert db.latest_run_id() == newest_first[0]
        assert LiveStore(db).latest_run()[0] == newest_first[0]
        older = pd.DataFrame({"as_of": ["2026-09-30"], "started_at": [start - pd.Timedelta(seconds=1)]})
        db.write_run("run-older", {"runs": older}, keep_runs=2)  # the retention keeps the newest two by time
        assert db.list_runs()["run_id"].tolist() == newest_first[:2]


def _version(run: str, version: int, started: str) -> dict[str, pd.DataFrame]:
    """Run ``run``'s tables, every row marked ``version``."""
    return {"runs": pd.DataFrame({"started_at": [pd.Timestamp(started)], "version": [version]}),
            "account_scores": pd.DataFrame({"account_id": ["A1", "A2"], "version": version}),
            "opportunity_routes": pd.DataFrame({"opportunity_id": ["O1"], "version": version})}


def test_a_read_straddling_a_rerun_of_its_run_is_read_again(database):
    """A re-run of the same run id commits between two reads of its tables: read again, all of one version."""
    assert database.read_consistently("r", lambda: "no runs table yet") == "no runs table yet"
    database.write_run("r", _version("r", 1, "2026-10-01 06:00:00"))
    calls = []

    def read():
        scores = database.read_results("account_scores", run_id="r")
        if not calls:  # the re-run commits after the first table was read
            database.write_run("r", _version("r", 2, "2026-10-01 06:00:00"))  # started in the same second
        calls.append(1)
        routes = database.read_results("opportunity_routes", run_id="r")
        return set(scores["version"].astype(int)), set(routes["version"].astype(int))

    assert database.read_consistently("r", read) == ({2}, {2})
    assert len(calls) == 2  # the first read was mixed ({1}, {2}) and is not returned


def test_a_run_rewritten_during_every_read_is_an_error(database):
    database.write_run("r", _version("r", 0, "2026-10-01 06:00:00"))
    rewrites = iter(range(1, 10))

    def read():
        k = next(rewrites)
        database.write_run("r", _version("r", k, f"2026-10-01 06:00:{k:02d}"))

    with pytest.raises(StorageError, match=r"run 'r' .* was rewritten while it was read, 3 times in a row.*Fix: read"):
        database.read_consistently("r", read)
    assert next(rewrites) == 4
    with pytest.raises(ConfigError, match="attempts as a whole number >= 1; got 0"):
        database.read_consistently("r", read, attempts=0)
    assert database.read_consistently("absent", lambda: "no run, no rewrite") == "no run, no rewrite"


def test_latest_run_and_retention(database):
    for k in range(1, 5):
        database.write_run(f"run-{k}", _scores(f"run-{k}", k), keep_runs=2)
    assert database.list_runs()["run_id"].tolist() == ["run-4", "run-3"]
    assert database.latest_run_id() == "run-4"
    assert len(database.read_results("account_scores")) == 4
    assert len(database.read_results("account_scores", run_id="run-3")) == 3
    assert database.count_rows("account_scores") == 7


def test_new_result_columns_are_added(database):
    database.write_run("run-1", _scores("run-1", 2))
    extra = _scores("run-2", 2)
    extra["account_scores"]["top_reasons"] = ['["a"]', None]
    database.write_run("run-2", extra)
    assert "top_reasons" in database.columns("account_scores")
    assert database.read_results("account_scores", run_id="run-1")["top_reasons"].isna().all()


def test_failed_run_write_keeps_previous_results(database):
    database.write_run("run-1", _scores("run-1", 3))
    bad = _scores("run-1", 3)
    bad["account_scores"].loc[1, "churn_probability"] = -np.inf
    with pytest.raises(StorageError):
        database.write_run("run-1", bad)
    back = database.read_results("account_scores", run_id="run-1")
    assert len(back) == 3 and np.isfinite(back["churn_probability"]).all()


def test_readers_see_a_complete_run_or_the_previous_one(database):
    """While runs of different sizes are rewritten, a reader never sees a partial run."""
    if database.dialect == "sqlite":
        database.write_run("run-1", _scores("run-1", 1))
    sizes = {1, 2_000}
    database.write_run("run-1", _scores("run-1", 1))
    seen: list[int] = []
    errors: list[BaseException] = []

    def reader():
        try:
            for _ in range(30):
                seen.append(len(database.read_results("account_scores", run_id="run-1")))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    thread = threading.Thread(target=reader)
    thread.start()
    for k in range(6):
        database.write_run("run-1", _scores("run-1", 2_000 if k % 2 == 0 else 1))
    thread.join()
    assert not errors, errors
    assert set(seen) <= sizes, set(seen) - sizes


@pytest.mark.parametrize(
    "name",
    ["customers; DROP TABLE reps", "account_scores--", "orders\"", "sqlite_master", "acount_scores"],
)
def test_table_names_are_allow_listed(database, name):
    with pytest.raises(ConfigError) as info:
        database.read_table(name)
    assert "table" in str(info.value)
    if name == "acount_scores":
        assert "did you mean 'account_scores'?" in str(info.value)


def test_column_names_are_checked(database):
    frame = pd.DataFrame({"account_id": ["A1"], "tier; DROP TABLE runs": ["A"]})
    with pytest.raises(ConfigError, match="not a plain identifier"):
        database.write_run("run-1", {"account_scores": frame})


def test_values_are_bound_not_interpolated(database):
    tricky = "x'); DROP TABLE account_scores; --"
    database.write_run(tricky, {"account_scores": pd.DataFrame({"account_id": ["A1"]})})
    assert database.read_results("account_scores", run_id=tricky)["account_id"].tolist() == ["A1"]
    assert "account_scores" in database.table_names()


def test_keep_runs_must_be_positive(database):
    with pytest.raises(ConfigError, match="keep_runs"):
        database.write_run("run-1", _scores("run-1", 1), keep_runs=0)


def test_password_never_shown():
    secret = "pa55-w0rd-xyz"
    db = Database(f"postgresql://kam:{secret}@127.0.0.1:1/sales")
    assert secret not in repr(db) and secret not in db.display_url
    with pytest.raises(StorageError) as info:
        db.table_names()
    rendered = "".join(traceback.format_exception(info.value))
    assert secret not in str(info.value)
    assert "***" in str(info.value)
    assert secret not in rendered.replace(secret, "***") or secret not in str(info.value)
    assert secret not in mask_url(f"postgresql://kam:{secret}@db/x")


def test_invalid_url_is_a_config_error():
    with pytest.raises(ConfigError, match="not a valid SQLAlchemy URL"):
        Database("postgresql://user:pw@host:notaport/db")


def test_missing_postgres_driver_names_the_install_line(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "psycopg":
            raise ImportError("no psycopg")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(MissingDependencyError, match=r"pip install 'kam-engine\[postgres\]'"):
        Database("postgresql://kam@localhost/db")


def test_missing_table_is_a_storage_error(database):
    with pytest.raises(StorageError, match="does not exist"):
        database.read_table("tickets")
    with pytest.raises(StorageError, match="kam score"):
        database.read_results("account_scores")


def test_sqlite_sessions_of_two_libraries_never_overlap_on_one_file():
    """ADBC's SQLite and pysqlite in one process do not see each other's locks: the guard
    runs their sessions one library at a time, and the same library's side by side."""
    import time

    from engine.storage._guard import SqliteGuard

    guard = SqliteGuard()
    inside: list[str] = []
    overlaps: list[tuple[str, ...]] = []
    lock = threading.Lock()

    def session(library: str) -> None:
        with guard.hold(library):
            with lock:
                inside.append(library)
                overlaps.append(tuple(sorted(inside)))
            time.sleep(0.02)
            with lock:
                inside.remove(library)

    threads = [threading.Thread(target=session, args=(lib,)) for lib in ["adbc", "pysqlite"] * 4]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(len(set(seen)) == 1 for seen in overlaps)  # never both libraries at once
    assert any(len(seen) > 1 for seen in overlaps)  # the same library does run side by side


def test_a_session_of_the_other_library_inside_a_session_is_refused():
    from engine.storage._guard import SqliteGuard

    guard = SqliteGuard()
    with guard.hold("adbc"):
        with guard.hold("adbc"):  # the same library nests
            pass
        with pytest.raises(StorageError, match="pysqlite session opened inside a adbc session"):
            with guard.hold("pysqlite"):
                pass
    with guard.hold("pysqlite"):  # released: the other library may go now
        pass


def test_sqlite_engines_keep_no_idle_connections(tmp_path):
    with Database(tmp_path / "kam.sqlite", fast_sqlite=False) as db:
        db.write_source_tables({"reps": _reps()})
        assert db.engine.pool.status().startswith("NullPool")


def test_read_results_reads_only_the_columns_asked_for_of_one_run(database):
    """The report reads a million-account run this way (ADBC on SQLite, same rows everywhere)."""
    first = pd.DataFrame({"account_id": ["A1", "A2"], "tier": [None, "B"], "value_at_risk": [1.5, None]})
    database.write_run("run-1", {"account_scores": first})
    database.write_run("run-2", {"account_scores": first.assign(tier=["C", "C"], value_at_risk=[2.0, 3.0])})
    frame = database.read_results("account_scores", run_id="run-1", columns=["account_id", "tier", "value_at_risk"])
    assert list(frame.columns) == ["account_id", "tier", "value_at_risk"]
    assert frame["account_id"].tolist() == ["A1", "A2"]
    assert frame["tier"].isna().tolist() == [True, False] and frame["tier"].iloc[1] == "B"
    assert frame["value_at_risk"].iloc[0] == 1.5 and pd.isna(frame["value_at_risk"].iloc[1])
    with pytest.raises(ConfigError, match="no column"):
        database.read_results("account_scores", run_id="run-1", columns=["account_id", "revenue_12m"])
    older = database.read_results("account_scores", run_id="run-2", columns=["tier", "revenue_12m"], missing_ok=True)
    assert list(older.columns) == ["tier"] and older["tier"].tolist() == ["C", "C"]

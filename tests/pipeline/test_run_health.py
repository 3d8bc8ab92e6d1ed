"""Run health as policy (issue 11): fail before writing, warn from the library."""

from __future__ import annotations

import warnings

import pytest

from engine._errors import DataError, RunHealthWarning
from engine.pipeline import score, score_frame
from engine.pipeline._health import check_run_health
from engine.storage import Database
from engine.validate import validate_tables

AS_OF = "2026-10-01"


def test_score_frame_with_tables_left_out_warns_instead_of_silently_scoring(demo_tables, artifacts):
    with pytest.warns(RunHealthWarning) as caught:
        score_frame(demo_tables["customers"], orders=demo_tables["orders"], ownership=demo_tables["ownership"],
                    reps=demo_tables["reps"], partners=demo_tables["partners"], tickets=demo_tables["tickets"],
                    visits=demo_tables["visits"], as_of=AS_OF, artifacts_dir=artifacts)
    messages = [str(w.message) for w in caught]
    assert any("no 'contacts', 'opportunities' table was given" in m for m in messages), messages
    assert any("most rows of visits were quarantined" in m for m in messages), messages  # visits need contacts


def test_score_frame_with_every_customer_quarantined_warns_about_an_empty_result(demo_tables, artifacts):
    tables = dict(demo_tables)
    customers = tables["customers"].copy()
    customers["account_id"] = None
    tables["customers"] = customers
    with pytest.warns(RunHealthWarning) as caught:
        result = score_frame(tables, as_of=AS_OF, artifacts_dir=artifacts)
    assert len(result.account_scores) == 0
    assert any("scored 0 accounts" in str(w.message) for w in caught)


def test_a_healthy_score_frame_does_not_warn(demo_tables, artifacts):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        score_frame(demo_tables, as_of=AS_OF, artifacts_dir=artifacts)


def test_check_run_health_per_table_share(demo_tables):
    tables = dict(demo_tables)
    orders = tables["orders"].copy()
    orders.loc[orders.index[: len(orders) // 10], "amount"] = -1.0
    tables["orders"] = orders
    report = validate_tables(tables, as_of=AS_OF)
    with pytest.raises(DataError, match="orders") as caught:
        check_run_health(report, 0.05)
    assert "negative_value" in str(caught.value) and "previous results are intact" in str(caught.value)
    check_run_health(report, 0.5)
    check_run_health(report, None)


def test_score_refuses_an_empty_customers_table_before_writing(demo_tables, artifacts, tmp_path):
    path = tmp_path / "empty.sqlite"
    with Database(path) as db:
        db.write_source_tables({**demo_tables, "customers": demo_tables["customers"].iloc[:0]})
        with pytest.raises(DataError, match="at least one valid customer"):
            score(db, as_of=AS_OF, artifacts_dir=artifacts, max_quarantined=None)
        assert db.list_runs().empty


def test_score_never_creates_a_missing_sqlite_file(artifacts, tmp_path):
    from engine._errors import StorageError

    with pytest.raises(StorageError, match="does not exist"):
        score(tmp_path / "nosuch.sqlite", as_of=AS_OF, artifacts_dir=artifacts)
    assert not (tmp_path / "nosuch.sqlite").exists()


def test_no_database_url_is_ever_written_into_a_table():
    import pandas as pd

    from engine.pipeline._score import _without_urls

    db = Database("postgresql://kam:Hunter22@db.internal:5432/sales?sslmode=require")
    rejects = pd.DataFrame({
        "message": [f"expected a table 'tickets' in {db.display_url}; got none",
                    f"raw {db.url.render_as_string(hide_password=False)}", "no url here"],
        "row_number": [1, 2, 3],
    })
    cleaned = _without_urls(rejects, db)
    text = " ".join(cleaned["message"])
    assert "://" not in text and "Hunter22" not in text
    assert "postgresql database 'sales' on db.internal" in text and "no url here" in text
    db.dispose()

"""A scoring run end to end: every account and open lead, atomic and idempotent writes, the CLI
and the library giving the same rows, bad rows quarantined, failed runs leaving results intact."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from engine import ModelError
from engine.cli import main
from engine.models import reasons_list
from engine.pipeline import score, score_frame
from engine.storage import Database
from engine.validate import validate_tables

AS_OF = "2026-10-01"


def _open_opportunities(tables) -> int:
    opps = validate_tables(tables, as_of=AS_OF).valid["opportunities"]
    open_at = (opps["created_date"] < pd.Timestamp(AS_OF)) & (
        opps["closed_date"].isna() | (opps["closed_date"] >= pd.Timestamp(AS_OF))
    )
    return int(open_at.sum())


def test_run_scores_every_account_and_routes_every_open_lead(demo_db, demo_tables, artifacts):
    result = score(demo_db, as_of=AS_OF, artifacts_dir=artifacts)
    scores, routes = result.account_scores, result.opportunity_routes
    assert len(scores) == len(demo_tables["customers"]) == scores["account_id"].nunique()
    assert len(routes) == _open_opportunities(demo_tables) == routes["opportunity_id"].nunique()
    assert set(scores["tier"]) <= {"A", "B", "C"} and scores["tier"].notna().all()
    assert scores["churn_probability"].between(0, 1).all()
    assert (scores["value_at_risk"] <= scores["expected_margin_12m"] + 1e-9).all()
    assert routes["route"].notna().all()
    assert (routes["assignment_status"].eq("assigned") | routes["status_reason"].notna()).all()
    explained = scores["top_reasons"].notna()
    assert explained.sum() == min(1_000, len(scores))  # the default: the 1,000 highest value at risk
    assert scores.loc[explained, "value_at_risk"].min() >= scores.loc[~explained, "value_at_risk"].max()
    # Reasons are the factors that raise the risk ("[]": nothing raises it), strongest first.
    reasons = [reasons_list(r) for r in scores.loc[explained, "top_reasons"]]
    assert sum(len(r) >= 1 for r in reasons) >= 0.5 * len(reasons)
    assert all(sentence.endswith("raises churn risk") for r in reasons for sentence in r)
    written = demo_db.read_results("account_scores")
    assert len(written) == len(scores) and set(written["run_id"]) == {result.run_id}
    runs = demo_db.read_results("runs", run_id=result.run_id)
    assert int(runs["accounts_scored"].iloc[0]) == len(scores)
    assert json.loads(runs["tier_counts"].iloc[0]) == scores["tier"].value_counts().to_dict()
    assert set(json.loads(runs["stage_seconds"].iloc[0])) >= {"load", "validate", "partition", "features", "tiers", "assign"}
    assert set(result.seconds) >= {"load", "validate", "features", "tiers", "churn", "routes", "win", "write"}


def test_rerun_replaces_instead_of_duplicating(demo_db, artifacts):
    first = score(demo_db, as_of=AS_OF, artifacts_dir=artifacts)
    second = score(demo_db, as_of=AS_OF, artifacts_dir=artifacts)
    assert first.run_id == second.run_id
    assert demo_db.count_rows("account_scores") == len(first.account_scores)
    assert demo_db.count_rows("runs") == 1


def test_dry_run_writes_nothing(demo_db, artifacts):
    result = score(demo_db, as_of=AS_OF, artifacts_dir=artifacts, dry_run=True)
    assert not result.written
    assert "account_scores" not in demo_db.table_names()


def test_failed_run_leaves_previous_results(demo_db, artifacts, tmp_path):
    good = score(demo_db, as_of=AS_OF, artifacts_dir=artifacts)
    with pytest.raises(ModelError, match="kam train"):
        score(demo_db, as_of="2026-10-02", artifacts_dir=tmp_path / "missing")
    assert demo_db.latest_run_id() == good.run_id
    assert len(demo_db.read_results("account_scores")) == len(good.account_scores)


def test_bad_rows_are_quarantined_and_the_run_continues(demo_db, demo_tables, artifacts):
    orders = demo_tables["orders"].copy()
    orders.loc[orders.index[0], "amount"] = -1.0
    customers = demo_tables["customers"].copy()
    customers.loc[customers.index[3], "region"] = "atlantis"
    demo_db.write_source_tables({"orders": orders, "customers": customers})
    result = score(demo_db, as_of=AS_OF, artifacts_dir=artifacts)
    rejects = demo_db.read_results("rejects")
    assert {"negative_value", "unknown_category"} <= set(rejects["reason"])
    assert customers["account_id"].iloc[3] not in set(result.account_scores["account_id"])
    assert len(result.account_scores) == len(customers) - 1
    assert int(result.run["rows_quarantined"]) >= 2


def test_keep_runs_prunes_old_results(demo_db, artifacts):
    for day in ("2026-10-01", "2026-10-02", "2026-10-03"):
        score(demo_db, as_of=day, artifacts_dir=artifacts, keep_runs=2, reasons_for=0)
    assert len(demo_db.list_runs()) == 2
    assert set(demo_db.list_runs()["as_of"]) == {"2026-10-02", "2026-10-03"}


def test_cli_and_library_give_identical_rows(demo_db, artifacts, capsys):
    url = demo_db.url.render_as_string(hide_password=False)
    library = score(demo_db, as_of=AS_OF, artifacts_dir=artifacts, dry_run=True)
    assert main(["score", "--db", url, "--as-of", AS_OF, "--models", str(artifacts), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["run_id"] == library.run_id and summary["written"] is True
    assert summary["tiers"] == library.account_scores["tier"].value_counts().to_dict()
    written = demo_db.read_results("account_scores", run_id=library.run_id)
    expected = library.account_scores.reset_index(drop=True)
    pd.testing.assert_series_equal(written["account_id"], expected["account_id"], check_dtype=False)
    assert np.allclose(written["churn_probability"].astype(float), expected["churn_probability"])
    assert written["tier"].tolist() == expected["tier"].astype(str).tolist()
    routes = demo_db.read_results("opportunity_routes", run_id=library.run_id)
    assert routes["route"].tolist() == library.opportunity_routes["route"].astype(str).tolist()
    assert routes["assignee_id"].fillna("").tolist() == library.opportunity_routes["assignee_id"].fillna("").tolist()


def test_score_frame_matches_score(demo_tables, artifacts, tmp_path):
    db = Database(tmp_path / "frame.sqlite")
    db.write_source_tables(demo_tables)
    from_db = score(db, as_of=AS_OF, artifacts_dir=artifacts, dry_run=True)
    db.dispose()
    in_memory = score_frame(demo_tables, as_of=AS_OF, artifacts_dir=artifacts)
    assert in_memory.run_id == from_db.run_id
    columns = ["account_id", "tier", "tier_rule_id", "priority_rank"]
    pd.testing.assert_frame_equal(
        in_memory.account_scores[columns].astype(str), from_db.account_scores[columns].astype(str)
    )
    assert np.allclose(in_memory.account_scores["churn_probability"], from_db.account_scores["churn_probability"])
    assert in_memory.opportunity_routes["route"].astype(str).tolist() == from_db.opportunity_routes[
        "route"
    ].astype(str).tolist()


def test_score_frame_accepts_customers_plus_keywords(demo_tables, artifacts):
    tables = dict(demo_tables)
    customers = tables.pop("customers")
    result = score_frame(customers, as_of=AS_OF, artifacts_dir=artifacts, **tables)
    assert len(result.account_scores) == len(customers)

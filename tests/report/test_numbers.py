"""The report's numbers, checked on the plain data structure against the stored results."""

from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pandas as pd
import pytest

import engine
from engine._errors import ConfigError, StorageError
from engine.report import read_inputs, report_numbers
from engine.report._charts import render_charts
from engine.report._context import DRIFT_TOP
from engine.report._numbers import PARETO_POINTS, TOP_ACCOUNTS
from engine.storage import Database


@pytest.fixture(scope="module")
def numbers(scored_sqlite, report_models):
    path, _ = scored_sqlite
    db = Database(path)
    try:
        return report_numbers(read_inputs(db, artifacts_dir=report_models))
    finally:
        db.dispose()


@pytest.fixture(scope="module")
def stored(scored_sqlite):
    path, (before, now) = scored_sqlite
    db = Database(path, fast_sqlite=False)
    try:
        return {
            "now": db.read_results("account_scores", run_id=now),
            "before": db.read_results("account_scores", run_id=before),
            "routes": db.read_results("opportunity_routes", run_id=now),
            "runs": db.list_runs(),
        }
    finally:
        db.dispose()


def test_report_defaults_to_the_newest_run_compared_with_the_one_before(numbers, scored_sqlite):
    _, (before, now) = scored_sqlite
    assert numbers["meta"]["run_id"] == now
    assert numbers["meta"]["compared_with"] == before


def test_headline_totals_and_change_match_the_stored_rows(numbers, stored):
    headline = numbers["headline"]
    assert headline["accounts"] == len(stored["now"])
    assert headline["opportunities"] == len(stored["routes"])
    assert headline["value_at_risk"] == pytest.approx(stored["now"]["value_at_risk"].sum())
    change = stored["now"]["value_at_risk"].sum() - stored["before"]["value_at_risk"].sum()
    assert headline["change"]["value_at_risk"] == pytest.approx(change)
    run = stored["runs"].iloc[0]
    assert headline["rows_in"] == int(run["rows_in"])
    assert headline["rows_quarantined"] == int(run["rows_quarantined"])


def test_quarantine_by_reason_counts_the_rejects_of_the_run(scored_sqlite, report_models):
    path, (before, _) = scored_sqlite
    db = Database(path)
    try:
        numbers = report_numbers(read_inputs(db, run_id=before, compare=False, artifacts_dir=report_models))
        rejects = db.read_results("rejects", run_id=before)
    finally:
        db.dispose()
    by_reason = numbers["headline"]["quarantine_by_reason"]
    assert sum(r["failures"] for r in by_reason) == len(rejects)
    expected = rejects.groupby(["table_name", "reason"])["row_number"].nunique()
    assert {(r["table"], r["reason"]): r["rows"] for r in by_reason} == {k: int(v) for k, v in expected.items()}
    assert numbers["headline"]["change"] is None and numbers["tiers"]["moves"] is None


def test_tier_table_sums_to_the_accounts_and_revenue(numbers, stored):
    rows = {r["tier"]: r for r in numbers["tiers"]["rows"]}
    expected = stored["now"].groupby("tier").agg(accounts=("tier", "size"), revenue=("revenue_12m", "sum"))
    assert set(rows) == set(expected.index)
    for tier, row in expected.iterrows():
        assert rows[tier]["accounts"] == row["accounts"]
        assert rows[tier]["revenue"] == pytest.approx(row["revenue"])
    assert sum(r["account_share"] for r in rows.values()) == pytest.approx(1.0)
    assert sum(r["revenue_share"] for r in rows.values()) == pytest.approx(1.0)


def test_pareto_curve_and_its_20_80_point(numbers, stored):
    pareto = numbers["tiers"]["pareto"]
    share = np.asarray(pareto["revenue_share"])
    assert len(share) == PARETO_POINTS and share[0] == 0 and share[-1] == pytest.approx(1.0)
    assert np.all(np.diff(share) >= -1e-12)
    revenue = np.sort(stored["now"]["revenue_12m"].clip(lower=0).to_numpy())[::-1]
    top = math.ceil(0.2 * len(revenue))
    assert pareto["top20_revenue_share"] == pytest.approx(revenue[:top].sum() / revenue.sum())
    needed = np.searchsorted(np.cumsum(revenue) / revenue.sum(), 0.8 - 1e-12) + 1
    assert pareto["accounts_for_80"] == pytest.approx(needed / len(revenue))


def test_tier_moves_match_a_join_of_the_two_runs(numbers, stored):
    moves = numbers["tiers"]["moves"]
    joined = stored["before"][["account_id", "tier"]].merge(
        stored["now"][["account_id", "tier"]], on="account_id", suffixes=("_before", "_now")
    )
    expected = pd.crosstab(joined["tier_before"], joined["tier_now"])
    table = pd.DataFrame(moves["counts"], index=moves["from"], columns=moves["to"])
    for before_tier in expected.index:
        for now_tier in expected.columns:
            assert table.loc[before_tier, now_tier] == expected.loc[before_tier, now_tier]
    assert moves["moved_total"] == int((joined["tier_before"] != joined["tier_now"]).sum())


def test_territory_matrices_add_up(numbers, stored):
    terr = numbers["territories"]
    assert np.sum(terr["accounts"]) == len(stored["now"])
    assert np.sum(terr["value_at_risk"]) == pytest.approx(stored["now"]["value_at_risk"].sum())
    cell = stored["now"].groupby(["region", "industry"])["value_at_risk"].sum()
    region, industry = cell.idxmax()
    i, j = terr["regions"].index(region), terr["industries"].index(industry)
    assert terr["value_at_risk"][i][j] == pytest.approx(cell.max())
    before = stored["before"]["value_at_risk"].sum()
    assert np.sum(terr["change_value_at_risk"]) == pytest.approx(stored["now"]["value_at_risk"].sum() - before)


def test_routes_and_unassigned_reasons_account_for_every_lead(numbers, stored):
    routes = numbers["routes"]
    assert sum(r["leads"] for r in routes["rows"]) == len(stored["routes"])
    unassigned = stored["routes"]["assignment_status"] != "assigned"
    assert sum(r["leads"] for r in routes["unassigned_reasons"]) == int(unassigned.sum())
    assert routes["conflicts"]["leads"] == int((stored["routes"]["status_reason"] == "ownership_conflict").sum())
    load = routes["load"]
    assert load["available"] and sum(b["reps"] for b in load["bands"]) == load["active_reps"]
    to_reps = (stored["routes"]["assignee_type"] == "rep").sum()
    assert load["assigned_to_reps"] <= to_reps


def test_top_accounts_are_the_highest_value_at_risk(numbers, stored):
    top = numbers["risk"]["top"]
    assert len(top) == min(TOP_ACCOUNTS, len(stored["now"]))
    expected = stored["now"].sort_values(["value_at_risk", "account_id"], ascending=[False, True]).head(len(top))
    assert [t["account_id"] for t in top] == expected["account_id"].tolist()
    assert top[0]["reasons"], "the riskiest account carries its top reasons"
    by_region = {r["region"]: r["value_at_risk"] for r in numbers["risk"]["by_region"]}
    assert by_region == pytest.approx(stored["now"].groupby("region")["value_at_risk"].sum().to_dict())
    for tier, dist in numbers["risk"]["distribution"].items():
        assert sum(dist["counts"]) == int((stored["now"]["tier"] == tier).sum())


def test_rules_count_every_decision_and_name_rules_that_never_fired(numbers, stored):
    tiers = next(r for r in numbers["rules"] if r["name"] == "tiers")
    assert tiers["file_matches_run"] and tiers["version"]
    assert sum(r["decided"] for r in tiers["rows"]) == len(stored["now"])
    fired = set(stored["now"]["tier_rule_id"].dropna())
    declared = {r["rule_id"] for r in tiers["rows"] if r["declared"]}
    assert set(tiers["never_fired"]) == declared - fired


def test_rules_changed_on_disk_are_not_named_as_never_fired(scored_sqlite, report_models, tmp_path):
    path, _ = scored_sqlite
    rules = tmp_path / "rules"
    shutil.copytree(engine._paths.default_rules_dir(), rules)
    text = (rules / "tiers.yaml").read_text()
    (rules / "tiers.yaml").write_text(text.replace('version: "', 'version: "edited-', 1))
    db = Database(path)
    try:
        numbers = report_numbers(read_inputs(db, artifacts_dir=report_models, rules_dir=rules))
    finally:
        db.dispose()
    tiers = next(r for r in numbers["rules"] if r["name"] == "tiers")
    assert not tiers["file_matches_run"] and tiers["never_fired"] is None and tiers["version"] is None


def test_model_cards_are_matched_to_the_run_by_sha256(numbers, report_models, tmp_path, scored_sqlite):
    churn = next(m for m in numbers["models"] if m["kind"] == "churn")
    card = json.loads((report_models / "churn.card.json").read_text())
    assert churn["card"]["metrics"]["roc_auc"] == pytest.approx(card["metrics"]["roc_auc"])
    # The card stores the out-of-time curves: the report takes them as they are.
    assert churn["card"]["roc"] == card["curves"]["roc"]
    assert churn["card"]["gains"] == card["curves"]["gains"] and "partial" not in churn["card"]["gains"]
    assert churn["card"]["gains"]["captured"][10] == pytest.approx(card["metrics"]["capture_top_decile"], abs=1e-6)
    assert churn["card"]["calibration_curve"] == card["curves"]["calibration"]
    assert churn["score_drift"]["psi"] >= 0
    other = tmp_path / "other"
    shutil.copytree(report_models, other)
    edited = dict(card, sha256="0" * 64)
    (other / "churn.card.json").write_text(json.dumps(edited))
    path, _ = scored_sqlite
    db = Database(path)
    try:
        again = report_numbers(read_inputs(db, artifacts_dir=other))
        none = report_numbers(read_inputs(db, artifacts_dir=None))
    finally:
        db.dispose()
    churn = next(m for m in again["models"] if m["kind"] == "churn")
    assert churn["card"] is None and "not the one this run used" in churn["note"]
    assert all(m["card"] is None and "no model folder" in m["note"] for m in none["models"])


def test_alerts_and_plans_say_unavailable_without_their_tables(numbers):
    assert numbers["alerts"]["available"] is False and "not available for this run" in numbers["alerts"]["note"]
    assert numbers["plans"]["available"] is False and "not available for this run" in numbers["plans"]["note"]
    assert numbers["headline"]["open_alerts"] is None
    assert all(t["action"] is None for t in numbers["risk"]["top"])


def test_alerts_and_plans_are_counted_when_their_tables_exist(scored_copy, report_models, add_alerts_and_plans):
    path, (before, now) = scored_copy
    db = Database(path)
    accounts = db.read_results("account_scores", run_id=now)
    add_alerts_and_plans(path, now, accounts)
    writer = Database(path, extra_tables=["call_plans"])
    writer.write_run(before, {"call_plans": pd.DataFrame({
        "week": "2026-W36", "assignee_type": "rep", "assignee_id": "R1", "status": "planned",
        "account_id": accounts["account_id"].head(3), "value_at_risk": [1.0, 2.0, 3.0],
    })})
    writer.dispose()
    try:
        numbers = report_numbers(read_inputs(db, artifacts_dir=report_models))
    finally:
        db.dispose()
    alerts = numbers["alerts"]
    assert alerts["available"] and alerts["evaluated_this_run"]
    assert alerts["open_total"] == 4 and numbers["headline"]["open_alerts"] == 4
    assert alerts["this_run"] == {"opened": 2, "escalated": 1, "resolved": 1}
    table = pd.DataFrame(alerts["counts"], index=alerts["kinds"], columns=alerts["severities"])
    assert table.loc["churn_risk", "high"] == 2 and table.loc["risk_rising", "medium"] == 2
    plans = numbers["plans"]
    assert plans["available"] and plans["planned_lines"] == 4 and plans["people"] == 3
    planned_var = accounts.sort_values("value_at_risk", ascending=False).head(6)["value_at_risk"].to_numpy()[[0, 1, 2, 5]]
    assert plans["value_at_risk_covered"] == pytest.approx(planned_var.sum())
    assert plans["coverage"] == pytest.approx(planned_var.sum() / accounts["value_at_risk"].sum())
    assert plans["previous"]["planned_lines"] == 3 and plans["previous"]["value_at_risk_covered"] == 6.0
    assert alerts["previous_run"] == {"opened": 0, "escalated": 0, "resolved": 0}
    top = {t["account_id"]: t["action"] for t in numbers["risk"]["top"]}
    assert top[accounts.sort_values("value_at_risk", ascending=False)["account_id"].iloc[0]] == "senior executive visit"


def test_numbers_are_aggregates_whatever_the_number_of_accounts(numbers):
    """Nothing in the structure grows with the accounts: every list is at most the Pareto grid."""
    def walk(value):
        if isinstance(value, dict):
            for item in value.values():
                yield from walk(item)
        elif isinstance(value, list):
            yield len(value)
            for item in value:
                yield from walk(item)

    assert max(walk(numbers)) <= PARETO_POINTS
    json.dumps(numbers)  # plain data


def test_compare_with_an_unknown_or_the_same_run_is_refused(scored_sqlite):
    path, (before, now) = scored_sqlite
    db = Database(path)
    try:
        with pytest.raises(ConfigError, match="not in"):
            read_inputs(db, compare="2020-01-01-nope")
        with pytest.raises(ConfigError, match="is the run being reported"):
            read_inputs(db, run_id=now, compare=now)
        inputs = read_inputs(db, run_id=before, compare=now)
    finally:
        db.dispose()
    assert inputs.previous.run_id == now


def test_a_missing_database_file_is_an_error_not_an_empty_report(tmp_path):
    missing = tmp_path / "nowhere.sqlite"
    with pytest.raises(StorageError, match="no database at"):
        engine.report(missing)
    assert not missing.exists()


def test_a_run_written_before_revenue_was_recorded_is_reported_on_margin(scored_copy, report_models):
    import sqlite3

    path, _ = scored_copy
    with sqlite3.connect(path) as conn:
        conn.execute('ALTER TABLE account_scores DROP COLUMN "revenue_12m"')
    db = Database(path)
    try:
        numbers = report_numbers(read_inputs(db, artifacts_dir=report_models))
    finally:
        db.dispose()
    tiers = numbers["tiers"]
    assert tiers["revenue_recorded"] is False and tiers["pareto_measure"] == "12-month margin"
    assert tiers["pareto"]["revenue_share"][-1] == pytest.approx(1.0)
    html = engine.report(path, artifacts_dir=report_models)
    assert "did not record 12-month revenue" in html


def _model(numbers, kind):
    return next(m for m in numbers["models"] if m["kind"] == kind)


def test_model_curves_are_drawn_from_the_card_and_stated_missing_on_an_older_card(numbers, report_models, tmp_path,
                                                                                     scored_sqlite):
    charts = render_charts(numbers)
    for kind in ("churn", "win"):
        described = charts[f"model_{kind}"].description
        assert "ROC curve with AUC" in described and "calibration curve over" in described
        assert "not the curve" not in described and "top-decile point" not in described
    old = tmp_path / "old-cards"
    shutil.copytree(report_models, old)
    card = json.loads((old / "churn.card.json").read_text())
    card.pop("curves")
    (old / "churn.card.json").write_text(json.dumps(card))
    path, _ = scored_sqlite
    db = Database(path)
    try:
        before_curves = report_numbers(read_inputs(db, artifacts_dir=old))
    finally:
        db.dispose()
    churn = _model(before_curves, "churn")["card"]
    assert churn["roc"] is None and churn["calibration_curve"] is None
    assert churn["gains"]["partial"] and churn["gains"]["captured"][1] == pytest.approx(card["metrics"]["capture_top_decile"])
    described = render_charts(before_curves)["model_churn"].description
    assert "the card stores the ROC AUC but not the curve" in described


def test_drift_since_training_is_read_from_the_run_with_its_change(numbers, scored_sqlite):
    path, (before, now) = scored_sqlite
    db = Database(path, fast_sqlite=False)
    try:
        stored = db.read_table("model_drift")
    finally:
        db.dispose()
    assert set(stored["run_id"]) == {before, now}
    for kind in ("churn", "win"):
        drift = _model(numbers, kind)["drift"]
        mine = stored.loc[(stored["run_id"] == now) & (stored["model"] == kind)]
        then = stored.loc[(stored["run_id"] == before) & (stored["model"] == kind)].set_index("feature")["psi"]
        inputs = mine.loc[mine["feature"] != "(score)"].sort_values(["psi", "feature"], ascending=[False, True])
        assert drift["available"] and drift["inputs_checked"] == len(inputs)
        assert [r["feature"] for r in drift["top"]] == inputs["feature"].head(DRIFT_TOP).tolist()
        assert [r["psi"] for r in drift["top"]] == pytest.approx(inputs["psi"].head(DRIFT_TOP).tolist())
        for row in drift["top"] + [drift["score"]]:
            assert row["previous_psi"] == pytest.approx(then[row["feature"]])
            assert row["change"] == pytest.approx(row["psi"] - then[row["feature"]])
        assert drift["score"]["feature"] == "(score)"
        assert sum(drift["by_status"].values()) == len(inputs)
        statuses = set(mine["status"])
        worst = next(v for v in ("retrain", "shifted", "stable", "few rows") if v in statuses)
        assert drift["verdict"] == worst and drift["verdict_text"].startswith(("retrain", "watch", "stable", "no verdict"))
        assert drift["due"] == sorted(mine.loc[mine["status"] == "retrain", "feature"])[:DRIFT_TOP]
        assert drift["compared_with"] == before and drift["previous_verdict"] is not None
        chart = render_charts(numbers)[f"drift_{kind}"]
        assert drift["verdict_text"] in chart.description and drift["top"][0]["feature"].replace("_", " ") in chart.description


def test_drift_verdict_follows_the_worst_status(scored_copy, report_models):
    path, (_, now) = scored_copy
    import sqlite3

    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE model_drift SET status = 'stable' WHERE run_id = ?", (now,))
        conn.execute("UPDATE model_drift SET status = 'retrain', psi = 0.9 WHERE run_id = ? AND model = 'win' "
                     "AND feature = (SELECT feature FROM model_drift WHERE run_id = ? AND model = 'win' "
                     "AND feature <> '(score)' ORDER BY feature LIMIT 1)", (now, now))
        conn.execute("DELETE FROM model_drift WHERE run_id <> ?", (now,))
    db = Database(path)
    try:
        numbers = report_numbers(read_inputs(db, artifacts_dir=report_models))
    finally:
        db.dispose()
    churn, win = _model(numbers, "churn")["drift"], _model(numbers, "win")["drift"]
    assert churn["verdict"] == "stable" and churn["due"] == []
    assert win["verdict"] == "retrain" and len(win["due"]) == 1 and win["top"][0]["psi"] == pytest.approx(0.9)
    assert win["top"][0]["feature"] == win["due"][0]
    # The comparison run recorded no drift: no change is invented.
    assert win["previous_verdict"] is None and all(r["change"] is None for r in win["top"])
    html = engine.report(path, artifacts_dir=report_models)
    assert 'data-drift-verdict="retrain"' in html and "recorded no drift for this model" in html


def test_drift_is_not_available_for_a_database_without_the_table(scored_copy, report_models):
    import sqlite3

    path, (_, now) = scored_copy
    with sqlite3.connect(path) as conn:
        conn.execute("DELETE FROM model_drift WHERE run_id = ? AND model = 'win'", (now,))
    db = Database(path)
    try:
        partial = report_numbers(read_inputs(db, artifacts_dir=report_models))
    finally:
        db.dispose()
    assert _model(partial, "churn")["drift"]["available"]
    win = _model(partial, "win")["drift"]
    assert not win["available"] and "recorded no drift for the win model" in win["note"]
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE model_drift")
    db = Database(path)
    try:
        older = report_numbers(read_inputs(db, artifacts_dir=report_models))
    finally:
        db.dispose()
    assert all(not m["drift"]["available"] and "not available for this run" in m["drift"]["note"]
               for m in older["models"])
    assert not any(key.startswith("drift_") for key in render_charts(older))
    html = engine.report(path, artifacts_dir=report_models)
    assert "Drift since training: not available for this run" in html and "data-drift=" not in html


def test_a_rerun_committing_while_the_report_reads_is_read_again(scored_copy, report_models, monkeypatch):
    """A re-run of the reported run id commits between the report's reads: its row and tables are read again."""
    path, (_, now) = scored_copy
    db = Database(path)
    real = db.read_results
    started = pd.Timestamp("2030-01-01 06:00:00")
    rewritten = []

    def read_results(name, run_id=None, **options):
        frame = real(name, run_id, **options)
        if name == "account_scores" and run_id == now and not rewritten:  # the re-run commits right here
            rewritten.append(name)
            db.write_run(now, {"runs": real("runs", now).assign(started_at=started),
                               "account_scores": real("account_scores", now).assign(name="re-run")})
        return frame

    monkeypatch.setattr(db, "read_results", read_results)
    try:
        inputs = read_inputs(db, compare=False, artifacts_dir=report_models)
    finally:
        db.dispose()
    assert rewritten
    assert set(inputs.current.accounts["name"].astype(str)) == {"re-run"}  # the re-run's rows ...
    assert pd.Timestamp(inputs.current.run["started_at"]) == started  # ... and its run row, not a mix


def test_a_rerun_committing_before_the_report_reads_the_drift_is_read_again(scored_copy, report_models, monkeypatch):
    """The run's drift (and alert and plan rows) belong to the same version as its accounts."""
    import importlib

    reading = importlib.import_module("engine.report._read")  # (engine.report is also the report function)

    path, (_, now) = scored_copy
    db = Database(path)
    real = reading._optional_tables
    rewritten = []

    def optional_tables(db_, run_ids):
        if not rewritten:  # the re-run commits after the run's own tables were read, before its drift
            rewritten.append(True)
            drift = db.read_results("model_drift", now)
            assert len(drift)
            db.write_run(now, {"runs": db.read_results("runs", now).assign(started_at=pd.Timestamp("2030-01-01")),
                               "account_scores": db.read_results("account_scores", now).assign(name="re-run"),
                               "model_drift": drift.assign(psi=123.0)})
        return real(db_, run_ids)

    monkeypatch.setattr(reading, "_optional_tables", optional_tables)
    try:
        inputs = read_inputs(db, compare=False, artifacts_dir=report_models)
    finally:
        db.dispose()
    assert set(inputs.current.accounts["name"].astype(str)) == {"re-run"}
    assert set(inputs.optional["model_drift"]["psi"]) == {123.0}

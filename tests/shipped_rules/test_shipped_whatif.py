"""The what-if counts what a changed threshold does, and re-derives routes from changed tiers."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from engine._errors import RuleFileError
from engine._paths import default_rules_dir
from engine.pipeline._whatif import rules_whatif

AS_OF = dt.date(2026, 10, 1)


def _variant(tmp_path, name: str, old: str, new: str):
    text = (default_rules_dir() / name).read_text("utf-8")
    assert old in text
    path = tmp_path / f"new-{name}"
    path.write_text(text.replace(old, new), "utf-8")
    return path


def test_lower_revenue_floor_counts_the_accounts_and_routes_that_change(tmp_path, small_demo):
    new = _variant(tmp_path, "tiers.yaml", "field_min_revenue_12m: 2000000", "field_min_revenue_12m: 1000000")
    report = rules_whatif(small_demo.tables, default_rules_dir() / "tiers.yaml", new, as_of=AS_OF, examples=2)

    acc, tiers, routes = small_demo.accounts, small_demo.tiers, small_demo.routes
    newly_top = ((acc["status"] != "closed") & (acc["revenue_rank_in_territory"] <= 20)
                 & (acc["revenue_12m"] >= 1_000_000) & (acc["revenue_12m"] < 2_000_000)).to_numpy()
    was_a = tiers["tier"].astype(str).to_numpy() == "A"
    expected_accounts = newly_top & ~was_a
    assert report.kind == "tiers" and report.as_of == AS_OF
    assert report.accounts.rows == len(acc)
    assert report.accounts_changed == int(expected_accounts.sum()) > 0
    assert set(report.accounts.by_rule["new_rule_id"]) == {"territory_top_20"}
    assert report.accounts.by_group["changed"].sum() == report.accounts_changed

    moved = set(acc["account_id"].astype(str).to_numpy()[expected_accounts])
    linked = routes["account_id"].astype(str).isin(moved).to_numpy()
    expected_routes = linked & (routes["route"].astype(str).to_numpy() != "outside")
    assert report.routes.rows == len(routes)
    assert report.routes_changed == int(expected_routes.sum()) > 0
    assert set(report.routes.by_rule["new_rule_id"]) == {"a_account_stays_outside"}
    assert set(report.routes.examples["new_tier"].astype(str)) == {"A"}
    assert set(report.routes.examples["opportunity_id"].astype(str)) <= set(routes["opportunity_id"].astype(str)[expected_routes])
    assert set(report.accounts.examples["account_id"].astype(str)) <= moved
    assert (report.accounts.examples.groupby("transition").size() <= 2).all()
    json.dumps(report.to_dict(examples=2))  # JSON-ready


def test_routing_change_counts_deals_crossing_the_new_threshold(tmp_path, small_demo):
    new = _variant(tmp_path, "routing.yaml", "large_deal_amount: 500000", "large_deal_amount: 200000")
    report = rules_whatif(small_demo.tables, default_rules_dir() / "routing.yaml", new, as_of=AS_OF)
    routes, opps = small_demo.routes, small_demo.opportunities
    amount = opps["est_amount"].to_numpy()
    expected = ((amount >= 200_000) & (amount < 500_000) & (routes["route"].astype(str).to_numpy() == "owner"))
    assert report.kind == "routing" and report.accounts is None
    assert report.routes_changed == int(expected.sum()) > 0
    assert report.routes.by_rule.to_dict("records") == [
        {"old_rule_id": "locked_owner", "new_rule_id": "large_deal", "rows": int(expected.sum())}]
    assert set(report.routes.examples["opportunity_id"].astype(str)) <= set(opps["opportunity_id"].astype(str)[expected])


def test_same_file_changes_nothing(small_demo):
    path = default_rules_dir() / "tiers.yaml"
    report = rules_whatif(small_demo.tables, path, path, as_of=AS_OF)
    assert report.accounts_changed == 0 and report.routes_changed == 0
    assert "0 of 2,000" in report.summary()


def test_tier_file_against_routing_file_is_refused(small_demo):
    with pytest.raises(RuleFileError, match="cannot compare a tiers rule set"):
        rules_whatif(small_demo.tables, default_rules_dir() / "tiers.yaml", default_rules_dir() / "routing.yaml", as_of=AS_OF)


def test_default_as_of_is_the_day_after_the_data(small_demo):
    path = default_rules_dir() / "routing.yaml"
    assert rules_whatif(small_demo.tables, path, path).as_of == AS_OF


def test_reads_a_database_and_writes_nothing(tmp_path):
    from engine.demo import generate_demo_database

    path = tmp_path / "demo.sqlite"
    generate_demo_database(path, accounts=600, seed=3)
    before = path.read_bytes()
    new = _variant(tmp_path, "tiers.yaml", "field_min_revenue_12m: 2000000", "field_min_revenue_12m: 4000000")
    report = rules_whatif(str(path), default_rules_dir() / "tiers.yaml", new)
    assert report.as_of == AS_OF
    assert report.accounts.rows == 600 and report.accounts_changed > 0
    assert set(report.accounts.transitions["new"].str.split().str[1]) <= {"tier=B", "tier=C"}
    assert path.read_bytes() == before


def test_rules_responsible_count_records_that_become_unrouted(tmp_path, small_demo):
    """Regression: diff_rulesets' by_rule drops rows whose new rule id is null (unmatched)."""
    new = _variant(tmp_path, "routing.yaml", "when: has_owner_rep\n", "when: has_owner_rep and est_amount > 100000000\n")
    text = new.read_text("utf-8")
    assert 'when: account_tier in ["B", "C"]\n' in text
    new.write_text(text.replace('when: account_tier in ["B", "C"]\n',
                                'when: account_tier in ["B", "C"] and not has_owner_rep\n'), "utf-8")
    report = rules_whatif(small_demo.tables, default_rules_dir() / "routing.yaml", new, as_of=AS_OF)
    locked = int((small_demo.routes["route_rule_id"].astype(str) == "locked_owner").sum())
    assert report.routes_changed == locked > 0
    assert report.routes.by_rule.to_dict("records") == [
        {"old_rule_id": "locked_owner", "new_rule_id": "(no rule)", "rows": locked}]
    assert report.routes.by_rule["rows"].sum() == report.routes_changed

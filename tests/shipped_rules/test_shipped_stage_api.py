"""The rules stage's API: docstring examples, rule loading, unrouted records, and the diff command."""

from __future__ import annotations

import doctest
import json
import shutil

import pandas as pd
import pytest

import engine.pipeline._decide
from engine._errors import RuleFileError
from engine._paths import default_rules_dir
from engine.pipeline._decide import assign_opportunities, load_default_rules, route_opportunities


def test_docstring_examples():
    result = doctest.testmod(engine.pipeline._decide, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_load_default_rules_needs_both_rule_sets(tmp_path):
    shutil.copy(default_rules_dir() / "tiers.yaml", tmp_path / "tiers.yaml")
    with pytest.raises(RuleFileError, match=r"\['routing'\] not found"):
        load_default_rules(tmp_path)
    shutil.copy(default_rules_dir() / "routing.yaml", tmp_path / "routing.yaml")
    assert set(load_default_rules(tmp_path)) == {"tiers", "routing"}


def test_a_non_routing_rule_set_is_refused(shipped_rules):
    with pytest.raises(RuleFileError, match="not a routing rule set"):
        route_opportunities(pd.DataFrame({"opportunity_id": [], "account_id": []}), pd.DataFrame(),
                            shipped_rules["tiers"], as_of="2026-10-01")


def test_unrouted_records_reach_assignment_as_no_rule_matched(small_demo, shipped_rules):
    opportunities = small_demo.opportunities.copy()
    linked = (~opportunities["is_prospect"]).to_numpy()
    opportunities.loc[linked, "est_amount"] = 100_000.0  # mid-sized: neither large nor small
    tiers = small_demo.tiers.copy()
    tiers["owner_rep_id"] = pd.Series([None] * len(tiers), dtype="str")  # nobody owns anything
    tiers["tier"] = pd.Categorical([None] * len(tiers), categories=["A", "B", "C"])  # tiers unknown
    routes = route_opportunities(opportunities, tiers, shipped_rules["routing"], as_of="2026-10-01")
    assert (routes["route"].astype(str).to_numpy()[linked] == "unrouted").all()
    assert routes["route_reason"].astype(str)[linked].str.startswith("no_rule_matched").all()
    result = assign_opportunities(routes, small_demo.tables)
    a = result.assignments
    assert len(a) == len(routes)
    assert (a.loc[linked, "status_reason"] == "no_rule_matched").all()


def test_rules_diff_command(tmp_path):
    import typer
    from typer.testing import CliRunner

    from engine.cli._whatif_cmd import rules_diff
    from engine.demo import generate_demo_database

    db = tmp_path / "demo.sqlite"
    generate_demo_database(db, accounts=600, seed=3)
    new = tmp_path / "routing.yaml"
    new.write_text((default_rules_dir() / "routing.yaml").read_text("utf-8")
                   .replace("small_deal_amount: 50000", "small_deal_amount: 100000"), "utf-8")
    app = typer.Typer()
    app.command("diff")(rules_diff)
    app.command("noop")(lambda: None)  # two commands, so "diff" is a sub-command as in `kam rules diff`
    old = str(default_rules_dir() / "routing.yaml")
    text = CliRunner().invoke(app, ["diff", old, str(new), "--db", str(db), "--examples", "1"])
    assert text.exit_code == 0, text.output
    assert "open opportunities change route" in text.output and "rules responsible" in text.output
    out = CliRunner().invoke(app, ["diff", old, str(new), "--db", str(db), "--json"])
    assert out.exit_code == 0, out.output
    payload = json.loads(out.output)
    assert payload["kind"] == "routing" and payload["routes"]["changed"] > 0
    assert {r["new_rule_id"] for r in payload["routes"]["by_rule"]} == {"small_deal"}
    bad = CliRunner().invoke(app, ["diff", old, str(new), "--db", str(db), "--as-of", "yesterday"])
    assert bad.exit_code == 2

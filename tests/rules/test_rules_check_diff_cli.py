"""Rule checks with counter-examples, the what-if diff, and ``kam rules check``."""

from __future__ import annotations

import datetime as dt
import json
import textwrap

import pandas as pd
from typer.testing import CliRunner

from engine.cli._rules_cmd import EXIT_FINDINGS, app
from engine.rules import RuleSet, check_rules, diff_rulesets

AS_OF = dt.date(2024, 6, 30)
HEAD = """
name: {name}
version: 1
inputs:
  amount: number
  tier: {{type: enum, values: [A, B, C]}}
  last_visit: date
outputs:
  team: string
hit_policy: {policy}
rules:
"""


def write(tmp_path, name, policy, rules, extra=""):
    path = tmp_path / f"{name}.yaml"
    path.write_text(HEAD.format(name=name, policy=policy) + textwrap.indent(textwrap.dedent(rules), "  ") + extra)
    return path


def by_code(findings):
    return {f.code: f for f in findings}


def test_unreachable_rule_under_first_with_counterexample(tmp_path):
    path = write(tmp_path, "shadow", "first", """
    - {id: big, when: amount >= 100, then: {team: outside}, because: big}
    - {id: bigger, when: amount >= 1000, then: {team: key}, because: bigger}
    - {id: rest, when: amount < 100 or amount is null or tier is null or last_visit is null, then: {team: inside}, because: rest}
    """)
    found = by_code(check_rules([path], as_of=AS_OF))
    f = found["unreachable-rule"]
    assert f.rule_id == "bigger" and f.line == 14 and f.counterexample["amount"] >= 1000
    # the counter-example really is decided by the earlier rule
    rs = RuleSet.from_text(path.read_text())
    assert rs.decide(f.counterexample, as_of=AS_OF).rule_id == "big"


def test_overlap_under_unique(tmp_path):
    path = write(tmp_path, "uniq", "unique", """
    - {id: big, when: amount >= 500000, then: {team: outside}, because: big}
    - {id: vip, when: tier == "A", then: {team: outside}, because: vip}
    """, extra="default: {then: {team: inside}}\n")
    f = by_code(check_rules([path], as_of=AS_OF))["overlap"]
    assert f.severity == "error" and f.counterexample["tier"] == "A" and f.counterexample["amount"] >= 500000


def test_tie_under_priority(tmp_path):
    path = write(tmp_path, "prio", "priority", """
    - {id: stale, when: days_since(last_visit) > 90, then: {team: outside}, because: stale, priority: 2}
    - {id: vip, when: tier == "A", then: {team: outside}, because: vip, priority: 2}
    - {id: top, when: amount > 1000000, then: {team: exec}, because: top, priority: 9}
    """, extra="default: {then: {team: inside}}\n")
    f = by_code(check_rules([path], as_of=AS_OF))["priority-tie"]
    ex = f.counterexample
    assert ex["tier"] == "A" and (AS_OF - dt.date.fromisoformat(ex["last_visit"])).days > 90
    assert not (ex["amount"] is not None and ex["amount"] > 1000000)


def test_gap_without_default(tmp_path):
    path = write(tmp_path, "gap", "first", """
    - {id: big, when: amount >= 100, then: {team: outside}, because: big}
    - {id: small, when: amount < 50, then: {team: inside}, because: small}
    """)
    f = by_code(check_rules([path], as_of=AS_OF))["gap"]
    assert 50 <= f.counterexample["amount"] < 100


def test_clean_file_has_no_errors(tmp_path):
    path = write(tmp_path, "clean", "first", """
    - {id: big, when: amount >= 100, then: {team: outside}, because: big}
    """, extra="default: {then: {team: inside}}\n")
    assert [f for f in check_rules([path], as_of=AS_OF) if f.severity == "error"] == []


def test_spec_errors_become_findings(tmp_path):
    path = write(tmp_path, "typo", "first", """
    - {id: r, when: amout > 1, then: {team: a}, because: b}
    """)
    (f,) = check_rules([path])
    assert (f.code, f.rule_id, f.line) == ("unknown-field", "r", 13) and "did you mean 'amount'" in f.message


def test_cli_check_exit_status_and_json(tmp_path):
    bad = write(tmp_path, "gap", "first", "- {id: big, when: amount >= 100, then: {team: outside}, because: big}\n")
    runner = CliRunner()
    result = runner.invoke(app, ["check", str(bad), "--as-of", "2024-06-30"])
    assert result.exit_code == EXIT_FINDINGS
    assert f"{bad}:" in result.output and "error gap" in result.output
    result = runner.invoke(app, ["check", "--json", str(bad)])
    findings = json.loads(result.output)
    assert {f["code"] for f in findings} >= {"gap"} and result.exit_code == EXIT_FINDINGS
    good = write(tmp_path, "ok", "first", "- {id: big, when: amount >= 100, then: {team: outside}, because: big}\n",
                 extra="default: {then: {team: inside}}\n")
    assert runner.invoke(app, ["check", str(good)]).exit_code == 0


def test_diff_counts_changes_by_group_with_examples(tmp_path):
    old = RuleSet.from_text(write(tmp_path, "old", "first", """
    - {id: big, when: amount >= 100, then: {team: outside}, because: big}
    """, extra="default: {then: {team: inside}}\n").read_text())
    new = RuleSet.from_text(write(tmp_path, "new", "first", """
    - {id: big, when: amount >= 50, then: {team: outside}, because: big}
    """, extra="default: {then: {team: inside}}\n").read_text())
    frame = pd.DataFrame({
        "amount": [10.0, 60.0, 70.0, 200.0], "tier": ["A", "A", "B", "C"],
        "last_visit": pd.to_datetime(["2024-01-01"] * 4),
        "region": ["North", "North", "South", "South"], "industry": ["gov", "gov", "edu", "edu"]})
    report = diff_rulesets(old, new, frame, as_of=AS_OF)
    assert (report.rows, report.changed) == (4, 2)
    assert report.by_group.set_index("region")["changed"].to_dict() == {"North": 1, "South": 1}
    assert report.by_rule.iloc[0][["old_rule_id", "new_rule_id", "rows"]].tolist() == ["default", "big", 2]
    assert list(report.examples.index) == [1, 2]
    assert "2 of 4 rows change" in report.summary()


def test_diff_by_rule_counts_rows_that_become_unmatched():
    # regression: on pandas 3 astype(str) kept the null rule id of an unmatched row as NaN and
    # groupby dropped it, so by_rule lost every row that became (or stopped being) unmatched
    text = """
name: s
version: {v}
inputs: {{x: number}}
outputs: {{y: string}}
hit_policy: first
rules: [{{id: big, when: "x >= {t}", then: {{y: big}}, because: big}}]
"""
    old = RuleSet.from_text(text.format(v=1, t=10))
    new = RuleSet.from_text(text.format(v=2, t=50))
    frame = pd.DataFrame({"x": [20.0, 60.0, float("inf")]})
    report = diff_rulesets(old, new, frame, by=())
    assert report.by_rule[["old_rule_id", "new_rule_id", "rows"]].values.tolist() == [["big", "(no rule)", 1]]
    back = diff_rulesets(new, old, frame, by=())
    assert back.by_rule[["old_rule_id", "new_rule_id", "rows"]].values.tolist() == [["(no rule)", "big", 1]]
    assert int(report.by_rule["rows"].sum()) == report.changed

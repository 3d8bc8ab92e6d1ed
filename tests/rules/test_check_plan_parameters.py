"""``kam rules check`` runs the plan's parameter checks on a plan rule set (issue 14)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from engine._paths import default_rules_dir
from engine.cli._rules_cmd import EXIT_FINDINGS, app
from engine.plan import plan_parameter_findings
from engine.rules import check_rules

SHIPPED = (default_rules_dir() / "plan.yaml").read_text("utf-8")


def _line_of(text: str, start: str) -> int:
    return next(i for i, line in enumerate(text.split("\n"), 1) if line.startswith(start))


@pytest.mark.parametrize("parameter, bad, words", [
    ("visit_effect_in_churn_score", "1.5", "must be a share from 0 to 1; got 1.5. Fix: 0 when"),
    ("visit_effect_in_churn_score", "-0.5", "must be a share from 0 to 1; got -0.5. Fix: 0 when"),
    ("visit_effect_in_churn_score", '"0.3"', "must be a share from 0 to 1; got '0.3'. Fix: write a number"),
    ("visit_effect_in_churn_score", "true", "must be a share from 0 to 1; got True. Fix: write a number"),
    ("visit_gap_days_outside", "-5", "must be a number of days > 0; got -5. Fix: e.g. `visit_gap_days_outside: 76`"),
    ("field_visits_per_week", "2.5", "must be a whole number >= 0; got 2.5. Fix: e.g. `field_visits_per_week: 12`"),
])
def test_rules_check_reports_a_bad_plan_parameter(tmp_path, parameter, bad, words):
    lines = SHIPPED.split("\n")
    at = _line_of(SHIPPED, f"  {parameter}: ")
    lines[at - 1] = f"  {parameter}: {bad}"
    path = tmp_path / "plan.yaml"
    path.write_text("\n".join(lines), "utf-8")
    errors = [f for f in check_rules(path, checks=(plan_parameter_findings,)) if f.severity == "error"]
    assert [(f.code, f.file, f.line, f.subject) for f in errors] == [("plan-parameter", str(path), at, parameter)]
    assert errors[0].message.startswith(f"parameter {parameter!r} {words}")


def test_rules_check_reports_a_missing_plan_parameter_and_passes_the_shipped_file(tmp_path):
    path = tmp_path / "plan.yaml"
    path.write_text(SHIPPED.replace("\n  visit_effect_log_odds: 1.4\n", "\n"), "utf-8")
    errors = [f for f in check_rules(path, checks=(plan_parameter_findings,)) if f.severity == "error"]
    assert [f.code for f in errors] == ["plan-parameter"]
    assert "lacks the parameter 'visit_effect_log_odds'" in errors[0].message
    assert errors[0].subject == "visit_effect_log_odds"
    assert not [f for f in check_rules(default_rules_dir() / "plan.yaml", checks=(plan_parameter_findings,)) if f.severity == "error"]


def test_kam_rules_check_exits_with_findings_on_a_bad_plan_parameter(tmp_path):
    path = tmp_path / "plan.yaml"
    path.write_text(SHIPPED.replace("visit_gap_days_outside: 76", "visit_gap_days_outside: -5"), "utf-8")
    result = CliRunner().invoke(app, ["check", str(path)])
    assert result.exit_code == EXIT_FINDINGS, result.output
    assert "plan-parameter" in result.output
    assert "'visit_gap_days_outside' must be a number of days > 0; got -5" in result.output


def test_the_rules_package_never_imports_the_plan():
    """One-way flow: the plan reads rules; the plan's check reaches ``check_rules`` as an argument."""
    import ast
    from pathlib import Path

    import engine.rules

    root = Path(engine.rules.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            offenders += [f"{path.name}: {name}" for name in names if name.startswith("engine.plan")]
    assert not offenders

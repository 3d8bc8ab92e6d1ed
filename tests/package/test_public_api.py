"""The package's public API: lazy, complete, and free of import-time work."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import engine


@pytest.mark.parametrize("name", sorted(engine._LAZY))
def test_every_public_name_resolves(name):
    assert getattr(engine, name) is not None
    assert name in engine.__all__


def test_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        engine.nope  # noqa: B018


def test_import_does_not_load_heavy_libraries():
    code = (
        "import sys, engine; "
        "heavy = [m for m in ('sklearn', 'durable', 'sqlalchemy', 'pandas') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"import engine loaded {out}"


def test_error_tree():
    assert issubclass(engine.RuleSyntaxError, engine.SpecError)
    assert issubclass(engine.ContractError, engine.DataError)
    assert issubclass(engine.NotFittedError, (ValueError, AttributeError))
    assert issubclass(engine.MissingDependencyError, ImportError)
    assert engine.exit_code_for(engine.StorageError("x")) == 5


def test_not_fitted_error_is_one_class():
    """issue 15: ``except engine.NotFittedError`` catches what the models raise."""
    import engine.models

    assert engine.NotFittedError is engine.models.NotFittedError
    assert issubclass(engine.NotFittedError, engine.ModelError) and issubclass(engine.NotFittedError, engine.KamError)


def test_the_decision_stage_has_a_public_home():
    import engine.pipeline._decide as decide

    for name in ("tier_accounts", "route_opportunities", "assign_opportunities", "load_default_rules"):
        assert getattr(engine, name) is getattr(decide, name) and name in engine.__all__


def test_load_rules_returns_one_type_and_names_the_other_for_a_folder(tmp_path):
    rules_dir = Path(engine.__file__).parents[1] / "rules"
    assert isinstance(engine.load_rules(rules_dir / "tiers.yaml"), engine.RuleSet)
    loaded = engine.load_rule_dir(rules_dir)
    assert {"tiers", "routing"} <= set(loaded) and all(isinstance(r, engine.RuleSet) for r in loaded.values())
    with pytest.raises(engine.RuleFileError, match="expected one rule file; got the folder .*Fix: load_rule_dir"):
        engine.load_rules(rules_dir)
    with pytest.raises(engine.RuleFileError, match="expected a folder of rule files; got the file .*Fix: load_rules"):
        engine.load_rule_dir(rules_dir / "tiers.yaml")

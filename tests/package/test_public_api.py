"""The package's public API: lazy, complete, and free of import-time work."""

from __future__ import annotations

import subprocess
import sys

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

"""Every ``Examples`` section in ``engine/`` runs as a doctest, module by module.

A collecting test rather than ``--doctest-modules``: it imports the modules the way a user
does (``import engine.x``), finds examples wherever ``doctest`` looks (module, classes,
functions, methods, properties), and a second test makes sure no module holds a ``>>>`` that
the finder does not reach (an example in a comment or a private attribute would never run).
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil
from pathlib import Path

import pytest

import engine

_FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _modules() -> list[str]:
    names = ["engine"]
    for info in pkgutil.walk_packages(engine.__path__, prefix="engine."):
        names.append(info.name)
    return sorted(names)


def _source(name: str) -> str:
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.origin is not None
    return Path(spec.origin).read_text(encoding="utf-8")


_WITH_EXAMPLES = [name for name in _modules() if ">>> " in _source(name)]


def test_the_modules_with_examples_are_found():
    assert len(_WITH_EXAMPLES) >= 40, _WITH_EXAMPLES


@pytest.mark.parametrize("name", _WITH_EXAMPLES)
def test_examples_run(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # an example that writes a file writes it here
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    tests = [t for t in finder.find(module, name) if t.examples]
    assert tests, f"{name} has '>>> ' in its source but no example doctest can find"
    runner = doctest.DocTestRunner(optionflags=_FLAGS)
    report: list[str] = []
    for test in tests:
        runner.run(test, out=report.append)
    assert runner.failures == 0, "".join(report)

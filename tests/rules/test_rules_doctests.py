"""The Examples sections of the public rules API run as doctests."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

from engine.rules import _diff, _expr, _ruleset, _spec

# the condition compiler is a package, one pass per module: every pass module carries examples
_EXPR_PASSES = [
    importlib.import_module(info.name)
    for info in pkgutil.iter_modules(_expr.__path__, prefix=f"{_expr.__name__}.")
]


def test_every_compiler_pass_is_listed():
    names = {m.__name__.rsplit(".", 1)[1] for m in _EXPR_PASSES}
    assert {"_tokens", "_parser", "_checker", "_normal", "_dnf", "_printer", "_patterns"} <= names


@pytest.mark.parametrize(
    "module", [_ruleset, _diff, _spec, *_EXPR_PASSES], ids=lambda m: m.__name__
)
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0

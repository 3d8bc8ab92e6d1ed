"""The Examples sections of the public rules API run as doctests."""

from __future__ import annotations

import doctest

import pytest

from engine.rules import _diff, _expr, _ruleset, _spec


@pytest.mark.parametrize("module", [_ruleset, _diff, _expr, _spec], ids=lambda m: m.__name__)
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0

"""The Examples in the engine.assign docstrings run and hold."""

from __future__ import annotations

import doctest

import pytest

import engine.assign._assign
import engine.assign._fair


@pytest.mark.parametrize("module", [engine.assign._assign, engine.assign._fair], ids=lambda m: m.__name__)
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0

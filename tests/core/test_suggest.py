"""One did-you-mean helper and one phrasing (engine/_suggest.py)."""

from __future__ import annotations

import ast
import pathlib

from hypothesis import given, settings
from hypothesis import strategies as st

import engine
from engine._suggest import closest, did_you_mean, suggestion, with_suggestion

ENGINE = pathlib.Path(engine.__file__).parent


def test_only_the_helper_asks_difflib_for_close_matches():
    """A second matcher would bring back a second phrasing: no get_close_matches outside _suggest.py."""
    callers = []
    for path in ENGINE.rglob("*.py"):
        if path.name == "_suggest.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr == "get_close_matches":
                callers.append(str(path.relative_to(ENGINE)))
    assert callers == []


def test_the_three_shapes_share_the_words():
    assert suggestion("montly", ["monthly"]) == "did you mean 'monthly'?"
    assert did_you_mean("montly", ["monthly"]) == "; did you mean 'monthly'?"
    assert with_suggestion("montly", ["monthly"]) == "'montly' (did you mean 'monthly'?)"
    assert did_you_mean("zzz", ["monthly"]) == "" and with_suggestion("zzz", ["monthly"]) == "'zzz'"


def test_case_is_ignored_but_the_candidate_keeps_its_spelling():
    assert closest("c", ["C", "penalty"]) == "C"
    assert closest("ACCOUNT_ID", ["account_id"]) == "account_id"


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=12), st.lists(st.text(min_size=1, max_size=12), max_size=6))
def test_a_suggestion_is_always_one_of_the_candidates(name, candidates):
    match = closest(name, candidates)
    assert match is None or match in candidates
    if name in candidates and name.lower() == name:
        assert closest(name, candidates) is not None

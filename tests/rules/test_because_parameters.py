"""``because`` sentences that quote parameters: filled once at load, checked like conditions."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine._errors import RuleSyntaxError, RuleTypeError
from engine.rules import RuleSet, check_rules
from engine.rules._spec import fill_because

AS_OF = dt.date(2024, 6, 30)
TEMPLATE = """
name: routing
version: 1
inputs: {{amount: number}}
outputs: {{route: string}}
hit_policy: first
parameters: {{large_deal_amount: {large}, share: 0.3, strict: true, team: field sales}}
default: {{then: {{route: inside}}, because: "{default_because}"}}
rules:
  - id: large
    when: amount >= large_deal_amount
    then: {{route: outside}}
    because: "{because}"
"""


def load(because="Buys at least {large_deal_amount} CNY", large=500000, default_because="Under {large_deal_amount:,} CNY"):
    return RuleSet.from_text(TEMPLATE.format(because=because, large=large, default_because=default_because))


def test_parameters_are_quoted_when_the_file_loads():
    rules = load()
    assert rules.spec.rules[0].because == "Buys at least 500000 CNY"
    assert rules.spec.default_because == "Under 500,000 CNY"


def test_a_changed_threshold_changes_the_sentence_and_the_hash():
    before, after = load(large=500000), load(large=750000)
    assert after.spec.rules[0].because == "Buys at least 750000 CNY"
    assert before.hash != after.hash


@pytest.mark.parametrize("because, expected", [
    ("{large_deal_amount:,} CNY", "500,000 CNY"),
    ("{share:.0%} of the budget", "30% of the budget"),
    ("strict is {strict}", "strict is true"),
    ("goes to {team}", "goes to field sales"),
    ("{{literal}} braces and {{{team}}}", "{literal} braces and {field sales}"),
    ("no placeholder at all", "no placeholder at all"),
])
def test_format_specs_and_escaped_braces(because, expected):
    assert load(because).spec.rules[0].because == expected


def test_both_engines_return_the_filled_sentence():
    rules = load()
    frame = pd.DataFrame({"amount": [600000.0, 10.0]})
    for backend in ("vectorized", "durable"):
        result = rules.evaluate(frame, engine=backend, as_of=AS_OF)
        assert result["because"].tolist() == ["Buys at least 500000 CNY", "Under 500,000 CNY"]
    assert rules.decide({"amount": 600000.0}, as_of=AS_OF).because == "Buys at least 500000 CNY"


def test_unknown_placeholder_is_a_type_error_with_did_you_mean_and_line():
    with pytest.raises(RuleTypeError, match=r"unknown parameter 'large_deal_amont'; did you mean 'large_deal_amount'\?") as info:
        load("at least {large_deal_amont} CNY")
    assert info.value.line == 13  # the rule's 'because:' line
    with pytest.raises(RuleTypeError, match="default: 'because' quotes unknown parameter 'nope'"):
        load(default_because="{nope}")


@pytest.mark.parametrize("because", [
    "{large_deal_amount.__class__}", "{large_deal_amount[0]}", "{large_deal_amount!r}", "{}", "{0}",
    "{team:{share}}",
])
def test_placeholders_other_than_a_parameter_name_are_refused(because):
    with pytest.raises(RuleSyntaxError, match="is not a parameter name"):
        load(because)


@pytest.mark.parametrize("because", ["a single } brace", "a single { brace"])
def test_unbalanced_braces_are_refused(because):
    with pytest.raises(RuleSyntaxError, match="unbalanced braces"):
        load(because)


def test_a_format_spec_that_does_not_fit_the_value_is_a_type_error():
    with pytest.raises(RuleTypeError, match=r"cannot format 'field sales'"):
        load("{team:,}")


def test_kam_rules_check_reports_an_unknown_placeholder(tmp_path):
    path = tmp_path / "routing.yaml"
    path.write_text(TEMPLATE.format(because="{large_deal_amont}", large=1, default_because="x"))
    [finding] = check_rules(path, as_of=AS_OF)
    assert (finding.code, finding.rule_id, finding.line) == ("unknown-field", "large", 13)


text_pieces = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12)


@given(pieces=st.lists(st.tuples(text_pieces, st.sampled_from(["p", "q", None])), max_size=5),
       p=st.integers(-10**9, 10**9), q=st.floats(allow_nan=False, allow_infinity=False))
def test_escaped_text_and_placeholders_round_trip(pieces, p, q):
    # any text survives once its braces are doubled; each placeholder becomes format(value)
    template = "".join(t.replace("{", "{{").replace("}", "}}") + (f"{{{name}}}" if name else "") for t, name in pieces)
    values = {"p": p, "q": q}
    expected = "".join(t + (format(values[name]) if name else "") for t, name in pieces)
    assert fill_because(template, values) == expected

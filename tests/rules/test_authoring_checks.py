"""`kam rules check` authoring findings: unused parameters, numbers in because texts, acknowledgements."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.rules import check_rules
from engine.rules._authoring import numbers_in_text

BASE = """\
name: authoring
version: 1
hit_policy: first
inputs:
  revenue_12m: number
outputs:
  big: boolean
parameters:
  threshold: 1000000
  share: 0.25
{extra}
default: {{then: {{big: false}}, because: Smaller than the threshold of the rule set.}}
rules:
  - id: big_buyer
    when: revenue_12m >= threshold
    then: {{big: true}}
    because: {because}
{acknowledge}
"""


def _check(tmp_path, because, extra="", acknowledge="", **options):
    path = tmp_path / "r.yaml"
    path.write_text(BASE.format(because=because, extra=extra, acknowledge=acknowledge))
    return check_rules([path], **options)


def _codes(findings):
    return [(f.code, f.subject) for f in findings]


def test_quoted_parameters_are_clean(tmp_path):
    assert _check(tmp_path, "'Bought {threshold:,} CNY or more in 12 months, {share:.0%} of it online.'") == []


def test_unused_parameter_is_reported_with_its_line(tmp_path):
    findings = _check(tmp_path, "'Bought {threshold:,} CNY or more.'")
    assert _codes(findings) == [("unused-parameter", "share")]
    assert findings[0].line == 10 and findings[0].severity == "warning"


def test_hard_coded_and_stale_numbers(tmp_path):
    findings = _check(tmp_path, "'Bought 1 million CNY or more, 25% online, 3 times a week.'")
    assert sorted(_codes(findings)) == [
        ("hard-coded-number", "1 million"), ("hard-coded-number", "25%"), ("stale-number", "3"),
        ("unused-parameter", "share"),  # written out, not quoted
    ]
    assert all(f.rule_id == "big_buyer" for f in findings if f.code != "unused-parameter")


def test_number_of_the_condition_or_an_input_name_is_not_stale(tmp_path):
    path = tmp_path / "r.yaml"
    text = BASE.format(because="'More than 5 over the last 12 months, {threshold} {share}.'", extra="", acknowledge="")
    path.write_text(text.replace("revenue_12m >= threshold", "revenue_12m >= threshold and revenue_12m > 5"))
    assert check_rules([path]) == []


def test_acknowledged_warning_passes_strict_and_keeps_its_reason(tmp_path):
    ack = "acknowledge:\n  - {code: stale-number, rule: big_buyer, number: '3', reason: 'three visits is policy, not a threshold'}\n"
    findings = _check(tmp_path, "'Bought {threshold:,} CNY, {share:.0%} online, visited 3 times.'", acknowledge=ack)
    assert findings == []
    (finding,) = _check(tmp_path, "'Bought {threshold:,} CNY, {share:.0%} online, visited 3 times.'", acknowledge=ack,
                        acknowledged=True)
    assert finding.code == "stale-number" and finding.acknowledged == "three visits is policy, not a threshold"


def test_acknowledgement_of_another_number_does_not_hide_this_one(tmp_path):
    ack = "acknowledge:\n  - {code: stale-number, number: '4', reason: four is a policy number here}\n"
    findings = _check(tmp_path, "'Bought {threshold:,} CNY, {share:.0%} online, visited 3 times.'", acknowledge=ack)
    assert sorted(_codes(findings)) == [("stale-number", "3"), ("unused-acknowledgement", None)]


def test_acknowledgement_with_an_unknown_code_is_an_error(tmp_path):
    ack = "acknowledge:\n  - {code: gap-nul, reason: a typo in the finding code}\n"
    (finding,) = _check(tmp_path, "'Bought {threshold:,} CNY, {share:.0%} online.'", acknowledge=ack)
    assert finding.severity == "error" and "did you mean 'gap-null'" in finding.message


def test_acknowledgement_needs_a_reason(tmp_path):
    ack = "acknowledge:\n  - {code: gap-null}\n"
    (finding,) = _check(tmp_path, "'Bought {threshold:,} CNY, {share:.0%} online.'", acknowledge=ack)
    assert finding.severity == "error" and "reason" in finding.message


def test_yaml_syntax_error_is_a_finding_with_line_and_column(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\nrules: [a, b\n")
    (finding,) = check_rules([path])
    assert (finding.code, finding.line, finding.column) == ("schema", 3, 1)
    assert str(finding).startswith(f"{path}:3:1: error schema")
    assert "<unicode string>" not in str(finding)


@given(st.integers(0, 10**12), st.sampled_from(["", ",", "%", " million", " k"]))
def test_numbers_in_text_reads_back_what_was_written(value, unit):
    written = f"{value:,}" if unit == "," else f"{value}{'' if unit == ',' else unit}"
    ((shown, values),) = numbers_in_text(f"about {written} here.")
    assert shown == written.strip()
    assert float(value) in values


@pytest.mark.parametrize("text", ["rule_12m", "v2", "x.5", "A1B", "2024-01-01T00"])
def test_numbers_inside_words_or_dates_are_read_as_written(text):
    shown = [written for written, _ in numbers_in_text(text)]
    assert all(part in text for part in shown)

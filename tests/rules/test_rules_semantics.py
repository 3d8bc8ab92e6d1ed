"""Rule files and semantics; every case runs through both engines (the contract test)."""

from __future__ import annotations

import datetime as dt
import textwrap

import numpy as np
import pandas as pd
import pytest

from engine._errors import (
    ColumnMismatchError,
    RuleEvaluationError,
    RuleFileError,
    RuleSyntaxError,
    RuleTypeError,
)
from engine.rules import RuleSet, load_rule_dir, load_rules, rule_file_schema

AS_OF = dt.date(2024, 6, 30)
ENGINES = ["vectorized", "durable"]


def ruleset(body: str, policy: str = "first", default: str = "", inputs: str = "", outputs: str = "") -> RuleSet:
    text = textwrap.dedent(f"""
        name: t
        version: 1
        inputs:
          x: number
          n: integer
          s: string
          e: {{type: enum, values: [a, b]}}
          f: boolean
          d: date
        {inputs}
        outputs:
          out: string
        {outputs}
        hit_policy: {policy}
        {default}
        rules:
        """) + textwrap.indent(textwrap.dedent(body), "  ")
    return RuleSet.from_text(text)


def frame(**cols) -> pd.DataFrame:
    n = len(next(iter(cols.values())))
    base = {"x": [1.0] * n, "n": pd.array([1] * n, dtype="Int64"), "s": pd.array(["s"] * n, dtype="str"),
            "e": pd.Categorical(["a"] * n, categories=["a", "b"]), "f": [False] * n,
            "d": pd.to_datetime(["2024-06-01"] * n)}
    base.update(cols)
    return pd.DataFrame(base, index=[f"r{i}" for i in range(n)])


def both(rs: RuleSet, df: pd.DataFrame) -> pd.DataFrame:
    results = [rs.evaluate(df, engine=b, as_of=AS_OF) for b in ENGINES]
    pd.testing.assert_frame_equal(results[0], results[1])
    return results[0]


RULES_XY = """
- {id: big, when: x >= 10, then: {out: big}, because: large x}
- {id: any, when: x > 0, then: {out: any}, because: positive x}
"""


def test_first_policy_takes_the_first_match_in_file_order():
    r = both(ruleset(RULES_XY), frame(x=[20.0, 5.0, -1.0]))
    assert r["rule_id"].astype(object).fillna("-").tolist() == ["big", "any", "-"]
    assert r["status"].tolist() == ["decided", "decided", "unmatched"]
    assert r["out"].tolist()[:2] == ["big", "any"]
    assert r["reason"].iloc[2].startswith("no_rule_matched:")
    assert list(r.index) == ["r0", "r1", "r2"]


def test_default_applies_when_nothing_matches():
    rs = ruleset(RULES_XY, default="default: {then: {out: none}, because: nothing applies}")
    r = both(rs, frame(x=[-1.0]))
    assert (r["status"].iloc[0], r["rule_id"].iloc[0], r["out"].iloc[0], r["because"].iloc[0]) == (
        "default", "default", "none", "nothing applies")


def test_priority_highest_wins_and_ties_are_errors():
    rs = ruleset("""
    - {id: low, when: x > 0, then: {out: low}, because: l, priority: 1}
    - {id: high, when: x > 5, then: {out: high}, because: h, priority: 5}
    - {id: also_high, when: x > 50, then: {out: high2}, because: h2, priority: 5}
    """, policy="priority")
    r = both(rs, frame(x=[1.0, 10.0, 100.0]))
    assert r["status"].tolist() == ["decided", "decided", "error"]
    assert r["rule_id"].tolist()[:2] == ["low", "high"]
    assert r["reason"].iloc[2].startswith("priority_tie: rules 'high', 'also_high'")
    assert pd.isna(r["out"].iloc[2])


def test_unique_more_than_one_match_is_an_error():
    rs = ruleset(RULES_XY.replace("x >= 10", "x >= 10"), policy="unique")
    r = both(rs, frame(x=[20.0, 5.0]))
    assert r["status"].tolist() == ["error", "decided"]
    assert r["reason"].iloc[0].startswith("unique_violation: rules 'big', 'any'")


def test_collect_returns_every_match_in_file_order():
    rs = ruleset(RULES_XY, policy="collect", default="default: {then: {out: none}}")
    r = both(rs, frame(x=[20.0, 5.0, -1.0]))
    assert r["rule_id"].tolist() == [["big", "any"], ["any"], ["default"]]
    assert r["out"].tolist() == [["big", "any"], ["any"], ["none"]]
    long = r.explode(["out", "rule_id", "because"])
    assert len(long) == 4


@pytest.mark.parametrize("x, expected", [(np.nan, "unmatched"), (None, "unmatched")])
def test_comparison_with_null_is_unknown_in_both_directions(x, expected):
    rs = ruleset("""
    - {id: gt, when: x > 5, then: {out: gt}, because: g}
    - {id: le, when: not (x > 5), then: {out: le}, because: l}
    - {id: ne, when: x != 5, then: {out: ne}, because: n}
    """)
    r = both(rs, frame(x=pd.array([x], dtype="Float64")))
    assert r["status"].iloc[0] == expected


def test_is_null_tests_for_null():
    rs = ruleset("- {id: missing, when: x is null and s is null and d is null, then: {out: m}, because: m}")
    df = frame(x=[np.nan], s=pd.array([None], dtype="str"), d=pd.to_datetime([None]))
    assert both(rs, df)["rule_id"].iloc[0] == "missing"


@pytest.mark.parametrize("value", [np.inf, -np.inf])
def test_infinity_is_a_data_error_for_that_record(value):
    r = both(ruleset(RULES_XY), frame(x=[value, 20.0]))
    assert r["status"].tolist() == ["error", "decided"]
    assert r["reason"].iloc[0].startswith("non_finite: input 'x'")


@pytest.mark.parametrize("col, values, code", [
    ("x", ["12", 20.0], "wrong_type: input 'x' expects a number, got text"),
    ("x", [True, 20.0], "wrong_type: input 'x' expects a number, got a boolean"),
    ("n", [2.5, 3], "wrong_type: input 'n' expects an integer"),
    ("e", ["zzz", "a"], "unknown_enum_value: input 'e'"),
    ("f", [1, True], "wrong_type: input 'f' expects true or false"),
    ("d", ["not a date", "2024-01-01"], "wrong_type: input 'd' expects a date"),
    ("s", [5, "s"], "wrong_type: input 's' expects text, got a number"),
])
def test_wrong_type_is_a_data_error_not_a_silent_no_match(col, values, code):
    df = frame(**{col: pd.Series(values, dtype=object, index=["r0", "r1"]).array})
    r = both(ruleset(RULES_XY), df.assign(x=df["x"]) if col != "x" else df)
    assert r["status"].iloc[0] == "error"
    assert r["reason"].iloc[0].startswith(code)
    assert r["status"].iloc[1] != "error"


def test_wrongly_typed_column_marks_every_non_null_row():
    df = frame(x=pd.array(["1", None], dtype="str"))
    r = both(ruleset(RULES_XY, default="default: {then: {out: d}}"), df)
    assert r["status"].tolist() == ["error", "default"]


def test_division_by_zero_is_null():
    rs = ruleset("""
    - {id: ratio, when: x / (n - 1) > 1, then: {out: r}, because: r}
    - {id: not_ratio, when: not (x / (n - 1) > 1), then: {out: nr}, because: nr}
    """)
    r = both(rs, frame(x=[5.0, 5.0], n=pd.array([1, 3], dtype="Int64")))
    assert r["status"].tolist() == ["unmatched", "decided"]
    assert r["rule_id"].iloc[1] == "ratio"


def test_days_since_counts_to_the_as_of_date():
    rs = ruleset("- {id: stale, when: days_since(d) > 90, then: {out: stale}, because: s}")
    df = frame(d=pd.to_datetime(["2024-04-01 00:00", "2024-03-31 00:00", "2024-04-02 23:00"]))
    r = both(rs, df)
    assert r["status"].tolist() == ["unmatched", "decided", "unmatched"]


def test_boolean_and_string_operators():
    rs = ruleset("""
    - {id: bank, when: 's startswith "Bank" and f', then: {out: bank}, because: b}
    - {id: ltd, when: 's matches "[A-Z]+ Ltd" or e in ["b"]', then: {out: ltd}, because: l}
    """)
    df = frame(s=pd.array(["Bank X", "Bank Y", "ACME Ltd", "x"], dtype="str"), f=[True, False, False, False],
               e=pd.Categorical(["a", "a", "a", "b"], categories=["a", "b"]))
    assert both(rs, df)["rule_id"].astype(object).fillna("-").tolist() == ["bank", "-", "ltd", "ltd"]


def test_strict_raises_listing_failing_rows():
    with pytest.raises(RuleEvaluationError, match="row 'r1'"):
        ruleset(RULES_XY).evaluate(frame(x=[20.0, -1.0]), as_of=AS_OF, strict=True)


def test_missing_column_is_reported_with_suggestion():
    df = frame(x=[1.0]).rename(columns={"x": "xx"})
    with pytest.raises(ColumnMismatchError, match="did you mean 'xx'"):
        ruleset(RULES_XY).evaluate(df)


def test_decide_returns_a_decision_for_one_record():
    rs = ruleset(RULES_XY)
    record = {"x": 20, "n": 1, "s": "s", "e": "a", "f": False, "d": dt.date(2024, 1, 1)}
    for rule_engine in ENGINES:
        decision = rs.decide(record, as_of=AS_OF, engine=rule_engine)
        assert (decision.status, decision.rule_id, decision.outputs) == ("decided", "big", {"out": "big"})
        assert decision.ruleset_hash == rs.hash and decision.ok


def test_durable_engine_survives_more_records_than_durable_states():
    rs = ruleset(RULES_XY)
    r = rs.evaluate(frame(x=np.arange(1500, dtype=float)), engine="durable", as_of=AS_OF)
    assert (r["status"] == "decided").sum() == 1499


# --- the file ------------------------------------------------------------------------------
def test_hash_ignores_whitespace_and_comments_but_not_content():
    a = ruleset(RULES_XY)
    b = RuleSet.from_text("# a comment\n" + textwrap.dedent("""
        name:    t
        version: 1
        inputs: {x: number, n: integer, s: string, e: {type: enum, values: [a, b]}, f: boolean, d: date}
        outputs: {out: string}
        hit_policy: first
        rules:
          - {id: big, when: "x>=10", then: {out: big}, because: large x}   # spacing differs
          - {id: any, when: "(x > 0)", then: {out: any}, because: positive x}
        """))
    assert a.hash == b.hash
    c = ruleset(RULES_XY.replace("x >= 10", "x >= 11"))
    assert c.hash != a.hash


def test_yaml_tags_are_refused():
    with pytest.raises(RuleFileError, match="safe YAML"):
        RuleSet.from_text("!!python/object/apply:os.system ['echo hacked']")
    with pytest.raises(RuleFileError):
        RuleSet.from_text("name: !!python/name:os.system\nversion: 1\n")


def test_schema_errors_name_file_and_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(textwrap.dedent("""
        name: t
        version: 1
        inputs: {x: number}
        outputs: {out: string}
        hit_policy: first
        rules:
          - id: r1
            when: x > 1
            then: {out: a}
            becuase: typo
        """))
    with pytest.raises(RuleFileError) as info:
        load_rules(path)
    assert info.value.file == str(path) and info.value.line == 8


def test_expression_errors_name_file_line_and_rule(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: t\nversion: 1\ninputs: {annual_revenue: number}\noutputs: {out: string}\n"
                    "hit_policy: first\nrules:\n  - id: r1\n    when: anual_revenue > 1\n    then: {out: a}\n    because: b\n")
    with pytest.raises(RuleTypeError) as info:
        load_rules(path)
    assert info.value.line == 8 and "rule 'r1'" in str(info.value) and "did you mean 'annual_revenue'" in str(info.value)


def test_duplicate_keys_and_ids_are_refused():
    with pytest.raises(RuleFileError, match="duplicate key"):
        RuleSet.from_text("name: a\nname: b\n")
    with pytest.raises(RuleFileError, match="duplicate rule id"):
        ruleset("- {id: a, when: x > 1, then: {out: a}, because: a}\n- {id: a, when: x > 2, then: {out: a}, because: a}\n")


def test_then_values_are_checked_against_output_types():
    with pytest.raises(RuleTypeError, match="did you mean 'out'"):
        ruleset("- {id: a, when: x > 1, then: {ot: a}, because: a}")
    with pytest.raises(RuleTypeError, match="output 'k' is integer"):
        ruleset("- {id: a, when: x > 1, then: {k: 1.5}, because: a}", outputs="  k: integer")


def test_priority_is_required_by_the_priority_policy():
    with pytest.raises(RuleFileError, match="priority"):
        ruleset(RULES_XY, policy="priority")


def test_invalid_regex_is_refused_at_load():
    with pytest.raises(RuleSyntaxError, match="pattern"):
        ruleset("- {id: a, when: 's matches \"a(\"', then: {out: a}, because: a}")


def test_load_rules_on_a_directory_returns_rule_sets_by_name(tmp_path):
    for name in ("one", "two"):
        (tmp_path / f"{name}.yaml").write_text(
            f"name: {name}\nversion: 1\ninputs: {{x: number}}\noutputs: {{o: string}}\nhit_policy: first\n"
            "rules: [{id: r, when: x > 1, then: {o: a}, because: b}]\n")
    loaded = load_rule_dir(tmp_path)
    assert sorted(loaded) == ["one", "two"]


def test_schema_is_shipped_and_valid():
    import jsonschema

    jsonschema.Draft202012Validator.check_schema(rule_file_schema())

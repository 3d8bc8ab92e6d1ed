"""Rule sets past durable_rules' fixed buffers compile, decide like the vectorized engine and
never hang.

durable_rules 2.0.28 hangs ``create_ruleset`` forever once one test has 513 different tests
below it (and the first record with exactly 512), fails a record matching more than 64 pending
tests with error 303, and overruns buffers past 32 null tests below one test or 255 fact
fields. The engine packs the alternatives into several durable rulesets within those bounds;
each case here runs in a child process with a time limit, so a regression fails instead of
hanging the suite.
"""

from __future__ import annotations

import multiprocessing
import queue

import numpy as np
import pandas as pd
import pytest

from engine.rules import RuleSet
from engine.rules._durable import (
    MAX_ABSENT_TESTS,
    MAX_CHILDREN,
    MAX_FACT_FIELDS,
    MAX_PATH_FANOUT,
)

TIME_LIMIT_S = 60


def _file(conditions: list[str], inputs: str = "{x: number, y: number, s: string}", policy: str = "first") -> str:
    lines = ["name: large", "version: 1", f"inputs: {inputs}",
             "outputs: {t: integer}", f"hit_policy: {policy}", "rules:"]
    for i, when in enumerate(conditions):
        lines.append(f"  - {{id: r{i}, when: '{when}', then: {{t: {i}}}, because: rule {i}}}")
    return "\n".join(lines) + "\n"


def _agree(text: str, frame: pd.DataFrame, out) -> None:
    try:
        rules = RuleSet.from_text(text)
        vectorized = rules.evaluate(frame, as_of="2024-06-30")
        durable = rules.evaluate(frame, engine="durable", as_of="2024-06-30")
        pd.testing.assert_frame_equal(vectorized, durable)
        out.put(("ok", len(rules.durable_engine().definitions), vectorized["rule_id"].tolist()))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which fails the test
        out.put(("error", repr(exc), None))


def _run(text: str, frame: pd.DataFrame) -> tuple[int, list]:
    context = multiprocessing.get_context("fork")
    out = context.Queue()
    child = context.Process(target=_agree, args=(text, frame, out))
    child.start()
    try:
        status, detail, rule_ids = out.get(timeout=TIME_LIMIT_S)
    except queue.Empty:
        child.kill()
        pytest.fail(f"compiling or evaluating the rule set did not finish in {TIME_LIMIT_S} s")
    child.join(10)
    assert status == "ok", detail
    return detail, rule_ids


def _numbers(values) -> pd.DataFrame:
    values = list(values)
    return pd.DataFrame({"x": pd.Series(values, dtype="float64"), "y": 1.0,
                         "s": pd.Series([None] * len(values), dtype=object)})


def test_two_thousand_two_alternative_rules_the_largest_benchmarked_size():
    conditions = [f"x == {i} or y == {i + 0.5}" for i in range(2000)]
    frame = _numbers([0, 1999, 1000, -1, 2500, np.nan])
    rulesets, rule_ids = _run(_file(conditions), frame)
    assert rulesets >= 4000 // MAX_CHILDREN
    assert rule_ids[:3] == ["r0", "r1999", "r1000"]


def test_sixteen_rules_of_sixty_four_alternatives():
    conditions = [" or ".join(f"x == {64 * i + k}" for k in range(64)) for i in range(16)]
    _, rule_ids = _run(_file(conditions), _numbers([0, 63, 64, 1023, 1024]))
    assert rule_ids[:4] == ["r0", "r0", "r1", "r15"]


def test_exactly_512_and_513_sibling_tests():
    for n in (512, 513):
        _, rule_ids = _run(_file([f"x == {i}" for i in range(n)]), _numbers([3, n - 1, -3]))
        assert rule_ids[:2] == ["r3", f"r{n - 1}"]


def test_a_record_matching_hundreds_of_tests_at_once():
    # every rule matches x = 1e9: durable_rules would push them all onto its 64-slot stack
    conditions = [f"x > {i}" for i in range(4 * MAX_PATH_FANOUT)]
    rulesets, _ = _run(_file(conditions, policy="collect"), _numbers([1e9, 5.5, -1]))
    assert rulesets >= 4


def test_identical_conditions_and_many_null_tests():
    inputs = "{" + ", ".join(f"n{i}: number" for i in range(2 * MAX_ABSENT_TESTS)) + ", x: number, y: number, s: string}"
    conditions = ["x > 5"] * 40 + [f"n{i} is null and x > 1" for i in range(2 * MAX_ABSENT_TESTS)]
    frame = _numbers([10, 3, np.nan])
    for i in range(2 * MAX_ABSENT_TESTS):
        frame[f"n{i}"] = np.where(np.arange(3) == 1, 1.0, np.nan) if i % 2 else np.nan
    _, rule_ids = _run(_file(conditions, inputs=inputs, policy="collect"), frame)
    assert len(rule_ids[0]) == 40 + 2 * MAX_ABSENT_TESTS


def test_more_inputs_than_one_fact_holds():
    n = MAX_FACT_FIELDS + 40
    inputs = "{" + ", ".join(f"v{i}: number" for i in range(n)) + "}"
    conditions = [f"v{i} > 0" for i in range(n)]
    frame = pd.DataFrame({f"v{i}": [1.0 if i == n - 1 else -1.0, -1.0] for i in range(n)})
    rulesets, rule_ids = _run(_file(conditions, inputs=inputs), frame)
    assert rulesets >= 2
    assert rule_ids[0] == f"r{n - 1}" and pd.isna(rule_ids[1])


def test_an_alternative_longer_than_durable_rules_allows_is_refused_with_the_limit():
    from engine._errors import RuleSyntaxError

    rules = RuleSet.from_text(_file([" and ".join(f"x > {i}" for i in range(40))]))
    with pytest.raises(RuleSyntaxError, match="at most 31"):
        rules.durable_engine()


def test_checking_hundreds_of_overlapping_rules_lists_the_first_pairs(tmp_path):
    from engine.rules import check_rules
    from engine.rules._check import MAX_PAIR_FINDINGS

    path = tmp_path / "overlap.yaml"
    path.write_text(_file([f"x > {i}" for i in range(300)], policy="unique"))
    overlaps = [f for f in check_rules([path]) if f.code == "overlap"]
    assert len(overlaps) == MAX_PAIR_FINDINGS + 1
    assert f"more than {MAX_PAIR_FINDINGS} pairs" in overlaps[0].message
    assert all(f.counterexample is not None for f in overlaps[1:])

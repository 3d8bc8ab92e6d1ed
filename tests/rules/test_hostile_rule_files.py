"""Hostile rule input ends in a clear RuleFileError / SpecError, never a hang, a memory blow-up or a traceback.

Each case is loaded in a child process with a wall-clock timeout and an address-space limit, so
that a regression fails this test instead of hanging or exhausting the CI machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from engine._errors import RuleFileError, RuleSyntaxError, SpecError
from engine.rules import RuleSet
from engine.rules._spec import MAX_ALIASES, MAX_DEPTH, MAX_FILE_BYTES, load_spec

ROOT = Path(__file__).resolve().parents[2]
SECONDS = 60
MEMORY = 1_500 * 1024**2

_CHILD = textwrap.dedent(
    """
    import json, resource, sys
    resource.setrlimit(resource.RLIMIT_AS, ({memory}, {memory}))
    from engine._errors import SpecError
    from engine.rules import load_rules
    try:
        load_rules(sys.argv[1])
    except SpecError as exc:
        print(json.dumps({{"error": type(exc).__name__, "message": str(exc)}}))
    else:
        print(json.dumps({{"error": None}}))
    """
)


def load_in_child(path: Path) -> dict:
    """Load ``path`` in a bounded child process; the parsed JSON outcome (fails on a traceback)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-c", _CHILD.format(memory=MEMORY), str(path)],
        capture_output=True, text=True, timeout=SECONDS, env=env, stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, f"not a clean error (exit {done.returncode}):\n{done.stderr[-2000:]}"
    return json.loads(done.stdout.strip().splitlines()[-1])


HEADER = """\
name: hostile
version: 1
hit_policy: first
inputs:
  name: string
  region: {type: enum, values: [%s]}
outputs:
  flag: boolean
default: {then: {flag: false}, because: no rule matched}
"""


def _rules(when: str, region_values: str = "north, south") -> str:
    return HEADER % region_values + f"rules:\n  - id: r1\n    when: {when}\n    then: {{flag: true}}\n    because: matched\n"


def test_yaml_alias_bomb_is_refused_before_it_expands(tmp_path):
    """7 KB of nested aliases grew to 2.2 GB at 7 levels; 9 levels were killed at 3 GB."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 10):
        lines.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * 9) + "]")
    (tmp_path / "bomb.yaml").write_text("\n".join(lines) + "\n")
    outcome = load_in_child(tmp_path / "bomb.yaml")
    assert outcome["error"] == "RuleFileError"
    assert "aliases" in outcome["message"] and "bomb.yaml:" in outcome["message"]


def test_more_aliases_than_the_limit_are_refused(tmp_path):
    text = "a: &a 1\nb: [" + ", ".join(["*a"] * (MAX_ALIASES + 1)) + "]\n"
    (tmp_path / "many.yaml").write_text(text)
    with pytest.raises(RuleFileError, match=f"more than {MAX_ALIASES} YAML aliases"):
        load_spec(tmp_path / "many.yaml")


def test_a_few_aliases_are_still_fine(tmp_path):
    text = _rules('name == "x"').replace("then: {flag: true}", "then: &yes {flag: true}")
    text += "  - id: r2\n    when: name == \"y\"\n    then: *yes\n    because: matched too\n"
    (tmp_path / "ok.yaml").write_text(text)
    assert len(load_spec(tmp_path / "ok.yaml").rules) == 2


@pytest.mark.parametrize("kind", ["flow", "block"])
def test_deep_yaml_nesting_is_a_rule_file_error(tmp_path, kind):
    if kind == "flow":
        text = "x: " + "[" * 20_000 + "]" * 20_000 + "\n"
    else:
        text = "".join("  " * i + f"k{i}:\n" for i in range(200)) + "  " * 200 + "v\n"
    (tmp_path / "deep.yaml").write_text(text)
    outcome = load_in_child(tmp_path / "deep.yaml")
    assert outcome["error"] == "RuleFileError"
    assert f"nested more than {MAX_DEPTH} levels" in outcome["message"]


def test_very_long_integer_is_a_rule_file_error_with_its_line(tmp_path):
    (tmp_path / "long.yaml").write_text("name: t\nversion: 1\nparameters:\n  x: " + "9" * 5000 + "\n")
    outcome = load_in_child(tmp_path / "long.yaml")
    assert outcome["error"] == "RuleFileError"
    assert "long.yaml:4:" in outcome["message"] and "5000 digits" in outcome["message"]


def test_file_over_the_size_limit_is_refused(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_bytes(b"# " + b"x" * MAX_FILE_BYTES + b"\n")
    with pytest.raises(RuleFileError, match="larger than"):
        load_spec(path)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifo_rule_file_is_refused_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "fifo.yaml")
    outcome = load_in_child(tmp_path / "fifo.yaml")
    assert outcome["error"] == "RuleFileError"
    assert "got a FIFO" in outcome["message"]


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_symlink_to_dev_zero_is_refused(tmp_path):
    (tmp_path / "zero.yaml").symlink_to("/dev/zero")
    outcome = load_in_child(tmp_path / "zero.yaml")
    assert outcome["error"] == "RuleFileError"
    assert "got a device" in outcome["message"] and "/dev/zero" in outcome["message"]


def test_symlink_to_a_regular_rule_file_still_loads(tmp_path):
    (tmp_path / "real.yaml").write_text(_rules('name == "x"'))
    (tmp_path / "link.yaml").symlink_to(tmp_path / "real.yaml")
    assert load_spec(tmp_path / "link.yaml").name == "hostile"


def test_yaml_syntax_error_names_file_line_and_column(tmp_path):
    """It said 'not a safe YAML rule file' and named '<unicode string>'."""
    (tmp_path / "broken.yaml").write_text("name: t\nversion: 1\ninputs: {a: number\nrules: []\n")
    with pytest.raises(RuleFileError) as caught:
        load_spec(tmp_path / "broken.yaml")
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'broken.yaml'}:4:6: YAML syntax error:")
    assert "<unicode string>" not in message and "safe" not in message
    assert (caught.value.line, caught.value.column) == (4, 6)


def test_python_tag_is_still_refused_as_unsafe(tmp_path):
    (tmp_path / "tag.yaml").write_text("name: !!python/object/apply:os.system ['true']\n")
    with pytest.raises(RuleFileError, match="not a safe YAML rule file"):
        load_spec(tmp_path / "tag.yaml")


def test_catastrophic_pattern_matches_in_linear_time(tmp_path):
    """``name matches "(.+)+x"`` passed the check and then hung ``kam score``; RE2 cannot backtrack."""
    path = tmp_path / "redos.yaml"
    path.write_text(_rules('name matches "(.+)+x"'))
    rules = RuleSet(load_spec(path))
    frame = pd.DataFrame({"name": ["a" * 50_000 + "y", "a" * 50_000 + "x", "ax", "b"], "region": "north"})
    result = rules.evaluate(frame, as_of="2024-01-01")  # a backtracking engine takes 2**50000 steps
    assert result["flag"].tolist() == [False, True, True, False]


def test_pattern_over_a_long_enum_value_loads_in_linear_time(tmp_path):
    """Enum patterns are decided at load over the declared values; that hung at load."""
    long_value = "a" * 30_000 + "y"
    path = tmp_path / "enum.yaml"
    path.write_text(_rules('region matches "(a+)+x"', region_values=f"north, {long_value}"))
    outcome = load_in_child(path)
    assert outcome["error"] is None


def test_unsupported_pattern_is_refused_at_load_naming_it(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(_rules(r'name matches "(?=x)a"'))
    with pytest.raises(RuleSyntaxError, match=r"pattern '\(\?=x\)a'"):
        load_spec(path)


def test_every_hostile_case_is_a_spec_error_family():
    """The CLI maps SpecError to exit 3; every refusal above is one."""
    assert issubclass(RuleFileError, SpecError) and issubclass(RuleSyntaxError, SpecError)

"""Rule language and engines: tiering, routing and alert rules as data.

A rule file (YAML, see ``docs/rules.md``) declares typed inputs and outputs, a hit policy and
rules whose conditions are written in a small expression language. A file is parsed and
type-checked once (:func:`load_rules`); the resulting :class:`RuleSet` evaluates a whole frame
with the vectorized engine or one record at a time with the durable_rules engine, with
identical decisions. :func:`check_rules` verifies rule files before they run and
:func:`diff_rulesets` shows what a change would do.
"""

from engine.rules._check import Finding, check_rules
from engine.rules._diff import DiffReport, diff_rulesets
from engine.rules._result import STATUSES, Decision
from engine.rules._ruleset import BACKENDS, ENGINES, RuleSet, load_rule_dir, load_rules
from engine.rules._spec import RuleSetSpec, rule_file_schema

__all__ = [
    "BACKENDS",
    "ENGINES",
    "STATUSES",
    "Decision",
    "DiffReport",
    "Finding",
    "RuleSet",
    "RuleSetSpec",
    "check_rules",
    "diff_rulesets",
    "load_rules",
    "load_rule_dir",
    "rule_file_schema",
]

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
from engine.rules._ruleset import ENGINES, RuleSet, load_rule_dir, load_rules
from engine.rules._spec import RuleSetSpec, rule_file_schema

__all__ = [
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


def __getattr__(name: str) -> object:
    """``engine.rules.BACKENDS``, the old name of :data:`ENGINES`, with a deprecation warning.

    ``backend`` names where a scoring run executes (``engine.pipeline``'s ``local``/``dask``);
    the two rule engines are ``ENGINES``. The old name goes away in the next release.
    """
    if name == "BACKENDS":
        import warnings

        from engine._errors import KamDeprecationWarning

        warnings.warn(KamDeprecationWarning(
            "engine.rules.BACKENDS is now engine.rules.ENGINES: 'backend' names where a run executes "
            "(local/dask); the old name goes away in the next release"), stacklevel=2)
        return ENGINES
    raise AttributeError(f"module 'engine.rules' has no attribute {name!r}")

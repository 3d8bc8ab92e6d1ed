"""The alert policies: ``rules/alerts.yaml`` loaded, checked for the outputs alerting needs, and
evaluated into one row per alert key (account, kind)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from engine._arguments import check_frame, check_type
from engine._asof import AsOf
from engine._errors import RuleFileError
from engine._paths import as_path
from engine.alerts._lifecycle import SEVERITY_RANK
from engine.rules._ruleset import rule_engine

if TYPE_CHECKING:
    from engine.rules import RuleSet

__all__ = ["ACTION_TEXT", "REQUIRED_OUTPUTS", "evaluate_policies", "load_alert_rules"]

#: What each recommended action means, in words (docs/domain.md).
ACTION_TEXT = {
    "senior_executive_visit": "Arrange a senior-executive visit.",
    "service_escalation": "Escalate the service case, or send a resident engineer.",
    "discount_within_authority": "Offer a discount within the rep's authority on the next deal.",
    "rebuild_coverage": "Rebuild coverage on all three contact levels (operations, management, decision).",
    "field_visit": "Visit the account: field sales have neglected it.",
}
#: Outputs a rule set must declare to serve as alert policies.
REQUIRED_OUTPUTS = {"kind": "enum", "severity": "enum", "action": "enum", "for_runs": "integer", "cooldown_days": "integer"}


def load_alert_rules(path: str | Path | None = None) -> RuleSet:
    """Load the alert policies (default: ``alerts.yaml`` of the shipped rules folder).

    ``path`` may be a file or a folder holding ``alerts.yaml``.

    Raises
    ------
    RuleFileError
        The file is missing, or lacks an output alerting needs (kind, severity, action,
        for_runs, cooldown_days) or uses severities other than low / medium / high.
    """
    if path is not None:
        path = as_path(path, "the alert policies file or folder", "rules/alerts.yaml")
    from engine.rules import load_rules

    if path is None:
        from engine._paths import default_rules_dir

        path = default_rules_dir()
    path = Path(path)
    if path.is_dir():
        path = path / "alerts.yaml"
    if not path.exists():
        raise RuleFileError("no alert policies here: expected rules/alerts.yaml (see docs/alerts.md). Fix: pass "
                            "--rules FOLDER with an alerts.yaml, or restore the shipped file.", file=str(path))
    ruleset = load_rules(path)
    for name, kind in REQUIRED_OUTPUTS.items():
        declared = ruleset.spec.outputs.get(name)
        if declared is None or declared.type != kind:
            got = "missing" if declared is None else declared.type
            raise RuleFileError(f"alert policies need the output {name!r} of type {kind}; got {got}. Fix: declare "
                                f"'{name}' under outputs (see rules/alerts.yaml).", file=str(path))
    unknown = set(ruleset.spec.outputs["severity"].values or ()) - set(SEVERITY_RANK)
    if unknown:
        raise RuleFileError(f"severities must be among {list(SEVERITY_RANK)}; got {sorted(unknown)}.", file=str(path))
    unknown_actions = set(ruleset.spec.outputs["action"].values or ()) - set(ACTION_TEXT)
    if unknown_actions:
        raise RuleFileError(f"actions must be among {sorted(ACTION_TEXT)}; got {sorted(unknown_actions)}. Fix: use "
                            "one of the recommended actions of docs/alerts.md.", file=str(path))
    return ruleset


def evaluate_policies(signals: pd.DataFrame, ruleset: Any, as_of: AsOf, engine: str | None = None, *,
                      backend: str | None = None) -> pd.DataFrame:
    """Every alert that applies: one row per (account_id, kind).

    An account two rules of the same kind match (a medium and a high churn-risk rule) keeps the
    most severe one. Accounts whose inputs are in error are reported by the rules engine's
    ``status``/``reason`` and raise nothing.

    Returns
    -------
    pandas.DataFrame
        ``account_id``, ``kind``, ``severity``, ``action``, ``for_runs``, ``cooldown_days``,
        ``rule_id``, ``because``, ``alerts_ruleset_hash``.
    """
    from engine.rules import RuleSet

    engine = rule_engine(engine, backend, "vectorized", "evaluate_policies")
    check_frame("evaluate_policies", "signals", signals, "pass the signals of build_signals")
    check_type("evaluate_policies", "ruleset", ruleset, RuleSet, "pass load_alert_rules()", described="a RuleSet")
    columns = ["account_id", "kind", "severity", "action", "for_runs", "cooldown_days", "rule_id", "because",
               "alerts_ruleset_hash"]
    if signals.empty:
        return pd.DataFrame(columns=columns)
    result = ruleset.evaluate(signals, engine=engine, as_of=as_of)
    lists = ["kind", "severity", "action", "for_runs", "cooldown_days", "rule_id", "because"]
    frame = result[lists].copy()
    frame["account_id"] = signals["account_id"].to_numpy()
    frame = frame.explode(lists, ignore_index=True)
    frame = frame[frame["rule_id"].notna() & (frame["rule_id"].astype(str) != "default") & frame["kind"].notna()]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    frame["rank"] = frame["severity"].map(SEVERITY_RANK).fillna(0)
    frame = frame.sort_values(["account_id", "kind", "rank"], ascending=[True, True, False], kind="stable")
    frame = frame.drop_duplicates(["account_id", "kind"], keep="first").drop(columns="rank")
    frame["for_runs"] = pd.to_numeric(frame["for_runs"]).fillna(1).astype("int64")
    frame["cooldown_days"] = pd.to_numeric(frame["cooldown_days"]).fillna(0).astype("int64")
    for column in ("account_id", "kind", "severity", "action", "rule_id", "because"):
        frame[column] = frame[column].astype(str)
    frame["alerts_ruleset_hash"] = ruleset.hash
    return frame[columns].reset_index(drop=True)

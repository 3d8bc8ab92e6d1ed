"""What-if: evaluate two versions of a rule set over the same frame and report the changes.

Nothing is written. The CLI (``kam rules diff OLD NEW --db URL``) loads the frame and prints
the :class:`DiffReport`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from engine._asof import AsOf
from engine._errors import ColumnMismatchError, RuleFileError
from engine.rules._ruleset import RuleSet, load_rules, rule_engine

__all__ = ["DiffReport", "diff_rulesets", "NO_RULE_ID"]

#: The ``by_rule`` label of a record that no rule decided (status unmatched or error).
NO_RULE_ID = "(no rule)"


@dataclass(frozen=True)
class DiffReport:
    """The effect of replacing ``old`` by ``new``.

    Attributes
    ----------
    old_name, new_name, old_hash, new_hash : str
    rows : int
        Rows evaluated.
    changed : int
        Rows whose outputs or status differ.
    by_group : pandas.DataFrame
        One row per group of ``by``: ``rows``, ``changed``, ``share_changed``.
    transitions : pandas.DataFrame
        Counts of (old outputs/status -> new outputs/status), most frequent first.
    by_rule : pandas.DataFrame
        Changed rows per (old_rule_id, new_rule_id): which rules are responsible. A record
        no rule decided (status ``unmatched`` or ``error``) counts under ``"(no rule)"``.
    examples : pandas.DataFrame
        Up to ``examples`` changed rows per transition, with the ``by`` columns, old/new
        outputs, statuses and rule ids, indexed like the input frame.
    changed_mask : pandas.Series
        Bool per input row.
    """

    old_name: str
    new_name: str
    old_hash: str
    new_hash: str
    rows: int
    changed: int
    by_group: pd.DataFrame
    transitions: pd.DataFrame
    by_rule: pd.DataFrame
    examples: pd.DataFrame
    changed_mask: pd.Series

    def summary(self) -> str:
        """A few lines for a terminal."""
        share = self.changed / self.rows if self.rows else 0.0
        lines = [f"{self.old_name} ({self.old_hash[:12]}) -> {self.new_name} ({self.new_hash[:12]}): "
                 f"{self.changed} of {self.rows} rows change ({share:.1%})"]
        for _, row in self.transitions.head(10).iterrows():
            lines.append(f"  {row['old']} -> {row['new']}: {row['rows']}")
        return "\n".join(lines)


def _as_ruleset(value: RuleSet | str | Path) -> RuleSet:
    if isinstance(value, RuleSet):
        return value
    if isinstance(value, (str, Path)):
        loaded = load_rules(value)
        if isinstance(loaded, RuleSet):
            return loaded
        raise RuleFileError(f"diff_rulesets compares two rule files, got a directory {value}", file=str(value))
    from engine._errors import ArgumentError

    raise ArgumentError(f"diff_rulesets: expected old and new as a RuleSet or a rule-file path; got "
                        f"{type(value).__name__}. Fix: pass e.g. 'rules/tiers.yaml' or engine.load_rules(...)")


def _label(frame: pd.DataFrame, outputs: list[str]) -> pd.Series:
    parts = [frame["status"].astype(object).astype(str)]
    for name in outputs:
        parts.append(name + "=" + frame[name].astype(object).map(lambda v: "null" if _isnull(v) else str(v)))
    label = parts[0]
    for p in parts[1:]:
        label = label + " " + p
    return label


def _rule_id_labels(rule_ids: pd.Series, changed) -> pd.Series:
    """Rule ids of the changed rows as text, NO_RULE_ID where no rule decided."""
    ids = pd.Series(rule_ids.astype(object).to_numpy()[changed], dtype=object)
    return ids.where(~ids.isna(), NO_RULE_ID).astype(str)


def _isnull(v) -> bool:
    return v is None or (not isinstance(v, list) and pd.isna(v))


def diff_rulesets(old: RuleSet | str | Path, new: RuleSet | str | Path, frame: pd.DataFrame, as_of: AsOf = None,
                  by: Sequence[str] = ("region", "industry"), examples: int = 3, engine: str | None = None, *,
                  backend: str | None = None) -> DiffReport:
    """Evaluate ``old`` and ``new`` over ``frame`` and report what changes.

    Parameters
    ----------
    old, new : RuleSet or path
        Two versions of a rule set (their outputs are compared by name; outputs only one side
        has count as null on the other).
    frame : pandas.DataFrame
        Rows with the inputs of both rule sets and the ``by`` columns.
    as_of : date, optional
        Passed to both evaluations.
    by : sequence of str
        Columns to group the counts by (``()`` for none).
    examples : int
        Example rows kept per transition.
    engine : {"vectorized", "durable"}, default "vectorized"
        The rule engine of both evaluations (``backend=`` is the old name, deprecated).

    Returns
    -------
    DiffReport

    Examples
    --------
    >>> import pandas as pd
    >>> from engine.rules import RuleSet
    >>> text = '''
    ... name: size
    ... version: {v}
    ... inputs: {{revenue: number}}
    ... outputs: {{size: string}}
    ... hit_policy: first
    ... default: {{then: {{size: small}}}}
    ... rules: [{{id: big, when: "revenue >= {t}", then: {{size: big}}, because: big}}]
    ... '''
    >>> old = RuleSet.from_text(text.format(v=1, t=100))
    >>> new = RuleSet.from_text(text.format(v=2, t=50))
    >>> report = diff_rulesets(old, new, pd.DataFrame({"revenue": [10, 70, 200]}), by=())
    >>> report.changed
    1
    """
    engine = rule_engine(engine, backend, "vectorized", "diff_rulesets")
    old_rs, new_rs = _as_ruleset(old), _as_ruleset(new)
    if not isinstance(frame, pd.DataFrame):
        from engine._errors import ArgumentError

        raise ArgumentError(f"diff_rulesets: expected frame as a pandas DataFrame of the rules' inputs; got "
                            f"{type(frame).__name__}. Fix: pass e.g. the account features frame")
    by = list(by)
    missing = [c for c in by if c not in frame.columns]
    if missing:
        raise ColumnMismatchError(f"diff_rulesets: group-by column(s) {missing} are not in the frame; "
                                  f"columns are {list(frame.columns)}; pass by=() to skip grouping")
    before = old_rs.evaluate(frame, engine=engine, as_of=as_of)
    after = new_rs.evaluate(frame, engine=engine, as_of=as_of)
    outputs = list(dict.fromkeys([*old_rs.spec.outputs, *new_rs.spec.outputs]))
    for name in outputs:
        for side in (before, after):
            if name not in side.columns:
                side[name] = None
    old_label = _label(before, outputs)
    new_label = _label(after, outputs)
    changed = (old_label != new_label).to_numpy()
    changed_mask = pd.Series(changed, index=frame.index, name="changed")

    if by:
        grouped = pd.DataFrame({c: frame[c].to_numpy() for c in by})
        grouped["changed"] = changed
        by_group = grouped.groupby(by, dropna=False, observed=True).agg(
            rows=("changed", "size"), changed=("changed", "sum")).reset_index()
        by_group["share_changed"] = by_group["changed"] / by_group["rows"]
        by_group = by_group.sort_values(["changed", *by], ascending=[False, *[True] * len(by)], kind="stable").reset_index(drop=True)
    else:
        by_group = pd.DataFrame({"rows": [len(frame)], "changed": [int(changed.sum())],
                                 "share_changed": [changed.mean() if len(frame) else 0.0]})

    pairs = pd.DataFrame({"old": old_label.to_numpy()[changed], "new": new_label.to_numpy()[changed]})
    transitions = (pairs.groupby(["old", "new"], observed=True).size().rename("rows").reset_index()
                   .sort_values(["rows", "old", "new"], ascending=[False, True, True], kind="stable")
                   .reset_index(drop=True))
    # a record no rule decided (unmatched / error) has a null rule id: count it under NO_RULE_ID
    # (on pandas 3 astype(str) keeps NaN and groupby would silently drop those rows)
    rule_pairs = pd.DataFrame({
        "old_rule_id": _rule_id_labels(before["rule_id"], changed),
        "new_rule_id": _rule_id_labels(after["rule_id"], changed)})
    by_rule = (rule_pairs.groupby(["old_rule_id", "new_rule_id"], dropna=False).size().rename("rows").reset_index()
               .sort_values("rows", ascending=False, kind="stable").reset_index(drop=True))

    cols = {c: frame[c] for c in by}
    for name in outputs:
        cols[f"old_{name}"] = before[name]
        cols[f"new_{name}"] = after[name]
    cols.update({"old_status": before["status"], "new_status": after["status"],
                 "old_rule_id": before["rule_id"], "new_rule_id": after["rule_id"],
                 "new_because": after["because"], "transition": old_label + " -> " + new_label})
    detail = pd.DataFrame(cols, index=frame.index)[changed]
    ex = detail.groupby("transition", sort=False).head(examples) if len(detail) else detail

    return DiffReport(old_rs.name, new_rs.name, old_rs.hash, new_rs.hash, len(frame), int(changed.sum()),
                      by_group, transitions, by_rule, ex, changed_mask)

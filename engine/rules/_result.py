"""Decisions -> the result frame; the reason texts. Shared by both engines.

An engine's job ends with, per record, *which rules matched* (durable) or the match matrix
(vectorized), resolved by the hit policy into a status, the deciding rule(s) and a reason.
This module turns those arrays into the result frame with one set of column types and
category orders, so two engines that decide the same produce equal frames.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import pandas as pd

from engine.rules._spec import DEFAULT_RULE_ID, RuleSetSpec

__all__ = [
    "STATUSES",
    "DECIDED",
    "DEFAULT",
    "UNMATCHED",
    "ERROR",
    "NO_RULE_MATCHED",
    "Decision",
    "resolve_one",
    "tie_reason",
    "unique_reason",
    "build_frame",
    "decision_from_row",
]

DECIDED, DEFAULT, UNMATCHED, ERROR = 0, 1, 2, 3
STATUSES = ("decided", "default", "unmatched", "error")
NO_RULE_MATCHED = "no_rule_matched: no rule matched and the rule set has no default"


@dataclass(frozen=True)
class Decision:
    """The decision for one record.

    Attributes
    ----------
    status : {"decided", "default", "unmatched", "error"}
    outputs : dict
        Output name -> value (None when unmatched or error). Under ``collect``, each value is
        a list with one entry per matching rule.
    rule_id : str, list of str or None
        The deciding rule ("default" for the default); a list under ``collect``.
    because : str, list of str or None
    reason : str or None
        ``"code: text"`` for ``error`` and ``unmatched``.
    ruleset_hash : str
    """

    status: str
    outputs: dict[str, Any]
    rule_id: Any
    because: Any
    reason: str | None
    ruleset_hash: str
    matched: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        """True when the record was decided by a rule or the default."""
        return self.status in ("decided", "default")


def tie_reason(spec: RuleSetSpec, indices) -> str:
    ids = ", ".join(repr(spec.rules[i].id) for i in indices)
    return f"priority_tie: rules {ids} match with the same highest priority {spec.rules[indices[0]].priority}"


def unique_reason(spec: RuleSetSpec, indices) -> str:
    ids = ", ".join(repr(spec.rules[i].id) for i in indices)
    return f"unique_violation: rules {ids} all match but the hit policy is unique"


def resolve_one(spec: RuleSetSpec, matched: list[int]) -> tuple[int, list[int], str | None]:
    """Apply the hit policy to one record's matching rule indices (in any order).

    Returns (status, deciding rule indices, reason).
    """
    matched = sorted(matched)
    if not matched:
        if spec.default_then is not None:
            return DEFAULT, [], None
        return UNMATCHED, [], NO_RULE_MATCHED
    policy = spec.hit_policy
    if policy == "first":
        return DECIDED, [matched[0]], None
    if policy == "collect":
        return DECIDED, matched, None
    if policy == "unique":
        if len(matched) > 1:
            return ERROR, [], unique_reason(spec, matched)
        return DECIDED, matched, None
    # load_spec requires an integer priority on every rule under the 'priority' policy
    best = max(cast(int, spec.rules[i].priority) for i in matched)
    top = [i for i in matched if spec.rules[i].priority == best]
    if len(top) > 1:
        return ERROR, [], tie_reason(spec, top)
    return DECIDED, top, None


def _code_dtype(n_categories: int):
    """The integer type pandas itself would store these categorical codes in (so
    ``from_codes`` does not convert a million codes again)."""
    return np.int8 if n_categories < 127 else np.int16 if n_categories < 32_000 else np.int64


def _from_codes(codes: np.ndarray, categories: list) -> pd.Categorical:
    dtype = pd.CategoricalDtype(pd.Index(categories, dtype=object))
    return pd.Categorical.from_codes(codes, dtype=dtype, validate=False)


def _categorical(codes: np.ndarray, categories: list) -> pd.Categorical:
    """Categorical of ``categories[codes]`` (code -1 = null); repeated categories merge."""
    uniq: list = []
    index: dict = {}
    table = []
    for c in categories:
        if c not in index:
            index[c] = len(uniq)
            uniq.append(c)
        table.append(index[c])
    remap = np.array(table + [-1], dtype=_code_dtype(len(uniq)))
    return _from_codes(remap[codes], uniq)  # code -1 picks the trailing -1


def build_frame(spec: RuleSetSpec, index: pd.Index, status: np.ndarray, winner: np.ndarray,
                reason: np.ndarray, collected: list | None = None) -> pd.DataFrame:
    """Assemble the result frame.

    Parameters
    ----------
    status : int8 array of DECIDED/DEFAULT/UNMATCHED/ERROR
    winner : integer array, deciding rule index (-1 when none); ignored under collect
    reason : object array of str or None; read only where the status is unmatched or error
        (the only statuses that carry a reason)
    collected : list of tuples of rule indices (collect policy only)
    """
    n = len(status)
    n_rules = len(spec.rules)
    status = np.asarray(status, dtype=np.int8)
    cols: dict[str, Any] = {}
    if spec.hit_policy == "collect":
        return _build_collect(spec, index, status, reason, collected)
    # code n_rules = default, -1 (the table's last entry) = none
    code_type = _code_dtype(n_rules + 2)
    code = np.where(status == DECIDED, winner.astype(code_type, copy=False), code_type(-1))
    if spec.default_then is not None:
        code[status == DEFAULT] = n_rules
    for name, out in spec.outputs.items():
        table = [r.then[name] for r in spec.rules] + [
            spec.default_then[name] if spec.default_then is not None else None]
        cols[name] = _output_column(out.type, table, code, out.values)
    rule_ids = [r.id for r in spec.rules] + [DEFAULT_RULE_ID]
    becauses = [r.because for r in spec.rules] + [spec.default_because or ""]
    cols["rule_id"] = _categorical(code, rule_ids)
    cols["because"] = _categorical(code, becauses)
    cols["status"] = _from_codes(status, list(STATUSES))
    cols["reason"] = _reason_column(reason, status)
    cols["ruleset_hash"] = _from_codes(np.zeros(n, np.int8), [spec.hash])
    return pd.DataFrame(cols, index=index)


def _output_column(typ: str, table: list, code: np.ndarray, declared: tuple | None = None):
    if typ == "number":
        arr = np.array([np.nan if v is None else v for v in table] + [np.nan], dtype=np.float64)
        return arr[code]
    if typ == "integer":
        vals = np.array([0 if v is None else v for v in table] + [0], dtype=np.int64)
        mask = np.array([v is None for v in table] + [True], dtype=bool)
        return pd.arrays.IntegerArray(vals[code], mask[code])
    if typ == "boolean":
        vals = np.array([bool(v) if v is not None else False for v in table] + [False], dtype=bool)
        mask = np.array([v is None for v in table] + [True], dtype=bool)
        return pd.arrays.BooleanArray(vals[code], mask[code])
    # enum: the declared values, in the declared order (A, B, C), whether or not a rule uses
    # each one, so that sorting, grouping and plots follow the rule file; string: the values
    # in first-appearance order of the rule table
    cats: list = list(declared) if typ == "enum" and declared else []
    pos: dict = {v: i for i, v in enumerate(cats)}
    remap_list = []
    for v in table:
        if v is None:
            remap_list.append(-1)
            continue
        if v not in pos:
            pos[v] = len(cats)
            cats.append(v)
        remap_list.append(pos[v])
    remap = np.array(remap_list + [-1], dtype=_code_dtype(len(cats)))
    return _from_codes(remap[code], cats)


def _reason_column(reason: np.ndarray, status: np.ndarray) -> pd.Categorical:
    # only unmatched and error rows carry a reason: look at those alone (usually none)
    idx = np.flatnonzero(status >= UNMATCHED)
    present = [r for r in reason[idx].tolist()] if len(idx) else []
    cats = sorted({r for r in present if r is not None})
    pos = {c: i for i, c in enumerate(cats)}
    codes = np.full(len(reason), -1, dtype=_code_dtype(len(cats)))
    if len(idx):
        codes[idx] = [pos[r] if r is not None else -1 for r in present]
    return _from_codes(codes, cats)


def _build_collect(spec, index, status, reason, collected) -> pd.DataFrame:
    n = len(status)
    rules = spec.rules
    cols: dict[str, Any] = {}
    # rows share few distinct match sets: build each list once
    lists: dict = {}
    default_key = ("default",)
    keys: list[tuple | None] = []
    for i in range(n):
        if status[i] == DECIDED:
            keys.append(tuple(collected[i]))
        elif status[i] == DEFAULT:
            keys.append(default_key)
        else:
            keys.append(None)
    for name in spec.outputs:
        column = np.empty(n, dtype=object)
        for i, key in enumerate(keys):
            column[i] = _collect_list(lists, key, name, spec)
        cols[name] = column
    for name, getter in (("rule_id", lambda r: r.id), ("because", lambda r: r.because)):
        column = np.empty(n, dtype=object)
        for i, key in enumerate(keys):
            if key is None:
                column[i] = []
            elif key == default_key:
                column[i] = [DEFAULT_RULE_ID if name == "rule_id" else spec.default_because]
            else:
                column[i] = [getter(rules[j]) for j in key]
        cols[name] = column
    cols["status"] = _from_codes(status, list(STATUSES))
    cols["reason"] = _reason_column(reason, status)
    cols["ruleset_hash"] = _from_codes(np.zeros(n, np.int8), [spec.hash])
    return pd.DataFrame(cols, index=index)


def _collect_list(cache, key, name, spec):
    if key is None:
        return []
    if key == ("default",):
        return [spec.default_then[name]]
    return [spec.rules[j].then[name] for j in key]


def decision_from_row(spec: RuleSetSpec, status: int, deciding: list[int], reason: str | None) -> Decision:
    """Build a :class:`Decision` from one resolved record."""
    st = STATUSES[status]
    if spec.hit_policy == "collect":
        if status == DECIDED:
            outputs = {k: [spec.rules[j].then[k] for j in deciding] for k in spec.outputs}
            rule_id = [spec.rules[j].id for j in deciding]
            because = [spec.rules[j].because for j in deciding]
        elif status == DEFAULT:
            assert spec.default_then is not None and spec.default_because is not None  # DEFAULT needs a default
            outputs = {k: [spec.default_then[k]] for k in spec.outputs}
            rule_id, because = [DEFAULT_RULE_ID], [spec.default_because]
        else:
            outputs = {k: [] for k in spec.outputs}
            rule_id, because = [], []
        return Decision(st, outputs, rule_id, because, reason, spec.hash,
                        tuple(spec.rules[j].id for j in deciding))
    if status == DECIDED:
        rule = spec.rules[deciding[0]]
        return Decision(st, dict(rule.then), rule.id, rule.because, None, spec.hash, (rule.id,))
    if status == DEFAULT:
        assert spec.default_then is not None  # only a rule set with a default yields DEFAULT
        return Decision(st, dict(spec.default_then), DEFAULT_RULE_ID, spec.default_because, None, spec.hash)
    return Decision(st, {k: None for k in spec.outputs}, None, None, reason, spec.hash)

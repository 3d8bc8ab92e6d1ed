"""The vectorized engine: a normalised rule set -> numpy operations over whole columns.

Each value is computed as a pair ``(values, known)``: ``known`` is False where an input is null
or a divisor is zero (the value is null). A comparison is true where both sides are known and
the comparison holds - SQL's "unknown" is simply "not true". Conditions are in negation normal
form (see :mod:`engine.rules._expr`), so ``and`` / ``or`` combine plain truth masks.

The hit policy runs over the (rules x rows) match matrix with no per-row Python.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.rules._expr import And, BinOp, Bool, Cmp, Const, Field, IsNull, Known, Match, Num, Or, Str
from engine.rules._result import DECIDED, DEFAULT, ERROR, NO_RULE_MATCHED, UNMATCHED, build_frame, tie_reason, unique_reason
from engine.rules._spec import RuleSetSpec
from engine.rules._typed import Prepared, prepare_frame

__all__ = ["evaluate_vectorized", "match_matrix"]

_OPS = {
    "==": np.equal, "!=": np.not_equal, "<": np.less, "<=": np.less_equal,
    ">": np.greater, ">=": np.greater_equal,
}


class _Compiler:
    def __init__(self, prepared: Prepared):
        self.p = prepared
        self.n = prepared.n
        self.ones = np.ones(self.n, dtype=bool)

    # values: (kind, values, known); kind in num/str/bool; scalars for literals
    def value(self, node):
        if isinstance(node, Num):
            return "num", node.value, True
        if isinstance(node, Str):
            return "strlit", node.value, True
        if isinstance(node, Bool):
            return "bool", node.value, True
        if isinstance(node, Field):
            col = self.p.columns[node.name]
            if col.kind == "str":
                return "str", col, ~col.null
            return col.kind, col.values, ~col.null
        if isinstance(node, BinOp):
            _, lv, lk = self.value(node.left)
            _, rv, rk = self.value(node.right)
            known = lk & rk
            with np.errstate(all="ignore"):
                if node.op == "+":
                    out = np.add(lv, rv)
                elif node.op == "-":
                    out = np.subtract(lv, rv)
                elif node.op == "*":
                    out = np.multiply(lv, rv)
                else:
                    zero = np.equal(rv, 0.0)
                    known = known & ~zero
                    out = np.divide(lv, np.where(zero, 1.0, rv))
            return "num", out, known
        raise TypeError(f"not a value: {node!r}")

    def cond(self, node) -> np.ndarray:
        if isinstance(node, Const):
            return np.full(self.n, node.value, dtype=bool)
        if isinstance(node, And):
            out = self.cond(node.items[0])
            for item in node.items[1:]:
                out = out & self.cond(item)
            return out
        if isinstance(node, Or):
            out = self.cond(node.items[0])
            for item in node.items[1:]:
                out = out | self.cond(item)
            return out
        if isinstance(node, IsNull):
            null = self.p.columns[node.field.name].null
            return ~null if node.negated else null.copy()
        if isinstance(node, Known):
            return np.broadcast_to(self.value(node.value)[2], (self.n,)).copy()
        if isinstance(node, Match):
            col = self.p.columns[node.field.name]
            hits = np.array([node.regex.fullmatch(u.encode("utf-8")) is not None for u in col.uniques] + [False], dtype=bool)
            return hits[col.codes]  # code -1 picks the trailing False
        if isinstance(node, Cmp):
            return self.compare(node)
        raise TypeError(f"not a condition: {node!r}")

    def compare(self, node: Cmp) -> np.ndarray:
        lk_kind, lv, lk = self.value(node.left)
        rk_kind, rv, rk = self.value(node.right)
        known = np.broadcast_to(lk & rk, (self.n,))
        if lk_kind == "str" or rk_kind == "str":
            return known & self._compare_str(node.op, lk_kind, lv, rk_kind, rv)
        with np.errstate(invalid="ignore"):
            result = _OPS[node.op](lv, rv)
        return known & np.broadcast_to(result, (self.n,))

    def _compare_str(self, op, lkind, lv, rkind, rv):
        if lkind == "str" and rkind == "strlit":
            col, lit = lv, rv
            hit = np.flatnonzero(col.uniques == lit) if len(col.uniques) else np.array([], dtype=np.int64)
            eq = col.codes == hit[0] if len(hit) else np.zeros(self.n, dtype=bool)
            return eq if op == "==" else ~eq
        # two string inputs: compare through a shared code space
        a, b = lv, rv
        union, inv = np.unique(np.concatenate([a.uniques, b.uniques]).astype(object), return_inverse=True)
        amap = np.append(inv[: len(a.uniques)], -1)
        bmap = np.append(inv[len(a.uniques):], -2)
        eq = amap[a.codes] == bmap[b.codes]
        return eq if op == "==" else ~eq


def match_matrix(spec: RuleSetSpec, prepared: Prepared) -> np.ndarray:
    """Boolean (rules x rows) matrix: rule i's condition is true for row j."""
    compiler = _Compiler(prepared)
    matrix = np.zeros((len(spec.rules), prepared.n), dtype=bool)
    for i, rule in enumerate(spec.rules):
        matrix[i] = compiler.cond(rule.condition)
    return matrix


def _pattern_reasons(spec, rows_mask, sub_matrix, make_reason, reason):
    """Fill ``reason`` for the rows in ``rows_mask`` from their match pattern, one text per
    distinct pattern (no per-row Python)."""
    idx = np.flatnonzero(rows_mask)
    if not len(idx):
        return
    packed = np.packbits(sub_matrix[:, idx], axis=0)
    keys, inverse = np.unique(packed.T, axis=0, return_inverse=True)
    texts = []
    for key in keys:
        bits = np.unpackbits(key)[: sub_matrix.shape[0]]
        texts.append(make_reason(spec, [int(i) for i in np.flatnonzero(bits)]))
    reason[idx] = np.array(texts, dtype=object)[inverse.ravel()]


def resolve(spec: RuleSetSpec, matrix: np.ndarray, error: np.ndarray, error_reason: np.ndarray):
    """Hit policy over the match matrix -> (status, winner, reason, collected)."""
    n = matrix.shape[1]
    matrix = matrix & ~error  # data-error rows match nothing
    any_match = matrix.any(axis=0) if len(spec.rules) else np.zeros(n, bool)
    status = np.full(n, DECIDED, dtype=np.int8)
    winner = np.full(n, -1, dtype=np.int64)
    reason = np.full(n, None, dtype=object)
    collected = None
    policy = spec.hit_policy
    if policy == "first" or policy == "collect":
        winner = np.where(any_match, matrix.argmax(axis=0), -1)
        if policy == "collect":
            collected = _collect(matrix, any_match)
    elif policy == "unique":
        count = matrix.sum(axis=0)
        winner = np.where(any_match, matrix.argmax(axis=0), -1)
        multi = count > 1
        status[multi] = ERROR
        winner[multi] = -1
        _pattern_reasons(spec, multi, matrix, unique_reason, reason)
    else:  # priority
        prio = np.array([r.priority for r in spec.rules], dtype=np.float64)
        scored = np.where(matrix, prio[:, None], -np.inf)
        best = scored.max(axis=0)
        top = matrix & (scored == best)
        ties = top.sum(axis=0) > 1
        winner = np.where(any_match, top.argmax(axis=0), -1)
        status[ties] = ERROR
        winner[ties] = -1
        _pattern_reasons(spec, ties, top, tie_reason, reason)
    none = ~any_match
    if spec.default_then is not None:
        status[none] = DEFAULT
    else:
        status[none] = UNMATCHED
        reason[none] = NO_RULE_MATCHED
    status[error] = ERROR
    winner[error] = -1
    reason[error] = error_reason[error]
    return status, winner, reason, collected


def _collect(matrix: np.ndarray, any_match: np.ndarray) -> list:
    n = matrix.shape[1]
    out: list = [()] * n
    idx = np.flatnonzero(any_match)
    if not len(idx):
        return out
    packed = np.packbits(matrix[:, idx], axis=0)
    keys, inverse = np.unique(packed.T, axis=0, return_inverse=True)
    sets = [tuple(int(i) for i in np.flatnonzero(np.unpackbits(k)[: matrix.shape[0]])) for k in keys]
    for row, key in zip(idx.tolist(), inverse.ravel().tolist()):
        out[row] = sets[key]
    return out


def evaluate_vectorized(spec: RuleSetSpec, df: pd.DataFrame, as_of) -> pd.DataFrame:
    """Evaluate a rule set over a frame with numpy (see :meth:`RuleSet.evaluate`)."""
    prepared = prepare_frame(spec, df, as_of)
    matrix = match_matrix(spec, prepared)
    status, winner, reason, collected = resolve(spec, matrix, prepared.error, prepared.reason)
    return build_frame(spec, df.index, status, winner, reason, collected)

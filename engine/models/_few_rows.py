"""Scoring a few rows (one lead on the live path) without a per-tree or per-column call.

Part of :mod:`engine.models._fast`: the fitted pipelines folded into numpy evaluators are
built to score many rows, one numpy call per tree or per column. For one row those calls are
nearly all fixed cost (the demo's win model: ~150 tree calls and ~30 column terms, 1.3 ms a
lead). The two structures here hold the same model side by side in flat arrays, so a few
rows are scored with a fixed dozen numpy operations, with the same arithmetic in the same
order: the probabilities are equal to the last bit (``tests/models/test_fast_rows.py``).

* :class:`FlatForest`: every tree of a :class:`~engine.models._fast.BoostingScorer`, walked
  together;
* :class:`SplineTable`: the spline columns of a :class:`~engine.models._fast.LinearScorer`,
  ``np.interp`` of all of them at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from engine.models._fast import BoostingScorer

__all__ = ["FlatForest", "SplineTable"]


def _starts(sizes: list[int] | np.ndarray) -> np.ndarray:
    """Where each of consecutive blocks of ``sizes`` starts in their concatenation."""
    return np.r_[0, np.cumsum(sizes)[:-1]].astype(np.intp)


class FlatForest:
    """The trees of a :class:`BoostingScorer` as flat node arrays, scored a few rows at a time.

    Scoring one row with the binned predictors is ~150 calls of a few microseconds each, nearly
    all fixed cost (argument checks, an output array, an OpenMP region). Here every node of
    every tree sits in one array (children renumbered, leaves pointing at themselves, each
    categorical bitset moved to one table), so a row is scored with a dozen numpy operations:

    1. bin the row as :meth:`BoostingScorer._binned` does (a count of the split thresholds
       below each numeric value, one table per feature fed by internal codes - native
       categoricals and codes read as numbers; missing to the missing bin);
    2. decide, for every node at once, which child the row goes to, by the predictor's own
       rule (the missing bin follows ``missing_go_to_left``, a categorical split tests the
       bin's bit in the left child's bitset, a numeric one ``bin <= bin_threshold``);
    3. walk all trees together, one level per step, for as many steps as the deepest leaf;
    4. add the leaf values to the baseline in tree order, as :meth:`BoostingScorer._raw`
       does (``np.cumsum`` adds one after the other), so the sum is the same to the last bit.

    Built from the (rewritten) predictors of ``scorer``; ``tests/models/test_fast_rows.py``
    checks it against the predictors and ``predict_proba``.
    """

    def __init__(self, scorer: BoostingScorer):
        from engine.models._fast import _code_slots

        self._code_slots = _code_slots
        nodes = [p.nodes for p in scorer.predictors]
        sizes = np.array([len(n) for n in nodes], dtype=np.intp)
        starts = _starts(sizes)
        flat = np.concatenate(nodes)  # (a fitted model has one tree at least)
        offset = np.repeat(starts, sizes)
        index = np.arange(len(flat), dtype=np.intp)
        leaf = flat["is_leaf"].astype(bool)
        self.roots = starts
        self.left = np.where(leaf, index, flat["left"].astype(np.intp) + offset)
        self.right = np.where(leaf, index, flat["right"].astype(np.intp) + offset)
        self.feature = np.where(leaf, 0, flat["feature_idx"]).astype(np.intp)
        self.threshold = flat["bin_threshold"].astype(np.intp)
        self.missing_left = flat["missing_go_to_left"].astype(bool)
        self.value = flat["value"].astype(np.float64)
        self.depth = int(flat["depth"][leaf].max()) if leaf.any() else 0
        # Categorical splits: row of the node's bitset in one table of every tree's bitsets.
        self.categorical = np.flatnonzero(flat["is_categorical"].astype(bool) & ~leaf)
        bitsets = [np.asarray(p.binned_left_cat_bitsets, dtype=np.uint32).reshape(-1, 8) for p in scorer.predictors]
        bitset_starts = _starts([len(b) for b in bitsets])
        self.bitsets = np.concatenate(bitsets) if bitsets else np.empty((0, 8), np.uint32)
        tree_of = np.repeat(np.arange(len(nodes)), sizes)
        self.bitset_row = (flat["bitset_idx"].astype(np.intp) + bitset_starts[tree_of])[self.categorical]
        self.baseline = scorer.baseline
        self.missing_bin = int(scorer.missing_bin)
        # Binning: the scorer's thresholds side by side, with an indicator of their feature.
        self.columns = np.asarray(scorer.model_columns, dtype=np.intp)
        numeric = [j for j in range(len(scorer.model_columns))
                   if j not in scorer.code_bins and len(scorer.thresholds[j])]
        self.numeric = np.asarray(numeric, dtype=np.intp)
        self.split_values = np.concatenate([np.asarray(scorer.thresholds[j], dtype=np.float64) for j in numeric]) \
            if numeric else np.empty(0)
        self.split_column = np.repeat(self.numeric, [len(scorer.thresholds[j]) for j in numeric])
        # where each numeric feature's thresholds start (none is empty: an add.reduceat segment each)
        self.split_starts = _starts([len(scorer.thresholds[j]) for j in numeric])
        # Features binned by one table over the internal codes (native categoricals, and codes
        # read as numbers): the tables side by side.
        self.coded = np.asarray(sorted(scorer.code_bins), dtype=np.intp)
        tables = [scorer.code_bins[j] for j in self.coded]
        self.coded_starts = _starts([len(t) for t in tables])
        self.coded_table = np.concatenate(tables).astype(np.intp) if tables else np.empty(0, np.intp)

    def binned(self, matrix: np.ndarray) -> np.ndarray:
        """The rows' bins per model feature (as :meth:`BoostingScorer._binned`, as intp)."""
        values = matrix[:, self.columns]
        out = np.zeros(values.shape, dtype=np.intp)
        if len(self.numeric):
            numeric = values[:, self.numeric]
            # x > threshold counted per feature: the number of thresholds below x (NaN: none).
            # (A sum, not a product with an indicator matrix: BLAS releases the GIL, and in a
            # threaded server taking it back can wait for another thread's switch interval.)
            below = np.add.reduceat(values[:, self.split_column] > self.split_values, self.split_starts,
                                    axis=1, dtype=np.intp)
            out[:, self.numeric] = np.where(np.isnan(numeric), self.missing_bin, below)
        if len(self.coded):
            out[:, self.coded] = self.coded_table[self._code_slots(values[:, self.coded]) + self.coded_starts]
        return out

    def raw(self, matrix: np.ndarray) -> np.ndarray:
        """The boosting model's raw score (log-odds) of each row: ``BoostingScorer._raw``."""
        binned = self.binned(matrix)
        rows = np.arange(len(binned))[:, None]
        seen = binned[:, self.feature]  # (rows, nodes): the bin each node tests
        goes_left = np.where(seen == self.missing_bin, self.missing_left, seen <= self.threshold)
        if len(self.categorical):
            bins = seen[:, self.categorical]
            words = self.bitsets[self.bitset_row, bins >> 5]
            goes_left[:, self.categorical] = np.where(
                bins == self.missing_bin, self.missing_left[self.categorical], (words >> (bins & 31)) & 1)
        child = np.where(goes_left, self.left, self.right)
        node = np.broadcast_to(self.roots, (len(binned), len(self.roots)))
        for _ in range(self.depth):
            node = child[rows, node]
        leaves = self.value[node]
        return np.cumsum(np.column_stack([np.full(len(binned), self.baseline), leaves]), axis=1)[:, -1]


class SplineTable:
    """The spline columns' knots and weights side by side: ``np.interp`` of every column at once.

    (With the linear columns' fills and weights as arrays: what :meth:`LinearScorer.decision_few`
    reads.)

    ``np.interp(x, knots, weights)`` finds ``j`` with ``knots[j] <= x < knots[j + 1]`` and
    returns ``weights[j]`` on a knot (and at or beyond the last), ``weights[0]`` left of the
    first, else ``slope * (x - knots[j]) + weights[j]`` with ``slope = (weights[j + 1] -
    weights[j]) / (knots[j + 1] - knots[j])`` (numpy's ``arr_interp``). :meth:`interp` does
    the same operations for all columns, ``j`` being the count of a column's knots at or
    below ``x`` minus one; ``tests/models/test_fast_rows.py`` checks it equals ``np.interp``
    bit for bit.
    """

    def __init__(self, splines: list, linears: list):
        self.checked_columns = np.array([row[0] for row in [*splines, *linears]], dtype=np.intp)
        self.linear_fills = np.array([row[1] for row in linears], dtype=np.float64)
        self.linear_weights = np.array([row[2] for row in linears], dtype=np.float64)
        self.linear_logged = np.array([bool(row[3]) for row in linears], dtype=bool)
        self.linear_missing_weights = np.array([row[4] for row in linears], dtype=np.float64)
        sizes = [len(knots) for _, _, knots, _, _ in splines]
        self.starts = _starts(sizes)
        self.last = self.starts + np.asarray(sizes, dtype=np.intp) - 1
        # (each column has two knots at least: compile pads a one-knot spline)
        self.knots = np.concatenate([np.asarray(knots, dtype=np.float64) for _, _, knots, _, _ in splines]
                                    or [np.empty(0)])
        self.weights = np.concatenate([np.asarray(weights, dtype=np.float64) for _, _, _, weights, _ in splines]
                                      or [np.empty(0)])
        self.column = np.repeat(np.arange(len(splines)), sizes)
        self.missing_terms = np.array([np.interp(fill, knots, weights) + missing_weight
                                       for _, fill, knots, weights, missing_weight in splines])

    def interp(self, x: np.ndarray) -> np.ndarray:
        """``np.interp(x[:, s], knots_s, weights_s)`` for every spline column ``s`` (NaN for NaN)."""
        at_or_below = np.add.reduceat(x[:, self.column] >= self.knots, self.starts, axis=1, dtype=np.intp)
        j = self.starts + at_or_below - 1  # -1 left of the first knot: the column's start - 1
        inside = np.clip(j, self.starts, self.last - 1)
        after = np.minimum(inside + 1, self.last)
        x0, x1 = self.knots[inside], self.knots[after]
        y0, y1 = self.weights[inside], self.weights[after]
        with np.errstate(all="ignore"):
            slope = (y1 - y0) / (x1 - x0)
            value = slope * (x - x0) + y0
            retry = slope * (x - x1) + y1
        value = np.where(np.isnan(value), np.where(np.isnan(retry) & (y0 == y1), y0, retry), value)
        first = self.weights[self.starts]
        at_knot = self.weights[np.clip(j, self.starts, self.last)]
        on_knot = (j >= self.last) | (self.knots[np.clip(j, self.starts, self.last)] == x)
        out = np.where(at_or_below == 0, first, np.where(on_knot, at_knot, value))
        return np.where(np.isnan(x), x, out)

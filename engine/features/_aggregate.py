"""Per-group aggregates on integer codes (vectorized; no per-group Python loops)."""

from __future__ import annotations

import numpy as np

__all__ = [
    "count",
    "total",
    "group_max",
    "group_min",
    "group_median",
    "group_mean",
    "interval_stats",
    "relative_change",
    "ratio",
]


def count(codes: np.ndarray, n: int) -> np.ndarray:
    """Rows per code, as int64 of length ``n``."""
    return np.bincount(codes, minlength=n).astype(np.int64, copy=False)


def total(codes: np.ndarray, weights: np.ndarray, n: int) -> np.ndarray:
    """Sum of ``weights`` per code, float64 of length ``n`` (0.0 for codes with no rows)."""
    if len(codes) == 0:
        return np.zeros(n, dtype=np.float64)
    return np.bincount(codes, weights=weights, minlength=n)


def group_max(codes: np.ndarray, values: np.ndarray, n: int, fill: int) -> np.ndarray:
    """Largest value per code; ``fill`` where a code has no rows."""
    out = np.full(n, fill, dtype=values.dtype if len(values) else np.int64)
    np.maximum.at(out, codes, values)
    return out


def group_min(codes: np.ndarray, values: np.ndarray, n: int, fill: int) -> np.ndarray:
    """Smallest value per code; ``fill`` where a code has no rows."""
    out = np.full(n, fill, dtype=values.dtype if len(values) else np.int64)
    np.minimum.at(out, codes, values)
    return out


def group_mean(codes: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Mean per code; NaN where a code has no rows."""
    rows = np.bincount(codes, minlength=n)
    sums = total(codes, values.astype(np.float64, copy=False), n)
    return ratio(sums, rows)


def group_median(codes: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Median per code (mean of the two middle values for an even count); NaN where none.

    One sort of (code, value) pairs; the middle elements are read at known offsets.
    """
    out = np.full(n, np.nan)
    if len(codes) == 0:
        return out
    order = np.lexsort((values, codes))
    sorted_codes = codes[order]
    sorted_values = values[order].astype(np.float64, copy=False)
    rows = np.bincount(sorted_codes, minlength=n)
    starts = np.concatenate(([0], np.cumsum(rows)[:-1]))
    present = rows > 0
    low = starts[present] + (rows[present] - 1) // 2
    high = starts[present] + rows[present] // 2
    out[present] = (sorted_values[low] + sorted_values[high]) / 2.0
    return out


def interval_stats(codes: np.ndarray, days: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gaps between consecutive *distinct* purchase days of each code.

    Several purchases on one day count as one purchase day (a gap of 0 days says nothing
    about the reorder rhythm).

    Returns
    -------
    gaps : int64 array
        Number of gaps (distinct purchase days minus one; 0 for none).
    mean_gap : float64 array
        Mean gap in days; NaN with fewer than one gap.
    cv : float64 array
        Coefficient of variation (population standard deviation / mean) of the gaps; NaN with
        fewer than two gaps.
    """
    gaps = np.zeros(n, dtype=np.int64)
    mean_gap = np.full(n, np.nan)
    cv = np.full(n, np.nan)
    if len(codes) < 2:
        return gaps, mean_gap, cv
    base = days.min()
    span = int(days.max() - base) + 1
    shift = max(1, span.bit_length())
    # one int64 key per (code, day), sorted with numpy's fast integer sort and de-duplicated
    # (np.sort + a mask: np.unique hashes first, several times slower on ten million keys)
    keys = np.sort((codes.astype(np.int64) << shift) | (days - base))
    keys = keys[np.concatenate(([True], keys[1:] != keys[:-1]))]
    key_codes = keys >> shift
    key_days = keys & ((1 << shift) - 1)
    same = key_codes[1:] == key_codes[:-1]
    gap_codes = key_codes[1:][same]
    gap_days = (key_days[1:] - key_days[:-1])[same].astype(np.float64)
    gaps = np.bincount(gap_codes, minlength=n).astype(np.int64)
    sums = np.bincount(gap_codes, weights=gap_days, minlength=n)
    has = gaps > 0
    mean_gap[has] = sums[has] / gaps[has]
    deviation = gap_days - mean_gap[gap_codes]
    squares = np.bincount(gap_codes, weights=deviation * deviation, minlength=n)
    several = gaps > 1
    cv[several] = np.sqrt(squares[several] / gaps[several]) / mean_gap[several]
    return gaps, mean_gap, cv


def ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """``numerator / denominator`` with NaN where the denominator is 0 or NaN."""
    numerator = np.asarray(numerator, dtype=np.float64)
    denominator = np.asarray(denominator, dtype=np.float64)
    out = np.full(np.broadcast(numerator, denominator).shape, np.nan)
    ok = (denominator != 0) & ~np.isnan(denominator)
    np.divide(numerator, denominator, out=out, where=ok)
    return out


def relative_change(current: np.ndarray, previous: np.ndarray) -> np.ndarray:
    """``(current - previous) / |previous|``; NaN where ``previous`` is 0.

    Dividing by the absolute value keeps the sign meaningful for margins, which can be
    negative: a rise from -100 to -50 is +0.5.
    """
    current = np.asarray(current, dtype=np.float64)
    previous = np.asarray(previous, dtype=np.float64)
    return ratio(current - previous, np.abs(previous))

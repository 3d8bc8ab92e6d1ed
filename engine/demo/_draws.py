"""The random draws the demo simulation is built from, each vectorised over accounts.

Poisson processes, independent coin flips and categorical picks drawn without a random number
per row (the cost follows the events drawn, not the accounts), a two-state Markov switch, and the
column collector that gathers a month's events. The causal model that uses them (what causes
churn and deal outcomes) is :mod:`engine.demo._simulate`. Every function draws from the ``rng``
it is given in a fixed order: moving one changes no generated value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["Chunks", "bernoulli", "pick", "poisson_events", "rate_groups", "shares", "sigmoid", "switch"]


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def shares(mapping: Mapping[str, float], keys: Iterable[str]) -> np.ndarray:
    w = np.array([mapping[k] for k in keys], dtype=float)
    return w / w.sum()


def poisson_events(rng: np.random.Generator, rate: np.ndarray) -> np.ndarray:
    """Events of independent Poisson processes, one per row: the row index of each event, sorted.

    Draws the total count once and spreads it over rows in proportion to their rates (the
    multinomial split of a Poisson total gives exactly independent Poisson counts), so the cost
    is one cumulative sum plus the events, not a random draw per row.
    """
    rate = np.asarray(rate, dtype=np.float64)
    if rate.size == 0:
        return np.zeros(0, dtype=np.int64)
    cumulative = np.cumsum(rate)
    total = float(cumulative[-1])
    if total <= 0.0:
        return np.zeros(0, dtype=np.int64)
    events = rng.poisson(total)
    where = np.sort(rng.random(events)) * total
    return np.minimum(np.searchsorted(cumulative, where, side="right"), rate.size - 1)


def bernoulli(rng: np.random.Generator, count: int, p: float) -> np.ndarray:
    """Positions in ``range(count)`` each chosen independently with probability ``p``.

    Drawn as geometric gaps, so the cost is proportional to the number chosen, not to ``count``.
    """
    if count <= 0 or p <= 0.0:
        return np.zeros(0, dtype=np.int64)
    if p >= 1.0:
        return np.arange(count)
    expected = count * p
    size = int(expected + 6.0 * np.sqrt(expected) + 16)
    positions = np.cumsum(rng.geometric(p, size)) - 1
    while positions[-1] < count:  # rare: draw more gaps
        positions = np.concatenate([positions, positions[-1] + np.cumsum(rng.geometric(p, size))])
    return positions[positions < count]


def rate_groups(rates: np.ndarray) -> list[tuple[float, np.ndarray]]:
    """Accounts grouped by a per-account rate that takes few distinct values."""
    values, inverse = np.unique(rates, return_inverse=True)
    return [(float(v), np.flatnonzero(inverse == i)) for i, v in enumerate(values)]


def switch(rng: np.random.Generator, state: np.ndarray, on_groups, p_off: float) -> np.ndarray:
    """One step of a two-state Markov chain: off->on with the group's rate, on->off with ``p_off``."""
    state = state.copy()
    on_now = np.flatnonzero(state)
    turning_off = on_now[bernoulli(rng, on_now.size, p_off)]
    for p_on, members in on_groups:
        off_members = members[~state[members]]
        state[off_members[bernoulli(rng, off_members.size, p_on)]] = True
    state[turning_off] = False
    return state


def pick(rng: np.random.Generator, shares: ArrayLike, rows: np.ndarray) -> np.ndarray:
    """Draw one category per element; element i uses the probabilities ``shares[rows[i]]``.

    One ``searchsorted`` over the row-offset cumulative table: no ``(n, k)`` temporaries.
    """
    table = np.asarray(shares, dtype=np.float64)
    n_rows, k = table.shape
    cumulative = np.cumsum(table / table.sum(axis=1, keepdims=True), axis=1)
    cumulative[:, -1] = 1.0
    flat = (cumulative + np.arange(n_rows)[:, None]).ravel()
    rows = np.asarray(rows, dtype=np.int64)
    position = np.searchsorted(flat, rows + rng.random(rows.size), side="right")
    return np.minimum(position - rows * k, k - 1)


@dataclass
class Chunks:
    """Column arrays collected month by month, concatenated once at the end."""

    parts: dict[str, list] = field(default_factory=dict)

    def add(self, **columns) -> None:
        for name, values in columns.items():
            self.parts.setdefault(name, []).append(np.asarray(values))

    def done(self, names_dtypes: dict[str, type]) -> dict[str, np.ndarray]:
        return {
            name: (np.concatenate(self.parts[name]) if self.parts.get(name) else np.zeros(0, dtype=dtype))
            for name, dtype in names_dtypes.items()
        }

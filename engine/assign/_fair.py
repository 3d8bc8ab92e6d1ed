"""The fair, capacity-aware choice within one territory team (pure numpy, no pandas).

A team is a set of people with a current load and a capacity. Opportunities arrive in a fixed
order; each goes to the person whose load ratio (load / capacity) is lowest *before* taking it,
skipping anyone at capacity. This greedy sequence is the same as sorting every free *slot* of every
person by its fill level: person ``i``'s ``j``-th slot (``load_i <= j < capacity_i``) is taken at
level ``j / capacity_i``, so the ``t``-th opportunity takes the ``t``-th slot in level order. That
turns a per-opportunity loop into one sort per team.

Slots with the same level (equally loaded people) form a *tie block*. Inside a block the order is a
stable 64-bit hash of the id of the opportunity that first meets the block and each person's id:
deterministic for the same input, and over many leads every person is equally likely to be first.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd

from engine._arguments import check_type

__all__ = ["stable_hash", "mix_hashes", "fill_team"]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def stable_hash(values: np.ndarray) -> np.ndarray:
    """Hash string ids to uint64, the same on every run, machine and Python process.

    ``pandas.util.hash_array`` uses a fixed SipHash key, unlike the salted built-in ``hash``.

    Examples
    --------
    >>> int(stable_hash(np.array(["R001"], dtype=object))[0]) == int(stable_hash(np.array(["R001"], dtype=object))[0])
    True
    """
    if not isinstance(values, (np.ndarray, pd.Index, pd.Series, list, tuple)):
        check_type("stable_hash", "values", values, np.ndarray, "pass the ids as a numpy array (or a list) of strings",
                   described="an array of ids")
    if len(values) == 0:
        return np.zeros(0, dtype=np.uint64)
    return pd.util.hash_array(np.asarray(values, dtype=object), categorize=False)


def mix_hashes(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Combine two uint64 hash arrays into one well-mixed uint64 array (splitmix64 finaliser)."""
    z = np.asarray(left, dtype=np.uint64) ^ (np.asarray(right, dtype=np.uint64) * _GOLDEN)
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def fill_team(
    load: np.ndarray,
    capacity: np.ndarray,
    person_hash: np.ndarray,
    n_opportunities: int,
    opportunity_hash_at: Callable[[np.ndarray], np.ndarray],
) -> np.ndarray:
    """Choose a team member for each of ``n_opportunities`` opportunities, in their given order.

    Parameters
    ----------
    load, capacity : ndarray of int
        Current load and capacity of each team member (capacity >= 0).
    person_hash : ndarray of uint64
        Stable hash of each member's id (the tie-break).
    n_opportunities : int
        How many opportunities, already in processing order.
    opportunity_hash_at : callable
        ``opportunity_hash_at(positions) -> uint64 array``: stable hash of the ids of the
        opportunities at these positions (only tie-block starts are asked for).

    Returns
    -------
    ndarray of int64
        For each opportunity the index of the chosen member, or -1 when everyone is at capacity.

    Examples
    --------
    Two equal reps share four leads two and two; a third lead beyond capacity gets -1:

    >>> hashes = stable_hash(np.array(["R1", "R2"], dtype=object))
    >>> at = lambda pos: stable_hash(np.array([f"O{p}" for p in pos], dtype=object))
    >>> chosen = fill_team(np.array([0, 0]), np.array([2, 2]), hashes, 5, at)
    >>> sorted(chosen[:4].tolist()), int(chosen[4])
    ([0, 0, 1, 1], -1)
    """
    for name, array in (("load", load), ("capacity", capacity), ("person_hash", person_hash)):
        check_type("fill_team", name, array, np.ndarray, "pass one value per team member as a numpy array")
    check_type("fill_team", "n_opportunities", n_opportunities, (int, np.integer), "pass the number of opportunities")
    if not callable(opportunity_hash_at):
        check_type("fill_team", "opportunity_hash_at", opportunity_hash_at, type(len),
                   "pass a function of positions returning the opportunities' hashes", described="a callable")
    load = np.asarray(load, dtype=np.int64)
    capacity = np.asarray(capacity, dtype=np.int64)
    chosen = np.full(n_opportunities, -1, dtype=np.int64)
    free = np.maximum(capacity - load, 0)
    if n_opportunities == 0 or free.sum() == 0:
        return chosen
    # Nobody takes more than every opportunity, so at most n slots per person are needed.
    take = np.minimum(free, n_opportunities)
    n_slots = int(take.sum())
    owner = np.repeat(np.arange(len(take)), take)
    first_slot = np.repeat(np.cumsum(take) - take, take)
    slot = load[owner] + (np.arange(n_slots) - first_slot)
    # j / capacity is correctly rounded, so equal fractions (1/2, 2/4) give equal floats: ties are exact.
    level = slot / capacity[owner]
    by_level = np.sort(level, kind="stable")
    used = min(n_opportunities, n_slots)
    block_start = np.minimum(np.searchsorted(by_level, level, side="left"), used - 1)
    # A block starting at or after `used` lies above every used slot: its tie-break never matters.
    starts, which = np.unique(block_start, return_inverse=True)
    tie_break = mix_hashes(opportunity_hash_at(starts)[which], person_hash[owner])
    order = np.lexsort((tie_break, level))[:used]
    chosen[:used] = owner[order]
    return chosen

"""Split the customer database into partitions of whole territories (region x industry).

A partition holds every account of its territories, every row of the tables that belong to
those accounts (``orders``, ``tickets``, ``contacts``, ``visits``, ``ownership``, their
``opportunities``) and the prospect opportunities (no ``account_id``) of the same territories.
The small shared tables (``reps``, ``partners``: any table without ``account_id``) go to every
partition. Territory ranks, shares and win rates are therefore whole within a partition; the
one statistic over all accounts (median resolution hours) travels in a
:class:`engine.features.FeatureReference` (see ``docs/scale-out.md``).

Territories are packed greedily, largest first, onto the partition with the fewest rows so
far (ties: the territory name, then the lowest partition number), so the same data always gives
the same partitions. The work is a few hash lookups and ``np.bincount`` calls: no Python per row.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from engine._errors import ConfigError, DataError
from engine._normalise import encode_many, key_array

__all__ = ["PartitionPlan", "plan_partitions", "partition_tables"]

_ACCOUNT_KEY = "account_id"


def _territory_strings(region: pd.Series, industry: pd.Series) -> pa.ChunkedArray | pa.Array:
    """``region/industry`` as the features build it (null when either is null)."""

    def strings(series: pd.Series):
        if isinstance(series.dtype, pd.CategoricalDtype):
            series = series.astype(series.dtype.categories.dtype)
        array = pa.array(series, from_pandas=True)
        if pa.types.is_null(array.type):
            array = pa.nulls(len(series), pa.large_string())
        return pc.cast(array, pa.large_string())

    if len(region) == 0:
        return pa.array([], type=pa.large_string())
    return pc.binary_join_element_wise(strings(region), strings(industry), pa.scalar("/", pa.large_string()))


@dataclass(frozen=True)
class PartitionPlan:
    """Which partition every row of every table goes to.

    Attributes
    ----------
    n_partitions : int
        Number of non-empty partitions (at most the number asked for, at most the number of
        territories; at least 1).
    rows : dict of str to numpy.ndarray
        For each partitioned table, the partition number of each row (-1: the row belongs to
        no account of the database and is left out; it cannot change any result).
    shared : tuple of str
        Tables copied whole to every partition.
    territories : list of list of str
        The territories of each partition (``"(none)"`` for accounts without a territory;
        ``[["(all)"]]`` for a single partition, which is the database as given).
    """

    n_partitions: int
    rows: dict[str, np.ndarray]
    shared: tuple[str, ...]
    territories: list[list[str]]

    def take(self, tables: Mapping[str, pd.DataFrame], number: int) -> dict[str, pd.DataFrame]:
        """The tables of partition ``number`` (rows keep their relative order; RangeIndex)."""
        if not 0 <= number < self.n_partitions:
            raise ConfigError(f"partition number must be in [0, {self.n_partitions}); got {number}.")
        if self.n_partitions == 1:
            return dict(tables)
        out: dict[str, pd.DataFrame] = {}
        for name, frame in tables.items():
            if name in self.rows:
                out[name] = frame.iloc[np.flatnonzero(self.rows[name] == number)].reset_index(drop=True)
            else:
                out[name] = frame
        return out

    def iter_tables(self, tables: Mapping[str, pd.DataFrame]) -> Iterator[dict[str, pd.DataFrame]]:
        """Each partition's tables in turn (one partition in memory at a time)."""
        for number in range(self.n_partitions):
            yield self.take(tables, number)


def _pack(weights: np.ndarray, names: list[str], n_partitions: int) -> np.ndarray:
    """Partition number of each group: largest first onto the lightest partition."""
    order = sorted(range(len(weights)), key=lambda g: (-int(weights[g]), names[g]))
    heap = [(0, number) for number in range(n_partitions)]
    assigned = np.zeros(len(weights), dtype=np.int32)
    for group in order:
        load, number = heapq.heappop(heap)
        assigned[group] = number
        heapq.heappush(heap, (load + int(weights[group]), number))
    return assigned


def plan_partitions(tables: Mapping[str, pd.DataFrame], n_partitions: int) -> PartitionPlan:
    """Decide the partitions of ``tables`` (whole territories, balanced by row counts).

    Parameters
    ----------
    tables : mapping of str to DataFrame
        The validated customer database (``customers`` required).
    n_partitions : int
        How many partitions to aim for (>= 1).

    Returns
    -------
    PartitionPlan
    """
    if isinstance(n_partitions, bool) or not isinstance(n_partitions, (int, np.integer)) or n_partitions < 1:
        raise ConfigError(f"partitions must be a whole number >= 1; got {n_partitions!r}.")
    if "customers" not in tables:
        raise DataError("expected a 'customers' table in tables; got none; pass the validated tables")
    if n_partitions == 1:
        # one partition is the database itself: nothing to look up
        return PartitionPlan(n_partitions=1, rows={}, shared=tuple(tables), territories=[["(all)"]])
    customers = tables["customers"]
    child_names = [
        name
        for name, frame in tables.items()
        if name not in ("customers", "opportunities") and _ACCOUNT_KEY in frame.columns
    ]
    shared = tuple(
        name for name in tables if name not in ("customers", "opportunities") and name not in child_names
    )
    opportunities = tables.get("opportunities")

    customer_territory = _territory_strings(customers["region"], customers["industry"])
    keys = key_array(customers[_ACCOUNT_KEY]) if len(customers) else pa.array([], type=pa.large_string())
    lookups = {name: tables[name][_ACCOUNT_KEY] for name in child_names}
    if opportunities is not None and len(opportunities):
        lookups["opportunities"] = opportunities[_ACCOUNT_KEY]
    positions = encode_many(lookups, keys)

    # an opportunity's territory is its account's when linked, else its own (as in the features)
    pieces = [customer_territory]
    if "opportunities" in positions:
        assert opportunities is not None  # looked up above only when there are opportunities
        linked = positions["opportunities"] >= 0
        own = _territory_strings(opportunities["region"], opportunities["industry"])
        from_account = pc.take(customer_territory, pa.array(np.where(linked, positions["opportunities"], 0)))
        pieces.append(pc.if_else(pa.array(linked), from_account, own))
    chunks = [c for piece in pieces for c in (piece.chunks if isinstance(piece, pa.ChunkedArray) else [piece])]
    territory = pa.chunked_array(chunks, type=pa.large_string()).combine_chunks() if chunks else pa.array(
        [], type=pa.large_string()
    )
    # territories sorted by name (null last) so the group numbers do not depend on row order
    names = pc.unique(pc.drop_null(territory)).to_pylist()
    names.sort()
    groups = np.asarray(
        pc.fill_null(pc.index_in(territory, value_set=pa.array(names, type=pa.large_string())), len(names)).to_numpy(
            zero_copy_only=False
        ),
        dtype=np.int64,
    )
    labels = [*names, "(none)"]
    n_customers = len(customers)
    account_group = groups[:n_customers]

    rows: dict[str, np.ndarray] = {"customers": account_group}
    for name in child_names:
        found = positions[name]
        rows[name] = np.where(found >= 0, account_group[np.maximum(found, 0)], -1) if len(found) else found
    if opportunities is not None:
        rows["opportunities"] = groups[n_customers:] if len(opportunities) else np.zeros(0, dtype=np.int64)

    weights = np.zeros(len(labels), dtype=np.int64)
    for group_of_row in rows.values():
        kept = group_of_row[group_of_row >= 0]
        weights += np.bincount(kept, minlength=len(labels))
    present = np.flatnonzero(weights > 0)
    wanted = int(min(n_partitions, max(1, len(present))))
    number_of_group = np.full(len(labels), -1, dtype=np.int32)
    if len(present):
        number_of_group[present] = _pack(weights[present], [labels[g] for g in present], wanted)
    lookup = np.append(number_of_group, -1)  # index -1 (an orphan row) maps to -1
    plan_rows = {name: lookup[group_of_row].astype(np.int32) for name, group_of_row in rows.items()}
    territories = [[labels[g] for g in present if number_of_group[g] == k] for k in range(wanted)]
    return PartitionPlan(n_partitions=wanted, rows=plan_rows, shared=shared, territories=territories)


def partition_tables(tables: Mapping[str, pd.DataFrame], n_partitions: int) -> list[dict[str, pd.DataFrame]]:
    """Split the customer database into at most ``n_partitions`` partitions of whole territories.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        The validated customer database (``customers`` required; ``reps`` and ``partners`` are
        copied to every partition, tables with ``account_id`` follow their account).
    n_partitions : int
        How many partitions to aim for; fewer come back when there are fewer territories.

    Returns
    -------
    list of dict of str to DataFrame
        One dict of tables per partition, each with the same table names as ``tables``.

    Examples
    --------
    >>> customers = pd.DataFrame({"account_id": ["A1", "A2", "A3"],
    ...                           "region": ["fujian", "fujian", "henan"],
    ...                           "industry": ["finance", "finance", "education"]})
    >>> orders = pd.DataFrame({"account_id": ["A3", "A1", "A2", "A1"], "amount": [1, 2, 3, 4]})
    >>> parts = partition_tables({"customers": customers, "orders": orders}, 2)
    >>> [p["customers"]["account_id"].tolist() for p in parts]
    [['A1', 'A2'], ['A3']]
    >>> [p["orders"]["amount"].tolist() for p in parts]
    [[2, 3, 4], [1]]
    """
    plan = plan_partitions(tables, n_partitions)
    return list(plan.iter_tables(tables))

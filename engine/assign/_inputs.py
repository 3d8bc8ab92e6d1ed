"""What assignment reads: the routes, reps, partners and current loads, checked and indexed.

Every input is checked before any decision (a missing column, an unknown route, a repeated or
null id, an unusable capacity, an owner id that is not a rep) and turned into arrays:
:class:`_People` (reps then partners, each with a person index), :class:`_Batch` (the routed
opportunities in processing order) and the load each person starts with. The decisions made from
them are :mod:`engine.assign._assign`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from engine._errors import DataError
from engine._suggest import with_suggestion
from engine.assign._fair import stable_hash

__all__ = ["ROUTES", "UNROUTED"]

#: The route of a record no routing rule decided (kept, with its reason, never dropped).
UNROUTED = "unrouted"
#: Route values produced by the routing rules (the one list; the decision stage uses it too).
ROUTES: tuple[str, ...] = ("owner", "outside", "inside", "partner", UNROUTED)

_ROUTE_COLUMNS = ("opportunity_id", "account_id", "region", "industry", "route", "owner_rep_id", "owner_partner_id")
_REP_COLUMNS = ("rep_id", "role", "region", "industries", "capacity", "active")
_PARTNER_COLUMNS = ("partner_id", "regions", "industries", "capacity", "active")
_ROLES = ("outside", "inside", "partner")  # team roles; index = role code
_OUTSIDE, _INSIDE, _PARTNER = 0, 1, 2


# --- input checks ------------------------------------------------------------------------------
def _require_columns(frame: pd.DataFrame, columns: tuple[str, ...], table: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"{table}: expected a pandas DataFrame; got {type(frame).__name__}. Fix: pass a DataFrame.")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        hints = [with_suggestion(name, frame.columns) for name in missing]
        raise DataError(
            f"{table}: expected columns {list(columns)}; missing {', '.join(hints)}. "
            f"Fix: add or rename the columns (see engine/contract/_tables.py)."
        )


def _strings(series: pd.Series) -> np.ndarray:
    """Object array of str with None for missing values, whatever the input dtype."""
    return series.to_numpy(dtype=object, na_value=None)


def _require_unique_ids(ids: np.ndarray, table: str, column: str) -> None:
    index = pd.Index(ids, dtype=object)
    if index.is_unique and not index.hasnans:
        return
    nulls = int(index.isna().sum())
    if nulls:
        raise DataError(f"{table}.{column}: expected no nulls; got {nulls} null ids. Fix: give every row an id.")
    dup = pd.Series(ids)
    dup = dup[dup.duplicated()]
    if len(dup):
        raise DataError(
            f"{table}.{column}: expected unique ids; got {len(dup)} repeated (e.g. {dup.iloc[:3].tolist()}). "
            f"Fix: remove the duplicate rows."
        )


def _integers(series: pd.Series, table: str, column: str) -> np.ndarray:
    numbers = pd.to_numeric(series, errors="coerce")
    bad = numbers.isna() | (numbers < 0) | (numbers != np.floor(numbers))
    if bad.any():
        raise DataError(
            f"{table}.{column}: expected non-negative integers; got {series[bad].iloc[:3].tolist()}. "
            f"Fix: fill the {column} of every row with a whole number >= 0."
        )
    return numbers.to_numpy(dtype=np.int64)


def _booleans(series: pd.Series, table: str, column: str) -> np.ndarray:
    if series.isna().any() or not all(isinstance(v, (bool, np.bool_)) for v in series.unique()):
        raise DataError(
            f"{table}.{column}: expected True/False with no nulls; got {series.unique()[:5].tolist()}. "
            f"Fix: set {column} to a boolean on every row."
        )
    return series.to_numpy(dtype=bool)


def _split(value: str | None) -> list[str]:
    return [] if value is None else [part.strip() for part in value.split(";") if part.strip()]


# --- the people ----------------------------------------------------------------------------------
@dataclass
class _People:
    """Reps (indices 0..R-1, sorted by rep_id) then partners (R.., sorted by partner_id)."""

    ids: np.ndarray  # object
    is_partner: np.ndarray
    role: np.ndarray  # team role code: 0 outside, 1 inside, 2 partner
    region: np.ndarray  # object: a rep's region, None for partners
    regions: list[list[str]]  # every person's regions (a rep has one)
    industries: list[list[str]]
    capacity: np.ndarray
    active: np.ndarray
    hash: np.ndarray
    n_reps: int

    @classmethod
    def build(cls, reps: pd.DataFrame, partners: pd.DataFrame) -> _People:
        reps = reps.sort_values("rep_id", kind="stable")
        partners = partners.sort_values("partner_id", kind="stable")
        rep_ids, partner_ids = _strings(reps["rep_id"]), _strings(partners["partner_id"])
        _require_unique_ids(rep_ids, "reps", "rep_id")
        _require_unique_ids(partner_ids, "partners", "partner_id")
        roles = _strings(reps["role"])
        bad_roles = sorted({str(r) for r in roles if r not in ("outside", "inside")})
        if bad_roles:
            raise DataError(f"reps.role: expected 'outside' or 'inside'; got {bad_roles}. Fix: correct the role.")
        rep_region = _strings(reps["region"])
        n_partners = len(partner_ids)
        # A trailing "nobody" (inactive, no role, no territory) makes index -1 (no owner) safe to look up.
        ids = np.concatenate([rep_ids, partner_ids, [None]]).astype(object)
        return cls(
            ids=ids,
            is_partner=np.r_[np.zeros(len(rep_ids), bool), np.ones(n_partners, bool), False],
            role=np.r_[np.where(roles == "inside", _INSIDE, _OUTSIDE), np.full(n_partners, _PARTNER), -1].astype(
                np.int64
            ),
            region=np.concatenate([rep_region, np.full(n_partners + 1, None, dtype=object)]),
            regions=[[r] if r is not None else [] for r in rep_region]
            + [_split(v) for v in _strings(partners["regions"])]
            + [[]],
            industries=[_split(v) for v in _strings(reps["industries"])]
            + [_split(v) for v in _strings(partners["industries"])]
            + [[]],
            capacity=np.r_[
                _integers(reps["capacity"], "reps", "capacity"),
                _integers(partners["capacity"], "partners", "capacity"),
                0,
            ].astype(np.int64),
            active=np.r_[
                _booleans(reps["active"], "reps", "active"), _booleans(partners["active"], "partners", "active"), False
            ],
            hash=np.r_[stable_hash(ids[:-1]), np.uint64(0)].astype(np.uint64),
            n_reps=len(rep_ids),
        )

    @property
    def n(self) -> int:
        """Number of real people (without the trailing nobody)."""
        return len(self.ids) - 1

    def index_of(self, ids: np.ndarray, *, partner: bool, where: str) -> np.ndarray:
        """Person index for each id (-1 for a null id); unknown ids are a DataError."""
        lo, hi = (self.n_reps, self.n) if partner else (0, self.n_reps)
        index = pd.Index(self.ids[lo:hi], dtype=object)
        positions = index.get_indexer(pd.Index(ids, dtype=object))
        unknown = (positions < 0) & pd.notna(pd.Series(ids, dtype=object)).to_numpy()
        if unknown.any():
            table = "partners" if partner else "reps"
            examples = sorted({str(v) for v in np.asarray(ids, dtype=object)[unknown]})[:3]
            raise DataError(
                f"{where}: expected ids present in {table}; got {int(unknown.sum())} unknown (e.g. {examples}). "
                f"Fix: validate the tables first (orphan owners) or add the missing {table} rows."
            )
        return np.where(positions >= 0, positions + lo, -1).astype(np.int64)


def _initial_load(current_load, people: _People) -> np.ndarray:
    load = np.zeros(len(people.ids), dtype=np.int64)
    if current_load is None:
        return load
    if isinstance(current_load, pd.DataFrame):
        if "assignee_id" not in current_load.columns:
            raise DataError(
                "current_load: expected a column 'assignee_id' (plus 'load', or one row per open assignment); "
                f"got {list(current_load.columns)}. Fix: rename the id column to 'assignee_id'."
            )
        frame = current_load
        if "status" in frame.columns and "load" not in frame.columns:
            frame = frame[frame["status"] == "assigned"]
        frame = frame[frame["assignee_id"].notna()]
        counts = (
            _integers(frame["load"], "current_load", "load") if "load" in frame.columns else np.ones(len(frame), np.int64)
        )
        ids = _strings(frame["assignee_id"])
        kinds = _strings(frame["assignee_type"]) if "assignee_type" in frame.columns else np.full(len(ids), None)
    else:
        series = pd.Series(current_load, dtype=object) if not isinstance(current_load, pd.Series) else current_load
        ids = np.asarray(series.index.astype(object), dtype=object)
        counts = _integers(pd.Series(series.to_numpy()), "current_load", "load")
        kinds = np.full(len(ids), None)
    # An id used by both a rep and a partner is read as the rep unless assignee_type says partner.
    index = np.full(len(ids), -1, dtype=np.int64)
    for kind, partner in (("rep", False), ("partner", True)):
        lo, hi = (people.n_reps, people.n) if partner else (0, people.n_reps)
        found = pd.Index(people.ids[lo:hi], dtype=object).get_indexer(pd.Index(ids, dtype=object))
        wanted = (kinds == kind) | (pd.isna(pd.Series(kinds, dtype=object)).to_numpy() & (index < 0))
        index = np.where(wanted & (found >= 0), found + lo, index)
    unknown = index < 0
    if unknown.any():
        raise DataError(
            f"current_load: expected ids of reps or partners; got {int(unknown.sum())} unknown "
            f"(e.g. {sorted({str(v) for v in ids[unknown]})[:3]}). Fix: drop loads of people no longer in the tables."
        )
    np.add.at(load, index, counts)
    return load


# --- the batch -----------------------------------------------------------------------------------
@dataclass
class _Batch:
    index: pd.Index
    opportunity_id: np.ndarray  # object
    account_id: np.ndarray
    route: np.ndarray  # object
    region: np.ndarray
    industry: np.ndarray
    owner_rep: np.ndarray  # person index or -1
    owner_partner: np.ndarray
    order: np.ndarray  # processing order (positions)
    rank: np.ndarray  # rank of each position in the processing order
    columns: pd.DataFrame  # the input columns echoed in the output

    @classmethod
    def build(cls, routes: pd.DataFrame, people: _People) -> _Batch:
        opportunity_id = _strings(routes["opportunity_id"])
        _require_unique_ids(opportunity_id, "routes", "opportunity_id")
        route = _strings(routes["route"])
        unknown = sorted({str(r) for r in pd.unique(route)} - set(ROUTES))
        if unknown:
            raise DataError(
                f"routes.route: expected one of {list(ROUTES)}; got {unknown}. "
                f"Fix: route the opportunities with the shipped routing rules (an unmatched one is 'unrouted')."
            )
        n = len(routes)
        if "est_amount" in routes.columns:
            amount = pd.to_numeric(routes["est_amount"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            amount = np.where(np.isnan(amount), -np.inf, amount)
        else:
            amount = np.zeros(n)
        # Larger deals first, then opportunity_id: the order never depends on the input row order.
        table = pa.table({"neg_amount": -amount, "id": pa.array(opportunity_id, type=pa.string())})
        order = pc.sort_indices(table, sort_keys=[("neg_amount", "ascending"), ("id", "ascending")]).to_numpy()
        rank = np.empty(n, dtype=np.int64)
        rank[order] = np.arange(n)
        return cls(
            index=routes.index,
            opportunity_id=opportunity_id,
            account_id=_strings(routes["account_id"]),
            route=route,
            region=_strings(routes["region"]),
            industry=_strings(routes["industry"]),
            owner_rep=people.index_of(_strings(routes["owner_rep_id"]), partner=False, where="routes.owner_rep_id"),
            owner_partner=people.index_of(
                _strings(routes["owner_partner_id"]), partner=True, where="routes.owner_partner_id"
            ),
            order=order.astype(np.int64),
            rank=rank,
            columns=routes[["opportunity_id", "route"]],
        )

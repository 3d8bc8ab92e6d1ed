"""Assignment: after routing has chosen the role and the territory, pick the person or partner.

The whole policy is written down in ``docs/assignment.md``; in short, for each open opportunity:

1. ``unrouted`` -> unassigned, ``no_rule_matched``.
2. The account's active owners disagree on territory -> unassigned, ``ownership_conflict``
   (reported in the conflicts table, never resolved here).
3. A locked owner fits the route -> that owner, if within capacity (else held for the owner,
   ``all_at_capacity``). An inactive locked owner -> a fair choice in the territory team, flagged
   ``owner_inactive``.
4. Otherwise -> a fair, capacity-aware choice within the territory team (role x region x
   industry): lowest load ratio first, ties by a stable hash (see :mod:`engine.assign._fair`).

Everything is vectorized except one loop over territory teams.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np
import pandas as pd
import pyarrow as pa

from engine.assign._fair import fill_team, stable_hash
from engine.assign._inputs import (  # ROUTES, UNROUTED and the person index stay importable from here
    _INSIDE,
    _OUTSIDE,
    _PARTNER,
    _PARTNER_COLUMNS,
    _REP_COLUMNS,
    _ROLES,
    _ROUTE_COLUMNS,
    ROUTES,
    UNROUTED,
    _Batch,
    _initial_load,
    _People,
    _require_columns,
)

__all__ = [
    "AssignmentResult",
    "assign",
    "assign_with_report",
    "ROUTES",
    "UNROUTED",
    "STATUS_REASONS",
    "CONFLICT_KINDS",
]

#: Status reason code -> what it means. Every unassigned record carries one; an assigned record
#: carries ``owner_inactive`` when its locked owner had left and a fallback was chosen.
#: ``capacity_taken_live`` is given at a run's commit, never by :func:`assign` itself.
STATUS_REASONS: dict[str, str] = {
    "no_rule_matched": "the routing rules matched no rule for this opportunity (route 'unrouted')",
    "no_eligible_person": "nobody active of the routed role covers the territory (region x industry)",
    "all_at_capacity": "everyone eligible (or the locked owner) is already at capacity",
    "owner_inactive": "the locked owner has left; the assignee was chosen fairly within the territory team",
    "ownership_conflict": "the account's owners disagree on territory; held until sales ops settles ownership",
    # set only at a scoring run's commit (engine.pipeline._reconcile), never by assign() itself
    "capacity_taken_live": "leads routed live while the run computed took the person's last slots",
}

#: Conflict kind -> what it means (one row per kind per opportunity in the conflicts table).
CONFLICT_KINDS: dict[str, str] = {
    "rep_outside_territory": "the account's owner rep belongs to another region than the account",
    "partner_outside_territory": "the account's owning partner is not registered for the account's region",
    "owners_disagree": "the owning partner is not registered for the owner rep's region",
}


@dataclass(frozen=True)
class AssignmentResult:
    """What :func:`assign_with_report` returns.

    Attributes
    ----------
    assignments : pandas.DataFrame
        One row per input route, same index, columns ``opportunity_id, route, assignee_type,
        assignee_id, copied_rep_id, basis, status, status_reason, status_message,
        owner_inactive, conflict``.
    conflicts : pandas.DataFrame
        One row per ownership conflict found: ``opportunity_id, account_id, conflict, region,
        owner_rep_id, owner_rep_region, owner_partner_id, owner_partner_regions, message``.
    load : pandas.DataFrame
        One row per rep and partner: ``assignee_type, assignee_id, role, active, capacity,
        load_before, assigned, load_after``.
    """

    assignments: pd.DataFrame
    conflicts: pd.DataFrame
    load: pd.DataFrame


def assign(
    routes: pd.DataFrame,
    reps: pd.DataFrame,
    partners: pd.DataFrame,
    *,
    current_load: pd.DataFrame | Mapping[str, int] | pd.Series | None = None,
) -> pd.DataFrame:
    """Pick the rep or partner for every routed opportunity.

    Same as :func:`assign_with_report` but returns only the assignments table.

    Examples
    --------
    >>> import pandas as pd
    >>> routes = pd.DataFrame({
    ...     "opportunity_id": ["O1", "O2"], "account_id": ["A1", None],
    ...     "region": ["shandong", "shandong"], "industry": ["finance", "finance"],
    ...     "route": ["owner", "inside"], "owner_rep_id": ["R1", None], "owner_partner_id": [None, None]})
    >>> reps = pd.DataFrame({
    ...     "rep_id": ["R1", "R2"], "role": ["outside", "inside"], "region": ["shandong", "shandong"],
    ...     "industries": ["finance", "finance;telecom"], "capacity": [20, 200], "active": [True, True]})
    >>> partners = pd.DataFrame(columns=["partner_id", "regions", "industries", "capacity", "active"])
    >>> assign(routes, reps, partners)[["opportunity_id", "assignee_id", "basis", "status"]]
      opportunity_id assignee_id           basis    status
    0             O1          R1    locked_owner  assigned
    1             O2          R2  territory_team  assigned
    """
    return assign_with_report(routes, reps, partners, current_load=current_load).assignments


def assign_with_report(
    routes: pd.DataFrame,
    reps: pd.DataFrame,
    partners: pd.DataFrame,
    *,
    current_load: pd.DataFrame | Mapping[str, int] | pd.Series | None = None,
) -> AssignmentResult:
    """Pick the rep or partner for every routed opportunity, and report conflicts and load.

    Parameters
    ----------
    routes : pandas.DataFrame
        One row per open opportunity: ``opportunity_id`` (unique), ``account_id`` (null for a
        prospect), ``region``, ``industry``, ``route`` (one of :data:`ROUTES`), ``owner_rep_id``,
        ``owner_partner_id`` (the account's locked owners; null for prospects). An optional
        ``est_amount`` orders the batch: larger deals take capacity first.
    reps : pandas.DataFrame
        ``rep_id, role (outside/inside), region, industries (';'-separated), capacity, active``.
    partners : pandas.DataFrame
        ``partner_id, regions (';'-separated), industries (';'-separated), capacity, active``.
    current_load : DataFrame, Series or mapping, optional
        Open opportunities each rep/partner already carries. A mapping or Series maps id -> count.
        A DataFrame either has ``assignee_id`` and ``load`` columns, or lists open assignments one
        per row (``assignee_id``, optional ``assignee_type`` and ``status``; only ``assigned`` rows
        count), e.g. a previous :func:`assign` result. Default: everyone starts at 0.

    Returns
    -------
    AssignmentResult
        ``assignments`` aligned to ``routes`` (same index), ``conflicts`` and ``load``.

    Raises
    ------
    DataError
        A required column is missing, a route value is unknown, ``opportunity_id`` / ``rep_id`` /
        ``partner_id`` repeat or are null, capacity/active are unusable, or an owner or load id
        is not in ``reps`` / ``partners``.
    """
    _require_columns(routes, _ROUTE_COLUMNS, "routes")
    _require_columns(reps, _REP_COLUMNS, "reps")
    _require_columns(partners, _PARTNER_COLUMNS, "partners")
    people = _People.build(reps, partners)
    load_before = _initial_load(current_load, people)
    batch = _Batch.build(routes, people)
    return _Assigner(batch, people, load_before).run()


# --- the assignment ------------------------------------------------------------------------------
class _Assigner:
    def __init__(self, batch: _Batch, people: _People, load_before: np.ndarray):
        self.b, self.p = batch, people
        self.load_before = load_before
        self.load = load_before.copy()
        n = len(batch.opportunity_id)
        self.assignee = np.full(n, -1, dtype=np.int64)
        self.copied = np.full(n, -1, dtype=np.int64)
        self.basis = np.full(n, None, dtype=object)
        self.reason = np.full(n, None, dtype=object)
        self.owner_inactive = np.zeros(n, dtype=bool)
        self._team_members: dict[int, np.ndarray] | None = None
        # region and industry vocabularies: codes in sorted order, so team order is deterministic
        regions = sorted({*filter(None, batch.region), *(r for rs in people.regions for r in rs)})
        industries = sorted({*filter(None, batch.industry), *(i for xs in people.industries for i in xs)})
        self.regions, self.industries = regions, industries
        self.region_code = _codes(batch.region, regions)
        self.industry_code = _codes(batch.industry, industries)
        # covers[person, region]: the person may sell in that region
        self.covers = np.zeros((len(people.ids), max(len(regions), 1)), dtype=bool)
        region_pos = {r: k for k, r in enumerate(regions)}
        for person, rs in enumerate(people.regions):
            for r in rs:
                self.covers[person, region_pos[r]] = True

    # the team key of (role, region, industry); -1 without a territory
    def _team_key(self, role: np.ndarray, region: np.ndarray, industry: np.ndarray) -> np.ndarray:
        key = (role * len(self.regions) + region) * len(self.industries) + industry
        return np.where((region < 0) | (industry < 0) | (role < 0), -1, key)

    def _teams(self) -> dict[int, np.ndarray]:
        """Active members (person indices, ascending) of every team key; built once per batch."""
        if self._team_members is not None:
            return self._team_members
        p = self.p
        region_pos = {r: k for k, r in enumerate(self.regions)}
        industry_pos = {i: k for k, i in enumerate(self.industries)}
        triples = [
            (person, region_pos[r], industry_pos[i])
            for person in np.flatnonzero(p.active)
            for r in p.regions[person]
            for i in p.industries[person]
        ]
        self._team_members = {}
        if triples:
            person, region, industry = (np.array(column, dtype=np.int64) for column in zip(*triples))
            frame = pd.DataFrame({"key": self._team_key(p.role[person], region, industry), "person": person})
            frame = frame.drop_duplicates().sort_values(["key", "person"])
            for key, members in frame.groupby("key", sort=True)["person"]:
                self._team_members[int(key)] = members.to_numpy(dtype=np.int64)
        return self._team_members

    def run(self) -> AssignmentResult:
        b, p = self.b, self.p
        route = b.route
        routed = route != "unrouted"
        self.reason[~routed] = "no_rule_matched"

        conflicts, in_conflict = self._conflicts()
        held = routed & in_conflict
        self.reason[held] = "ownership_conflict"
        open_rows = routed & ~in_conflict

        # the locked owner who fits the route
        rep_role = np.where(b.owner_rep >= 0, p.role[b.owner_rep], -1)
        route_role = np.select(
            [route == "outside", route == "inside", route == "partner"], [_OUTSIDE, _INSIDE, _PARTNER], default=-1
        )
        locked = np.select(
            [route == "owner", (route == "outside") | (route == "inside"), route == "partner"],
            [b.owner_rep, np.where(rep_role == route_role, b.owner_rep, -1), b.owner_partner],
            default=-1,
        )
        locked = np.where(open_rows, locked, -1)
        locked_active = (locked >= 0) & p.active[locked]
        self.locked, self.locked_active = locked, locked_active
        self.locked_gone = (locked >= 0) & ~locked_active
        self.owner_inactive = (locked >= 0) & ~locked_active
        no_owner = open_rows & (route == "owner") & (b.owner_rep < 0)
        self.reason[no_owner] = "no_eligible_person"

        self._assign_locked(np.flatnonzero(locked_active), locked)

        # everyone else goes to the territory team; an inactive owner's team has the owner's role
        pool_role = np.where(route == "owner", rep_role, route_role)
        pool = open_rows & ~locked_active & ~no_owner
        self._assign_pool(np.flatnonzero(pool), pool_role)

        # a partner deal copies the owner rep if an active outside rep, else an outside rep of the territory
        self._copy_outside_reps()
        # The copied owner rep had left: the copy is a fallback too.
        partner_rows = (route == "partner") & (self.assignee >= 0)
        owner_rep_gone = partner_rows & (b.owner_rep >= 0) & ~p.active[b.owner_rep]
        owner_rep_gone &= rep_role == _OUTSIDE
        self.owner_inactive |= owner_rep_gone
        fallback_assigned = self.owner_inactive & (self.assignee >= 0)
        self.reason[fallback_assigned] = "owner_inactive"
        return AssignmentResult(self._assignments(), conflicts, self._load_table())

    # --- conflicts -----------------------------------------------------------------------------
    def _conflicts(self) -> tuple[pd.DataFrame, np.ndarray]:
        b, p = self.b, self.p
        rep, partner = b.owner_rep, b.owner_partner
        rep_on = (rep >= 0) & p.active[rep]
        partner_on = (partner >= 0) & p.active[partner]
        rep_region = p.region[rep]
        # numpy's stubs read where(condition, x, None) as the one-argument where (a tuple)
        rep_region_code = _codes(np.where(rep_on, rep_region, None), self.regions)  # type: ignore[arg-type]
        has_region = self.region_code >= 0
        safe_partner = partner
        kinds = {
            "rep_outside_territory": rep_on & has_region & (rep_region_code != self.region_code),
            "partner_outside_territory": partner_on
            & has_region
            & ~self.covers[safe_partner, self.region_code],
            "owners_disagree": rep_on
            & partner_on
            & (rep_region_code >= 0)
            & ~self.covers[safe_partner, rep_region_code],
        }
        in_conflict = np.zeros(len(rep), dtype=bool)
        frames = []
        for kind, mask in kinds.items():
            in_conflict |= mask
            rows = np.flatnonzero(mask)
            if len(rows) == 0:
                continue
            frames.append(
                pd.DataFrame(
                    {
                        "rank": b.rank[rows],
                        "opportunity_id": b.opportunity_id[rows],
                        "account_id": b.account_id[rows],
                        "conflict": kind,
                        "region": b.region[rows],
                        "owner_rep_id": p.ids[rep[rows]],
                        "owner_rep_region": rep_region[rows],
                        "owner_partner_id": np.where(partner[rows] >= 0, p.ids[safe_partner[rows]], None),
                        "owner_partner_regions": np.array(
                            [";".join(p.regions[k]) if k >= 0 else None for k in partner[rows]], dtype=object
                        ),
                    }
                )
            )
        columns = [
            "opportunity_id",
            "account_id",
            "conflict",
            "region",
            "owner_rep_id",
            "owner_rep_region",
            "owner_partner_id",
            "owner_partner_regions",
            "message",
        ]
        if not frames:
            return pd.DataFrame({c: pd.Series([], dtype="str") for c in columns}), in_conflict
        table = pd.concat(frames, ignore_index=True)
        kind = table["conflict"]
        rep_text = "owner rep " + table["owner_rep_id"].fillna("") + " (" + table["owner_rep_region"].fillna("") + ")"
        partner_text = (
            "owning partner " + table["owner_partner_id"].fillna("") + " (" + table["owner_partner_regions"].fillna("") + ")"
        )
        account_text = "account " + table["account_id"].fillna("?") + " in " + table["region"].fillna("")
        table["message"] = np.select(
            [kind == "rep_outside_territory", kind == "partner_outside_territory"],
            [
                rep_text + " is outside the territory of " + account_text,
                partner_text + " is not registered for the region of " + account_text,
            ],
            default=partner_text + " is not registered for the region of its co-owner " + rep_text,
        )
        table["message"] = table["message"] + "; held unassigned until sales ops settles the ownership"
        order = {k: i for i, k in enumerate(CONFLICT_KINDS)}
        table = table.assign(_kind=kind.map(order)).sort_values(["rank", "_kind"], kind="stable")
        table = table[columns].reset_index(drop=True)
        return table.astype({c: "str" for c in columns}), in_conflict

    # --- locked owners -------------------------------------------------------------------------
    def _assign_locked(self, rows: np.ndarray, locked: np.ndarray) -> None:
        if len(rows) == 0:
            return
        owners = locked[rows]
        order = np.lexsort((self.b.rank[rows], owners))  # by owner, then processing order
        rows, owners = rows[order], owners[order]
        starts = np.r_[0, np.flatnonzero(np.diff(owners)) + 1]
        within = np.arange(len(rows)) - np.repeat(starts, np.diff(np.r_[starts, len(rows)]))
        fits = self.load[owners] + within < self.p.capacity[owners]
        self.assignee[rows[fits]] = owners[fits]
        self.basis[rows[fits]] = "locked_owner"
        # Held for the locked owner rather than handed to someone else: the account stays locked.
        self.reason[rows[~fits]] = "all_at_capacity"
        np.add.at(self.load, owners[fits], 1)

    # --- territory teams -----------------------------------------------------------------------
    def _assign_pool(self, rows: np.ndarray, pool_role: np.ndarray) -> None:
        if len(rows) == 0:
            return
        b, p = self.b, self.p
        keys = self._team_key(pool_role[rows], self.region_code[rows], self.industry_code[rows])
        self.reason[rows[keys < 0]] = "no_eligible_person"
        rows, keys = rows[keys >= 0], keys[keys >= 0]
        order = np.lexsort((b.rank[rows], keys))
        rows, keys = rows[order], keys[order]
        teams = self._teams()
        for start, stop in _runs(keys):
            group = rows[start:stop]
            members = teams.get(int(keys[start]))
            if members is None:
                self.reason[group] = "no_eligible_person"
                continue
            ids = b.opportunity_id[group]
            chosen = fill_team(
                self.load[members],
                p.capacity[members],
                p.hash[members],
                len(group),
                _hash_at(ids),
            )
            got = chosen >= 0
            self.assignee[group[got]] = members[chosen[got]]
            self.basis[group[got]] = "territory_team"
            self.reason[group[~got]] = "all_at_capacity"
            self.load[members] += np.bincount(chosen[got], minlength=len(members))

    def _copy_outside_reps(self) -> None:
        b, p = self.b, self.p
        rows = np.flatnonzero((b.route == "partner") & (self.assignee >= 0))
        if len(rows) == 0:
            return
        owner = b.owner_rep[rows]
        owner_ok = (owner >= 0) & p.active[owner] & (p.role[owner] == _OUTSIDE)
        self.copied[rows[owner_ok]] = owner[owner_ok]
        rows = rows[~owner_ok]
        keys = self._team_key(np.full(len(rows), _OUTSIDE), self.region_code[rows], self.industry_code[rows])
        rows, keys = rows[keys >= 0], keys[keys >= 0]
        order = np.lexsort((b.rank[rows], keys))
        rows, keys = rows[order], keys[order]
        teams = self._teams()
        for start, stop in _runs(keys):
            members = teams.get(int(keys[start]))
            if members is None:
                continue
            # A copy takes no capacity: round-robin over the team in processing order, starting
            # at a hash-chosen member so that no rep is always first.
            members = members[np.argsort(p.hash[members], kind="stable")]
            self.copied[rows[start:stop]] = members[np.arange(stop - start) % len(members)]

    # --- outputs -------------------------------------------------------------------------------
    def _assignments(self) -> pd.DataFrame:
        b, p = self.b, self.p
        assigned = self.assignee >= 0
        kind = np.where(assigned, np.where(p.is_partner[self.assignee], 1, 2), 0)
        frame = pd.DataFrame(
            {
                "opportunity_id": b.columns["opportunity_id"].astype("str").reset_index(drop=True),
                "route": b.columns["route"].astype("str").reset_index(drop=True),
                "assignee_type": _str_take(("none", "partner", "rep"), kind),
                "assignee_id": _str_take(p.ids, self.assignee),
                "copied_rep_id": _str_take(p.ids, self.copied),
                "basis": _str_objects(self.basis),
                "status": _str_take(("unassigned", "assigned"), assigned.astype(np.int64)),
                "status_reason": _str_objects(self.reason),
                "status_message": _str_objects(self._messages()),
                "owner_inactive": self.owner_inactive,
                "conflict": self.reason == "ownership_conflict",
            }
        )
        frame.index = b.index
        return frame

    def _messages(self) -> np.ndarray:
        """A sentence for every record with a reason or a missing copy; null for plain assignments."""
        b, p = self.b, self.p
        messages = np.full(len(self.reason), None, dtype=object)
        no_copy = (b.route == "partner") & (self.assignee >= 0) & (self.copied < 0)
        reason = self.reason

        def ids(person: np.ndarray) -> np.ndarray:
            return np.where(person >= 0, p.ids[person], "?").astype(object)

        def territory(rows: np.ndarray) -> np.ndarray:
            region = pd.Series(b.region[rows], dtype=object).fillna("?").to_numpy(dtype=object)
            industry = pd.Series(b.industry[rows], dtype=object).fillna("?").to_numpy(dtype=object)
            return region + " x " + industry

        def role_word(rows: np.ndarray) -> np.ndarray:
            route = b.route[rows]
            rep_role = np.where(b.owner_rep[rows] >= 0, p.role[b.owner_rep[rows]], -1)
            return np.select(
                [route == "outside", route == "inside", route == "partner", rep_role == _OUTSIDE, rep_role == _INSIDE],
                ["outside rep", "inside rep", "partner", "outside rep", "inside rep"],
                default="person",
            ).astype(object)

        def left(rows: np.ndarray) -> np.ndarray:
            gone = "locked owner " + ids(self.locked[rows]) + " has left; "
            return np.where(self.locked_gone[rows], gone, "").astype(object)

        def put(mask: np.ndarray, text) -> None:
            rows = np.flatnonzero(mask)
            if len(rows):
                messages[rows] = text if isinstance(text, str) else text(rows)

        ownerless = (b.route == "owner") & (b.owner_rep < 0)
        no_one = reason == "no_eligible_person"
        full = reason == "all_at_capacity"
        held = full & self.locked_active
        fallback = reason == "owner_inactive"
        put(reason == "no_rule_matched", "no routing rule matched this opportunity; fix the routing rules or add a default")
        put(
            reason == "ownership_conflict",
            "the account's owners disagree on territory (see the conflicts table); held until sales ops settles the ownership",
        )
        put(
            no_one & ownerless,
            "routed to the locked owner but the account has no owner rep; lock the account or change the route",
        )
        put(
            no_one & ~ownerless,
            lambda r: left(r) + "no active " + role_word(r) + " covers " + territory(r) + "; staff the territory",
        )
        put(
            held,
            lambda r: "locked owner " + ids(self.locked[r]) + " is at capacity; held for the owner "
            "(raise capacity or reassign the account)",
        )
        put(full & ~held, lambda r: left(r) + "every active " + role_word(r) + " of " + territory(r) + " is at capacity")
        put(fallback & self.locked_gone, lambda r: left(r) + "assigned within the territory team " + territory(r))
        put(
            fallback & ~self.locked_gone,
            lambda r: "owner rep " + ids(b.owner_rep[r]) + " has left; copied an outside rep of " + territory(r) + " instead",
        )
        rows = np.flatnonzero(no_copy)
        if len(rows):
            extra = "no active outside rep covers " + territory(rows) + " to copy"
            before = pd.Series(messages[rows], dtype=object)
            messages[rows] = np.where(before.isna(), extra, before.fillna("").to_numpy(dtype=object) + "; " + extra)
        return messages

    def _load_table(self) -> pd.DataFrame:
        p, real = self.p, slice(0, self.p.n)
        return pd.DataFrame(
            {
                "assignee_type": pd.Series(np.where(p.is_partner[real], "partner", "rep"), dtype="str"),
                "assignee_id": pd.Series(p.ids[real], dtype="str"),
                "role": pd.Series(np.array(_ROLES, dtype=object)[p.role[real]], dtype="str"),
                "active": p.active[real],
                "capacity": p.capacity[real],
                "load_before": self.load_before[real],
                "assigned": (self.load - self.load_before)[real],
                "load_after": self.load[real],
            }
        )


def _runs(keys: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) of each run of equal values in a sorted key array."""
    if len(keys) == 0:
        return []
    bounds = np.r_[0, np.flatnonzero(np.diff(keys)) + 1, len(keys)]
    return list(zip(bounds[:-1].tolist(), bounds[1:].tolist()))


def _str_objects(values: np.ndarray) -> pd.Series:
    """pandas ``str`` Series from an object array (None -> missing), via Arrow: fast for 1M rows."""
    return pd.Series(pa.array(values, type=pa.large_string(), from_pandas=True), dtype="str")


def _str_take(vocabulary, codes: np.ndarray) -> pd.Series:
    """pandas ``str`` Series of ``vocabulary[code]``; a negative code is missing."""
    codes = np.asarray(codes, dtype=np.int64)
    taken = pa.array(np.asarray(vocabulary, dtype=object), type=pa.large_string()).take(pa.array(codes, mask=codes < 0))
    return pd.Series(taken, dtype="str")


def _hash_at(ids: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """The stable hash of the opportunities at the given positions of ``ids``."""
    return lambda positions: stable_hash(ids[positions])


def _codes(values: np.ndarray, vocabulary: list[str]) -> np.ndarray:
    """Position of each value in the sorted vocabulary; -1 for None or an unknown value."""
    if len(values) == 0:
        return np.zeros(0, dtype=np.int64)
    return pd.Index(vocabulary, dtype=object).get_indexer(pd.Index(values, dtype=object)).astype(np.int64)

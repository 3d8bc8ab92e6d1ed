"""The batch's assignment policy for ONE record, without pandas (the live path's hot loop).

:func:`engine.assign.assign_with_report` decides a whole batch with vectorized numpy; called on
one record it costs ~30 ms of pandas overhead. :class:`OnePolicy` holds the same people arrays
(:class:`engine.assign._assign._People`, built once) and decides one record in microseconds,
step by step as ``docs/assignment.md`` states the policy:

1. ``unrouted`` -> unassigned ``no_rule_matched``;
2. the account's active owners disagree on territory -> unassigned ``ownership_conflict``;
3. the locked owner who fits the route, within capacity (else held ``all_at_capacity``; an
   owner who has left -> the territory team, flagged ``owner_inactive``);
4. otherwise the territory team: the member with the lowest load ratio who has room; equal
   ratios ordered by the same stable hash of the opportunity id and the person id that
   :func:`engine.assign._fair.fill_team` uses for a batch of one;
5. a partner deal copies the owner rep (an active outside rep) or the first outside rep of the
   territory in hash order.

``tests/live/test_policy.py`` checks it against ``assign_with_report`` on single-record batches
with random loads (Hypothesis): same assignee, status, reason, message, copy and flags.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from engine.assign._assign import _INSIDE, _OUTSIDE, _PARTNER, _People
from engine.assign._fair import mix_hashes, stable_hash

__all__ = ["OnePolicy", "OneAssignment", "Person"]

#: A person as the live tables name them: ``("rep" | "partner", id)``.
Person = tuple[str, str]
_ROUTE_ROLE = {"outside": _OUTSIDE, "inside": _INSIDE, "partner": _PARTNER}


@dataclass(frozen=True)
class OneAssignment:
    """The assignment of one record (the columns of :func:`engine.assign.assign` for one row)."""

    assignee_type: str
    assignee_id: str | None
    copied_rep_id: str | None
    basis: str | None
    status: str
    status_reason: str | None
    status_message: str | None
    owner_inactive: bool
    conflict: bool
    conflicts: tuple[str, ...] = ()

    @property
    def claims(self) -> Person | None:
        """The person whose capacity this assignment takes, or None."""
        return (self.assignee_type, self.assignee_id) if self.assignee_id is not None else None


class OnePolicy:
    """The assignment policy over fixed reps and partners, one record at a time.

    Parameters
    ----------
    reps, partners : pandas.DataFrame
        As for :func:`engine.assign.assign_with_report` (validated the same way).
    """

    def __init__(self, reps: pd.DataFrame, partners: pd.DataFrame):
        people = _People.build(reps, partners)
        self.people = people
        self.position = {("rep", str(people.ids[i])): i for i in range(people.n_reps)}
        self.position.update({("partner", str(people.ids[i])): i for i in range(people.n_reps, people.n)})
        self.teams: dict[tuple[int, str, str], list[int]] = {}
        for person in np.flatnonzero(people.active[: people.n]):
            for region in people.regions[person]:
                for industry in people.industries[person]:
                    self.teams.setdefault((int(people.role[person]), region, industry), []).append(int(person))
        for members in self.teams.values():
            members.sort()

    # --- lookups -----------------------------------------------------------------------------
    def person(self, index: int) -> Person:
        """``("rep" | "partner", id)`` of a person index."""
        return ("partner" if self.people.is_partner[index] else "rep", str(self.people.ids[index]))

    def capacity(self, kind: str, person_id: str) -> int:
        """Capacity of a rep or partner (0 when unknown)."""
        index = self.position.get((kind, person_id))
        return 0 if index is None else int(self.people.capacity[index])

    def _owner(self, person_id: str | None, kind: str, where: str) -> int:
        if person_id is None:
            return -1
        index = self.position.get((kind, str(person_id)))
        if index is None:
            from engine._errors import DataError

            raise DataError(
                f"{where}: expected an id present in {kind}s; got {person_id!r}. "
                f"Fix: validate the tables first (orphan owners) or add the missing {kind}s row."
            )
        return index

    def candidates(self, route: str, region: str | None, industry: str | None,
                   owner_rep_id: str | None, owner_partner_id: str | None) -> list[Person]:
        """Everyone whose load the decision may read (the locked owners and the route's team)."""
        people = self.people
        rep = self._owner(owner_rep_id, "rep", "owner_rep_id")
        partner = self._owner(owner_partner_id, "partner", "owner_partner_id")
        found = [i for i in (rep, partner) if i >= 0]
        rep_role = int(people.role[rep]) if rep >= 0 else -1
        pool_role = rep_role if route == "owner" else _ROUTE_ROLE.get(route, -1)
        found += self.teams.get((pool_role, region or "", industry or ""), [])
        return [self.person(i) for i in sorted(set(found))]

    # --- the decision ------------------------------------------------------------------------
    def decide(
        self,
        opportunity_id: str,
        route: str,
        region: str | None,
        industry: str | None,
        owner_rep_id: str | None,
        owner_partner_id: str | None,
        load_of: Callable[[list[Person]], Mapping[Person, int]],
    ) -> OneAssignment:
        """Assign one routed record given the current loads (``load_of(people) -> {person: load}``)."""
        p = self.people
        rep = self._owner(owner_rep_id, "rep", "owner_rep_id")
        partner = self._owner(owner_partner_id, "partner", "owner_partner_id")
        rep_role = int(p.role[rep]) if rep >= 0 else -1
        route_role = _ROUTE_ROLE.get(route, -1)
        territory = f"{region or '?'} x {industry or '?'}"
        conflicts = self._conflicts(rep, partner, region)
        if route == "unrouted":
            return _unassigned("no_rule_matched",
                               "no routing rule matched this opportunity; fix the routing rules or add a default",
                               conflicts=conflicts)
        if conflicts:
            return _unassigned("ownership_conflict", "the account's owners disagree on territory (see the conflicts "
                               "table); held until sales ops settles the ownership", conflict=True, conflicts=conflicts)
        if route == "owner":
            locked = rep
        elif route in ("outside", "inside"):
            locked = rep if rep_role == route_role else -1
        else:
            locked = partner
        locked_gone = locked >= 0 and not bool(p.active[locked])
        left = f"locked owner {p.ids[locked]} has left; " if locked_gone else ""
        if locked >= 0 and not locked_gone:
            person = self.person(locked)
            if load_of([person])[person] < int(p.capacity[locked]):
                return self._finish(opportunity_id, route, locked, "locked_owner", rep, rep_role, region, industry,
                                    owner_inactive=False)
            return _unassigned("all_at_capacity", f"locked owner {p.ids[locked]} is at capacity; held for the owner "
                               "(raise capacity or reassign the account)")
        if route == "owner" and rep < 0:
            return _unassigned("no_eligible_person", "routed to the locked owner but the account has no owner rep; "
                               "lock the account or change the route")
        pool_role = rep_role if route == "owner" else route_role
        word = {"outside": "outside rep", "inside": "inside rep", "partner": "partner"}.get(
            route, {_OUTSIDE: "outside rep", _INSIDE: "inside rep"}.get(rep_role, "person"))
        members = self.teams.get((pool_role, region or "", industry or "")) if region and industry else None
        if not members:
            return _unassigned("no_eligible_person", f"{left}no active {word} covers {territory}; staff the territory",
                               owner_inactive=locked_gone)
        people = [self.person(i) for i in members]
        loads = load_of(people)
        opportunity_hash = stable_hash(np.array([opportunity_id], dtype=object))
        tie = mix_hashes(np.repeat(opportunity_hash, len(members)), p.hash[np.asarray(members)])
        best = None
        for k, member in enumerate(members):
            load, capacity = int(loads[people[k]]), int(p.capacity[member])
            if load >= capacity:
                continue
            key = (load / capacity, int(tie[k]), k)
            if best is None or key < best[0]:
                best = (key, member)
        if best is None:
            return _unassigned("all_at_capacity", f"{left}every active {word} of {territory} is at capacity",
                               owner_inactive=locked_gone)
        return self._finish(opportunity_id, route, best[1], "territory_team", rep, rep_role, region, industry,
                            owner_inactive=locked_gone, left=left)

    def _conflicts(self, rep: int, partner: int, region: str | None) -> tuple[str, ...]:
        p = self.people
        rep_on = rep >= 0 and bool(p.active[rep])
        partner_on = partner >= 0 and bool(p.active[partner])
        rep_region = p.region[rep] if rep_on else None
        found = []
        if rep_on and region and rep_region != region:
            found.append("rep_outside_territory")
        if partner_on and region and region not in p.regions[partner]:
            found.append("partner_outside_territory")
        if rep_on and partner_on and rep_region is not None and rep_region not in p.regions[partner]:
            found.append("owners_disagree")
        return tuple(found)

    def _finish(self, opportunity_id: str, route: str, chosen: int, basis: str, rep: int, rep_role: int,
                region: str | None, industry: str | None, *, owner_inactive: bool, left: str = "") -> OneAssignment:
        p = self.people
        territory = f"{region or '?'} x {industry or '?'}"
        copied, message = None, None
        reason = None
        if owner_inactive:
            message = f"{left}assigned within the territory team {territory}"
        if route == "partner":
            if rep >= 0 and bool(p.active[rep]) and rep_role == _OUTSIDE:
                copied = str(p.ids[rep])
            else:
                team = self.teams.get((_OUTSIDE, region or "", industry or "")) if region and industry else None
                if team:
                    ordered = sorted(team, key=lambda person: (int(p.hash[person]), team.index(person)))
                    copied = str(p.ids[ordered[0]])
                if rep >= 0 and not bool(p.active[rep]) and rep_role == _OUTSIDE and not owner_inactive:
                    owner_inactive = True
                    message = f"owner rep {p.ids[rep]} has left; copied an outside rep of {territory} instead"
            if copied is None:
                extra = f"no active outside rep covers {territory} to copy"
                message = extra if message is None else f"{message}; {extra}"
        if owner_inactive:
            reason = "owner_inactive"
        kind, person_id = self.person(chosen)
        return OneAssignment(kind, person_id, copied, basis, "assigned", reason, message, owner_inactive, False)


def _unassigned(reason: str, message: str, *, owner_inactive: bool = False, conflict: bool = False,
                conflicts: tuple[str, ...] = ()) -> OneAssignment:
    return OneAssignment("none", None, None, None, "unassigned", reason, message, owner_inactive, conflict, conflicts)


def as_row(assignment: OneAssignment) -> dict[str, Any]:
    """The assignment's columns as a plain dict (``conflicts`` joined with ``;``)."""
    return {
        "assignee_type": assignment.assignee_type,
        "assignee_id": assignment.assignee_id,
        "copied_rep_id": assignment.copied_rep_id,
        "basis": assignment.basis,
        "status": assignment.status,
        "status_reason": assignment.status_reason,
        "status_message": assignment.status_message,
        "owner_inactive": assignment.owner_inactive,
        "conflict": assignment.conflict,
    }

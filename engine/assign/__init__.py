"""Assignment: pick the rep or partner for every routed opportunity (see ``docs/assignment.md``).

Routing (:mod:`engine.rules`) decides the role and territory of each open opportunity; assignment
picks the person: the account's locked owner first, otherwise a fair, capacity-aware choice within
the territory team. Every record ends ``assigned`` or ``unassigned`` with a status reason, and
ownership conflicts are reported, never resolved silently.
"""

from engine.assign._assign import (
    CONFLICT_KINDS,
    ROUTES,
    STATUS_REASONS,
    AssignmentResult,
    assign,
    assign_with_report,
)
from engine.assign._fair import fill_team, stable_hash

__all__ = [
    "AssignmentResult",
    "assign",
    "assign_with_report",
    "fill_team",
    "stable_hash",
    "ROUTES",
    "STATUS_REASONS",
    "CONFLICT_KINDS",
]

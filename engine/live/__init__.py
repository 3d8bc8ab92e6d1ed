"""The live path: route and score one lead the moment it arrives (``docs/live.md``).

:class:`LiveRouter` loads the rules, the win model and a snapshot of the database once and
routes leads one by one with :meth:`LiveRouter.route`; :func:`route_lead` is the one-shot form.
Each decision is recorded, and its capacity claimed, in one transaction of the database's
``live_assignments`` / ``live_load`` tables; the next ``kam score`` keeps it.
"""

from engine.live._lead import LEAD_FIELDS, Lead, LeadError, parse_lead
from engine.live._router import LiveDecision, LiveRouter, route_lead

__all__ = ["LEAD_FIELDS", "Lead", "LeadError", "LiveDecision", "LiveRouter", "parse_lead", "route_lead"]

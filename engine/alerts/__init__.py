"""Churn early warning: alert policies, alert state across runs, digests and their delivery.

See ``docs/alerts.md``. The policies are ``rules/alerts.yaml`` (kam's rule language); the
lifecycle is the declared state machine ``engine/alerts/lifecycle.yaml``.
"""

from engine.alerts._lifecycle import (
    ACTIONS,
    STATES,
    AlertState,
    AlertStateError,
    Effect,
    Event,
    transition,
    transition_frame,
)

__all__ = [
    "ACTIONS",
    "STATES",
    "AlertState",
    "AlertStateError",
    "Effect",
    "Event",
    "transition",
    "transition_frame",
]

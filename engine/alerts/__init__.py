"""Churn early warning: alert policies, alert state across runs, digests and their delivery.

See ``docs/alerts.md``. The policies are ``rules/alerts.yaml`` (kam's rule language); the
lifecycle is the declared state machine ``engine/alerts/lifecycle.yaml``, advanced for a whole
run by :func:`evaluate_run` (vectorized) and for one event by :func:`on_event` (durable_rules).

>>> from engine.alerts import evaluate_run, send_outbox, JsonLinesChannel   # doctest: +SKIP
>>> summary = evaluate_run("kam-demo.sqlite")                              # doctest: +SKIP
>>> send_outbox("kam-demo.sqlite", JsonLinesChannel("digests.jsonl"))      # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from engine.alerts._deliver import (
    CHANNELS,
    DeliveryError,
    JsonLinesChannel,
    Outcome,
    RetryPolicy,
    SendSummary,
    send_outbox,
)
from engine.alerts._digest import (
    build_digests,
    idempotency_key,
    render_html,
    render_slack,
    render_text,
)
from engine.alerts._evaluate import AlertRunSummary, advance, evaluate_run
from engine.alerts._events import EventResult, act, on_event
from engine.alerts._lifecycle import (
    ACTIONS,
    ACTIVE_STATES,
    STATES,
    AlertState,
    AlertStateError,
    Effect,
    Event,
    lifecycle_rules,
    transition,
    transition_frame,
)
from engine.alerts._policy import ACTION_TEXT, evaluate_policies, load_alert_rules
from engine.alerts._signals import build_signals

if TYPE_CHECKING:
    from engine.storage import Database

__all__ = [
    "ACTIONS",
    "ACTION_TEXT",
    "ACTIVE_STATES",
    "CHANNELS",
    "STATES",
    "AlertRunSummary",
    "AlertState",
    "AlertStateError",
    "DeliveryError",
    "Effect",
    "Event",
    "EventResult",
    "JsonLinesChannel",
    "Outcome",
    "RetryPolicy",
    "SendSummary",
    "act",
    "advance",
    "build_digests",
    "build_signals",
    "evaluate_and_write_jsonl",
    "evaluate_policies",
    "evaluate_run",
    "idempotency_key",
    "lifecycle_rules",
    "list_alerts",
    "load_alert_rules",
    "on_event",
    "render_html",
    "render_slack",
    "render_text",
    "send_outbox",
    "transition",
    "transition_frame",
]


def list_alerts(db: Database | str, *, active_only: bool = False, rep: str | None = None) -> pd.DataFrame:
    """The ``alerts`` table, highest value at risk first.

    Parameters
    ----------
    db : Database or str
    active_only : bool
        Only alerts that are open, escalated, acknowledged or snoozed.
    rep : str, optional
        Only alerts of accounts this rep owns.
    """
    from engine.storage import AlertStore, using_database

    with using_database(db) as database:
        where: list[str] = []
        params: dict[str, Any] = {}
        if active_only:
            where.append('"state" IN :states')
            params["states"] = list(ACTIVE_STATES)
        if rep is not None:
            where.append('"owner_rep_id" = :rep')
            params["rep"] = rep
        frame = AlertStore(database).read("alerts", " AND ".join(where), params)
    frame["value_at_risk"] = pd.to_numeric(frame["value_at_risk"], errors="coerce")
    return frame.sort_values(["value_at_risk", "alert_key"], ascending=[False, True], na_position="last").reset_index(drop=True)


def evaluate_and_write_jsonl(db: Database | str, run_id: str, path: str | Path) -> tuple[AlertRunSummary, SendSummary]:
    """Evaluate a scoring run's alerts and append its digests to a JSON Lines file (``kam demo``)."""
    summary = evaluate_run(db, run_id)
    sent = send_outbox(db, JsonLinesChannel(path))
    return summary, sent

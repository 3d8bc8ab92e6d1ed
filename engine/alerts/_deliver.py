"""Draining the outbox: at-least-once delivery with a stable idempotency key per digest.

For each digest not yet delivered on a channel, the sender sends it, then records the attempt
and the delivery's status in one transaction (:meth:`engine.storage.AlertStore.record_attempt`).
A sender killed between the send and that commit sends the digest again next time, with the same
idempotency key (the JSON Lines ``idempotency_key``, the webhook ``webhook-id``, the e-mail
``Message-ID`` and ``Idempotency-Key`` header), so a receiver can drop the duplicate; no digest is
ever lost.

Retries: a temporary failure (timeout, connection refused, HTTP 5xx / 429, SMTP 4xx) is retried
with exponential backoff and full jitter (``base x 2^n`` seconds, capped), waiting at least what
a ``Retry-After`` asks; after ``max_attempts`` attempts the delivery is ``failed``. A permanent
failure (HTTP 4xx other than 408/429, SMTP 5xx) is ``failed`` at once; HTTP 410 Gone also
disables the endpoint, and the sender stops using it.

This module holds the channel-independent loop and the JSON Lines channel (a file or standard
output); each outside system has its own module: :mod:`engine.alerts._webhook` (HTTP) and
:mod:`engine.alerts._smtp` (SMTP).
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

import pandas as pd

from engine._errors import ConfigError, KamError
from engine._log import get_logger
from engine._paths import as_path
from engine.storage import AlertStore, Database, using_database
from engine.storage._alerts import now_text

__all__ = ["CHANNELS", "DeliveryError", "JsonLinesChannel", "Outcome", "RetryPolicy", "SendSummary", "send_outbox"]

log = get_logger("alerts.send")

CHANNELS = ("jsonl", "stdout", "webhook", "email")


class DeliveryError(KamError):
    """Some digests could not be delivered (each attempt is recorded in ``alert_attempts``)."""


@dataclass(frozen=True)
class Outcome:
    """The result of one attempt.

    ``status``: ``sent``; ``retry`` (temporary: try again); ``failed`` (permanent); ``gone``
    (the endpoint says it no longer exists: disable it); ``refused`` (the receiver refuses kam's
    credentials - a wrong password or a rotated secret: every digest would fail alike, so the
    batch stops and the digests stay due until the setting is fixed).
    """

    status: str
    status_code: int | None = None
    detail: str = ""
    retry_after: float | None = None


class Channel(Protocol):
    name: str
    endpoint: str

    def deliver(self, notification_id: str, payload: dict[str, Any]) -> Outcome: ...


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, honouring ``Retry-After`` (seconds)."""

    max_attempts: int = 5
    base_seconds: float = 1.0
    max_seconds: float = 300.0
    seed: int | None = None

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds to wait before attempt ``attempt + 1`` (``attempt`` >= 1 were made)."""
        ceiling = min(self.max_seconds, self.base_seconds * (2 ** (attempt - 1)))
        wait = rng.uniform(0, ceiling)
        if retry_after is not None:
            wait = max(wait, min(float(retry_after), self.max_seconds))
        return wait


@dataclass
class SendSummary:
    """What one ``send`` did, per outcome."""

    channel: str
    sent: int = 0
    failed: int = 0
    retry_later: int = 0
    attempts: int = 0
    disabled: str | None = None
    refused: str | None = None
    failures: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"channel": self.channel, "sent": self.sent, "failed": self.failed, "retry_later": self.retry_later,
                "attempts": self.attempts, "disabled": self.disabled, "refused": self.refused,
                "failures": self.failures[:20]}


class JsonLinesChannel:
    """Digests as JSON Lines: one object per line, appended to a file (flushed and fsynced) or stdout."""

    def __init__(self, path: str | Path | None = None, stream: IO[str] | None = None):
        if path is not None:
            path = as_path(path, "the JSON-lines file of notifications", "alerts.jsonl")
        self.path = None if path is None else Path(path)
        self.stream = stream
        self.name = "stdout" if path is None else "jsonl"
        self.endpoint = "-" if path is None else str(self.path)

    def deliver(self, notification_id: str, payload: dict[str, Any]) -> Outcome:
        line = json.dumps({**payload, "idempotency_key": notification_id}, ensure_ascii=False, sort_keys=True) + "\n"
        if self.path is None:
            stream = self.stream or sys.stdout
            stream.write(line)
            stream.flush()
            return Outcome("sent")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as handle:
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as exc:
            return Outcome("retry", detail=f"cannot append to {self.path}: {exc.strerror}")
        return Outcome("sent")


def _later(seconds: float) -> str:
    return (pd.Timestamp.now(tz="UTC") + pd.Timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def send_outbox(
    db: Database | str,
    channel: Channel,
    *,
    retry: RetryPolicy = RetryPolicy(),
    sleep: Callable[[float], None] = time.sleep,
    limit: int | None = None,
    secrets: tuple[str, ...] = (),
) -> SendSummary:
    """Deliver every due digest of the outbox on ``channel``.

    Parameters
    ----------
    db : Database or str
    channel : Channel
        :class:`JsonLinesChannel`, :class:`engine.alerts._webhook.WebhookChannel` or
        :class:`engine.alerts._smtp.SmtpChannel`.
    retry : RetryPolicy
        Attempts and backoff (within this call; a digest still failing after
        ``max_attempts`` attempts in total is ``failed``).
    sleep : callable
        How to wait between attempts (tests pass a fake clock).
    limit : int, optional
        At most this many digests.
    secrets : tuple of str
        Values masked in every recorded error.

    Raises
    ------
    ConfigError
        The channel's endpoint was disabled (it answered 410 Gone earlier).
    """
    from engine._log import redact

    with using_database(db) as database:
        store = AlertStore(database)
        reason = store.disabled(channel.name, channel.endpoint)
        if reason is not None:
            raise ConfigError(f"the {channel.name} endpoint {redact(channel.endpoint, secrets)} is disabled: {reason}. "
                              f"Fix: repair or replace the endpoint, then pass --enable-endpoint once.")
        summary = SendSummary(channel.name)
        rng = random.Random(retry.seed)
        due = store.due(channel.name, now_text(), limit)
        log.info("%s: %d digest(s) due", channel.name, len(due))
        for row in due.itertuples(index=False):
            payload = json.loads(row.payload)
            made = int(row.attempts)
            while True:
                started = time.perf_counter()
                at = now_text()
                try:
                    outcome = channel.deliver(row.notification_id, payload)
                except Exception as exc:  # a channel bug must not lose the record of the attempt
                    outcome = Outcome("retry", detail=f"{type(exc).__name__}: {exc}")
                made += 1
                summary.attempts += 1
                detail = redact(outcome.detail, secrets)[:2000]
                attempt = {"started_at": at, "seconds": time.perf_counter() - started, "outcome": outcome.status,
                           "status_code": outcome.status_code, "detail": detail}
                if outcome.status == "sent":
                    store.record_attempt(row.notification_id, channel.name, attempt, "sent", delivered_at=now_text())
                    summary.sent += 1
                    break
                if outcome.status == "gone":
                    store.record_attempt(row.notification_id, channel.name, attempt, "retry", next_attempt_at=at)
                    why = f"answered {outcome.status_code} Gone at {at}"
                    store.disable_endpoint(channel.name, channel.endpoint, why)
                    summary.disabled = why
                    summary.failures.append(f"{row.notification_id}: endpoint gone ({outcome.status_code})")
                    log.warning("%s endpoint disabled: %s", channel.name, why)
                    return summary
                if outcome.status == "refused":
                    store.record_attempt(row.notification_id, channel.name, attempt, "retry", next_attempt_at=at)
                    why = f"{channel.name} refused kam's credentials ({outcome.status_code}) at {at}: {detail}"
                    summary.refused = why
                    summary.failures.append(f"{row.notification_id}: credentials refused ({outcome.status_code})")
                    log.error("%s; stopped: every digest is still due. Fix the channel's credentials and send again.", why)
                    return summary
                if outcome.status == "retry" and made < retry.max_attempts:
                    wait = retry.delay(made, outcome.retry_after, rng)
                    store.record_attempt(row.notification_id, channel.name, attempt, "retry", next_attempt_at=_later(wait))
                    log.info("%s %s: attempt %d failed (%s); retrying in %.1f s", channel.name, row.notification_id,
                             made, detail, wait)
                    sleep(wait)
                    continue
                store.record_attempt(row.notification_id, channel.name, attempt, "failed")
                summary.failed += 1
                summary.failures.append(f"{row.notification_id}: {detail}")
                break
        return summary

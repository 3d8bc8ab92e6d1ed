"""The webhook channel: the only module of kam that speaks HTTP.

Each digest is POSTed as JSON and signed as the Standard Webhooks specification says
(https://www.standardwebhooks.com/):

* ``webhook-id``: the digest's idempotency key (the same on every retry);
* ``webhook-timestamp``: the attempt's time in integer Unix seconds;
* ``webhook-signature``: ``v1,`` + base64(HMAC-SHA256(key, f"{id}.{timestamp}.{body}")), where the
  key is the base64-decoded part of the ``whsec_...`` secret.

Answers: 2xx sent; 408, 429 and 5xx, timeouts and connection errors retried (``Retry-After`` in
seconds or as an HTTP date honoured); 410 Gone disables the endpoint; any other 4xx failed. Uses
the standard library's ``urllib`` (no third-party HTTP client), with a timeout on every request.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from email.utils import parsedate_to_datetime
from typing import Any

from engine._errors import ConfigError
from engine.alerts._deliver import Outcome

__all__ = ["WebhookChannel", "sign", "signing_key"]


def signing_key(secret: str) -> bytes:
    """The HMAC key of a Standard Webhooks secret (``whsec_`` + base64).

    Raises
    ------
    ConfigError
        The secret is not ``whsec_`` followed by base64 of at least 24 bytes.
    """
    if not isinstance(secret, str) or not secret.startswith("whsec_"):
        raise ConfigError("the webhook secret must start with 'whsec_' followed by base64 (Standard Webhooks). "
                          "Fix: set KAM_ALERTS_WEBHOOK_SECRET to e.g. whsec_ + base64 of 32 random bytes.")
    try:
        key = base64.b64decode(secret[len("whsec_"):], validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError("the webhook secret after 'whsec_' is not valid base64. Fix: generate one with "
                          "`python -c \"import os,base64;print('whsec_'+base64.b64encode(os.urandom(32)).decode())\"`.") from None
    if len(key) < 24:
        raise ConfigError(f"the webhook secret decodes to {len(key)} bytes; expected at least 24 (32 recommended).")
    return key


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header value for one request.

    >>> sign("whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
    ...      b'{"test": 2432232314}')
    'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE='
    """
    key = signing_key(secret)
    content = f"{msg_id}.{int(timestamp)}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class WebhookChannel:
    """POST each digest to one URL, signed with a Standard Webhooks secret.

    Parameters
    ----------
    url : str
        ``http://`` or ``https://`` endpoint.
    secret : str
        ``whsec_...`` (from ``KAM_ALERTS_WEBHOOK_SECRET`` or the config file, never a flag).
    timeout : float
        Seconds for connecting and for each read.
    slack : bool
        Send a Slack-compatible body (``text`` + ``blocks``) with the digest under ``kam``.
    """

    name = "webhook"

    def __init__(self, url: str, secret: str, *, timeout: float = 10.0, slack: bool = False):
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            shown = url.split("://", 1)[0] + "://..." if isinstance(url, str) and "://" in url else type(url).__name__
            raise ConfigError(f"the webhook URL must start with http:// or https://; got {shown}. Fix: set "
                              "alerts.webhook.url (KAM_ALERTS_WEBHOOK_URL).")
        signing_key(secret)  # refuse a bad secret before anything is sent
        self.url = url
        self.endpoint = endpoint_label(url)
        self._secret = secret
        self.timeout = float(timeout)
        self.slack = slack

    def __repr__(self) -> str:  # never show the secret, nor the URL (a Slack-style URL is a credential)
        return f"WebhookChannel({self.endpoint!r})"

    def body(self, payload: dict[str, Any]) -> bytes:
        """The request body of a digest."""
        if self.slack:
            from engine.alerts._digest import render_slack

            payload = {**render_slack(payload), "kam": payload}
        return json.dumps(payload, ensure_ascii=False, sort_keys=True).encode("utf-8")

    def deliver(self, notification_id: str, payload: dict[str, Any]) -> Outcome:
        body = self.body(payload)
        timestamp = int(time.time())
        request = urllib.request.Request(self.url, data=body, method="POST", headers={
            "content-type": "application/json",
            "user-agent": "kam-alerts",
            "webhook-id": notification_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(self._secret, notification_id, timestamp, body),
        })
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read(65_536)
                return Outcome("sent", response.status)
        except urllib.error.HTTPError as exc:
            code = exc.code
            text = f"HTTP {code} {exc.reason}"
            wait = _retry_after(exc.headers.get("Retry-After") if exc.headers else None)
            exc.close()
            if code == 410:
                return Outcome("gone", code, text)
            if code in (401, 403, 407):  # the receiver refuses kam's credentials: a setting, not the digest
                return Outcome("refused", code, text)
            if code in (408, 429) or code >= 500:
                return Outcome("retry", code, text, wait)
            return Outcome("failed", code, text)
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            return Outcome("retry", None, f"{type(exc).__name__}: {reason}")


def endpoint_label(url: str) -> str:
    """How an endpoint is named in tables, errors and logs: scheme, host and a hash of the URL.

    Some webhook URLs are themselves the credential (an incoming-webhook URL whose path is the
    token), so the path never leaves the configuration; the hash still tells two endpoints apart.

    Examples
    --------
    >>> endpoint_label("https://hooks.example.com/services/T0/B0/secret")[:33]
    'https://hooks.example.com #sha256'
    """
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port} #sha256:{hashlib.sha256(url.encode('utf-8')).hexdigest()[:12]}"

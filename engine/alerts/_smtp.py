"""The e-mail channel: the only module of kam that speaks SMTP (the standard library's smtplib).

Each digest is one message with a plain-text part and a simple HTML part, sent to the
recipient's address (``alerts.email.address_template`` with ``{id}`` and ``{type}``, e.g.
``{id}@sales.example.com``: kam's tables hold no e-mail addresses). ``Message-ID`` and an
``Idempotency-Key`` header carry the digest's idempotency key, so a duplicate after a crash is
recognisable. STARTTLS is optional; login happens only when a user is configured, with the
password from ``KAM_ALERTS_SMTP_PASSWORD`` or the config file.

Answers: 2xx sent; 4xx (and connection errors, timeouts) retried; 5xx failed.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from typing import Any

from engine._errors import ConfigError
from engine.alerts._deliver import Outcome
from engine.alerts._digest import render_html, render_text

__all__ = ["SmtpChannel", "build_message"]


def build_message(payload: dict[str, Any], sender: str, to: str, notification_id: str) -> EmailMessage:
    """The e-mail of one digest (text + HTML alternative)."""
    message = EmailMessage()
    count = len(payload["alerts"])
    message["Subject"] = f"kam early warning: {count} account(s) need attention ({payload['as_of']})"
    message["From"] = sender
    message["To"] = to
    domain = sender.rsplit("@", 1)[-1] if "@" in sender else "kam.invalid"
    message["Message-ID"] = f"<{notification_id}@{domain}>"
    message["Idempotency-Key"] = notification_id
    message.set_content(render_text(payload))
    message.add_alternative(render_html(payload), subtype="html")
    return message


class SmtpChannel:
    """Send each digest as an e-mail through one SMTP server.

    Parameters
    ----------
    host, port :
        The SMTP server.
    sender : str
        The ``From`` address.
    address_template : str
        Recipient address from its id and type, e.g. ``"{id}@sales.example.com"``.
    starttls : bool
        Upgrade the connection with STARTTLS before anything else.
    user, password : str, optional
        Login (only with both set).
    timeout : float
        Seconds per connection and command.
    """

    name = "email"

    def __init__(self, host: str, port: int, sender: str, address_template: str, *, starttls: bool = False,
                 user: str | None = None, password: str | None = None, timeout: float = 10.0,
                 ssl_context: ssl.SSLContext | None = None):
        if not host:
            raise ConfigError("no SMTP server: set alerts.smtp.host (KAM_ALERTS_SMTP_HOST).")
        if not sender or "@" not in sender:
            raise ConfigError(f"the sender address must look like alerts@example.com; got {sender!r}. Fix: set "
                              "alerts.email.sender (KAM_ALERTS_EMAIL_SENDER).")
        if not address_template or "{id}" not in address_template:
            raise ConfigError(f"alerts.email.address_template must contain {{id}}, e.g. '{{id}}@sales.example.com'; "
                              f"got {address_template!r}.")
        if user and not password:
            raise ConfigError("alerts.smtp.user is set but no password: set KAM_ALERTS_SMTP_PASSWORD (or "
                              "alerts.smtp.password in the config file).")
        self.host, self.port = host, int(port)
        self.endpoint = f"{host}:{port}"
        self.sender = sender
        self.address_template = address_template
        self.starttls = starttls
        self.user = user
        self._password = password
        self.timeout = float(timeout)
        self.ssl_context = ssl_context

    def __repr__(self) -> str:  # never show the password
        return f"SmtpChannel({self.endpoint!r})"

    def address(self, recipient: dict[str, str]) -> str:
        return self.address_template.format(id=recipient["id"], type=recipient["type"])

    def deliver(self, notification_id: str, payload: dict[str, Any]) -> Outcome:
        to = self.address(payload["recipient"])
        message = build_message(payload, self.sender, to, notification_id)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as client:
                if self.starttls:
                    client.starttls(context=self.ssl_context or ssl.create_default_context())
                if self.user:
                    client.login(self.user, self._password or "")
                refused = client.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            return self._by_code(max(codes) if codes else 550, f"recipient refused: {exc.recipients}")
        except smtplib.SMTPResponseException as exc:
            return self._by_code(exc.smtp_code, f"SMTP {exc.smtp_code} {exc.smtp_error!r}")
        except (smtplib.SMTPException, TimeoutError, ConnectionError, OSError) as exc:
            return Outcome("retry", None, f"{type(exc).__name__}: {exc}")
        if refused:
            code, text = next(iter(refused.values()))
            return self._by_code(code, f"recipient refused: {text!r}")
        return Outcome("sent", 250)

    @staticmethod
    def _by_code(code: int, detail: str) -> Outcome:
        if code in (530, 534, 535, 538):  # authentication required / refused: kam's settings, not the digest
            return Outcome("refused", code, detail)
        if 400 <= code < 500:
            return Outcome("retry", code, detail)
        return Outcome("failed", code, detail)

"""Real peers on loopback for the delivery tests: a scriptable HTTP server and an aiosmtpd server.

The webhook receiver checks every signature with its own implementation of the Standard Webhooks
verification (written from the specification, not with kam's signing code).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()


def verify_standard_webhook(secret: str, headers: dict[str, str], body: bytes, tolerance: int = 300) -> bool:
    """The receiver's check: HMAC-SHA256 over ``id.timestamp.body`` with the base64 key after ``whsec_``."""
    msg_id, stamp, signatures = headers.get("webhook-id"), headers.get("webhook-timestamp"), headers.get("webhook-signature")
    if not (msg_id and stamp and signatures):
        return False
    if abs(time.time() - int(stamp)) > tolerance:
        return False
    key = base64.b64decode(secret.split("_", 1)[1])
    expected = base64.b64encode(hmac.new(key, msg_id.encode() + b"." + stamp.encode() + b"." + body, hashlib.sha256).digest())
    for entry in signatures.split(" "):
        version, _, value = entry.partition(",")
        if version == "v1" and hmac.compare_digest(value.encode(), expected):
            return True
    return False


class WebhookReceiver:
    """An HTTP server on 127.0.0.1 whose answers a test scripts.

    ``script`` is called with the request number (1-based) and returns ``(status, headers,
    delay_seconds)``; every request is recorded with its headers, body and signature check (one
    whose body ends before its ``Content-Length``, cut off by a sender killed mid-send, is not a
    delivery: it is neither recorded nor answered, as a real server would not process it).
    """

    def __init__(self, script: Callable[[int], tuple[int, dict, float]] | None = None, secret: str = SECRET):
        self.script = script or (lambda n: (200, {}, 0.0))
        self.secret = secret
        self.requests: list[dict] = []
        self.on_request: Callable[[int], None] | None = None
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("content-length", 0))
                body = self.rfile.read(length)
                if len(body) < length:  # the sender died while sending: nothing was delivered, no answer
                    self.close_connection = True
                    return
                headers = {k.lower(): v for k, v in self.headers.items()}
                with receiver._lock:
                    n = len(receiver.requests) + 1
                    receiver.requests.append({"n": n, "headers": headers, "body": body,
                                              "valid": verify_standard_webhook(receiver.secret, headers, body)})
                if receiver.on_request is not None:
                    receiver.on_request(n)
                status, extra, delay = receiver.script(n)
                if delay:
                    time.sleep(delay)
                try:
                    self.send_response(status)
                    for key, value in extra.items():
                        self.send_header(key, value)
                    self.send_header("content-length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/kam"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> WebhookReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


class SmtpReceiver:
    """aiosmtpd on 127.0.0.1: records messages; ``script(n)`` may answer an SMTP error instead."""

    def __init__(self, script: Callable[[int], str | None] | None = None, *, tls_context=None,
                 logins: dict[str, str] | None = None):
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult

        self.messages: list = []
        self.calls = 0
        self.script = script or (lambda n: None)
        receiver = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                from email import message_from_bytes, policy

                receiver.calls += 1
                answer = receiver.script(receiver.calls)
                if answer:
                    return answer
                receiver.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content, policy=policy.default)))
                return "250 OK"

        import socket

        with socket.socket() as probe:  # aiosmtpd needs a real port number to check it started
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.logins: list[str] = []

        def authenticate(server, session, envelope, mechanism, auth_data):
            ok = logins is not None and logins.get(auth_data.login.decode()) == auth_data.password.decode()
            if ok:
                receiver.logins.append(auth_data.login.decode())
            return AuthResult(success=ok)

        extra = {}
        if tls_context is not None:
            extra.update(tls_context=tls_context, require_starttls=True)
        if logins is not None:
            extra.update(authenticator=authenticate, auth_required=True)
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port, **extra)

    def __enter__(self) -> SmtpReceiver:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()

"""A plain HTTP client for the service tests (the standard library's http.client) and the test token."""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import urlsplit

TOKEN = "test-token-" + "k" * 24


class Client:
    """A plain HTTP/1.1 client (the standard library's), one keep-alive connection."""

    def __init__(self, url: str, token: str | None = TOKEN):
        parts = urlsplit(url)
        self.host, self.port = parts.hostname, parts.port
        self.token = token
        self.connection = http.client.HTTPConnection(self.host, self.port, timeout=30)

    def request(self, method: str, path: str, body: Any = None, *, headers: dict[str, str] | None = None,
                raw: bytes | None = None) -> tuple[int, dict[str, str], Any]:
        sent = dict(headers or {})
        if self.token is not None and "Authorization" not in sent:
            sent["Authorization"] = f"Bearer {self.token}"
        payload = raw
        if body is not None:
            payload = json.dumps(body).encode()
            sent.setdefault("Content-Type", "application/json")
        self.connection.request(method, path, body=payload, headers=sent)
        response = self.connection.getresponse()
        data = response.read()
        kind = response.getheader("Content-Type", "")
        parsed = json.loads(data) if kind.startswith("application/json") else data.decode()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, parsed

    def close(self) -> None:
        self.connection.close()

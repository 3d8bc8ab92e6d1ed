"""A plain HTTP client for the service tests (the standard library's http.client) and the test token."""

from __future__ import annotations

import http.client
import json
from pathlib import Path
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


class Service:
    """``kam serve`` in a child process of its own session, every wait on it bounded.

    The command runs in a new session (process group), so :meth:`kill` reaches the worker processes
    too: a supervisor killed alone would leave its workers holding its output pipes, and a read of
    those pipes would then never end. stdout is read by a thread into a queue (a bounded
    :meth:`line`); stderr goes to ``log`` (a pipe nobody reads fills up with the request log and
    blocks the workers).
    """

    def __init__(self, argv: list[str], env: dict[str, str], log: Path):
        import queue
        import subprocess
        import threading

        self.log_path = log
        self._log = open(log, "w+")  # noqa: SIM115 -- closed by stop()/kill()
        self.process = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=self._log, text=True,
                                        start_new_session=True)
        self._lines: queue.Queue[str | None] = queue.Queue()

        def pump() -> None:
            assert self.process.stdout is not None
            for text in self.process.stdout:
                self._lines.put(text)
            self._lines.put(None)

        self._pump = threading.Thread(target=pump, daemon=True)
        self._pump.start()

    @property
    def pid(self) -> int:
        return self.process.pid

    def line(self, timeout: float = 120.0) -> str:
        """The next stdout line; an AssertionError (with the log) if none comes within ``timeout`` s."""
        import queue

        try:
            text = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no line on stdout within {timeout:.0f} s; log:\n{self.stderr()}") from None
        assert text is not None, f"stdout closed (exit {self.process.poll()}); log:\n{self.stderr()}"
        return text

    def stderr(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int, timeout: float = 90.0) -> tuple[int, str]:
        """Send ``sig`` to the supervisor, wait up to ``timeout`` s; ``(exit code, stderr)``.

        An AssertionError if it has not exited by then (the whole group is killed first).
        """
        import subprocess

        self.process.send_signal(sig)
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"kam serve did not exit within {timeout:.0f} s of signal {sig}; "
                                 f"log:\n{self.stderr()}") from None
        return code, self.stderr()

    def kill(self) -> None:
        """SIGKILL the supervisor and every worker (its process group); idempotent."""
        import os
        import signal

        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            self.process.wait(timeout=30)
            self._pump.join(30)  # EOF once every process holding the pipe is gone
        finally:
            if not self._pump.is_alive() and self.process.stdout is not None:
                self.process.stdout.close()
            if not self._log.closed:
                self._log.close()

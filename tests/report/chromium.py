"""Open a local HTML file in headless Chromium over the DevTools protocol, with the network blocked.

A small driver for the report tests (and for the README screenshot): Debian's ``chromium``
binary, started with a fresh profile and every background service off, driven through its
DevTools websocket with ``websocket-client``. Every request the page makes is intercepted
(``Fetch`` domain): the file itself and ``data:`` URLs are let through, anything else is failed
and recorded. A proxy that does not exist and a resolver that resolves nothing make sure that,
even if interception missed something, nothing would leave the machine.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--mute-audio",
    "--hide-scrollbars",
    "--proxy-server=http://127.0.0.1:9",
    "--proxy-bypass-list=<-loopback>",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--remote-debugging-port=0",
    "--remote-allow-origins=*",
)


def chromium_binary() -> str | None:
    """Path of the Chromium binary (Debian's ``chromium``), or None."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclass
class PageVisit:
    """What happened when the page was opened."""

    requests: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    console: list[dict] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    log_entries: list[dict] = field(default_factory=list)
    evaluated: object = None
    screenshot: bytes | None = None

    @property
    def errors(self) -> list[str]:
        """Console errors, uncaught exceptions and browser log errors (e.g. CSP violations)."""
        found = [f"console.{m['type']}: {m['text']}" for m in self.console if m["type"] in ("error", "assert")]
        found += [f"exception: {e}" for e in self.exceptions]
        found += [f"log {e.get('source')}: {e.get('text')}" for e in self.log_entries if e.get("level") == "error"]
        return found


class _Session:
    def __init__(self, ws_url: str):
        import websocket

        self.ws = websocket.create_connection(ws_url, timeout=60, suppress_origin=True)
        self.next_id = 0
        self.handlers = []
        self.events: list[dict] = []  # every event received, in order (also while a call awaited its answer)

    def send(self, method: str, params: dict | None = None, session_id: str | None = None) -> int:
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session_id:
            message["sessionId"] = session_id
        self.ws.send(json.dumps(message))
        return self.next_id

    def call(self, method: str, params: dict | None = None, session_id: str | None = None, timeout: float = 60):
        wanted = self.send(method, params, session_id)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = json.loads(self.ws.recv())
            if message.get("id") == wanted:
                if "error" in message:
                    raise RuntimeError(f"{method} failed: {message['error']}")
                return message.get("result", {})
            self._dispatch(message)
        raise TimeoutError(f"no answer to {method} within {timeout} s")

    def wait_for(self, event: str, *, since: int, timeout: float = 60) -> dict:
        """The first ``event`` among the events received from position ``since`` on.

        An event can arrive before the answer to the call that caused it (``Page.loadEventFired``
        before ``Page.navigate``'s reply): :meth:`call` keeps it in ``events``, so it is found here.
        """
        deadline = time.monotonic() + timeout
        while True:
            for message in self.events[since:]:
                if message["method"] == event:
                    return message.get("params", {})
            since = len(self.events)
            if time.monotonic() >= deadline:
                raise TimeoutError(f"no {event} within {timeout} s")
            self._dispatch(json.loads(self.ws.recv()))

    def _dispatch(self, message: dict) -> None:
        if "method" in message:
            self.events.append(message)
            for handler in self.handlers:
                handler(message)

    def close(self) -> None:
        self.ws.close()


def _devtools_url(profile: Path, process: subprocess.Popen, timeout: float = 60) -> str:
    marker = profile / "DevToolsActivePort"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"chromium exited with status {process.returncode} before DevTools was ready")
        if marker.exists():
            lines = marker.read_text().split()
            if len(lines) >= 2:
                return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
        time.sleep(0.1)
    raise TimeoutError("chromium did not open its DevTools port")


def open_page(
    path: str | Path,
    *,
    script: str,
    width: int = 1280,
    height: int = 900,
    screenshot: bool = True,
    full_page: bool = False,
    mobile: bool = False,
    media: str | None = None,
) -> PageVisit:
    """Open ``path`` in headless Chromium, evaluate ``script``, take a screenshot, close.

    Parameters
    ----------
    path : path
        The HTML file.
    script : str
        A JavaScript expression whose (JSON-serialisable) value is returned in ``evaluated``.
    width, height : int
        The viewport.
    full_page : bool
        Screenshot the whole page rather than the viewport.
    mobile : bool
        Emulate a phone (device scale 2, mobile viewport).
    media : str, optional
        Emulate a CSS media type (``"print"``) before ``script`` runs.
    """
    binary = chromium_binary()
    if binary is None:
        raise FileNotFoundError("chromium is not installed (apt-get install chromium)")
    page_url = Path(path).resolve().as_uri()
    profile = Path(tempfile.mkdtemp(prefix="kam-chromium-"))
    process = subprocess.Popen(
        [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "LANG": "en_US.UTF-8"},
    )
    visit = PageVisit()
    session = None
    try:
        session = _Session(_devtools_url(profile, process))
        target = session.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        sid = session.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]

        def on_event(message: dict) -> None:
            method, params = message["method"], message.get("params", {})
            if message.get("sessionId") not in (None, sid):
                return
            if method == "Fetch.requestPaused":
                url = params["request"]["url"]
                visit.requests.append(url)
                if url == page_url or url.startswith("data:"):
                    session.send("Fetch.continueRequest", {"requestId": params["requestId"]}, sid)
                else:
                    visit.blocked.append(url)
                    session.send("Fetch.failRequest", {"requestId": params["requestId"], "errorReason": "BlockedByClient"}, sid)
            elif method == "Network.requestWillBeSent":
                url = params["request"]["url"]
                if url not in visit.requests:
                    visit.requests.append(url)
            elif method == "Runtime.consoleAPICalled":
                text = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
                visit.console.append({"type": params.get("type"), "text": text})
            elif method == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                visit.exceptions.append(str(details.get("exception", {}).get("description") or details.get("text")))
            elif method == "Log.entryAdded":
                visit.log_entries.append(params.get("entry", {}))

        session.handlers.append(on_event)
        for domain in ("Page", "Runtime", "Log", "Network"):
            session.call(f"{domain}.enable", {}, sid)
        session.call("Fetch.enable", {"patterns": [{"urlPattern": "*"}]}, sid)
        session.call("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 2 if mobile else 1, "mobile": mobile,
        }, sid)
        navigated = len(session.events)
        session.call("Page.navigate", {"url": page_url}, sid)
        session.wait_for("Page.loadEventFired", since=navigated)
        if media is not None:
            session.call("Emulation.setEmulatedMedia", {"media": media}, sid)
        result = session.call("Runtime.evaluate", {"expression": script, "returnByValue": True}, sid)
        if "exceptionDetails" in result:
            raise RuntimeError(f"script failed: {result['exceptionDetails']}")
        visit.evaluated = result["result"].get("value")
        if screenshot:
            params = {"format": "png", "captureBeyondViewport": full_page}
            if full_page:
                size = session.call("Page.getLayoutMetrics", {}, sid)["cssContentSize"]
                params["clip"] = {"x": 0, "y": 0, "width": width, "height": size["height"], "scale": 1}
            shot = session.call("Page.captureScreenshot", params, sid)
            visit.screenshot = base64.b64decode(shot["data"])
        # Let late events (console messages, requests after load) arrive before judging.
        session.call("Runtime.evaluate", {"expression": "new Promise(r => setTimeout(r, 200))", "awaitPromise": True}, sid)
        return visit
    finally:
        if session is not None:
            import websocket

            # The browser may already be gone: it is waited for, or killed, below.
            with contextlib.suppress(RuntimeError, TimeoutError, OSError, websocket.WebSocketException):
                session.call("Browser.close", timeout=10)
            session.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        shutil.rmtree(profile, ignore_errors=True)

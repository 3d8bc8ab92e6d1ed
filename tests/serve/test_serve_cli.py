"""``kam serve`` as a process: it starts or fails within seconds saying why, reloads on SIGHUP, stops on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest
from serve_client import TOKEN, Client, Service

KAM = [sys.executable, "-m", "engine"]


def _env(**extra: str) -> dict[str, str]:
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAM_")}
    env["PYTHONPATH"] = str(root) + os.pathsep + env.get("PYTHONPATH", "")
    env["COLUMNS"] = "200"
    env.update(extra)
    return env


def _fails(args: list[str], env: dict[str, str], code: int, *words: str) -> str:
    started = time.monotonic()
    done = subprocess.run([*KAM, "serve", *args], check=False, env=env, capture_output=True, text=True, timeout=60)
    seconds = time.monotonic() - started
    assert done.returncode == code, (done.returncode, done.stdout, done.stderr)
    assert seconds < 30, f"kam serve took {seconds:.0f} s to fail"
    message = " ".join(done.stderr.split())
    for word in words:
        assert word in message, message
    assert "listening" not in done.stdout
    return message


def test_start_fails_fast_and_says_why(service_copy, tmp_path):
    db, models, rules = service_copy
    good = ["--db", str(db), "--models", str(models), "--rules", str(rules), "--port", "0"]
    # no token, a short one
    _fails(good, _env(), 3, "KAM_SERVE_TOKEN", "secrets.token_urlsafe")
    _fails(good, _env(KAM_SERVE_TOKEN="short"), 3, "at least 16 characters; got 5")
    ok = _env(KAM_SERVE_TOKEN=TOKEN)
    # a database that is not there (nothing is created)
    missing = tmp_path / "nowhere.sqlite"
    _fails(["--db", str(missing), "--models", str(models), "--port", "0"], ok, 5, "nowhere.sqlite")
    assert not missing.exists()
    # no published models
    empty = tmp_path / "empty-models"
    empty.mkdir()
    _fails(["--db", str(db), "--models", str(empty), "--port", "0"], ok, 6, "no published models", "kam train win")
    # a broken rule file
    (rules / "routing.yaml").write_text("rules: [not a rule file")
    _fails(good, ok, 3, "routing.yaml")


def test_a_port_in_use_is_named(service_copy):
    db, models, _rules = service_copy
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        _fails(["--db", str(db), "--models", str(models), "--port", str(port)], _env(KAM_SERVE_TOKEN=TOKEN), 1,
               f"cannot listen on 127.0.0.1:{port}", "--port")


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="SIGHUP is POSIX")
def test_serve_reloads_on_sighup_and_stops_cleanly_on_sigterm(service_copy):
    db, models, rules = service_copy
    service = Service([*KAM, "--log-level", "DEBUG", "serve", "--db", str(db), "--models", str(models), "--rules",
                       str(rules), "--port", "0"], _env(KAM_SERVE_TOKEN=TOKEN, KAM_SERVE_RELOAD_POLL_SECONDS="0"),
                      db.parent / "serve.log")
    try:
        started = time.monotonic()
        line = service.line()
        assert "listening on http://127.0.0.1:" in line, line
        assert time.monotonic() - started < 60
        url = line.split("listening on ")[1].split()[0]
        client = Client(url)
        status, _, health = client.request("GET", "/healthz")
        assert status == 200 and health["snapshot"] == 1
        service.process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 60
        while client.request("GET", "/healthz")[2]["snapshot"] < 2:
            assert time.monotonic() < deadline, "SIGHUP did not reload"
            time.sleep(0.1)
        assert client.request("GET", "/metrics")[0] == 200
        client.close()
        code, stderr = service.stop(signal.SIGTERM, timeout=60)
    finally:
        service.kill()
    assert code == 0, stderr
    assert "reloading rules and models (SIGHUP)" in stderr
    assert "stopped on SIGTERM" in stderr
    assert TOKEN not in stderr

"""Delivering digests to real peers on loopback: a webhook receiver and an SMTP server (aiosmtpd)."""

from __future__ import annotations

import json

import pytest
from alerts_factories import AS_OF, write_scoring_run
from peers import SECRET, SmtpReceiver, WebhookReceiver, verify_standard_webhook

from engine._errors import ConfigError
from engine.alerts import JsonLinesChannel, RetryPolicy, evaluate_run, send_outbox
from engine.alerts._smtp import SmtpChannel
from engine.alerts._webhook import WebhookChannel
from engine.storage import AlertStore

FAST = RetryPolicy(max_attempts=4, base_seconds=0.01, max_seconds=5, seed=1)


@pytest.fixture
def outbox(database, world):
    """A database whose outbox holds the digests of two evaluated runs."""
    risky = sorted(world["customers"]["account_id"].astype(str))[:5]
    for i in range(2):
        evaluate_run(database, write_scoring_run(database, world, AS_OF.replace(day=1 + i), risky), tables=world)
    ids = AlertStore(database).read("alert_outbox")["notification_id"].tolist()
    assert ids
    return database, ids


def _attempts(db, channel):
    return AlertStore(db).read("alert_attempts", '"channel" = :c', {"c": channel})


def test_jsonl_file_gets_each_digest_once_and_a_rerun_sends_nothing(outbox, tmp_path):
    db, ids = outbox
    path = tmp_path / "digests.jsonl"
    first = send_outbox(db, JsonLinesChannel(path))
    second = send_outbox(db, JsonLinesChannel(path))
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert first.sent == len(ids) and second.sent == 0
    assert sorted(line["idempotency_key"] for line in lines) == sorted(ids)
    assert all(line["type"] == "kam.alerts.digest" and line["alerts"] for line in lines)


def test_webhook_signed_retried_on_500_and_honours_retry_after(outbox):
    db, ids = outbox
    answers = {1: (500, {}, 0.0), 2: (429, {"Retry-After": "2"}, 0.0)}
    waits: list[float] = []
    with WebhookReceiver(lambda n: answers.get(n, (200, {}, 0.0))) as peer:
        summary = send_outbox(db, WebhookChannel(peer.url, SECRET, timeout=5), retry=FAST, sleep=waits.append)
    assert summary.sent == len(ids) and summary.failed == 0
    assert all(r["valid"] for r in peer.requests)  # the receiver's own Standard Webhooks check
    first = [r for r in peer.requests if r["n"] <= 3]
    assert len({r["headers"]["webhook-id"] for r in first}) == 1  # same idempotency key on every retry
    assert len({r["body"] for r in first}) == 1
    assert waits[1] >= 2.0  # Retry-After honoured
    attempts = _attempts(db, "webhook")
    assert len(attempts) == len(ids) + 2
    assert sorted(attempts["status_code"].dropna().astype(int).unique().tolist()) == [200, 429, 500]


def test_webhook_slow_peer_times_out_and_gives_up_after_max_attempts(outbox):
    db, ids = outbox
    with WebhookReceiver(lambda n: (200, {}, 1.5)) as peer:
        summary = send_outbox(db, WebhookChannel(peer.url, SECRET, timeout=0.3), retry=RetryPolicy(2, 0.0, 0.0), limit=1,
                              sleep=lambda s: None)
    assert summary.failed == 1 and summary.attempts == 2
    detail = _attempts(db, "webhook")["detail"].tolist()
    assert all("timed out" in d.lower() or "timeout" in d.lower() for d in detail)
    status = AlertStore(db).read("alert_deliveries")["status"].tolist()
    assert status == ["failed"]


def test_webhook_410_disables_the_endpoint_and_stops(outbox):
    db, ids = outbox
    with WebhookReceiver(lambda n: (410, {}, 0.0)) as peer:
        channel = WebhookChannel(peer.url, SECRET)
        summary = send_outbox(db, channel, retry=FAST)
        assert summary.disabled and len(peer.requests) == 1
        with pytest.raises(ConfigError, match="is disabled"):
            send_outbox(db, channel, retry=FAST)
        endpoints = AlertStore(db).read("alert_endpoints")
        # the URL (a credential for some webhooks) is never stored: scheme, host and a hash
        assert peer.url not in endpoints.to_string() and endpoints["endpoint"].str.contains("#sha256:").all()
        AlertStore(db).enable_endpoint("webhook", channel.endpoint)
        peer.script = lambda n: (200, {}, 0.0)
        again = send_outbox(db, channel, retry=FAST)
    assert again.sent == len(ids)


@pytest.mark.parametrize("code", [401, 403])
def test_refused_credentials_stop_the_batch_and_lose_no_digest(outbox, code):
    """A rotated secret must not mark the whole night's digests failed: they stay due."""
    db, ids = outbox
    with WebhookReceiver(lambda n: (code, {}, 0.0)) as peer:
        channel = WebhookChannel(peer.url, SECRET)
        refused = send_outbox(db, channel, retry=FAST)
        assert refused.refused and refused.failed == 0 and len(peer.requests) == 1
        peer.script = lambda n: (200, {}, 0.0)
        fixed = send_outbox(db, channel, retry=FAST)
    assert fixed.sent == len(ids)


def test_webhook_other_4xx_fails_at_once_and_secret_never_recorded(outbox):
    db, ids = outbox
    with WebhookReceiver(lambda n: (400, {}, 0.0)) as peer:
        summary = send_outbox(db, WebhookChannel(peer.url, SECRET), retry=FAST, limit=2, secrets=(SECRET,))
    assert summary.failed == 2 and summary.attempts == 2
    dump = json.dumps(AlertStore(db).read("alert_attempts").astype(str).to_dict("records"))
    assert SECRET not in dump and SECRET[6:] not in dump


def test_slack_form_and_signature_verifier_rejects_tampering():
    channel = WebhookChannel("http://127.0.0.1:9/x", SECRET, slack=True)
    payload = {"idempotency_key": "msg_1", "run_id": "r", "as_of": "2026-10-01", "recipient": {"type": "rep", "id": "R1"},
               "alerts": []}
    body = json.loads(channel.body(payload))
    assert body["text"] and body["blocks"] and body["kam"]["run_id"] == "r"
    from engine.alerts._webhook import sign

    headers = {"webhook-id": "msg_1", "webhook-timestamp": "1", "webhook-signature": sign(SECRET, "msg_1", 1, b"{}")}
    assert not verify_standard_webhook(SECRET, headers, b"{}")  # too old
    import time

    now = int(time.time())
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(now), "webhook-signature": sign(SECRET, "msg_1", now, b"{}")}
    assert verify_standard_webhook(SECRET, headers, b"{}")
    assert not verify_standard_webhook(SECRET, headers, b"{ }")
    with pytest.raises(ConfigError, match="whsec_"):
        WebhookChannel("http://127.0.0.1:9/x", "not-a-secret")


def test_email_text_and_html_and_4xx_retried(outbox):
    db, ids = outbox
    answers = {1: "451 4.3.0 try again later"}
    with SmtpReceiver(lambda n: answers.get(n)) as peer:
        channel = SmtpChannel("127.0.0.1", peer.port, "alerts@kam.example", "{id}@sales.example", timeout=5)
        summary = send_outbox(db, channel, retry=FAST, sleep=lambda s: None)
    assert summary.sent == len(ids) and summary.attempts == len(ids) + 1
    rcpts, message = peer.messages[0]
    assert rcpts[0].endswith("@sales.example")
    assert message["Idempotency-Key"] in ids and message["Message-ID"].startswith("<msg_")
    kinds = [part.get_content_type() for part in message.walk()]
    assert "text/plain" in kinds and "text/html" in kinds

    assert _attempts(db, "email")["outcome"].tolist().count("retry") == 1


def test_email_5xx_is_failed_without_retry(database, world):
    risky = sorted(world["customers"]["account_id"].astype(str))[:3]
    for i in range(2):
        evaluate_run(database, write_scoring_run(database, world, AS_OF.replace(day=1 + i), risky), tables=world)
    with SmtpReceiver(lambda n: "554 5.7.1 rejected") as peer:
        channel = SmtpChannel("127.0.0.1", peer.port, "alerts@kam.example", "{id}@sales.example", timeout=5)
        summary = send_outbox(database, channel, retry=FAST, limit=1, sleep=lambda s: None)
    assert summary.failed == 1 and summary.attempts == 1
    assert _attempts(database, "email")["status_code"].astype(int).tolist() == [554]


def test_email_settings_are_checked():
    with pytest.raises(ConfigError, match="address_template"):
        SmtpChannel("127.0.0.1", 25, "alerts@kam.example", "nobody@example.com")
    with pytest.raises(ConfigError, match="KAM_ALERTS_SMTP_PASSWORD"):
        SmtpChannel("127.0.0.1", 25, "alerts@kam.example", "{id}@x", user="kam")


@pytest.fixture
def sqlite_outbox(tmp_path, world):
    """An outbox on one SQLite file (for channel tests that do not depend on the database)."""
    from engine.storage import Database

    db = Database(tmp_path / "outbox.sqlite")
    risky = sorted(world["customers"]["account_id"].astype(str))[:3]
    for i in range(2):
        evaluate_run(db, write_scoring_run(db, world, AS_OF.replace(day=1 + i), risky), tables=world)
    yield db, AlertStore(db).read("alert_outbox")["notification_id"].tolist()
    db.dispose()


def test_email_over_starttls_with_login(sqlite_outbox, tmp_path):
    import shutil
    import ssl
    import subprocess

    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a throwaway certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    client_tls = ssl.create_default_context(cafile=str(cert))
    db, _ = sqlite_outbox
    password = "s3cret-smtp-pass"
    with SmtpReceiver(tls_context=server_tls, logins={"kam": password}) as peer:
        channel = SmtpChannel("127.0.0.1", peer.port, "alerts@kam.example", "{id}@sales.example", starttls=True,
                              user="kam", password=password, ssl_context=client_tls, timeout=5)
        summary = send_outbox(db, channel, retry=FAST, limit=2, secrets=(password,))
        wrong = SmtpChannel("127.0.0.1", peer.port, "alerts@kam.example", "{id}@sales.example", starttls=True,
                            user="kam", password="wrong-" + password, ssl_context=client_tls, timeout=5)
        refused = send_outbox(db, wrong, retry=FAST, limit=1, secrets=("wrong-" + password,), sleep=lambda s: None)
    assert summary.sent == 2 and peer.logins == ["kam", "kam"]
    assert refused.failed == 1  # 535 authentication failed: a 5xx, not retried
    dump = json.dumps(AlertStore(db).read("alert_attempts").astype(str).to_dict("records"))
    assert password not in dump
    assert "password" not in repr(channel).lower() and password not in repr(channel)


@pytest.mark.parametrize("code,status", [(535, "refused"), (530, "refused"), (451, "retry"), (554, "failed")])
def test_smtp_answers_map_to_outcomes(code, status):
    assert SmtpChannel._by_code(code, "x").status == status

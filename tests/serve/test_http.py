"""The service over real HTTP: a uvicorn server on a loopback port, the standard library's client."""

from __future__ import annotations

import http.client
import io
import logging
import threading
import time
from urllib.parse import urlsplit

import jsonschema
import pytest
from prometheus_client.parser import text_string_to_metric_families
from serve_client import TOKEN, Client

from engine._log import configure_logging
from engine.results import account_record
from engine.storage import Database

JSON = {"Content-Type": "application/json"}


def _account_ids(db_path, n: int = 5) -> list[str]:
    with Database(db_path, readonly=True) as db:
        run = db.latest_run_id()
        scores = db.read_results("account_scores", run)
    return sorted(scores["account_id"].astype(str))[:n]


def _lead(opportunity_id: str, account_id: str | None = None, **extra) -> dict:
    lead = {"opportunity_id": opportunity_id, "source": "web", "product_line": "server", "est_units": 4,
            "est_amount": 120000.0, "stage": "lead"}
    if account_id is not None:
        lead["account_id"] = account_id
    else:
        lead.update(prospect_name="Acme Rail", region="shandong", industry="transport")
    lead.update(extra)
    return lead


def _metric(text: str, name: str, **labels) -> float:
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


def test_route_records_one_decision_and_replays_it(running, service_copy):
    db_path = service_copy[0]
    account = _account_ids(db_path, 1)[0]
    client = Client(running.url)
    status, _, first = client.request("POST", "/route", _lead("LIVE-T-1", account))
    assert status == 200, first
    assert first["lead_id"] == "LIVE-T-1" and first["account_id"] == account
    assert first["tier_source"] == "run" and first["tier"] in ("A", "B", "C")
    assert first["route"] in ("owner", "outside", "inside", "partner", "unrouted")
    assert first["status"] in ("assigned", "unassigned") and first["replayed"] is False
    assert first["snapshot"] == 1
    status, _, again = client.request("POST", "/route", _lead("LIVE-T-1", account, est_amount=5.0))
    assert status == 200 and again["replayed"] is True
    assert (again["assignee_id"], again["route"], again["seq"]) == (first["assignee_id"], first["route"], first["seq"])
    status, _, prospect = client.request("POST", "/route", _lead("LIVE-T-2"))
    assert status == 200 and prospect["is_prospect"] is True and prospect["tier_source"] == "prospect"
    client.close()


@pytest.mark.parametrize(("body", "field", "status"), [
    ({"opportunity_id": "X1", "account_id": "K1", "source": "web", "product_line": "server", "est_units": 1,
      "est_amont": 5, "stage": "lead"}, "est_amont", 422),
    ({"opportunity_id": "X2", "source": "web", "product_line": "server", "est_units": 1, "est_amount": 5,
      "stage": "lead"}, "prospect_name", 422),
    ({"opportunity_id": "X3", "prospect_name": "P", "region": "shandong", "industry": "transport", "source": "web",
      "product_line": "server", "est_units": "many", "est_amount": 5, "stage": "lead"}, "est_units", 422),
    ({"opportunity_id": "X4", "prospect_name": "P", "region": "shandong", "industry": "transport", "source": "web",
      "product_line": "server", "est_units": 1, "est_amount": 5, "stage": "leed"}, "stage", 422),
    ([1, 2], "(body)", 422),
])
def test_an_invalid_lead_is_422_naming_the_field(running, body, field, status):
    client = Client(running.url)
    got, _, answer = client.request("POST", "/route", body)
    assert got == status, answer
    error = answer["error"]
    assert error["status"] == status
    problem = next(p for p in error["problems"] if p["field"] == field)
    assert problem["expected"] and problem["got"] and problem["fix"]
    if field == "est_amont":
        assert "est_amount" in problem["fix"]  # did you mean
    if field == "stage":
        assert "lead" in problem["fix"]
    client.close()


def test_bad_bodies_are_4xx_with_a_reason(running):
    client = Client(running.url)
    status, _, answer = client.request("POST", "/route", raw=b'{"opportunity_id": ', headers=JSON)
    assert status == 400 and "line 1 column" in answer["error"]["message"]
    status, _, answer = client.request("POST", "/route", raw=b"", headers=JSON)
    assert status == 400 and answer["error"]["problems"][0]["got"] == "an empty body"
    status, _, answer = client.request("POST", "/route", raw=b'{"est_amount": NaN}', headers=JSON)
    assert status == 400 and "NaN" in answer["error"]["message"]
    status, _, answer = client.request("POST", "/route", raw=b"opportunity_id=1",
                                       headers={"Content-Type": "text/plain"})
    assert status == 415 and answer["error"]["problems"][0]["field"] == "Content-Type"
    status, _, answer = client.request("POST", "/route", _lead("LIVE-U-1", "K-NOT-A-CUSTOMER"))
    assert status == 422 and answer["error"]["problems"][0]["field"] == "account_id"
    status, _, answer = client.request("GET", "/route")
    assert status == 405 and answer["error"]["problems"][0]["field"] == "(method)"
    status, _, answer = client.request("GET", "/nowhere")
    assert status == 404 and answer["error"]["problems"][0]["got"] == "/nowhere"
    client.close()


def test_a_body_over_the_limit_is_413_before_it_is_read(running):
    client = Client(running.url)
    big = {"opportunity_id": "BIG", "prospect_name": "x" * 5000}
    status, _, answer = client.request("POST", "/route", big)
    assert status == 413 and "4096" in answer["error"]["problems"][0]["expected"]
    client.close()
    # no Content-Length: chunked, counted while it streams in
    parts = urlsplit(running.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    chunks = (b"x" * 1024 for _ in range(8))
    connection.request("POST", "/route", body=chunks, encode_chunked=True,
                       headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
    response = connection.getresponse()
    assert response.status == 413
    connection.close()


def test_every_route_but_healthz_needs_the_token(running):
    anonymous = Client(running.url, token=None)
    status, _, health = anonymous.request("GET", "/healthz")
    assert status == 200 and health["status"] == "ok" and health["snapshot"] == 1
    for method, path in (("POST", "/route"), ("GET", "/accounts/K1"), ("GET", "/metrics"), ("GET", "/openapi.json")):
        status, headers, answer = anonymous.request(method, path)
        assert status == 401, path
        assert headers["www-authenticate"].startswith("Bearer")
        assert answer["error"]["problems"][0]["field"] == "Authorization"
    wrong = Client(running.url, token=TOKEN[:-1] + "x")
    status, headers, answer = wrong.request("GET", "/metrics")
    assert status == 401 and 'error="invalid_token"' in headers["www-authenticate"]
    assert TOKEN[:-1] not in str(answer)  # the token tried is never echoed
    status, _, answer = anonymous.request("GET", "/metrics", headers={"Authorization": f"Basic {TOKEN}"})
    assert status == 401 and "Basic" in answer["error"]["problems"][0]["got"]
    status, _, _ = anonymous.request("GET", "/metrics", headers={"Authorization": f"bearer {TOKEN}"})
    assert status == 200  # the scheme is case-insensitive (RFC 7235)
    for client in (anonymous, wrong):
        client.close()


def test_accounts_answer_what_kam_show_account_reads(running, service_copy):
    db_path = service_copy[0]
    account = _account_ids(db_path, 3)[2]
    client = Client(running.url)
    status, _, record = client.request("GET", f"/accounts/{account}")
    assert status == 200
    with Database(db_path, readonly=True) as db:
        expected = account_record(db, account)
    assert record["account"]["account_id"] == account
    assert record["account"]["tier"] == expected["account"]["tier"]
    assert record["run"]["run_id"] == expected["run"]["run_id"]
    assert len(record["opportunities"]) == len(expected["opportunities"])
    assert isinstance(record["alerts"], list)
    status, _, answer = client.request("GET", "/accounts/K-NOT-THERE")
    assert status == 404 and answer["error"]["problems"][0]["field"] == "account_id"
    client.close()


def test_metrics_are_prometheus_text_and_count(running, service_copy):
    account = _account_ids(service_copy[0], 1)[0]
    client = Client(running.url)
    for i in range(3):
        assert client.request("POST", "/route", _lead(f"LIVE-M-{i}", account))[0] == 200
    client.request("POST", "/route", {"bad": 1})
    status, headers, text = client.request("GET", "/metrics")
    assert status == 200 and headers["content-type"].startswith("text/plain; version=0.0.4")
    assert _metric(text, "kam_http_requests_total", route="/route", status="200") == 3
    assert _metric(text, "kam_http_requests_total", route="/route", status="422") == 1
    assert _metric(text, "kam_http_request_duration_seconds_count", route="/route") == 4
    assert _metric(text, "kam_route_decisions_total") == 3
    assert _metric(text, "kam_snapshot_generation") == 1
    client.request("GET", "/accounts/K0000001")
    text = client.request("GET", "/metrics")[2]
    assert _metric(text, "kam_http_requests_total", route="/accounts/{account_id}") == 1  # a template, never the id
    client.close()


def test_openapi_describes_what_the_service_accepts(running, service_copy):
    account = _account_ids(service_copy[0], 1)[0]
    client = Client(running.url)
    status, _, document = client.request("GET", "/openapi.json")
    assert status == 200 and document["openapi"].startswith("3.1")
    lead_schema = document["components"]["schemas"]["Lead"]
    lead = _lead("LIVE-O-1", account)
    jsonschema.validate(lead, lead_schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(_lead("LIVE-O-2", account, stage="leed"), lead_schema)
    status, _, decision = client.request("POST", "/route", lead)
    assert status == 200
    decision_schema = document["components"]["schemas"]["Decision"]
    jsonschema.validate(decision, decision_schema)
    client.close()


def test_no_secret_reaches_a_log_line(running, service_copy):
    stream = io.StringIO()
    handler = configure_logging("DEBUG", "text", stream=stream)  # no secret registered: the service must not log it
    logging.getLogger("uvicorn.error").handlers = [handler]
    try:
        account = _account_ids(service_copy[0], 1)[0]
        client = Client(running.url)
        client.request("POST", f"/route?token={TOKEN}", _lead("LIVE-S-1", account))
        client.request("GET", f"/accounts/{account}?access_token={TOKEN}")
        stranger = Client(running.url, token="an-attempted-token-value-123")
        stranger.request("GET", "/metrics")
        stranger.close()
        client.request("POST", "/route", {"opportunity_id": TOKEN})  # a secret pasted into a body
        client.close()
    finally:
        configure_logging("WARNING", "text")
    text = stream.getvalue()
    assert "POST /route -> 200" in text  # the access line is there, without the query string
    assert TOKEN not in text
    assert "an-attempted-token-value-123" not in text


def test_a_reload_swaps_the_snapshot_without_dropping_requests(running, service_copy):
    """Four clients route leads without pause while a rule file changes and the router reloads."""
    account_ids = _account_ids(service_copy[0], 40)
    rules = service_copy[2]
    results: list[tuple[int, int]] = []
    stop = threading.Event()

    def worker(n: int) -> None:
        client = Client(running.url)
        i = 0
        while not stop.is_set():
            status, _, answer = client.request("POST", "/route", _lead(f"LIVE-R-{n}-{i}", account_ids[i % 40]))
            results.append((status, answer.get("snapshot", -1) if isinstance(answer, dict) else -1))
            i += 1
        client.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    routing = rules / "routing.yaml"
    routing.write_text(routing.read_text() + "\n# edited while serving\n")
    deadline = time.monotonic() + 60
    while running.service.holder.current.generation < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    stop.set()
    for thread in threads:
        thread.join()
    assert running.service.holder.current.generation == 2
    assert all(status == 200 for status, _ in results), [r for r in results if r[0] != 200][:3]
    generations = {generation for _, generation in results}
    assert generations == {1, 2}  # requests were answered by the old snapshot, then the new one
    client = Client(running.url)
    text = client.request("GET", "/metrics")[2]
    client.close()
    assert _metric(text, "kam_snapshot_reloads_total", outcome="ok") == 1
    assert _metric(text, "kam_snapshot_generation") == 2


def test_a_failed_reload_keeps_serving_the_old_snapshot(running, service_copy, caplog):
    account = _account_ids(service_copy[0], 1)[0]
    routing = service_copy[2] / "routing.yaml"
    good = routing.read_text()
    client = Client(running.url)
    with caplog.at_level(logging.ERROR, logger="kam.serve"):
        routing.write_text("rules: [this is not: a rule file")
        deadline = time.monotonic() + 30
        while running.service.holder.failed_reloads < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
    assert running.service.holder.failed_reloads == 1
    assert any("reload" in r.getMessage() and "still serving snapshot 1" in r.getMessage() for r in caplog.records)
    status, _, decision = client.request("POST", "/route", _lead("LIVE-F-1", account))
    assert status == 200 and decision["snapshot"] == 1
    assert client.request("GET", "/healthz")[2]["last_reload"] == "failed"
    time.sleep(0.5)
    assert running.service.holder.failed_reloads == 1  # the same broken file is not retried every poll
    client.close()  # the wait below can pass the server's 5 s keep-alive: a new connection after it
    routing.write_text(good + "\n# fixed\n")
    deadline = time.monotonic() + 60
    while running.service.holder.current.generation < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert running.service.holder.current.generation == 2
    client = Client(running.url)
    text = client.request("GET", "/metrics")[2]
    assert _metric(text, "kam_snapshot_reloads_total", outcome="failed") == 1
    assert _metric(text, "kam_snapshot_reloads_total", outcome="ok") == 1
    assert client.request("GET", "/healthz")[2]["last_reload"] == "ok"
    client.close()


def test_the_service_keeps_the_sqlite_wal_between_decisions(running, service_copy):
    """An idle connection is kept open: a decision's close is not the file's last, so it does not
    checkpoint and delete the WAL (four disk syncs per lead); an ADBC read in between does not break it."""
    from pathlib import Path

    db_path = service_copy[0]
    wal = Path(str(db_path) + "-wal")
    accounts = _account_ids(db_path, 2)
    client = Client(running.url)
    kept = running.service._kept
    for n, account in enumerate(accounts):
        status, _, _ = client.request("GET", f"/accounts/{account}")  # a read (ADBC: the idle connection steps aside)
        assert status == 200
        status, _, answer = client.request("POST", "/route", _lead(f"LIVE-WAL-{n}", account))
        assert status == 200, answer
        assert wal.exists() and wal.stat().st_size > 0  # the decision's close left the WAL in place
        assert kept is not None and kept.connection is not None  # open again for the decision
    client.close()
    running.stop()  # serving ends; the server closes its service
    assert kept.connection is None


def test_the_listening_socket_is_tcp_so_answers_are_not_held_by_nagle(running):
    """asyncio sets TCP_NODELAY only on sockets whose proto is IPPROTO_TCP; a proto-0 socket made every
    answer wait ~40 ms for a delayed ACK (the HTTP floor was 175 requests/s on 8 clients, now ~2,000)."""
    import socket

    assert running._socket.proto == socket.IPPROTO_TCP


def test_a_request_in_flight_across_a_reload_completes_with_its_snapshot(service_copy):
    """One request is held inside the router while the snapshot is replaced: it answers 200 from snapshot 1,
    and the next request is decided by snapshot 2."""
    from engine.live import LiveRouter
    from engine.serve import ServeOptions, ServiceServer

    db, models, rules = service_copy
    inside, release = threading.Event(), threading.Event()

    class HeldRouter(LiveRouter):
        def route(self, lead, *, source="lead"):
            if lead.get("opportunity_id") == "LIVE-HELD":
                inside.set()
                assert release.wait(60)
            return super().route(lead, source=source)

    server = ServiceServer(db, ServeOptions(token=TOKEN, reload_poll_seconds=0), port=0, rules_dir=rules,
                           artifacts_dir=models,
                           load_router=lambda database: HeldRouter(database, rules_dir=rules, artifacts_dir=models))
    server.open().start_background()
    try:
        account = _account_ids(db, 1)[0]
        held: dict = {}

        def send_held() -> None:
            client = Client(server.url)
            held["answer"] = client.request("POST", "/route", _lead("LIVE-HELD", account))
            client.close()

        thread = threading.Thread(target=send_held)
        thread.start()
        assert inside.wait(60)
        server.service.request_reload()
        deadline = time.monotonic() + 60
        while server.service.holder.current.generation < 2:
            assert time.monotonic() < deadline, "the reload did not finish"
            time.sleep(0.05)
        client = Client(server.url)
        status, _, after = client.request("POST", "/route", _lead("LIVE-AFTER", account))
        client.close()
        assert status == 200 and after["snapshot"] == 2
        release.set()
        thread.join(60)
        status, _, answer = held["answer"]
        assert status == 200 and answer["snapshot"] == 1 and answer["lead_id"] == "LIVE-HELD"
    finally:
        release.set()
        server.stop()

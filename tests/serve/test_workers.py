"""``kam serve --workers 2``: both workers answer, SIGHUP replaces them without a dropped request,
SIGTERM stops them, a worker that cannot start fails the command, and routing through both
never over-fills a person nor decides a lead twice (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from serve_client import TOKEN, Client, Service

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="worker processes and SIGHUP are POSIX")

KAM = [sys.executable, "-m", "engine"]


def _env(**extra: str) -> dict[str, str]:
    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAM_")}
    env["PYTHONPATH"] = str(root) + os.pathsep + env.get("PYTHONPATH", "")
    env["COLUMNS"] = "200"
    env.update(KAM_SERVE_TOKEN=TOKEN, KAM_SERVE_RELOAD_POLL_SECONDS="0", **extra)
    return env


def _start(db: str, models: Path, rules: Path) -> tuple[Service, str]:
    service = Service([*KAM, "--log-level", "INFO", "serve", "--db", db, "--models", str(models), "--rules",
                       str(rules), "--port", "0", "--workers", "2"], _env(), rules.parent / "serve.log")
    try:
        line = service.line()
        assert "listening on http://127.0.0.1:" in line and "2 workers" in line, line
    except BaseException:
        service.kill()
        raise
    return service, line.split("listening on ")[1].split()[0]


def _pids(url: str, want: int, timeout: float = 90.0, exclude: frozenset[int] = frozenset()) -> set[int]:
    """Distinct worker pids answering /healthz on new connections, until ``want`` new ones answered."""
    seen: set[int] = set()
    deadline = time.monotonic() + timeout
    while len(seen - exclude) < want:
        assert time.monotonic() < deadline, f"only pids {seen} answered within {timeout:.0f} s"
        client = Client(url)
        status, _, health = client.request("GET", "/healthz")
        client.close()
        assert status == 200, health
        seen.add(health["pid"])
    return seen - exclude


def _stop(service: Service) -> str:
    code, stderr = service.stop(signal.SIGTERM)
    assert code == 0, stderr
    assert "stopped 2 workers after their requests in flight" in stderr
    assert TOKEN not in stderr
    return stderr


def test_two_workers_answer_reload_on_sighup_without_dropping_a_request_and_stop(service_copy):
    db, models, rules = service_copy
    service, url = _start(str(db), models, rules)
    try:
        first = _pids(url, 2)
        assert service.pid not in first
        for pid in first:  # the token reaches a worker through the spawn pipe, never its command line
            cmdline = Path(f"/proc/{pid}/cmdline")
            if cmdline.exists():
                assert TOKEN.encode() not in cmdline.read_bytes()
        failures: list[object] = []
        answered = [0]
        done = threading.Event()

        def keep_asking() -> None:  # new connections throughout the replacement: none may fail
            while not done.is_set():
                try:
                    client = Client(url)
                    status, _, body = client.request("GET", "/accounts/does-not-exist")
                    client.close()
                    if status != 404:
                        failures.append((status, body))
                    answered[0] += 1
                except OSError as error:
                    failures.append(error)

        asking = threading.Thread(target=keep_asking)
        asking.start()
        try:
            service.process.send_signal(signal.SIGHUP)
            second = _pids(url, 2, exclude=frozenset(first))  # two freshly loaded workers answer ...
            deadline = time.monotonic() + 30
            while _pids(url, 1) & first:  # ... and the old ones are gone
                assert time.monotonic() < deadline, "the old workers still answer after SIGHUP"
        finally:
            done.set()
            asking.join(60)
            assert not asking.is_alive(), "the client thread is stuck"
        assert failures == [] and answered[0] > 0
        assert len(second) == 2
        stderr = _stop(service)
    finally:
        service.kill()
    assert "Received SIGHUP, restarting processes" in stderr


def test_a_worker_that_cannot_start_fails_the_command_and_says_why(service_copy):
    db, models, rules = service_copy
    (rules / "routing.yaml").write_text("rules: [not a rule file")
    started = time.monotonic()
    done = subprocess.run([*KAM, "serve", "--db", str(db), "--models", str(models), "--rules", str(rules),
                           "--port", "0", "--workers", "2"], env=_env(), capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode != 0, done.stderr
    assert time.monotonic() - started < 60
    message = " ".join(done.stderr.split())
    assert "routing.yaml" in message and "worker process" in message and "could not load" in message, message
    assert TOKEN not in done.stderr


def _lead(opportunity_id: str, account_id: str) -> dict:
    return {"opportunity_id": opportunity_id, "account_id": account_id, "source": "web", "product_line": "server",
            "est_units": 3, "est_amount": 80000.0, "stage": "lead"}


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_routing_through_two_workers_decides_each_lead_once_within_capacity(backend, service_copy, request):
    from engine.live import LiveRouter
    from engine.storage import Database

    db, models, rules = service_copy
    target = str(db) if backend == "sqlite" else request.getfixturevalue("postgres_service_db")
    with Database(target) as database:
        accounts = sorted(database.read_results("account_scores", database.latest_run_id(),
                                                columns=["account_id"])["account_id"].astype(str))[:60]
    service, url = _start(target, models, rules)
    clients, per_client = 8, 10
    answers: list[dict] = []
    statuses: list[int] = []
    try:
        _pids(url, 2)  # both workers loaded
        together = threading.Barrier(clients)
        tag = f"W{backend[0].upper()}{os.getpid()}"

        def client(index: int) -> None:
            http = Client(url)
            together.wait()
            own = [_lead(f"{tag}-{index}-{i}", accounts[(index * per_client + i) % len(accounts)])
                   for i in range(per_client)]
            for lead in [_lead(f"{tag}-SAME", accounts[0]), *own]:
                status, _, answer = http.request("POST", "/route", lead)
                statuses.append(status)
                answers.append(answer)
            http.close()

        threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert not any(thread.is_alive() for thread in threads), "a client thread is stuck"
        _stop(service)
    finally:
        service.kill()
    assert statuses == [200] * (clients * (per_client + 1)), [a for a in answers if "error" in a][:2]
    same = [a for a in answers if a["lead_id"] == f"{tag}-SAME"]
    assert sum(not a["replayed"] for a in same) == 1
    assert len({(a["assignee_id"], a["route"], a["seq"]) for a in same}) == 1

    router = LiveRouter(target, artifacts_dir=models, rules_dir=rules, as_of="2026-10-01")
    try:
        recorded = router.store.assignments()
        loads = router.store.loads()
        policy = router._snapshot.policy
    finally:
        router.close()
    ids = recorded["lead_id"].astype(str)
    assert not ids.duplicated().any()
    assert set(ids) >= {a["lead_id"] for a in answers}
    claimed = recorded[recorded["load_claimed"].astype(int) == 1]
    for kind, person in set(zip(claimed["assignee_type"].astype(str), claimed["assignee_id"].astype(str))):
        assert loads[(kind, person)] <= policy.capacity(kind, person), (kind, person)


def test_sigterm_while_the_workers_load_stops_at_once(service_copy):
    db, models, rules = service_copy
    service, _ = _start(str(db), models, rules)
    try:
        started = time.monotonic()
        code, stderr = service.stop(signal.SIGTERM, timeout=60)  # the workers are still loading
        # at once, not after the workers' load (up to 300 s): 60 s leaves room for a busy machine
        assert time.monotonic() - started < 60, stderr
        assert code == 0, stderr
    finally:
        service.kill()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(")")[-1].split()[0] == "Z")  # a zombie has exited


def test_workers_stop_by_themselves_when_their_supervisor_is_killed(service_copy):
    """SIGKILL to the supervisor alone: its workers notice within seconds and exit (no orphans)."""
    db, models, rules = service_copy
    service, url = _start(str(db), models, rules)
    try:
        workers = _pids(url, 2)
        os.kill(service.pid, signal.SIGKILL)
        service.process.wait(timeout=30)
        deadline = time.monotonic() + 60
        while any(_alive(pid) for pid in workers):
            assert time.monotonic() < deadline, f"workers {workers} still run 60 s after their supervisor died"
            time.sleep(0.2)
        assert "its supervisor (process" in service.stderr()
    finally:
        service.kill()


def test_a_worker_that_ignores_sigterm_is_killed_after_the_grace_period():
    """The supervisor's waits are bounded: a worker stuck in its shutdown is killed, not waited for."""
    import multiprocessing

    from engine.serve._workers import _retire

    context = multiprocessing.get_context("spawn")
    stuck = context.Process(target=_ignore_sigterm_and_sleep, daemon=True)
    stuck.start()
    ready = time.monotonic() + 60
    while not _ignores_sigterm(stuck.pid):
        assert time.monotonic() < ready, "the child never ignored SIGTERM"
        time.sleep(0.05)

    class _Worker:  # the part of uvicorn's worker handle that _retire uses
        process = stuck
        pid = stuck.pid

        def terminate(self) -> None:
            os.kill(stuck.pid, signal.SIGTERM)

    started = time.monotonic()
    assert _retire(_Worker(), grace=0.5) is False
    assert not stuck.is_alive() and time.monotonic() - started < 10


def _ignores_sigterm(pid: int) -> bool:
    fields = dict(line.split(":\t", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                  if ":\t" in line)
    return bool(int(fields.get("SigIgn", "0"), 16) & (1 << (signal.SIGTERM - 1)))


def _ignore_sigterm_and_sleep() -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    time.sleep(120)


def _serve_in_thread(server_class: type) -> tuple[object, threading.Thread, int]:
    import socket

    import uvicorn

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    server = server_class(uvicorn.Config(app, lifespan="off", log_config=None, timeout_graceful_shutdown=5))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the test server did not start"
        time.sleep(0.01)
    return server, thread, sock.getsockname()[1]


@pytest.mark.parametrize("answered", [True, False], ids=["kam-worker-server", "plain-uvicorn"])
def test_a_stopping_worker_answers_a_connection_it_accepted_before_the_request_arrived(answered):
    """The request that a SIGHUP restart dropped on a busy machine, made deterministic.

    A client connects, the worker accepts, the worker is told to stop, then the request bytes
    arrive. kam's worker server answers it; uvicorn's own closes the connection unanswered (the
    second case shows the failure this guards against, so the first cannot pass by accident).
    """
    import socket

    import uvicorn

    from engine.serve._workers import _WorkerServer

    server, thread, port = _serve_in_thread(_WorkerServer if answered else uvicorn.Server)
    client = socket.create_connection(("127.0.0.1", port), timeout=30)
    try:
        deadline = time.monotonic() + 30
        while not server.server_state.connections:  # accepted by the server, no request on it yet
            assert time.monotonic() < deadline, "the server never accepted the connection"
            time.sleep(0.01)
        server.should_exit = True
        while any(listening.is_serving() for listening in server.servers):  # the stop is under way ...
            assert time.monotonic() < deadline, "the server never began to stop"
            time.sleep(0.01)
        # ... and only now does the request arrive (the race, made certain)
        try:
            client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            reply = client.recv(1024)
        except OSError:
            reply = b""
    finally:
        client.close()
        thread.join(30)
    assert not thread.is_alive()
    assert reply.startswith(b"HTTP/1.1 200") is answered, reply


def test_sigterm_during_a_sighup_restart_stops_without_finishing_the_restart(service_copy):
    """The restart runs inside the supervisor's signal handling; a stop arriving then is acted on."""
    db, models, rules = service_copy
    service, url = _start(str(db), models, rules)
    try:
        _pids(url, 2)
        service.process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 60
        while "Received SIGHUP" not in service.stderr():  # the restart has begun
            assert time.monotonic() < deadline, "the supervisor never began the restart"
            time.sleep(0.05)
        started = time.monotonic()
        code, stderr = service.stop(signal.SIGTERM, timeout=90)
        assert code == 0, stderr
        assert time.monotonic() - started < 45, stderr  # not after two more worker loads and retirements
        assert "stopped 2 workers" in stderr
    finally:
        service.kill()


def test_a_queued_stop_signal_ends_the_wait_for_a_replacement_worker():
    """Before the fix the wait looked only at should_exit, which a queued SIGTERM had not set yet."""
    from engine.serve._workers import _ready, _stop_requested

    class _Supervisor:
        signal_queue = [signal.SIGTERM]
        should_exit = threading.Event()

    class _Loading:  # a replacement worker that is alive and not ready yet
        class process:
            @staticmethod
            def is_alive() -> bool:
                return True

        @staticmethod
        def is_ready(timeout: float) -> bool:
            time.sleep(timeout)
            return False

    supervisor = _Supervisor()
    started = time.monotonic()
    assert _ready(_Loading(), 300, lambda: _stop_requested(supervisor)) is False
    assert time.monotonic() - started < 5 and supervisor.should_exit.is_set()

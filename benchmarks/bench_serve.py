"""Load-test ``kam serve`` on loopback: 8 concurrent clients POST /route on the 20,000-account demo.

Targets (issue 13): p99 <= 50 ms and >= 200 leads/s on 2 cores, zero errors; afterwards no rep
or partner over capacity and no lead assigned twice.

    python benchmarks/bench_serve.py                       # 20,000 accounts, 8 clients, 20 s
    python benchmarks/bench_serve.py --seconds 10 --clients 4
    python benchmarks/bench_serve.py --workers 1,2            # one process, then two workers

The demo database is generated once (``engine.demo.generate_demo_database``) into ``--work``
and reused, the models are trained once on a smaller demo (``--train-accounts``) as
``bench_score.py`` does, and one scoring run is written (``kam score``) so the accounts have
tiers and the people their batch loads. Each benchmark run then works on a fresh copy of that
scored database (live decisions are recorded there).

Measured side by side in one run:

1. ``kam serve`` started as its own process (as deployed); the time to "listening" is printed.
2. The HTTP floor: ``GET /healthz`` (no database, no model) from the same 8 clients.
3. The service: ``POST /route`` from one client for 5 s (what HTTP adds to one decision), then
   from 8 clients, each with one keep-alive connection, each lead new (``BENCH-<client>-<n>``),
   80 % for existing accounts and 20 % prospects, for ``--seconds`` after a warm-up;
   throughput, p50 / p90 / p99 / max latency, errors.
4. The plain baseline: the library's ``LiveRouter.route`` in this process, one lead at a time,
   on another copy (what the service adds over it is HTTP, JSON and the concurrency).

Then the checks, read from the database: every lead recorded once (``live_assignments.lead_id``
unique, one row per answered lead), and no person's live load above their capacity. The load
average before and after is printed: the machine may be shared.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _ensure_database(path: Path, accounts: int, seed: int) -> None:
    from engine.demo import DEMO_END_DATE, generate_demo_database

    if path.exists():
        print(f"reusing {path}")
        return
    started = time.perf_counter()
    summary = generate_demo_database(path, accounts=accounts, seed=seed, end_date=DEMO_END_DATE)
    print(f"generated {path} ({sum(summary.row_counts.values()):,} rows) in {time.perf_counter() - started:.0f} s")


def _ensure_models(models: Path, work: Path, train_accounts: int, seed: int) -> None:
    from engine.demo import DEMO_END_DATE
    from engine.pipeline import ingest, train_model
    from engine.storage import Database

    missing = [kind for kind in ("churn", "win") if not (models / f"{kind}.joblib").exists()]
    if not missing:
        print(f"reusing models in {models}")
        return
    train_db = work / f"demo-{train_accounts}-seed{seed}.sqlite"
    _ensure_database(train_db, train_accounts, seed)
    with Database(train_db) as db:
        tables = ingest(db, as_of=DEMO_END_DATE + dt.timedelta(days=1)).tables
    for kind in missing:
        started = time.perf_counter()
        trained = train_model(tables, kind, artifacts_dir=models, force=True)
        print(f"trained {kind} ({trained.card.selected_candidate}) in {time.perf_counter() - started:.0f} s")


def _ensure_scored(source: Path, scored: Path, models: Path) -> None:
    from engine.cli import main

    if scored.exists():
        print(f"reusing scored database {scored}")
        return
    partial = scored.with_suffix(".partial")
    shutil.copy(source, partial)
    started = time.perf_counter()
    assert main(["score", "--db", str(partial), "--models", str(models)]) == 0, "kam score failed"
    partial.rename(scored)
    print(f"scored {scored} in {time.perf_counter() - started:.0f} s")


def _fresh_copy(scored: Path, target: Path) -> Path:
    for suffix in ("", "-wal", "-shm"):
        Path(str(target) + suffix).unlink(missing_ok=True)
    shutil.copy(scored, target)
    return target


def _leads(account_ids: list[str], client: int, seed: int):
    """An endless, seeded stream of new leads for one client."""
    from engine.contract import CUSTOMER_DATABASE

    spec = {c.name: c for c in CUSTOMER_DATABASE["opportunities"].columns}
    rng = np.random.default_rng([seed, client])
    n = 0
    while True:
        lead = {"opportunity_id": f"BENCH-{client}-{n}",
                "source": str(rng.choice(spec["source"].allowed)),
                "product_line": str(rng.choice(spec["product_line"].allowed)),
                "est_units": int(rng.integers(1, 60)),
                "est_amount": float(round(rng.lognormal(11.5, 1.0), 2)),
                "stage": str(rng.choice(["lead", "qualified", "proposal"]))}
        if rng.random() < 0.8:
            lead["account_id"] = account_ids[int(rng.integers(len(account_ids)))]
        else:
            lead.update(prospect_name=f"Prospect {client}-{n}", region=str(rng.choice(spec["region"].allowed)),
                        industry=str(rng.choice(spec["industry"].allowed)))
        yield lead
        n += 1


class _Load:
    """``clients`` threads, each on one keep-alive connection, until ``stop`` is set."""

    def __init__(self, url: str, token: str, clients: int):
        parts = urlsplit(url)
        self.address = (parts.hostname, parts.port)
        self.token = token
        self.clients = clients

    def run(self, make_request, warmup_s: float, seconds: float):
        latencies: list[list[float]] = [[] for _ in range(self.clients)]
        errors: list[list[str]] = [[] for _ in range(self.clients)]
        answers: list[list[dict]] = [[] for _ in range(self.clients)]
        measuring = threading.Event()
        stop = threading.Event()

        def worker(index: int) -> None:
            connection = http.client.HTTPConnection(*self.address, timeout=60)
            requests = make_request(index)
            while not stop.is_set():
                method, path, body = next(requests)
                headers = {"Authorization": f"Bearer {self.token}"}
                payload = None
                if body is not None:
                    payload = json.dumps(body).encode()
                    headers["Content-Type"] = "application/json"
                started = time.perf_counter()
                try:
                    connection.request(method, path, body=payload, headers=headers)
                    response = connection.getresponse()
                    data = response.read()
                    status = response.status
                except (OSError, http.client.HTTPException) as error:
                    status, data = -1, repr(error).encode()
                    connection.close()
                    connection = http.client.HTTPConnection(*self.address, timeout=60)
                elapsed = time.perf_counter() - started
                if not measuring.is_set():
                    continue
                if status != 200:
                    errors[index].append(f"{status}: {data[:300]!r}")
                else:
                    latencies[index].append(elapsed)
                    if body is not None:
                        answers[index].append(json.loads(data))
            connection.close()

        threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(self.clients)]
        for thread in threads:
            thread.start()
        time.sleep(warmup_s)
        measuring.set()
        started = time.perf_counter()
        time.sleep(seconds)
        stop.set()
        for thread in threads:
            thread.join(120)
        wall = time.perf_counter() - started
        return ([x for part in latencies for x in part], [x for part in errors for x in part],
                [x for part in answers for x in part], wall)


def _summary(name: str, latencies: list[float], wall: float, errors: list[str]) -> dict:
    values = np.asarray(latencies) * 1000
    figures = {"requests": len(values), "per_s": len(values) / wall if wall else 0.0, "errors": len(errors)}
    for q in (50, 90, 99):
        figures[f"p{q}_ms"] = float(np.percentile(values, q)) if len(values) else float("nan")
    figures["max_ms"] = float(values.max()) if len(values) else float("nan")
    print(f"{name:<34} {figures['requests']:>7,} ok {figures['errors']:>4} errors {figures['per_s']:>8.1f}/s  "
          f"p50 {figures['p50_ms']:6.1f} ms  p90 {figures['p90_ms']:6.1f} ms  p99 {figures['p99_ms']:6.1f} ms  "
          f"max {figures['max_ms']:6.1f} ms")
    return figures


def _library_baseline(scored: Path, work: Path, models: Path, account_ids: list[str], leads: int, seed: int) -> dict:
    from engine.live import LiveRouter

    copy = _fresh_copy(scored, work / "bench-serve-library.sqlite")
    router = LiveRouter(copy, artifacts_dir=models)
    stream = _leads(account_ids, 99, seed)
    for _ in range(20):  # warm-up, as the service gets
        router.route(next(stream))
    latencies = []
    started = time.perf_counter()
    for _ in range(leads):
        one = time.perf_counter()
        router.route(next(stream))
        latencies.append(time.perf_counter() - one)
    wall = time.perf_counter() - started
    router.close()
    return _summary("library LiveRouter.route, 1 thread", latencies, wall, [])


def _check_database(db_path: Path, models: Path, answers: list[dict]) -> bool:
    from engine.live import LiveRouter

    router = LiveRouter(db_path, artifacts_dir=models)  # the people and their capacities, as the service saw them
    try:
        recorded = router.store.assignments()
        loads = router.store.loads()
        policy = router._snapshot.policy
    finally:
        router.close()
    ids = recorded["lead_id"].astype(str)
    answered = {a["lead_id"] for a in answers}
    twice = int(ids.duplicated().sum())
    replayed = sum(1 for a in answers if a.get("replayed"))
    missing = len(answered - set(ids))
    claimed = recorded[recorded["load_claimed"].astype(int) == 1]
    people = set(zip(claimed["assignee_type"].astype(str), claimed["assignee_id"].astype(str)))
    over = [(kind, person, loads.get((kind, person), 0), policy.capacity(kind, person)) for kind, person in people
            if loads.get((kind, person), 0) > policy.capacity(kind, person)]
    assigned = int((recorded["status"].astype(str) == "assigned").sum())
    print(f"database: {len(recorded):,} live decisions ({assigned:,} assigned, {len(claimed):,} claimed a slot) for "
          f"{len(answered):,} answered leads; recorded twice: {twice}; answered but not recorded: {missing}; "
          f"replayed answers: {replayed}; people who took live leads: {len(people)}, over capacity: {len(over)}")
    for row in over[:5]:
        print(f"  OVER CAPACITY: {row}")
    return twice == 0 and missing == 0 and replayed == 0 and not over


def _wait_for_workers(url: str, workers: int, timeout: float = 300.0) -> None:
    """Poll /healthz (new connections) until ``workers`` distinct pids answered."""
    parts = urlsplit(url)
    seen: set[int] = set()
    deadline = time.monotonic() + timeout
    while len(seen) < workers and time.monotonic() < deadline:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
        connection.request("GET", "/healthz")
        seen.add(json.loads(connection.getresponse().read())["pid"])
        connection.close()
    if len(seen) < workers:
        raise RuntimeError(f"only {len(seen)} of {workers} workers answered within {timeout:.0f} s")


def _service_run(root: Path, db_path: Path, models: Path, args, account_ids: list[str], label: str,
                 workers: int = 1) -> dict | None:
    """Start ``kam serve --workers N`` with the ``engine`` of ``root`` on ``db_path``; measure; stop it."""
    token = secrets.token_urlsafe(32)
    env = {**os.environ, "KAM_SERVE_TOKEN": token,
           "PYTHONPATH": str(root) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    command = [sys.executable, "-m", "engine", "serve", "--db", str(db_path), "--models", str(models), "--port", "0"]
    if workers > 1:
        command += ["--workers", str(workers)]
    started = time.perf_counter()
    # cwd=root: `python -m` puts the working folder first on sys.path, ahead of PYTHONPATH
    server = subprocess.Popen(command, env=env, cwd=root, stdout=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()
        if "listening on" not in line:
            print(f"{label}kam serve did not start (exit {server.wait(60)}): {line!r}")
            return None
        url = line.split("listening on ")[1].split()[0]
        print(f"{label}kam serve (engine of {root}) listening on {url} after {time.perf_counter() - started:.1f} s "
              "(process start, database read, features, rules and model loaded)")
        load = _Load(url, token, args.clients)
        if workers > 1:  # the line comes once the socket listens; wait for every worker's snapshot
            _wait_for_workers(url, workers)
            print(f"{label}{workers} workers ready after {time.perf_counter() - started:.1f} s")

        def health(_: int):
            while True:
                yield "GET", "/healthz", None

        latencies, errors, _, wall = load.run(health, 0.5, min(5.0, args.seconds))
        floor = _summary(f"{label}GET /healthz, {args.clients} clients (HTTP floor)", latencies, wall, errors)

        def route(index: int):
            for lead in _leads(account_ids, index, args.seed):
                yield "POST", "/route", lead

        def own_route(index: int):  # leads of their own, apart from the concurrent run's
            yield from route(1000 + index)

        latencies, one_errors, one_answers, wall = _Load(url, token, 1).run(own_route, 0.5, min(5.0, args.seconds))
        single = _summary(f"{label}POST /route, 1 client", latencies, wall, one_errors)
        latencies, errors, answers, wall = load.run(route, args.warmup, args.seconds)
        service = _summary(f"{label}POST /route, {args.clients} clients", latencies, wall, errors)
        for error in (errors + one_errors)[:5]:
            print(f"  error: {error}")
        server.send_signal(signal.SIGTERM)
        server.wait(60)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    return {"floor": floor, "single": single, "service": service, "answers": answers + one_answers}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "kam-bench")
    parser.add_argument("--models", type=Path, help="folder with churn.joblib/win.joblib (trained when missing)")
    parser.add_argument("--train-accounts", type=int, default=3_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20.0, help="measured window of the POST /route load")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--library-leads", type=int, default=300, help="leads for the in-process baseline")
    parser.add_argument("--workers", default="1", help="comma-separated worker counts (e.g. 1,2): each "
                        "measured in turn on its own copy of the scored database, side by side")
    parser.add_argument("--before", type=Path, help="checkout of an earlier kam: its service measured first, "
                        "on its own copy, for a side-by-side figure")
    args = parser.parse_args(argv)

    args.work.mkdir(parents=True, exist_ok=True)
    source = args.work / f"demo-{args.accounts}-seed{args.seed}.sqlite"
    models = args.models or args.work / "models"
    _ensure_database(source, args.accounts, args.seed)
    _ensure_models(models, args.work, args.train_accounts, args.seed)
    scored = args.work / f"demo-{args.accounts}-seed{args.seed}-scored.sqlite"
    _ensure_scored(source, scored, models)

    from engine.storage import Database

    with Database(scored, readonly=True) as db:
        account_ids = sorted(db.read_results("account_scores", db.latest_run_id(), columns=["account_id"])
                             ["account_id"].astype(str))
    print(f"{len(account_ids):,} scored accounts; {args.clients} clients; {os.cpu_count()} cores; "
          f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")

    before = None
    if args.before is not None:  # the earlier checkout first, on its own copy, under the same load
        before_path = _fresh_copy(scored, args.work / "bench-serve-before.sqlite")
        before = _service_run(args.before.resolve(), before_path, models, args, account_ids, "before: ",
                              int(str(args.workers).split(",")[-1]))
        if before is None:
            return 1
        _check_database(before_path, models, before["answers"])
    counts = [int(x) for x in str(args.workers).split(",") if x.strip()]
    by_workers: dict[int, dict] = {}
    all_consistent = True
    for count in counts[:-1]:  # the last count is the one checked against the targets below
        path = _fresh_copy(scored, args.work / f"bench-serve-live-w{count}.sqlite")
        earlier = _service_run(ROOT, path, models, args, account_ids, f"workers {count}: ", count)
        if earlier is None:
            return 1
        by_workers[count] = earlier["service"]
        all_consistent &= _check_database(path, models, earlier["answers"])
    db_path = _fresh_copy(scored, args.work / "bench-serve-live.sqlite")
    label = f"workers {counts[-1]}: " if len(counts) > 1 else ""
    run = _service_run(ROOT, db_path, models, args, account_ids, label, counts[-1])
    if run is None:
        return 1
    floor, single, service, answers = run["floor"], run["single"], run["service"], run["answers"]
    by_workers[counts[-1]] = service
    library = _library_baseline(scored, args.work, models, account_ids, args.library_leads, args.seed)
    print(f"HTTP layer: POST /route p50 with 1 client / library p50: {single['p50_ms'] / library['p50_ms']:.2f}x "
          f"(+{single['p50_ms'] - library['p50_ms']:.1f} ms); 8 clients / 1 client throughput: "
          f"{service['per_s'] / single['per_s']:.2f}x")
    print(f"service p50 / library p50: {service['p50_ms'] / library['p50_ms']:.2f}x; "
          f"service p50 / HTTP floor p50: {service['p50_ms'] / floor['p50_ms']:.1f}x")
    if before is not None:
        b = before["service"]
        print(f"before -> after, POST /route with {args.clients} clients: {b['per_s']:.1f}/s -> {service['per_s']:.1f}/s "
              f"({service['per_s'] / b['per_s']:.1f}x); p50 {b['p50_ms']:.1f} -> {service['p50_ms']:.1f} ms; "
              f"p99 {b['p99_ms']:.1f} -> {service['p99_ms']:.1f} ms ({b['p99_ms'] / service['p99_ms']:.1f}x lower)")
    if len(by_workers) > 1:
        base = by_workers[counts[0]]
        for count, figures in by_workers.items():
            print(f"workers {count}: POST /route with {args.clients} clients {figures['per_s']:.1f}/s "
                  f"({figures['per_s'] / base['per_s']:.2f}x), p50 {figures['p50_ms']:.1f} ms, "
                  f"p99 {figures['p99_ms']:.1f} ms ({figures['p99_ms'] / base['p99_ms']:.2f}x), "
                  f"errors {figures['errors']}")
    consistent = _check_database(db_path, models, answers) and all_consistent
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
          f"({os.cpu_count()} cores: above that the machine was shared)")
    targets = {"p99 <= 50 ms": service["p99_ms"] <= 50, ">= 200 leads/s": service["per_s"] >= 200,
               "zero errors": service["errors"] == 0, "no lead twice, nobody over capacity": consistent}
    for name, met in targets.items():
        print(f"target {name}: {'met' if met else 'MISSED'}")
    ok = all(targets.values())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

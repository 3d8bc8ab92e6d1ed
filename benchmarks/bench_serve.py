"""Load-test ``kam serve`` on loopback: 8 concurrent clients POST /route on the 20,000-account demo.

Targets (issue 13): p99 <= 50 ms and >= 200 leads/s on 2 cores, zero errors; afterwards no rep
or partner over capacity and no lead assigned twice.

    python benchmarks/bench_serve.py                       # 20,000 accounts, 8 clients, 20 s
    python benchmarks/bench_serve.py --seconds 10 --clients 4
    python benchmarks/bench_serve.py --workers 1,2            # one process, then two workers
    python benchmarks/bench_serve.py --workers 2 --rounds 2 --before /tmp/kam-before   # earlier checkout, alternating
    python benchmarks/bench_serve.py --backend sqlite,postgres  # both databases, side by side

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
   on another copy (what the service adds over it is HTTP, JSON and the concurrency), as
   shipped and with an idle connection kept open as the service does (blocks alternating).

Then the checks, read from the database: every lead recorded once (``live_assignments.lead_id``
unique, one row per answered lead), and no person's live load above their capacity. The load
average before and after is printed: the machine may be shared.

``--backend sqlite,postgres`` measures every phase on both databases in one run, the rounds
alternating, and prints the PostgreSQL / SQLite ratios. PostgreSQL is a throwaway server on
loopback that the script starts and removes (``benchmarks/_postgres.py``) and that runs
**durably**, with PostgreSQL's defaults (``fsync=on``, ``synchronous_commit=on``,
``full_page_writes=on``; not the tests' ``fsync=off``), printed at the start. It holds the same
demo and the same scoring run (``kam score``, same models and as-of date); each phase gets a fresh
copy (``CREATE DATABASE ... TEMPLATE``), and the server's CPU per lead is printed beside the
service's. The targets are checked on every backend measured.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
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
    """``clients`` keep-alive HTTP/1.1 connections, driven from one asyncio loop until ``seconds`` are up.

    The clients share the machine's two cores with the service, so they must cost little and
    must not add waits of their own to what they measure: one thread, raw HTTP/1.1 on asyncio
    streams (the request written in one piece, the answer read by its ``Content-Length``). The
    standard library's ``http.client`` in 8 threads cost 1.4 times the CPU per request (0.62
    against 0.45 ms, side by side), and a thread woken by its answer could wait up to the
    interpreter's 5 ms switch interval for another client thread before it took the time: both
    were counted as the service's latency. Each request is bounded by a 60 s timeout.
    ``database_pid``: a database server (the PostgreSQL postmaster) whose CPU is measured too.
    """

    def __init__(self, url: str, token: str, clients: int, server_pid: int | None = None,
                 database_pid: int | None = None):
        parts = urlsplit(url)
        self.host, self.port = parts.hostname, parts.port
        self.token = token
        self.clients = clients
        self.server_pid = server_pid
        self.database_pid = database_pid
        # CPU over the last measured window
        self.cpu = {"server_s": float("nan"), "clients_s": float("nan"), "database_s": float("nan")}

    def run(self, make_request, warmup_s: float, seconds: float):
        return asyncio.run(self._run(make_request, warmup_s, seconds))

    def _encode(self, method: str, path: str, body) -> tuple[bytes, bool]:
        payload = b"" if body is None else json.dumps(body).encode()
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}", f"Authorization: Bearer {self.token}"]
        if body is not None:
            head += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
        return ("\r\n".join(head) + "\r\n\r\n").encode() + payload, body is not None

    @staticmethod
    async def _answer(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
        """Status, body and whether the server keeps the connection open."""
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(head[0].split(" ", 2)[1])
        fields = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in head[1:] if line)}
        if "content-length" not in fields:
            raise ValueError(f"an answer without Content-Length: {head[0]!r}")
        body = await reader.readexactly(int(fields["content-length"]))
        return status, body, fields.get("connection", "").lower() != "close"

    async def _run(self, make_request, warmup_s: float, seconds: float):
        latencies: list[float] = []
        errors: list[str] = []
        answers: list[dict] = []
        state = {"measuring": False, "stop": False}

        async def client(index: int) -> None:
            requests = make_request(index)
            reader = writer = None
            while not state["stop"]:
                data, is_post = self._encode(*next(requests))
                started = time.perf_counter()
                try:
                    if writer is None:
                        reader, writer = await asyncio.wait_for(asyncio.open_connection(self.host, self.port), 60)
                    writer.write(data)
                    status, body, keep = await asyncio.wait_for(self._answer(reader), 60)
                except (OSError, ValueError, asyncio.IncompleteReadError, asyncio.TimeoutError) as error:
                    status, body, keep = -1, repr(error).encode(), False
                elapsed = time.perf_counter() - started
                if not keep and writer is not None:
                    writer.close()
                    reader = writer = None
                if not state["measuring"]:
                    continue
                if status != 200:
                    errors.append(f"{status}: {body[:300]!r}")
                else:
                    latencies.append(elapsed)
                    if is_post:
                        answers.append(json.loads(body))
            if writer is not None:
                writer.close()

        tasks = [asyncio.create_task(client(i)) for i in range(self.clients)]
        await asyncio.sleep(warmup_s)
        state["measuring"] = True
        started = time.perf_counter()
        cpu = (_cpu_seconds(self.server_pid), time.process_time(), _cpu_seconds(self.database_pid))
        await asyncio.sleep(seconds)
        state["stop"] = True
        wall = time.perf_counter() - started
        self.cpu = {"server_s": _cpu_seconds(self.server_pid) - cpu[0], "clients_s": time.process_time() - cpu[1],
                    "database_s": _cpu_seconds(self.database_pid) - cpu[2]}
        await asyncio.wait_for(asyncio.gather(*tasks), 120)
        return latencies, errors, answers, wall


def _cpu_seconds(pid: int | None) -> float:
    """CPU time (user + system) of process ``pid`` and its children (the workers), from /proc (Linux)."""
    if pid is None or not Path(f"/proc/{pid}").exists():
        return float("nan")
    tick = os.sysconf("SC_CLK_TCK")
    total, pending = 0.0, [pid]
    while pending:
        one = pending.pop()
        try:
            fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
            for task in Path(f"/proc/{one}/task").iterdir():
                pending += [int(child) for child in (task / "children").read_text().split()]
        except (OSError, ValueError, IndexError):
            continue  # a process that ended meanwhile
    return total


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


def _library_baseline(target: str | Path, models: Path, account_ids: list[str], leads: int, seed: int,
                      label: str = "") -> dict:
    """``LiveRouter.route`` alone, one lead at a time: as shipped, and with an idle connection kept open.

    The service keeps one connection to the SQLite file open (``Database.keep_open``), so a
    decision's close does not checkpoint and delete the WAL; blocks of 25 leads alternate
    between the two ways on one router, so both see the same machine load. On PostgreSQL
    there is nothing to keep open: every block is as shipped (as many leads as SQLite's).

    Parameters
    ----------
    target : str or pathlib.Path
        A fresh copy of the scored database: a SQLite file or a PostgreSQL URL.
    models : pathlib.Path
        The published models.
    account_ids : list of str
        The scored accounts the leads are drawn for.
    leads : int
        Leads measured each way (in blocks of 25, after 20 for warm-up).
    seed : int
        Seed of the leads.
    label : str, default ""
        Prefix of the printed lines (the backend, when several are measured).

    Returns
    -------
    dict
        The as-shipped figures (see ``_summary``).
    """
    from engine.live import LiveRouter

    router = LiveRouter(target, artifacts_dir=models)
    keeps = router.database.dialect == "sqlite"
    stream = _leads(account_ids, 99, seed)
    for _ in range(20):  # warm-up, as the service gets
        router.route(next(stream))
    latencies: dict[bool, list[float]] = {False: [], True: []}
    walls = {False: 0.0, True: 0.0}
    for block in range((2 if keeps else 1) * max(1, leads // 25)):
        kept = router.database.keep_open() if keeps and block % 2 else None
        started = time.perf_counter()
        for _ in range(25):
            one = time.perf_counter()
            router.route(next(stream))
            latencies[kept is not None].append(time.perf_counter() - one)
        walls[kept is not None] += time.perf_counter() - started
        if kept is not None:
            kept.close()
    router.close()
    figures = _summary(f"{label}library LiveRouter.route, 1 thread", latencies[False], walls[False], [])
    if not keeps:
        return figures
    kept_open = _summary("  the same, WAL kept open", latencies[True], walls[True], [])
    print(f"library: an idle connection kept open takes the median decision from {figures['p50_ms']:.1f} to "
          f"{kept_open['p50_ms']:.1f} ms ({figures['p50_ms'] / kept_open['p50_ms']:.2f}x), p99 "
          f"{figures['p99_ms']:.1f} -> {kept_open['p99_ms']:.1f} ms")
    return figures


def _check_database(db_path: str | Path, models: Path, answers: list[dict]) -> bool:
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


def _service_run(root: Path, db_path: str | Path, models: Path, args, account_ids: list[str], label: str,
                 workers: int = 1, database_pid: int | None = None) -> dict | None:
    """Start ``kam serve --workers N`` with the ``engine`` of ``root`` on ``db_path``; measure; stop it.

    ``db_path`` is a SQLite file or a database URL; ``database_pid`` a database server whose CPU
    per lead is printed beside the service's.
    """
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
        load = _Load(url, token, args.clients, server.pid, database_pid)
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
        answered = max(len(latencies), 1)
        service["server_cpu_ms"] = load.cpu["server_s"] * 1000 / answered
        service["client_cpu_ms"] = load.cpu["clients_s"] * 1000 / answered
        service["database_cpu_ms"] = load.cpu["database_s"] * 1000 / answered
        server_side = "" if database_pid is None else f", PostgreSQL server {service['database_cpu_ms']:.2f} ms"
        print(f"{label}CPU per answered lead ({args.clients} clients): service {service['server_cpu_ms']:.2f} ms "
              f"(all its processes), load-generating clients {service['client_cpu_ms']:.2f} ms{server_side}")
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
    parser.add_argument("--rounds", type=int, default=1, help="repeat the phases (before, each worker count) "
                        "this many times, alternating, and report the medians: the load of a shared machine moves")
    parser.add_argument("--before", type=Path, help="checkout of an earlier kam: its service measured first, "
                        "on its own copy, for a side-by-side figure")
    parser.add_argument("--backend", default="sqlite", help="comma-separated databases measured side by side: "
                        "sqlite, postgres (a durable throwaway server started here; needs `apt-get install "
                        "postgresql`)")
    args = parser.parse_args(argv)
    backends = [x.strip() for x in str(args.backend).split(",") if x.strip()]
    if not backends or set(backends) - {"sqlite", "postgres"}:
        parser.error(f"--backend: expected sqlite, postgres or sqlite,postgres; got {args.backend!r}")

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
    copies = {"sqlite": lambda name: _fresh_copy(scored, args.work / f"bench-serve-{name}.sqlite")}
    with contextlib.ExitStack() as stack:
        database_pid: int | None = None
        if "postgres" in backends:
            from benchmarks._postgres import PostgresMissing, scored_postgres

            try:
                copies["postgres"], database_pid = stack.enter_context(scored_postgres(source, models))
            except PostgresMissing as missing:
                print(f"--backend postgres: {missing}", file=sys.stderr)
                return 2
        print(f"{len(account_ids):,} scored accounts; {args.clients} clients; {os.cpu_count()} cores; "
              f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        return _measure(args, backends, copies, models, account_ids, database_pid)


def _measure(args, backends: list[str], copies: dict, models: Path, account_ids: list[str],
             database_pid: int | None) -> int:
    """Every phase on every backend, then the medians, the comparisons and the targets.

    Parameters
    ----------
    args : argparse.Namespace
        The command line.
    backends : list of str
        ``sqlite`` and/or ``postgres``, in the order measured.
    copies : dict of str to callable
        ``copies[backend](name)``: a fresh copy of the scored database (path or URL).
    models : pathlib.Path
        The published models.
    account_ids : list of str
        The scored accounts the leads are drawn for.
    database_pid : int or None
        The PostgreSQL server's pid, for its CPU per lead.

    Returns
    -------
    int
        The exit code: 0 when every backend met every target.
    """
    def prefix(backend: str) -> str:  # the names carry the backend only when several are measured
        return "" if backends == ["sqlite"] else f"{backend} "

    counts = [int(x) for x in str(args.workers).split(",") if x.strip()]
    # (name, checkout, workers): the earlier checkout first, with the last worker count
    bases = [("before", args.before.resolve(), counts[-1])] if args.before is not None else []
    bases += [(f"workers {count}", ROOT, count) for count in counts]
    phases = [(backend, base, prefix(backend) + base, root, count)
              for backend in backends for base, root, count in bases]
    runs: dict[str, list[dict]] = {name: [] for _, _, name, _, _ in phases}
    consistent = dict.fromkeys(backends, True)
    for round_ in range(args.rounds):  # rounds alternate the phases: a shared machine's load moves
        for backend, base, name, root, count in phases:
            target = copies[backend](base.replace(" ", "-"))
            label = f"{name}{f' (round {round_ + 1})' if args.rounds > 1 else ''}: "
            run = _service_run(root, target, models, args, account_ids, label, count,
                               database_pid if backend == "postgres" else None)
            if run is None:
                return 1
            checked = _check_database(target, models, run["answers"])
            # the checkout under test must hold; the earlier is reported
            consistent[backend] &= checked or base == "before"
            runs[name].append(run)
    library = {backend: _library_baseline(copies[backend]("library"), models, account_ids, args.library_leads,
                                          args.seed, "" if backends == ["sqlite"] else f"{backend}: ")
               for backend in backends}

    def median(name: str, phase: str, key: str) -> float:
        return float(np.median([run[phase][key] for run in runs[name]]))

    width = max(10, *(len(name) for _, _, name, _, _ in phases))
    print(f"\nPOST /route, {args.clients} clients, median of {args.rounds} round(s) (each round's figures in brackets):")
    for backend, _, name, _, _ in phases:
        def each(key: str, digits: int, name: str = name) -> str:
            return ", ".join(f"{run['service'][key]:.{digits}f}" for run in runs[name])

        database_cpu = (f"  PostgreSQL server CPU {median(name, 'service', 'database_cpu_ms'):.2f} ms/lead"
                        if backend == "postgres" else "")
        print(f"  {name:<{width}} {median(name, 'service', 'per_s'):7.1f}/s [{each('per_s', 0)}]"
              f"  p50 {median(name, 'service', 'p50_ms'):6.1f} ms [{each('p50_ms', 1)}]"
              f"  p99 {median(name, 'service', 'p99_ms'):6.1f} ms [{each('p99_ms', 1)}]"
              f"  service CPU {median(name, 'service', 'server_cpu_ms'):.2f} ms/lead{database_cpu}"
              f"  errors {sum(run['service']['errors'] for run in runs[name])}")
    targets: dict[str, bool] = {}
    for backend in backends:
        last = prefix(backend) + bases[-1][0]
        single_p50, service_p50 = median(last, "single", "p50_ms"), median(last, "service", "p50_ms")
        print(f"HTTP layer ({last}): POST /route p50 with 1 client / library p50: "
              f"{single_p50 / library[backend]['p50_ms']:.2f}x ({single_p50 - library[backend]['p50_ms']:+.1f} ms); "
              f"service p50 with {args.clients} clients / HTTP floor p50: "
              f"{service_p50 / median(last, 'floor', 'p50_ms'):.1f}x")
        if args.before is not None:
            b = {key: median(prefix(backend) + "before", "service", key) for key in ("per_s", "p50_ms", "p99_ms")}
            a = {key: median(last, "service", key) for key in ("per_s", "p50_ms", "p99_ms")}
            print(f"{prefix(backend)}before -> after, POST /route with {args.clients} clients, {counts[-1]} worker(s): "
                  f"{b['per_s']:.1f}/s -> {a['per_s']:.1f}/s ({a['per_s'] / b['per_s']:.2f}x); p50 {b['p50_ms']:.1f} -> "
                  f"{a['p50_ms']:.1f} ms; p99 {b['p99_ms']:.1f} -> {a['p99_ms']:.1f} ms ({b['p99_ms'] / a['p99_ms']:.2f}x lower)")
        service = {key: median(last, "service", key) for key in ("per_s", "p99_ms")}
        errors = sum(run["service"]["errors"] + run["single"]["errors"] for run in runs[last])
        which = "" if backends == ["sqlite"] else f" ({backend})"
        targets.update({f"p99 <= 50 ms{which}": service["p99_ms"] <= 50,
                        f">= 200 leads/s{which}": service["per_s"] >= 200, f"zero errors{which}": errors == 0,
                        f"no lead twice, nobody over capacity{which}": consistent[backend]})
    if set(backends) == {"sqlite", "postgres"}:
        _print_ratios(bases, median, library, args.clients)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
          f"({os.cpu_count()} cores: above that the machine was shared)")
    for name, met in targets.items():
        print(f"target {name}: {'met' if met else 'MISSED'}")
    return 0 if all(targets.values()) else 1


def _print_ratios(bases: list, median, library: dict[str, dict], clients: int) -> None:
    """Print PostgreSQL against SQLite, phase by phase, from the medians measured in this run.

    ``bases``: the phases as ``(name, checkout, workers)``; ``median(name, phase, key)``: the
    medians over the rounds; ``library``: each backend's ``LiveRouter.route`` figures.
    """
    print(f"\nPostgreSQL / SQLite, side by side in this run (POST /route, {clients} clients, medians):")
    for base, _, _ in bases:
        pg = {key: median(f"postgres {base}", "service", key) for key in _COMPARED}
        lite = {key: median(f"sqlite {base}", "service", key) for key in _COMPARED}
        print(f"  {base}: {pg['per_s']:.1f}/s vs {lite['per_s']:.1f}/s ({pg['per_s'] / lite['per_s']:.2f}x); "
              f"p50 {pg['p50_ms']:.1f} vs {lite['p50_ms']:.1f} ms ({pg['p50_ms'] / lite['p50_ms']:.2f}x); "
              f"p99 {pg['p99_ms']:.1f} vs {lite['p99_ms']:.1f} ms ({pg['p99_ms'] / lite['p99_ms']:.2f}x); "
              f"service CPU {pg['server_cpu_ms']:.2f} vs {lite['server_cpu_ms']:.2f} ms/lead, "
              f"plus the PostgreSQL server's {pg['database_cpu_ms']:.2f}")
    pg, lite = library["postgres"], library["sqlite"]
    print(f"  library LiveRouter.route, 1 thread: p50 {pg['p50_ms']:.1f} vs {lite['p50_ms']:.1f} ms "
          f"({pg['p50_ms'] / lite['p50_ms']:.2f}x); p99 {pg['p99_ms']:.1f} vs {lite['p99_ms']:.1f} ms "
          f"({pg['p99_ms'] / lite['p99_ms']:.2f}x); {pg['per_s']:.1f}/s vs {lite['per_s']:.1f}/s")


_COMPARED = ("per_s", "p50_ms", "p99_ms", "server_cpu_ms", "database_cpu_ms")


if __name__ == "__main__":
    sys.exit(main())

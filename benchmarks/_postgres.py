"""A throwaway, durable PostgreSQL server on loopback with the scored demo (``bench_serve.py --backend postgres``).

The server is started as ``tests/conftest.py``'s ``postgres_url`` fixture starts it (``initdb``
with ``--auth=trust`` and a ``kam`` superuser in a temporary folder, as the ``postgres`` system
user through ``runuser`` when run as root; ``pg_ctl`` on a free port, ``listen_addresses``
127.0.0.1, its Unix socket in that folder), with one difference: the tests run with
``fsync=off``; a benchmark must measure a server that keeps what it commits, so this one runs
with PostgreSQL's defaults (``fsync=on``, ``synchronous_commit=on``, ``full_page_writes=on``,
``wal_sync_method`` the platform's default, ``shared_buffers`` as ``initdb`` sized it), and
``initdb`` syncs its files (no ``--no-sync``). :func:`server_settings` reads back what the
server runs with, for the benchmark to print.

Every wait is bounded: ``initdb`` and ``pg_ctl`` run with timeouts, the stop tries ``fast``,
then ``immediate``, then kills the postmaster; the folder is removed in every case, also when the
process is stopped with SIGTERM (turned into ``SystemExit`` while the server runs).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "PostgresMissing", "PostgresServer", "copy_database", "scored_postgres", "server_settings", "throwaway_server",
]

#: The settings :func:`server_settings` reads back (what makes the figures comparable).
SHOWN_SETTINGS = ("server_version", "fsync", "synchronous_commit", "full_page_writes", "wal_sync_method",
                  "shared_buffers", "max_connections")


class PostgresMissing(RuntimeError):
    """The PostgreSQL server binaries (``initdb``, ``pg_ctl``) are not installed."""


@dataclass(frozen=True)
class PostgresServer:
    """A running throwaway server.

    Attributes
    ----------
    url : str
        SQLAlchemy URL of its ``postgres`` database (user ``kam``, no password: trust on loopback).
    pid : int
        The postmaster's process id (its children are the server's backends and workers).
    data : pathlib.Path
        Its data folder.
    """

    url: str
    pid: int
    data: Path

    def database_url(self, name: str) -> str:
        """URL of database ``name`` on this server."""
        return self.url.rsplit("/", 1)[0] + "/" + name


def _postgres_bin() -> Path:
    """Folder holding initdb and pg_ctl: on PATH, else Debian's /usr/lib/postgresql/N/bin."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if not candidates:
        raise PostgresMissing("PostgreSQL server binaries (initdb, pg_ctl) not found on PATH nor in "
                              "/usr/lib/postgresql/*/bin; install them with `apt-get install postgresql`.")
    return Path(candidates[0]).parent


def _free_port() -> int:
    """A TCP port free on loopback now (the server binds it a moment later)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run(command: list[str], timeout: float) -> subprocess.CompletedProcess:
    """Run ``command`` to its end within ``timeout`` seconds, its output captured."""
    return subprocess.run(command, check=False, capture_output=True, text=True, timeout=timeout)


@contextlib.contextmanager
def throwaway_server(start_timeout: float = 120.0) -> Iterator[PostgresServer]:
    """Start a durable PostgreSQL server in a temporary folder; stop it and remove the folder on exit.

    Parameters
    ----------
    start_timeout : float, default 120
        Seconds ``initdb`` and ``pg_ctl start`` may each take.

    Yields
    ------
    PostgresServer

    Raises
    ------
    PostgresMissing
        The server binaries are not installed.
    RuntimeError
        ``initdb`` or ``pg_ctl start`` failed (the message holds their output and the server log's end).
    """
    bin_dir = _postgres_bin()
    root = Path(tempfile.mkdtemp(prefix="kam-bench-pg-"))
    data, log = root / "data", root / "server.log"
    run_as: list[str] = []
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)  # so the finally below runs
    try:
        if os.geteuid() == 0:  # initdb refuses to run as root: use the postgres system user
            run_as = ["runuser", "-u", "postgres", "--"]
            shutil.chown(root, "postgres")
        made = _run([*run_as, str(bin_dir / "initdb"), "-D", str(data), "-U", "kam", "--auth=trust", "-E", "UTF8"],
                    start_timeout)
        if made.returncode != 0:
            raise RuntimeError(f"initdb failed (exit {made.returncode}): {made.stderr.strip()[-2000:]}")
        for attempt in range(3):  # a port taken between its choice and the start costs a retry
            port = _free_port()
            logged = log.stat().st_size if log.exists() else 0
            options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1"
            started = _run([*run_as, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options,
                            "-t", str(int(start_timeout)), "-w", "start"], start_timeout + 30)
            if started.returncode == 0:
                break
            said = log.read_bytes()[logged:].decode(errors="replace") if log.exists() else ""
            if "could not bind" not in said or attempt == 2:
                raise RuntimeError(f"pg_ctl start failed (exit {started.returncode}): {started.stderr.strip()}\n"
                                   f"{said[-2000:]}")
        pid = int((data / "postmaster.pid").read_text().split()[0])
        yield PostgresServer(url=f"postgresql://kam@127.0.0.1:{port}/postgres", pid=pid, data=data)
    finally:
        _stop(bin_dir, data, run_as)
        shutil.rmtree(root, ignore_errors=True)
        signal.signal(signal.SIGTERM, previous)


def _exit_on_sigterm(signum, _frame) -> None:
    """Turn SIGTERM into ``SystemExit``: the ``finally`` blocks stop the service and the server."""
    raise SystemExit(128 + signum)


def _stop(bin_dir: Path, data: Path, run_as: list[str]) -> None:
    """Stop the server in ``data`` if it runs: ``fast``, then ``immediate``, then SIGKILL; every wait bounded."""
    pid_file = data / "postmaster.pid"
    if not pid_file.exists():
        return
    pid = int(pid_file.read_text().split()[0])
    for mode in ("fast", "immediate"):
        try:
            stopped = _run([*run_as, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", mode, "-t", "20", "-w", "stop"], 60)
        except subprocess.TimeoutExpired:
            continue
        if stopped.returncode == 0:
            return
    try:  # a stale pid file could name another process by now
        is_postgres = Path(f"/proc/{pid}/comm").read_text().strip() in ("postgres", "postmaster")
    except OSError:
        return
    if not is_postgres:
        return
    with contextlib.suppress(ProcessLookupError):
        group = os.getpgid(pid)  # pg_ctl starts the postmaster in a session of its own: its backends too
        if group == pid:
            os.killpg(group, signal.SIGKILL)
        else:
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.1)


def server_settings(url: str) -> dict[str, str]:
    """The settings of :data:`SHOWN_SETTINGS` as the server at ``url`` runs them."""
    import psycopg

    with psycopg.connect(url, autocommit=True, connect_timeout=30) as conn:
        return {name: str(conn.execute(f"SHOW {name}").fetchone()[0]) for name in SHOWN_SETTINGS}


def copy_database(server_url: str, template: str, target: str) -> None:
    """Create database ``target`` as a copy of ``template`` (``CREATE DATABASE ... TEMPLATE``), replacing it.

    PostgreSQL refuses a template that has open connections; a copy is made only from a
    database nobody uses, which the caller ensures (every ``Database`` on it disposed).
    """
    _execute(server_url, f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)',
             f'CREATE DATABASE "{target}" TEMPLATE "{template}"')


@contextlib.contextmanager
def scored_postgres(source: Path, models: Path) -> Iterator[tuple[Callable[[str], str], int]]:
    """A throwaway server holding the SQLite demo, scored: a maker of fresh copies and the server's pid.

    The demo's source tables are read from the (unscored) SQLite file and written into a new
    database, and ``kam score`` writes the scoring run there with the same models (its default
    as-of date, the day after the data's newest event, is the SQLite side's too). That database
    is the template of every copy.

    Parameters
    ----------
    source : pathlib.Path
        The unscored SQLite demo database the SQLite side was scored from.
    models : pathlib.Path
        The published models.

    Yields
    ------
    tuple of (callable, int)
        ``copy(name)``: replaces database ``bench_serve_<name>`` by a fresh copy of the scored
        database and returns its URL; and the postmaster's pid (for its CPU time).
    """
    from engine.cli import main as kam
    from engine.storage import Database

    with throwaway_server() as server:
        print(f"PostgreSQL (throwaway, durable) on {server.url}: "
              + ", ".join(f"{k}={v}" for k, v in server_settings(server.url).items()))
        template = "kam_bench_scored"
        url = server.database_url(template)
        _execute(server.url, f'CREATE DATABASE "{template}"')
        started = time.perf_counter()
        with Database(source, readonly=True) as db:
            tables = db.read_tables()
        with Database(url) as db:
            db.write_source_tables(tables)
        print(f"copied {sum(len(t) for t in tables.values()):,} rows of {source.name} into PostgreSQL "
              f"database {template} in {time.perf_counter() - started:.0f} s")
        started = time.perf_counter()
        if kam(["score", "--db", url, "--models", str(models)]) != 0:
            raise RuntimeError(f"kam score failed on {url}")
        print(f"scored {template} in {time.perf_counter() - started:.0f} s")

        def copy(name: str) -> str:
            database = "bench_serve_" + name.replace("-", "_")
            copy_database(server.url, template, database)
            return server.database_url(database)

        yield copy, server.pid


def _execute(url: str, *statements: str) -> None:
    """Run ``statements`` outside a transaction (``CREATE DATABASE`` needs that)."""
    import psycopg

    with psycopg.connect(url, autocommit=True, connect_timeout=30) as conn:
        for statement in statements:
            conn.execute(statement)

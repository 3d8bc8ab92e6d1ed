"""Session-wide test configuration: deterministic Hypothesis profiles, a throwaway PostgreSQL.

Convention for shared test code (there is no ``tests`` package: a ``tests`` package that some
installed distribution ships would shadow it, so ``from tests.x import ...`` is never written):

* Nothing is imported from a conftest.py or from another test module.
* Plain factories and constants that several test modules of a package share (row builders,
  Hypothesis strategies, example tables) live in ``tests/<package>/<package>_factories.py``,
  imported by that name (``from features_factories import customer``): pytest puts each test
  folder on ``sys.path``, and the package prefix keeps the names unique across folders.
* Anything with set-up or tear-down (a database, a server, a browser) is a fixture in the
  nearest conftest.py; a fixture may return a function (``new_postgres_database`` below).

Hypothesis runs derandomized everywhere (the same examples every run, no flaky seeds). The
``ci`` profile is loaded when the ``CI`` environment variable is set; ``dev`` otherwise. Pick one
explicitly with ``--hypothesis-profile``.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

# max_examples: the base number of examples. Tests that need more (the engine differential
# tests) ask for a multiple of it, so each profile sets every count: dev is quick on a laptop,
# ci runs the Hypothesis default.
settings.register_profile(
    "ci",
    max_examples=100,
    derandomize=True,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "dev",
    max_examples=30,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


# --- a throwaway PostgreSQL server on loopback ---------------------------------------------------
import glob  # noqa: E402
import shutil  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402


def _postgres_bin() -> Path | None:
    """Folder holding initdb and pg_ctl: on PATH, else Debian's /usr/lib/postgresql/N/bin."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    return Path(candidates[0]).parent if candidates else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_url():
    """URL of a PostgreSQL server started for this test session in a temporary folder.

    In CI (``CI`` set) a missing PostgreSQL is an error: the PostgreSQL tests must run for real.
    Elsewhere they are skipped, loudly, only when no PostgreSQL binaries exist.
    """
    bin_dir = _postgres_bin()
    if bin_dir is None:
        message = (
            "PostgreSQL server binaries (initdb, pg_ctl) not found; install them with "
            "`apt-get install postgresql` to run the PostgreSQL storage tests."
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        warnings.warn(message, pytest.PytestWarning, stacklevel=1)
        pytest.skip(message)
    root = Path(tempfile.mkdtemp(prefix="kam-pg-"))
    data = root / "data"
    run_as: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root: use the postgres system user
        run_as = ["runuser", "-u", "postgres", "--"]
        shutil.chown(root, "postgres")
    log = root / "server.log"
    subprocess.run(
        [*run_as, str(bin_dir / "initdb"), "-D", str(data), "-U", "kam", "--auth=trust", "-E", "UTF8", "--no-sync"],
        check=True,
        capture_output=True,
    )
    for attempt in range(3):
        # the port is chosen just before the start; another process taking it meanwhile costs a retry
        port = _free_port()
        logged = log.stat().st_size if log.exists() else 0
        options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
        started = subprocess.run(
            [*run_as, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-t", "60", "-w",
             "start"],
            check=False,
            capture_output=True,
            timeout=120,  # pg_ctl gives up after its own 60 s first
        )
        if started.returncode == 0:
            break
        said = log.read_bytes()[logged:].decode(errors="replace") if log.exists() else ""
        if "could not bind" not in said or attempt == 2:
            raise RuntimeError(f"PostgreSQL did not start on port {port} (pg_ctl exit {started.returncode}): "
                               f"{started.stderr.decode(errors='replace')[-500:]} {said[-1500:]}")
    try:
        yield f"postgresql://kam@127.0.0.1:{port}/postgres"
    finally:
        # "fast" waits for open sessions to end (at most 20 s here); "immediate" after that, so a
        # connection a test left open cannot hold the end of the run.
        for mode, seconds in (("fast", "20"), ("immediate", "20")):
            stopped = subprocess.run(
                [*run_as, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", mode, "-t", seconds, "-w", "stop"],
                check=False,
                capture_output=True,
                timeout=60,
            )
            if stopped.returncode == 0:
                break
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def new_postgres_database(postgres_url):
    """Factory: ``make(prefix)`` creates a new, empty database on the session's server; its URL.

    Every PostgreSQL-backed fixture starts from a fresh database this way (names are
    ``<prefix>_<n>``, unique within the session), so no test sees another's tables.
    """
    import itertools

    import psycopg

    numbers = itertools.count()

    def make(prefix: str = "kam_test") -> str:
        name = f"{prefix}_{next(numbers)}"
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        return postgres_url.rsplit("/", 1)[0] + "/" + name

    return make


# --- small demo worlds with small trained models, built once and shared by the packages ----------
#: A fast model for tests: one small boosting candidate, two folds, Platt calibration.
_SMALL_MODEL = {
    "candidates": {"hist_gradient_boosting": [{"max_iter": 20, "max_leaf_nodes": 8}]},
    "blend": False,
    "cv": 2,
    "calibration": "sigmoid",
}
_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def small_model_spec():
    """``small_model_spec(kind)``: the shipped ``models/<kind>.yaml`` with :data:`_SMALL_MODEL` (fast)."""
    import dataclasses

    from engine.models import load_model_spec

    def make(kind: str):
        spec = load_model_spec(_ROOT / "models" / f"{kind}.yaml")
        return dataclasses.replace(spec, model=dict(_SMALL_MODEL), as_of_periods=12, validation_periods=2)

    return make


class _SmallDemos:
    """Small demo worlds, each built once per session (the packages that ask for one size share it)."""

    def __init__(self, tmp_path_factory, small_model_spec):
        self._tmp = tmp_path_factory
        self._spec = small_model_spec
        self._cache: dict[tuple, object] = {}

    def _cached(self, key: tuple, build):
        if key not in self._cache:
            self._cache[key] = build()
        return self._cache[key]

    def tables(self, accounts: int, seed: int) -> dict:
        """Raw demo tables, as a database would hold them (shared: do not modify them in place)."""
        from engine.demo import generate_demo_tables

        return self._cached(("tables", accounts, seed), lambda: generate_demo_tables(accounts=accounts, seed=seed))

    def models(self, accounts: int, seed: int, as_of: str) -> Path:
        """Folder with small churn and win models trained on the validated :meth:`tables`."""

        def build() -> Path:
            from engine.pipeline import train_model
            from engine.validate import validate_tables

            folder = self._tmp.mktemp(f"models-{accounts}-{seed}")
            valid = validate_tables(self.tables(accounts, seed), as_of=as_of).valid
            for kind in ("churn", "win"):
                train_model(valid, kind, spec=self._spec(kind), artifacts_dir=folder)
            return folder

        return self._cached(("models", accounts, seed, as_of), build)

    def scored_db(self, accounts: int, seed: int, as_of: str) -> tuple[Path, Path]:
        """``(SQLite path, models folder)`` made the way a user does: ``kam demo-db``, train on what
        ``ingest`` reads, ``kam score``."""

        def build() -> tuple[Path, Path]:
            from engine.cli import main
            from engine.pipeline import ingest, train_model
            from engine.storage import Database

            folder = self._tmp.mktemp(f"scored-{accounts}-{seed}")
            path, models = folder / "demo.sqlite", folder / "models"
            assert main(["demo-db", str(path), "--accounts", str(accounts), "--seed", str(seed)]) == 0
            with Database(path, readonly=True) as db:
                tables = ingest(db, as_of=as_of).tables
            for kind in ("churn", "win"):
                train_model(tables, kind, spec=self._spec(kind), artifacts_dir=models)
            assert main(["score", "--db", str(path), "--models", str(models), "--as-of", as_of]) == 0
            return path, models

        return self._cached(("scored", accounts, seed, as_of), build)


@pytest.fixture(scope="session")
def small_demo(tmp_path_factory, small_model_spec):
    """Shared small demo worlds: ``small_demo.tables(accounts, seed)``, ``.models(accounts, seed,
    as_of)`` and ``.scored_db(accounts, seed, as_of)`` (see :class:`_SmallDemos`)."""
    return _SmallDemos(tmp_path_factory, small_model_spec)


@pytest.fixture(scope="session")
def copy_sqlite():
    """``copy_sqlite(source, target)``: a SQLite file with its ``-wal``/``-shm`` companions."""

    def copy(source: Path, target: Path) -> Path:
        shutil.copy(source, target)
        for suffix in ("-wal", "-shm"):
            if Path(str(source) + suffix).exists():
                shutil.copy(str(source) + suffix, str(target) + suffix)
        return target

    return copy

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
    port = _free_port()
    log = root / "server.log"
    subprocess.run(
        [*run_as, str(bin_dir / "initdb"), "-D", str(data), "-U", "kam", "--auth=trust", "-E", "UTF8", "--no-sync"],
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        [*run_as, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "start"],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql://kam@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*run_as, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
            check=False,
            capture_output=True,
        )
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

"""``engine.report``: the run report of a results database, as a string or a file."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from engine._errors import ConfigError, StorageError
from engine._log import get_logger
from engine._progress import task
from engine.report._numbers import report_numbers
from engine.report._read import read_inputs
from engine.report._render import render_report
from engine.storage import Database, using_database

__all__ = ["report"]

_log = get_logger("report")


def report(
    db: Database | str | Path,
    *,
    run_id: str | None = None,
    compare: str | bool | None = True,
    out: str | Path | None = None,
    artifacts_dir: str | Path | None = None,
    rules_dir: str | Path | None = None,
) -> str:
    """The run report: one self-contained HTML page, returned and optionally written.

    Parameters
    ----------
    db : Database, URL or path
        The database the scoring run wrote to.
    run_id : str, optional
        The run to report (default: the newest).
    compare : str, bool or None, default True
        A run to compare with; True for the run before ``run_id``; False/None for none.
    out : path, optional
        Write the page there (atomically: a reader never sees half a file).
    artifacts_dir : path, optional
        Folder of the model cards (default ``models/artifacts`` when it exists).
    rules_dir : path, optional
        Folder of the rule files (default: the shipped rules).

    Returns
    -------
    str
        The HTML page.

    Examples
    --------
    >>> import engine
    >>> html = engine.report("kam-demo.sqlite", out="report.html")  # doctest: +SKIP
    """
    started = time.perf_counter()
    if artifacts_dir is None:
        from engine._paths import default_artifacts_dir

        artifacts_dir = default_artifacts_dir() if default_artifacts_dir().is_dir() else None
    with using_database(db) as database:
        file = database.url.database if database.dialect == "sqlite" else None
        if file and file != ":memory:" and not file.startswith("file:") and not Path(file).expanduser().exists():
            raise StorageError(
                f"no database at {file}: expected the SQLite file a scoring run wrote to. "
                "Fix: check the path, or run `kam demo` / `kam score --db URL` first."
            )
        with task("report: reading the run"):
            inputs = read_inputs(database, run_id=run_id, compare=compare, artifacts_dir=artifacts_dir,
                                 rules_dir=rules_dir)
    with task("report: computing the numbers"):
        numbers = report_numbers(inputs)
    with task("report: drawing and rendering"):
        html = render_report(numbers)
    if out is not None:
        _write(Path(out), html)
    _log.info("report of run %s: %d bytes in %.1f s%s", inputs.current.run_id, len(html.encode()),
              time.perf_counter() - started, f", written to {out}" if out is not None else "")
    return html


def _write(path: Path, html: str) -> None:
    if path.is_dir():
        raise ConfigError(f"--out {path} is a folder. Expected a file name such as {path / 'report.html'}.")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ConfigError(f"--out {path}: the folder {folder} does not exist. Fix: create it or write elsewhere.")
    handle, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(html)
        # mkstemp makes the file private (0600); a report is meant to be shared like any file
        # the user writes, so it gets the permissions the umask gives a new file.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except OSError as exc:
        raise StorageError(f"could not write the report to {path}: {exc}. Fix: choose a writable place.") from exc
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)

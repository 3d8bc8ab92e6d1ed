"""Database URLs: from a path or URL to a SQLAlchemy URL, masked for display, with its driver.

A plain path means a SQLite file; ``postgresql://`` means psycopg 3; any other SQLAlchemy URL
works when its driver is installed (a missing one is a :class:`MissingDependencyError` with the
``pip install`` line). Credentials are never shown: :func:`mask_url` is the only way a URL is
printed.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine._errors import ConfigError, MissingDependencyError

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

__all__ = ["mask_url", "normalise_url", "sqlite_file", "sqlite_readonly_in_url"]


def mask_url(url: Any) -> str:
    """Return ``url`` as text with every credential in it replaced by ``***``.

    Masks the ``user:password@`` part and ``password=``/``token=``-style query parameters.

    Examples
    --------
    >>> mask_url("postgresql://kam:s3cret@db.example:5432/sales")
    'postgresql://kam:***@db.example:5432/sales'
    >>> mask_url("postgresql://kam@db.example/sales?password=s3cret")
    'postgresql://kam@db.example/sales?password=***'
    >>> mask_url("sqlite:///demo.sqlite")
    'sqlite:///demo.sqlite'
    """
    from sqlalchemy.engine import make_url

    from engine._log import redact

    try:
        parsed = make_url(str(url))
        return redact(parsed.render_as_string(hide_password=True), [parsed.password] if parsed.password else [])
    except Exception:  # not parseable as a URL: mask anything that looks like user:password@
        return redact(re.sub(r"(//[^:/@]+:)[^@]*@", r"\1***@", str(url)))


#: pip line for each database driver module SQLAlchemy may ask for (import name -> what to install).
_DRIVER_PACKAGES: dict[str, str] = {
    "psycopg": "pip install 'kam-engine[postgres]'",
    "psycopg2": "pip install psycopg2-binary",
    "asyncpg": "pip install asyncpg",
    "pg8000": "pip install pg8000",
    "MySQLdb": "pip install mysqlclient",
    "pymysql": "pip install PyMySQL",
    "mysql": "pip install mysql-connector-python",
    "mariadb": "pip install mariadb",
    "pyodbc": "pip install pyodbc",
    "pymssql": "pip install pymssql",
    "oracledb": "pip install oracledb",
    "cx_Oracle": "pip install cx-Oracle",
}

# user:password@host with no scheme: a URL whose "postgresql://" was forgotten, not a file path.
_SCHEMELESS_CREDENTIALS = re.compile(r"^[^/\\:@\s]+:[^@\s]*@[^@\s]+$")
_SQLITE_READONLY_QUERY = {"mode": "ro", "immutable": "1"}


def _check_driver(url: URL) -> None:
    """Load the dialect and its driver now, so a missing one is a clear error, not a traceback."""
    from sqlalchemy.exc import NoSuchModuleError

    try:
        dialect = url.get_dialect()
    except NoSuchModuleError:
        raise ConfigError(
            f"database URL {mask_url(url)!r}: kam does not know the database kind {url.drivername!r}. "
            "Expected e.g. 'postgresql://user@host/db', 'sqlite:///kam.sqlite' or a SQLite file path."
        ) from None
    importer = getattr(dialect, "import_dbapi", None) or getattr(dialect, "dbapi", None)
    if importer is None:  # a dialect that loads its driver some other way: nothing to check here
        return
    try:
        importer()
    except ImportError as exc:
        module = (exc.name or "").split(".")[0]
        line = _DRIVER_PACKAGES.get(module, f"pip install {module}" if module else "pip install the driver")
        raise MissingDependencyError(
            f"database URL {mask_url(url)!r} needs the {url.get_backend_name()} driver "
            f"{module or url.get_driver_name()!r}, which is not installed. Install with: {line}"
        ) from exc


def normalise_url(target: Any) -> URL:
    """Turn a path or URL into a SQLAlchemy URL object, choosing psycopg 3 for PostgreSQL."""
    from sqlalchemy.engine import URL, make_url

    if isinstance(target, URL):
        url = target
    elif isinstance(target, Path) or (isinstance(target, str) and "://" not in target):
        text = str(target)
        if isinstance(target, str) and _SCHEMELESS_CREDENTIALS.match(text.strip()):
            raise ConfigError(
                f"database {mask_url('x://' + text)[4:]!r} looks like a server URL without its scheme "
                "(user:password@host/db); a plain path means a SQLite file. Fix: start it with the "
                "database kind, e.g. 'postgresql://user@host/db', and give the password with KAM_DB_PASSWORD."
            )
        path = Path(target).expanduser()
        url = make_url(f"sqlite:///{path}")
    elif isinstance(target, str):
        try:
            url = make_url(target)
        except Exception as exc:
            raise ConfigError(
                f"database URL {mask_url(target)!r} is not a valid SQLAlchemy URL. Expected e.g. "
                "'sqlite:///kam.sqlite' or 'postgresql://user@host/db', or a file path for SQLite."
            ) from exc
    else:
        raise ConfigError(
            f"expected the database as a path, a URL string or a SQLAlchemy URL; got {type(target).__name__}. "
            "Fix: pass e.g. 'kam.sqlite' or 'postgresql://host/kam'."
        )
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    if url.drivername == "postgresql+psycopg":
        try:
            import psycopg  # noqa: F401
        except ImportError as exc:
            raise MissingDependencyError(
                "PostgreSQL support needs psycopg 3. Install with: pip install 'kam-engine[postgres]'"
            ) from exc
    elif url.drivername not in ("sqlite", "sqlite+pysqlite"):
        _check_driver(url)
    return url


def sqlite_readonly_in_url(url: URL) -> tuple[URL, bool]:
    """``url`` without SQLite's ``mode=ro``/``immutable=1``/``uri`` query, and whether it asked for read-only.

    kam opens SQLite files itself (both drivers, see :class:`engine.storage._guard.SqliteGuard`), so the request is
    carried as a flag rather than left in a query string one of the drivers would ignore.
    """
    query = dict(url.query)
    if str(query.get("mode", "")).lower() == "memory":
        return url, False
    readonly = any(str(query.get(key, "")).lower() == value for key, value in _SQLITE_READONLY_QUERY.items())
    database = url.database or ""
    if database.startswith("file:"):  # sqlite:///file:path?mode=ro&uri=true
        database = database[len("file:"):]
    for key in ("mode", "immutable", "uri"):
        query.pop(key, None)
    return url.set(database=database, query=query), readonly


def sqlite_file(url: URL) -> str | None:
    """The real path of a SQLite file URL; None for an in-memory database."""
    database = url.database or ""
    if database in ("", ":memory:") or "mode=memory" in str(url):
        return None
    return os.path.realpath(Path(database).expanduser())


"""Write the demo database through :mod:`engine.storage` and summarise what was written."""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine._asof import AsOf
from engine.demo import _params as P
from engine.demo._tables import _as_end_date, generate_demo_tables, top_revenue_share

__all__ = ["DemoSummary", "generate_demo_database"]


@dataclass(frozen=True)
class DemoSummary:
    """What :func:`generate_demo_database` wrote.

    Attributes
    ----------
    url : str
        Where it was written, with any password masked.
    row_counts : dict of str to int
        Rows per table, in contract order.
    seconds : float
        Wall time in total (generation plus writing).
    generate_seconds, write_seconds : float
        The two parts of ``seconds``.
    file_size : int or None
        Size of the SQLite file in bytes; None for a server database.
    top20_revenue_share : float
        Share of 3-year revenue brought by the top 20% of accounts.
    end_date : datetime.date
        The last day of the history.
    accounts, seed : int
        The arguments it was generated with.
    """

    url: str
    row_counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    generate_seconds: float = 0.0
    write_seconds: float = 0.0
    file_size: int | None = None
    top20_revenue_share: float = 0.0
    end_date: dt.date = P.DEMO_END_DATE
    accounts: int = 0
    seed: int = 0

    @property
    def path(self) -> str:
        """Alias of :attr:`url` (a path for SQLite files)."""
        return self.url


def generate_demo_database(
    path_or_url: Any,
    accounts: int = 20_000,
    seed: int = 0,
    end_date: AsOf = P.DEMO_END_DATE,
    progress: Callable[[str], None] | None = None,
) -> DemoSummary:
    """Generate the demo customer database and write it (replacing the tables if they exist).

    Parameters
    ----------
    path_or_url : str or pathlib.Path
        A SQLite file path or any SQLAlchemy URL that :class:`engine.storage.Database` accepts.
    accounts : int, default 20_000
        Number of key accounts.
    seed : int, default 0
        Random seed; the same ``(accounts, seed, end_date)`` writes the same data.
    end_date : date or ISO string, default DEMO_END_DATE
        Last day of the 3-year history.
    progress : callable, optional
        Called with a short message as each step starts (e.g. ``print``).

    Returns
    -------
    DemoSummary

    Examples
    --------
    >>> import os, tempfile
    >>> summary = generate_demo_database(os.path.join(tempfile.mkdtemp(), "demo.sqlite"), accounts=30)
    >>> summary.row_counts["customers"]
    30
    """
    from engine.storage import Database, mask_url

    say = progress or (lambda message: None)
    started = time.perf_counter()
    tables = generate_demo_tables(accounts, seed, end_date, progress=progress)
    generated = time.perf_counter()
    share = top_revenue_share(tables["orders"], accounts=int(accounts))
    say(f"writing {sum(len(t) for t in tables.values()):,} rows")
    database = Database(path_or_url)
    try:
        database.write_source_tables(tables)
        url = mask_url(database.url)
        file_size = None
        if database.dialect == "sqlite" and database.url.database not in (None, "", ":memory:"):
            file_size = os.path.getsize(Path(database.url.database))
    finally:
        database.dispose()
    finished = time.perf_counter()
    return DemoSummary(
        url=url,
        row_counts={name: int(len(frame)) for name, frame in tables.items()},
        seconds=finished - started,
        generate_seconds=generated - started,
        write_seconds=finished - generated,
        file_size=file_size,
        top20_revenue_share=share,
        end_date=_as_end_date(end_date).astype(dt.date),
        accounts=int(accounts),
        seed=int(seed),
    )

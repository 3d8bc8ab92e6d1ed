"""The first stages of every run: load the customer database and validate it.

Reading and validating overlap. Validation takes the tables parents first (customers before
their orders); a background thread reads ahead, starting with the largest table, which takes
longest to read, while this thread reads and validates the small parent tables itself. At a
million accounts the orders table is half of all rows: read last, every other stage would wait
for it; read first, it hides behind the parents' validation.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from engine._asof import AsOf
from engine._errors import ArgumentError, ConfigError, DataError, UnknownNameError
from engine._log import get_logger
from engine._suggest import did_you_mean
from engine.storage import Database
from engine.validate import ValidationReport, validate_tables

__all__ = ["Ingested", "ingest", "read_and_validate", "source_tables", "ReadAhead"]

_log = get_logger("ingest")

#: Tables the background reader may hold that validation has not taken yet.
READ_AHEAD = 3


@dataclass(frozen=True)
class Ingested:
    """Validated input of a run.

    Attributes
    ----------
    report : ValidationReport
        Valid (typed) tables, every failure, quarantined rows and counts.
    seconds : dict of str to float
        Wall time of each stage: ``load`` (waiting for or doing reads) and ``validate``.
    """

    report: ValidationReport
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """The valid rows of each table, coerced to the contract's types."""
        return self.report.valid


class ReadAhead:
    """Read tables on a background thread, largest first, while the caller validates.

    The caller takes tables with :meth:`take`, in the order it needs them. A table the
    background thread has not started is read by the caller itself, so a small table never
    waits behind a big one; a table being read is waited for. The background thread first
    sizes every table, then reads the largest, then the rest in the caller's order, and never
    holds more than ``ahead`` tables the caller has not taken (memory stays bounded).

    Parameters
    ----------
    read : callable
        ``read(name) -> DataFrame``; called from two threads (the database driver must allow
        that: :class:`engine.storage.Database` opens a connection per call).
    names : sequence of str
        The tables, in the order the caller will take them.
    size : callable, optional
        ``size(name) -> int`` (rows); without it the tables are read in the caller's order.
    ahead : int, default READ_AHEAD
        0 reads nothing in the background: the caller reads every table itself (for a
        database only one thread can see, such as an in-memory SQLite database).

    Notes
    -----
    The background thread starts at the first :meth:`take`, so a caller that fails while
    checking its arguments never waits for a read it did not need.

    Examples
    --------
    >>> frames = {"a": pd.DataFrame({"x": [1]}), "b": pd.DataFrame({"x": range(5)})}
    >>> with ReadAhead(frames.__getitem__, ["a", "b"], size=lambda n: len(frames[n])) as reader:
    ...     [len(reader.take(name)) for name in ["a", "b"]]
    [1, 5]
    """

    def __init__(
        self,
        read: Callable[[str], pd.DataFrame],
        names: Sequence[str],
        *,
        size: Callable[[str], int] | None = None,
        ahead: int = READ_AHEAD,
    ):
        self._read = read
        self._names = list(names)
        self._size = size
        self._ahead = max(0, int(ahead))
        self._cond = threading.Condition()
        self._state = {name: "pending" for name in self._names}  # -> reading | read | claimed | taken
        self._frames: dict[str, pd.DataFrame] = {}
        self._errors: dict[str, BaseException] = {}
        self._stopped = False
        #: seconds the caller spent reading or waiting for reads (the ``load`` stage)
        self.load_seconds = 0.0
        #: which thread read each table: "background" or "caller" (for tests and profiling)
        self.readers: dict[str, str] = {}
        #: why sizing the tables failed, if it did (then they are read in the caller's order;
        #: reading them reports any real problem)
        self.sizing_error: Exception | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> ReadAhead:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Stop reading ahead; wait for a read in progress; drop what was not taken."""
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join()
        self._frames.clear()

    def _start(self) -> None:
        if self._thread is None and self._ahead > 0 and self._names:
            self._thread = threading.Thread(target=self._run, name="kam-read-ahead", daemon=True)
            self._thread.start()

    def _order(self) -> list[str]:
        if self._size is None or not self._names:
            return self._names
        sizes = {}
        for name in self._names:
            with self._cond:
                if self._stopped:
                    return []
                if self._state[name] != "pending":
                    continue
            sizes[name] = self._size(name)
        if not sizes:
            return []
        largest = max(sizes, key=lambda name: (sizes[name], -self._names.index(name)))
        return [largest, *(name for name in self._names if name != largest)]

    def _run(self) -> None:
        try:
            order = self._order()
        except Exception as exc:  # noqa: BLE001 - sizing is an optimisation: read in the caller's order
            self.sizing_error = exc
            order = self._names
        for name in order:
            with self._cond:
                while not self._stopped and self._held() >= self._ahead:
                    self._cond.wait()
                if self._stopped:
                    return
                if self._state[name] != "pending":
                    continue
                self._state[name] = "reading"
            try:
                frame = self._read(name)
            except BaseException as exc:  # handed to the caller when it takes the table
                with self._cond:
                    if self._state[name] == "reading":
                        self._errors[name] = exc
                        self._state[name] = "read"
                    self._cond.notify_all()
                continue
            with self._cond:
                if self._state[name] == "reading":  # not abandoned by an interrupted take()
                    self._frames[name] = frame
                    self._state[name] = "read"
                    self.readers[name] = "background"
                self._cond.notify_all()
            del frame

    def _held(self) -> int:
        return sum(state in ("reading", "read") for state in self._state.values())

    def take(self, name: str) -> pd.DataFrame:
        """Table ``name``: read here if the background thread has not started it, else waited for.

        Raises whatever reading it raised.
        """
        with self._cond:
            if self._stopped:
                raise ConfigError(f"expected an open reader; got a closed one (table {name!r} asked for). "
                                   "Fix: take every table before the reader is closed")
            if name not in self._state:
                raise UnknownNameError(f"{name!r} is not one of the tables to read: expected one of {self._names}; got {name!r}"
                                       f"{did_you_mean(name, self._names)}. Fix: take one of those")
            if self._state[name] in ("claimed", "taken"):
                raise ConfigError(f"table {name!r} was already taken: expected each table to be taken once; got a second take. "
                                  "Fix: keep the frame the first take returned")
        self._start()
        started = time.perf_counter()
        try:
            with self._cond:
                mine = self._state[name] == "pending"
                if mine:
                    self._state[name] = "claimed"
                else:
                    while self._state[name] == "reading":
                        self._cond.wait()
            if mine:
                frame = self._read(name)
                self.readers[name] = "caller"
            else:
                with self._cond:
                    error = self._errors.pop(name, None)
                    frame = self._frames.pop(name, None)
                if error is not None:
                    raise error
            return frame
        finally:
            with self._cond:
                self._state[name] = "taken"
                self._cond.notify_all()
            self.load_seconds += time.perf_counter() - started


def source_tables(db: Database) -> list[str]:
    """The contract tables of ``db``, in contract order; raise when one is missing.

    A contract table may be a table or a view (a view is how a database offers its own
    schema under the contract's names); either is read the same way, and a view is logged.
    Letter case follows the database: SQLite ignores it in names (a table created as
    ``ORDERS`` *is* ``orders`` to every query, and SQLite cannot rename one to the other), so it
    is read, with a log line; PostgreSQL and the others keep ``Orders`` and ``orders`` apart, so
    a table present only under another case is refused rather than guessed.

    Raises
    ------
    DataError
        Naming every missing table and its fix (load it, rename it, or create a view under the
        contract's name), so that a run never goes on with a table silently left out.
    """
    relations = db.relation_names()
    problems = []
    for name in db.contract.table_names:
        stored = db.stored_name(name, relations)
        if stored is not None:
            kind = relations[stored]
            if stored != name or kind == "view":
                _log.info("reading contract table %r from the %s %r", name, kind, stored)
            continue
        other_case = sorted(found for found in relations if found.lower() == name.lower())
        if other_case:
            problems.append(
                f"{name!r} is present only as {other_case[0]!r} (a {relations[other_case[0]]} under another letter "
                f"case, a different name in this database); rename it "
                f"(ALTER TABLE \"{other_case[0]}\" RENAME TO {name}) or create a view named {name}"
            )
        else:
            problems.append(f"{name!r} is missing; load it, or create a view named {name} over the table that holds it")
    if problems:
        raise DataError(
            f"expected every contract table in {db.display_url}; got {len(problems)} missing: "
            + "; ".join(problems)
            + ". Nothing was read. See docs/data-model.md for the tables and their columns."
        )
    return list(db.contract.table_names)


def read_and_validate(
    db: Database,
    *,
    as_of=None,
    columns: Mapping[str, Sequence[str]] | None = None,
    ahead: int = READ_AHEAD,
) -> Ingested:
    """Read the contract tables of ``db`` and validate them, reads overlapping validation.

    Memory holds the valid tables, the raw table being validated and at most ``ahead`` raw
    tables read ahead, never the whole raw database.

    Parameters
    ----------
    db : Database
    as_of : date-like, optional
        Passed to :func:`engine.validate.validate_tables` (default today).
    columns : mapping of str to sequence of str, optional
        Columns the valid frames keep (every column is still validated); see
        :func:`engine.validate.validate_tables`.
    ahead : int, default READ_AHEAD
        Raw tables the background reader may hold ahead of validation; 0 (forced for a
        database other threads cannot see, see ``Database.reads_in_parallel``) reads them
        one by one in this thread.

    Returns
    -------
    Ingested
        ``seconds["load"]`` is the time validation spent reading or waiting for a read;
        ``seconds["validate"]`` the rest.

    Raises
    ------
    DataError
        A contract table is missing (see :func:`source_tables`); nothing is read.
    """
    names = source_tables(db)
    if not db.reads_in_parallel:
        ahead = 0
    started = time.perf_counter()
    with ReadAhead(db.read_table, names, size=db.estimate_rows, ahead=ahead) as reader:
        loaders = {name: (lambda name=name: reader.take(name)) for name in names}
        report = validate_tables(loaders, as_of=as_of, source=db.display_name, columns=columns)
        del loaders
    total = time.perf_counter() - started
    return Ingested(report=report, seconds={"load": reader.load_seconds, "validate": total - reader.load_seconds})


def ingest(db: Database, *, as_of: AsOf = None) -> Ingested:
    """Read every contract table of ``db`` and validate it as of ``as_of`` (default today).

    A contract table absent from the database raises :class:`~engine.DataError` (see
    :func:`source_tables`). Every column is kept (training and what-if analyses read them);
    ``kam score`` keeps fewer (see :func:`read_and_validate`).
    """
    if not isinstance(db, Database):
        raise ArgumentError(f"expected an engine.Database; got {type(db).__name__}. "
                            "Fix: pass engine.Database(url_or_path)")
    return read_and_validate(db, as_of=as_of)

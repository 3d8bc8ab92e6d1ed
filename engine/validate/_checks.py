"""The checks of a contract over its tables, table by table, parents first (see ``_executor``).

:class:`Run` holds one validation: each table is coerced column by column, then checked (missing
columns, keys, types, categories, ranges, future dates, row checks, references), and its valid
and quarantined frames are built before the next table is loaded.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
import pandas as pd

from engine._errors import ContractError, SpecError
from engine._memory import give_back_memory
from engine._suggest import closest, suggestion
from engine.contract import Column, Contract, Table
from engine.validate._arrays import duplicated, empty_valid, final_dtype, isin, row_reasons
from engine.validate._coerce import DATE_MAX, DATE_MIN, EXPECTED, Coerced, coerce
from engine.validate._collector import VALUE_WIDTH, Collector, empty_failures, full_of, show, shows
from engine.validate._dates import date_hint
from engine.validate._report import COUNT_COLUMNS, ValidationReport

__all__ = ["Run", "did_you_mean"]

_T = TypeVar("_T")

_MULTI_SEPARATOR = ";"
_COLLECT_ROWS = 1_000_000  # tables at least this long are followed by a garbage collection


def _suggest(value: str, choices) -> str | None:
    """The nearest of ``choices`` to ``value``, or None."""
    choices = [str(c) for c in choices]
    if not choices:
        return None
    normal = str(value).strip().lower().replace("-", "_").replace(" ", "_")
    if normal in choices and normal != value:
        return normal
    return closest(normal, choices)


def did_you_mean(value: str, choices) -> str:
    """``"did you mean 'x'? "`` for the nearest of ``choices`` to ``value``, or ``""``."""
    best = _suggest(value, choices)
    return f"{suggestion(best, [best])} " if best is not None else ""


def _given(value: _T | None) -> _T:
    """``value``, which is set at this point of a table's validation (None would be a bug here)."""
    if value is None:
        raise AssertionError("a table's state was used before it was set or after it was released")
    return value


# --- per-table state ---------------------------------------------------------------------------
@dataclass
class _TableState:
    table: Table
    present: bool
    n: int = 0
    raw: pd.DataFrame | None = None  # input, positional index, duplicate labels dropped
    index: pd.Index | None = None  # the input's own index labels
    coerced: dict[str, Coerced] = field(default_factory=dict)
    failing: np.ndarray | None = None
    missing_columns: tuple[str, ...] = ()
    failures: pd.DataFrame | None = None  # this table's failures, in the order found
    valid: pd.DataFrame | None = None
    quarantined: pd.DataFrame | None = None


class Run:
    def __init__(
        self,
        contract: Contract,
        as_of: pd.Timestamp,
        source: str | None,
        columns: Mapping[str, tuple[str, ...]] | None = None,
    ):
        self.contract = contract
        self.as_of = as_of
        self.source = source
        self.columns = dict(columns or {})  # table -> the columns its valid frame keeps
        self.failures = Collector()  # the table being validated; moved to its state when done
        self.warnings = Collector()
        self.states: dict[str, _TableState] = {}
        # columns that other rows point at: kept (coerced) after their table is released
        self.referenced: dict[str, set[str]] = {}
        for table in contract.tables:
            for column in table.columns:
                if column.references:
                    parent, parent_column = column.references.split(".", 1)
                    self.referenced.setdefault(parent, set()).add(parent_column)

    # ---- the pass ----
    def run(self, tables: Mapping[str, pd.DataFrame | Callable[[], pd.DataFrame]]) -> ValidationReport:
        given = dict(tables)
        for name, frame in given.items():
            if not isinstance(frame, pd.DataFrame) and not callable(frame):
                raise ContractError(
                    f"expected a pandas DataFrame for table {name!r}; got {type(frame).__name__}. Pass each "
                    "table as a DataFrame (engine.storage reads them so), or a function that returns one."
                )
        for name in given:
            if name not in self.contract:
                self.warnings.add(
                    str(name), None, None, None, "unexpected_column", "", f"table {name!r} is not in the contract; "
                    "it is not validated and not passed on",
                    f"{did_you_mean(str(name), self.contract.table_names)}remove it or rename it to a contract table",
                )
        for table in dependency_order(self.contract):
            frame = given.pop(table.name, None)
            if frame is not None and not isinstance(frame, pd.DataFrame):
                frame = _load(table.name, frame)
            state = self._validate_table(table, frame)
            del frame
            self._finish(state)
            self.states[table.name] = state
        return self._report()

    def _validate_table(self, table: Table, frame: pd.DataFrame | None) -> _TableState:
        if frame is None:
            where = f" in {self.source}" if self.source else ""
            self.failures.add(
                table.name, None, None, None, "missing_table", "",
                f"expected a table {table.name!r}{where}; got none",
                f"load the table {table.name!r} ({table.description}); references into it cannot be resolved",
            )
            return _TableState(table, present=False, failing=np.zeros(0, dtype=bool))
        index = frame.index
        frame = self._columns_of(table, frame)
        state = _TableState(table, present=True, n=len(frame), raw=frame, index=index)
        state.missing_columns = tuple(c for c in table.column_names if c not in frame.columns)
        state.failing = np.zeros(state.n, dtype=bool)
        for column in table.columns:
            if column.name in frame.columns:
                state.coerced[column.name] = coerce(frame[column.name], column.type)
        self._check_missing_columns(state, frame)
        self._check_key(state)
        for column in table.columns:
            if column.name in state.coerced:
                self._check_column(state, column)
        self._check_rows(state)
        self._check_references(state)
        return state

    def _columns_of(self, table: Table, frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.reset_index(drop=True)
        labels = list(frame.columns)
        twice = frame.columns.duplicated()
        for label in np.asarray(labels, dtype=object)[twice]:
            self.warnings.add(
                table.name, None, None, str(label), "unexpected_column", "",
                f"column {label!r} appears more than once; the first one is used",
                "drop or rename the repeated column",
            )
        frame = frame.loc[:, ~twice]
        for label in frame.columns:
            if label not in table.column_names:
                self.warnings.add(
                    table.name, None, None, str(label), "unexpected_column", "",
                    f"column {label!r} is not in the contract of {table.name!r}; it is left out of the valid data",
                    f"{did_you_mean(str(label), table.column_names)}remove it, or add it to the contract",
                )
        return frame

    def _key_texts(self, state: _TableState, rows: np.ndarray) -> np.ndarray:
        key = state.coerced.get(state.table.key)
        if key is None:
            return full_of(len(rows), None)
        # text that failed to coerce (e.g. lone surrogates) is null here, so keys are storable
        return key.values.iloc[rows].to_numpy(dtype=object, na_value=None)

    def _fail(self, state: _TableState, mask_or_rows, column, reason, values, messages, hints) -> None:
        rows = np.flatnonzero(mask_or_rows) if mask_or_rows.dtype == bool else mask_or_rows
        if len(rows) == 0:
            return
        _given(state.failing)[rows] = True
        self.failures.add(state.table.name, rows, self._key_texts(state, rows), column, reason, values, messages, hints)

    def _raw(self, state: _TableState, column: str, rows: np.ndarray) -> list[str]:
        if len(rows) == 0:
            return []
        return shows(_given(state.raw)[column].iloc[rows].to_numpy(dtype=object))

    # ---- checks ----
    def _check_missing_columns(self, state: _TableState, frame: pd.DataFrame) -> None:
        table = state.table
        extra = [str(c) for c in frame.columns if c not in table.column_names]
        for name in state.missing_columns:
            column = table.column(name)
            message = (
                f"expected column {name!r} ({column.type}) in {table.name!r}; got columns "
                f"{[str(c) for c in frame.columns][:20]}"
            )
            hint = f"{did_you_mean(name, extra)}add the column {name!r} ({column.description})"
            if state.n == 0:
                self.failures.add(table.name, None, None, name, "missing_column", "", message, hint)
            else:
                self._fail(state, np.ones(state.n, dtype=bool), name, "missing_column", "", message, hint)

    def _check_key(self, state: _TableState) -> None:
        name = state.table.key
        key = state.coerced.get(name)
        if key is None:
            return
        empty = key.null | key.failed
        rows = np.flatnonzero(key.null)
        shown = self._raw(state, name, rows)
        self._fail(
            state, rows, name, "empty_key", shown,
            [f"expected a non-empty {name}; got {s}" for s in shown],
            f"give every {state.table.name} row its own {name}",
        )
        rows = np.flatnonzero(key.failed & ~key.null)  # a BLOB, or text that is not UTF-8
        shown = self._raw(state, name, rows)
        self._fail(
            state, rows, name, "wrong_type", shown,
            [f"expected {name} as text; got {s}" for s in shown],
            f"write every {name} as plain UTF-8 text",
        )
        texts = key.values
        dup = duplicated(texts) & ~empty
        if dup.any():
            rows = np.flatnonzero(dup)
            dup_keys = pd.Series(rows).groupby(texts.iloc[rows].to_numpy(dtype=object)).agg(list)
            where = {k: v for k, v in dup_keys.items()}
            messages = []
            for r in rows:
                others = where[texts.iat[r]]
                listed = ", ".join(str(o) for o in others[:5]) + (", ..." if len(others) > 5 else "")
                messages.append(
                    f"expected a unique {name}; got {show(texts.iat[r])} on {len(others)} rows (rows {listed})"
                )
            self._fail(
                state, rows, name, "duplicate_key", self._raw(state, name, rows), messages,
                "remove the duplicate rows or give each its own key; every copy is quarantined "
                "because kam cannot tell which is right",
            )

    def _check_column(self, state: _TableState, column: Column) -> None:
        c = state.coerced[column.name]
        name = column.name
        is_key = name == state.table.key
        if not is_key:
            if column.required:
                rows = np.flatnonzero(c.null)
                shown = self._raw(state, name, rows)
                self._fail(
                    state, rows, name, "null_required", shown,
                    [f"expected a value in required column {name!r}; got {s}" for s in shown],
                    f"fill {name} ({column.description})",
                )
            rows = np.flatnonzero(c.bad)
            shown = self._raw(state, name, rows)
            messages = [f"expected {EXPECTED[column.type]}; got {s}" for s in shown]
            if column.type == "date" and len(rows):  # say how to write this one (2023/10/13 -> 2023-10-13)
                fixes = [date_hint(v) for v in _given(state.raw)[name].iloc[rows].to_numpy(dtype=object)]
                messages = [f"{m} ({fix})" if fix else m for m, fix in zip(messages, fixes)]
            self._fail(state, rows, name, "wrong_type", shown, messages, _type_hint(column))
            # a date past what kam can hold is certainly in the future: say that, where it matters
            late = c.late if (column.type == "date" and column.not_future) else np.zeros(state.n, dtype=bool)
            rows = np.flatnonzero(c.too_large & ~late)
            shown = self._raw(state, name, rows)
            limit = (
                f"a date between {DATE_MIN.date()} and {DATE_MAX.date()}"
                if column.type == "date"
                else "a number within the 64-bit integer range"
            )
            self._fail(state, rows, name, "wrong_type", shown, [f"expected {limit}; got {s}" for s in shown],
                       "use null for an open end date" if column.type == "date" else "check the value; it is too large")
            rows = np.flatnonzero(c.nonfinite)
            shown = self._raw(state, name, rows)
            self._fail(state, rows, name, "non_finite", shown,
                       [f"expected a finite number; got {s}" for s in shown],
                       "write a finite number, or null if unknown (a division by zero upstream is the usual cause)")
        if column.type == "enum" and column.allowed is not None:
            self._check_categories(state, column, c)
        if column.type in ("integer", "number") and (column.minimum is not None or column.maximum is not None):
            self._check_range(state, column, c)
        if column.type == "date" and column.not_future:
            self._check_future(state, column, c)

    def _check_categories(self, state: _TableState, column: Column, c: Coerced) -> None:
        allowed = tuple(column.allowed or ())
        values = c.values
        present = values.notna().to_numpy()
        if not present.any():
            return
        listed = ", ".join(allowed)
        if column.multi:
            elements = values[present].str.split(_MULTI_SEPARATOR).explode().str.strip()
            bad = ~elements.isin(allowed).to_numpy()
            rows = elements.index.to_numpy()[bad]
            bad_elements = elements.to_numpy(dtype=object)[bad]
            full = values.iloc[rows].to_numpy(dtype=object)
            messages = [
                f"expected each {_MULTI_SEPARATOR!r}-separated element to be one of: {listed}; "
                f"got {show(e)} in {show(f)}"
                for e, f in zip(bad_elements, full)
            ]
            shown = shows(bad_elements)
        else:
            bad = present & ~isin(values, allowed)
            rows = np.flatnonzero(bad)
            bad_elements = values.iloc[rows].to_numpy(dtype=object)
            shown = self._raw(state, column.name, rows)
            messages = [f"expected one of: {listed}; got {s}" for s in shown]
        suggestions = {v: did_you_mean(v, allowed) for v in pd.unique(bad_elements)}
        hints = [f"{suggestions[v]}use one of the allowed values of {column.name}" for v in bad_elements]
        self._fail(state, np.asarray(rows, dtype=np.int64), column.name, "unknown_category", shown, messages, hints)

    def _check_range(self, state: _TableState, column: Column, c: Coerced) -> None:
        numbers = c.values.to_numpy(dtype=np.float64, na_value=np.nan)
        below = np.zeros(len(numbers), dtype=bool)
        above = np.zeros(len(numbers), dtype=bool)
        with np.errstate(invalid="ignore"):
            if column.minimum is not None:
                below = numbers < column.minimum
            if column.maximum is not None:
                above = numbers > column.maximum
        if column.minimum is not None and column.maximum is not None:
            expected = f"a value between {_num(column.minimum)} and {_num(column.maximum)}"
        elif column.minimum is not None:
            expected = f"a value >= {_num(column.minimum)}"
        else:
            expected = f"a value <= {_num(_given(column.maximum))}"
        negative = below & (column.minimum == 0)
        rows = np.flatnonzero(negative)
        shown = self._raw(state, column.name, rows)
        self._fail(state, rows, column.name, "negative_value", shown,
                   [f"expected {expected}; got {s}" for s in shown],
                   f"{column.name} cannot be negative; check the sign (returns and credits are not {state.table.name})")
        rows = np.flatnonzero((below & ~negative) | above)
        shown = self._raw(state, column.name, rows)
        self._fail(state, rows, column.name, "out_of_range", shown,
                   [f"expected {expected}; got {s}" for s in shown],
                   f"bring {column.name} into its range ({column.description})")

    def _check_future(self, state: _TableState, column: Column, c: Coerced) -> None:
        future = (c.values > self.as_of).fillna(False).to_numpy(dtype=bool) | c.late
        rows = np.flatnonzero(future)
        shown = self._raw(state, column.name, rows)
        self._fail(
            state, rows, column.name, "future_date", shown,
            [f"expected a date on or before {self.as_of.date()} (the as-of date); got {s}" for s in shown],
            f"correct {column.name}; if the data is newer than the run, pass a later as_of",
        )

    def _check_rows(self, state: _TableState) -> None:
        table = state.table
        if not table.checks or state.n == 0:
            return
        needed = {name for check in table.checks for name in check.columns}
        frame = pd.DataFrame({name: c.values for name, c in state.coerced.items() if name in needed})
        for check in table.checks:
            if any(name not in state.coerced for name in check.columns):
                continue  # the table is already quarantined by missing_column
            unreadable = np.zeros(state.n, dtype=bool)
            for name in check.columns:
                unreadable |= state.coerced[name].failed
            try:
                result = check.fails(frame)
            except Exception as error:
                raise SpecError(
                    f"row check {check.name!r} of table {table.name!r} raised {type(error).__name__}: {error}; "
                    "expected a boolean Series. Fix the check in the contract."
                ) from error
            if not isinstance(result, pd.Series) or len(result) != state.n:
                raise SpecError(
                    f"row check {check.name!r} of table {table.name!r} must return a boolean Series of "
                    f"{state.n} rows; got {type(result).__name__}"
                )
            fails = result.fillna(False).to_numpy(dtype=bool) & ~unreadable
            rows = np.flatnonzero(fails)
            if len(rows) == 0:
                continue
            raw = {name: _given(state.raw)[name].iloc[rows].to_numpy(dtype=object) for name in check.columns}
            got = [", ".join(f"{name}={show(raw[name][i])}" for name in check.columns) for i in range(len(rows))]
            values = ["{" + g + "}" if len(g) < VALUE_WIDTH else g[: VALUE_WIDTH - 1] + "…" for g in got]
            self._fail(
                state, rows, check.columns[0], "row_check", values,
                [f"row check {check.name!r} failed: expected {check.description}; got {g}" for g in got],
                check.hint,
            )

    def _check_references(self, state: _TableState) -> None:
        table = state.table
        refs = [c for c in table.columns if c.references and c.name in state.coerced]
        if not refs or state.n == 0:
            return
        cross = [c for c in refs if _given(c.references).split(".")[0] != table.name]
        own = [c for c in refs if _given(c.references).split(".")[0] == table.name]
        orphans: dict[str, np.ndarray] = {}
        for column in cross:
            parent_name, parent_column = _given(column.references).split(".", 1)
            parent = self.states.get(parent_name)
            if parent is None:  # a contract without that table: nothing to check against
                continue
            if not parent.present or parent_column not in parent.coerced:
                valid_keys = pd.Series([], dtype="str")
                known = valid_keys
            else:
                known = parent.coerced[parent_column].values
                valid_keys = known[~_given(parent.failing)]
            orphans[column.name] = self._orphan_mask(state, column, valid_keys)
            self._report_orphans(state, column, orphans[column.name], parent, parent_column, known)
        # a table that references itself (a rep's manager): quarantining one row can orphan
        # another, so iterate until the set of failing rows stops growing
        if own:
            failing = _given(state.failing).copy()
            while True:
                masks = {}
                for column in own:
                    parent_column = _given(column.references).split(".", 1)[1]
                    valid_keys = state.coerced[parent_column].values[~failing]
                    masks[column.name] = self._orphan_mask(state, column, valid_keys)
                grown = failing.copy()
                for mask in masks.values():
                    grown |= mask
                if (grown == failing).all():
                    break
                failing = grown
            for column in own:
                parent_column = _given(column.references).split(".", 1)[1]
                self._report_orphans(state, column, masks[column.name], state, parent_column,
                                     state.coerced[parent_column].values)

    def _orphan_mask(self, state: _TableState, column: Column, valid_keys: pd.Series) -> np.ndarray:
        values = state.coerced[column.name].values
        present = values.notna().to_numpy()
        ok = isin(values, valid_keys.dropna())
        if column.references_or:
            ok = ok | isin(values, column.references_or)
        return present & ~ok

    def _report_orphans(self, state, column: Column, mask, parent: _TableState, parent_column: str, known) -> None:
        rows = np.flatnonzero(mask)
        if len(rows) == 0:
            return
        parent_name = parent.table.name
        values = state.coerced[column.name].values.iloc[rows]
        exists = isin(values, known.dropna())
        alternatives = f" or {', '.join(repr(v) for v in column.references_or)}" if column.references_or else ""
        shown = shows(values.to_numpy(dtype=object))
        messages, hints = [], []
        for s, found in zip(shown, exists):
            if not parent.present:
                messages.append(f"expected {column.name} to match a {parent_name}.{parent_column}{alternatives}; "
                                f"got {s}, but table {parent_name!r} is missing")
                hints.append(f"load the {parent_name!r} table")
            elif found:
                messages.append(f"expected a valid {parent_name} row with {parent_column}={s}; "
                                f"got a parent row that was quarantined")
                hints.append(f"fix the quarantined {parent_name} row {s} (see its own failures); this row follows it")
            else:
                messages.append(f"expected {column.name} to match a {parent_name}.{parent_column}{alternatives}; "
                                f"got {s}, which is not there")
                hints.append(f"load the {parent_name} row {s} or correct {column.name}")
        self._fail(state, rows, column.name, "orphan", shown, messages, hints)

    # ---- results ----
    def _finish(self, state: _TableState) -> None:
        """Build the table's valid and quarantined frames, then release what no one needs."""
        table = state.table
        name = table.name
        state.failures = self.failures.frame()
        self.failures = Collector()
        kept_columns = self.columns.get(name, table.column_names)
        if not state.present:
            state.valid = empty_valid(table)[list(kept_columns)]
            state.quarantined = pd.DataFrame(
                {**{c: [] for c in table.column_names}, "reasons": pd.Series([], dtype="str")},
                index=pd.Index([], dtype="int64", name="row"),
            )
            return
        keep = ~_given(state.failing)
        everything = bool(keep.all())
        data = {}
        for column in table.columns:
            if column.name not in kept_columns:
                continue
            if column.name in state.coerced:
                values = state.coerced[column.name].values
                data[column.name] = final_dtype(column, values if everything else values[keep])
            else:  # the table is fully quarantined; keep the column so the shape holds
                data[column.name] = empty_valid(table)[column.name]
        out = pd.DataFrame(data, copy=False)
        out.index = _given(state.index) if everything else _given(state.index)[keep]
        state.valid = out
        bad_rows = np.flatnonzero(_given(state.failing))
        q = _given(state.raw).iloc[bad_rows].copy()
        q.index = pd.Index(bad_rows, name="row")  # input positions, as in failures.row
        q["reasons"] = row_reasons(state.failures, bad_rows)
        state.quarantined = q
        # release the input and every coerced column later tables do not look up
        kept = self.referenced.get(name, set())
        state.raw = None
        state.index = None
        state.coerced = {c: v for c, v in state.coerced.items() if c in kept}
        del data, out, q
        if state.n >= _COLLECT_ROWS:  # a full collection costs ~0.1 s: worth it for big tables only
            gc.collect()
        give_back_memory()

    def _report(self) -> ValidationReport:
        frames = [s.failures for s in self.states.values() if s.failures is not None and not s.failures.empty]
        failures = pd.concat(frames, ignore_index=True) if frames else empty_failures()
        if not failures.empty:  # contract table order, then input row (table-level first)
            rank = {name: i for i, name in enumerate(self.contract.table_names)}
            order = np.lexsort(
                (
                    failures["row"].to_numpy(dtype=np.int64, na_value=-1),
                    failures["table"].map(rank).to_numpy(dtype=np.int64),
                )
            )
            failures = failures.iloc[order].reset_index(drop=True)
        warnings = self.warnings.frame()
        valid, quarantined, counts = {}, {}, []
        warn_counts = warnings.groupby("table").size() if not warnings.empty else pd.Series(dtype=int)
        for name, state in self.states.items():
            valid[name] = state.valid
            quarantined[name] = state.quarantined
            counts.append(
                {
                    "table": name,
                    "rows": state.n,
                    "valid": len(_given(valid[name])),
                    "quarantined": len(_given(quarantined[name])),
                    "failures": len(_given(state.failures)),
                    "warnings": int(warn_counts.get(name, 0)),
                }
            )
        counts_frame = pd.DataFrame(counts, columns=["table", *COUNT_COLUMNS]).set_index("table")
        return ValidationReport(
            valid=valid, failures=failures, warnings=warnings, quarantined=quarantined,
            counts=counts_frame, as_of=self.as_of, source=self.source,
        )


def _load(name: str, loader: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    frame = loader()
    if not isinstance(frame, pd.DataFrame):
        raise ContractError(
            f"expected the loader of table {name!r} to return a pandas DataFrame; got {type(frame).__name__}."
        )
    return frame



def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _type_hint(column: Column) -> str:
    return {
        "string": f"write {column.name} as text",
        "enum": f"write {column.name} as text, one of the allowed values",
        "integer": f"write {column.name} as a whole number such as 12 (no fraction, no text)",
        "number": f"write {column.name} as a number such as 1250.5 (digits, '.' as decimal point, no units)",
        "boolean": f"write {column.name} as true/false (1/0 and yes/no are also read)",
        "date": f"write {column.name} as an ISO date YYYY-MM-DD, e.g. 2024-03-31",
    }[column.type]



def dependency_order(contract: Contract) -> list[Table]:
    """Tables with every referenced table first (contract order among equals)."""
    by_name = {t.name: t for t in contract.tables}
    order: list[Table] = []
    state: dict[str, str] = {}

    def visit(table: Table, path: tuple[str, ...]) -> None:
        mark = state.get(table.name)
        if mark == "done":
            return
        if mark == "visiting":
            raise SpecError(
                f"the contract's references form a cycle: {' -> '.join((*path, table.name))}; "
                "expected tables that can be validated parents first"
            )
        state[table.name] = "visiting"
        for column in table.columns:
            if column.references:
                parent = column.references.split(".", 1)[0]
                if parent != table.name and parent in by_name:
                    visit(by_name[parent], (*path, table.name))
        state[table.name] = "done"
        order.append(table)

    for table in contract.tables:
        visit(table, ())
    return order


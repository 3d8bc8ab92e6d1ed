"""The result of a validation run: valid data, every failure, quarantined rows, counts."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from engine._errors import ContractError

__all__ = ["ValidationReport", "FAILURE_COLUMNS", "COUNT_COLUMNS"]

#: Columns of :attr:`ValidationReport.failures` (and of ``warnings``), in order.
FAILURE_COLUMNS: tuple[str, ...] = ("table", "row", "key", "column", "reason", "value", "message", "hint")
#: Columns of :attr:`ValidationReport.counts` (indexed by table).
COUNT_COLUMNS: tuple[str, ...] = ("rows", "valid", "quarantined", "failures", "warnings")


@dataclass(frozen=True)
class ValidationReport:
    """Everything one validation pass found.

    Attributes
    ----------
    valid : dict of str to pandas.DataFrame
        Each contract table without its failing rows, columns in contract order and coerced to
        their logical dtypes (``str``; ``int64``, or ``Int64`` when optional; ``float64``;
        ``bool``, or ``boolean`` when optional; ``datetime64[ns]`` at midnight). The index
        labels of the input are kept.
    failures : pandas.DataFrame
        One row per failure (a row can fail several times): ``table``, ``row`` (0-based position
        in the input; null for table-level failures), ``key`` (the row's primary key when
        readable), ``column``, ``reason`` (a code of :data:`engine.validate.REASONS`), ``value``
        (repr of the offending value, truncated), ``message`` (expected / got) and ``hint``.
    warnings : pandas.DataFrame
        Findings that quarantine nothing (``unexpected_column``), same columns as ``failures``.
    quarantined : dict of str to pandas.DataFrame
        For each table, the failing input rows exactly as they arrived, plus a ``reasons``
        column (``"reason:column; ..."``), indexed by ``row`` (the 0-based input position, the
        same number as in ``failures.row``).
    counts : pandas.DataFrame
        Per table: ``rows`` in, ``valid``, ``quarantined``, ``failures``, ``warnings``.
    as_of : pandas.Timestamp
        The date future dates were judged against.
    source : str or None
        Where the tables came from, as given by the caller.
    """

    valid: dict[str, pd.DataFrame]
    failures: pd.DataFrame
    warnings: pd.DataFrame
    quarantined: dict[str, pd.DataFrame]
    counts: pd.DataFrame
    as_of: pd.Timestamp
    source: str | None = None

    @property
    def ok(self) -> bool:
        """True when no row failed (warnings do not count)."""
        return self.failures.empty

    @property
    def n_quarantined(self) -> int:
        """Number of quarantined rows over all tables."""
        return int(self.counts["quarantined"].sum())

    def raise_if_any(self) -> None:
        """Raise :class:`~engine._errors.ContractError` if any row failed.

        The error's ``failure_cases`` is :attr:`failures`.

        Raises
        ------
        ContractError
            When :attr:`failures` is not empty.
        """
        if self.ok:
            return
        raise ContractError(
            f"expected data that meets the contract; got {self._headline()}. "
            "Fix the rows listed in failure_cases (each has a hint), or run with quarantine and "
            "read the rejects table.",
            failure_cases=self.failures,
        )

    def _headline(self) -> str:
        per_table = self.failures.groupby("table", sort=False).size()
        tables = ", ".join(f"{t}: {n}" for t, n in per_table.items())
        reasons = self.failures["reason"].value_counts()
        common = ", ".join(f"{r} ({n})" for r, n in reasons.head(5).items())
        return (
            f"{len(self.failures)} failures ({self.n_quarantined} rows quarantined) in "
            f"{len(per_table)} tables ({tables}); most common: {common}"
        )

    def summary(self) -> str:
        """A short plain-text summary: per-table counts, then failures by reason.

        Examples
        --------
        >>> import pandas as pd
        >>> from engine.contract import Column, Contract, Table
        >>> from engine.validate import validate_tables
        >>> t = Table("t", "demo", "id", (Column("id", "string", "id"), Column("n", "integer", "n")))
        >>> report = validate_tables({"t": pd.DataFrame({"id": ["a", "b"], "n": [1, "x"]})},
        ...                          contract=Contract((t,)), as_of="2024-01-01")
        >>> print(report.summary())
        validation as of 2024-01-01: 2 rows, 1 valid, 1 quarantined, 1 failures, 0 warnings
          t: 2 rows, 1 valid, 1 quarantined
        failures by reason:
          wrong_type: 1
        """
        total = self.counts.sum()
        source = f" of {self.source}" if self.source else ""
        lines = [
            f"validation{source} as of {self.as_of.date().isoformat()}: {int(total['rows'])} rows, "
            f"{int(total['valid'])} valid, {int(total['quarantined'])} quarantined, "
            f"{int(total['failures'])} failures, {int(total['warnings'])} warnings"
        ]
        for table, row in self.counts.iterrows():
            lines.append(f"  {table}: {row['rows']} rows, {row['valid']} valid, {row['quarantined']} quarantined")
        if not self.failures.empty:
            lines.append("failures by reason:")
            for reason, n in self.failures["reason"].value_counts().items():
                lines.append(f"  {reason}: {n}")
        if not self.warnings.empty:
            lines.append("warnings:")
            for message in self.warnings["message"].head(10):
                lines.append(f"  {message}")
        return "\n".join(lines)


"""Run health as policy: when a run's input is too damaged to publish its results.

A nightly job is judged by its exit status. A run that read a database with a missing table,
or that quarantined a large share of a table, would otherwise "succeed" with results that
silently disagree with yesterday's. :func:`check_run_health` turns those conditions into a
:class:`~engine._errors.DataError` (``kam`` exit 4) **before anything is written**, so the
previous run's results stay current; :func:`warn_run_health` only warns (for library calls
that write nothing, such as :func:`engine.score_frame`).
"""

from __future__ import annotations

import warnings

import pandas as pd

from engine._arguments import check_type
from engine._errors import ConfigError, DataError, RunHealthWarning
from engine._log import get_logger
from engine.validate import ValidationReport

__all__ = ["DEFAULT_MAX_QUARANTINED", "MOSTLY", "check_run_health", "quarantined_shares", "warn_run_health"]

#: Default largest share of any one table's rows a run may quarantine (``--max-quarantined``).
DEFAULT_MAX_QUARANTINED = 0.05
#: Share of a table quarantined that counts as "mostly quarantined" for a warning.
MOSTLY = 0.5

_log = get_logger("health")


def quarantined_shares(report: ValidationReport) -> pd.Series:
    """Quarantined share of each input table that has rows (table name -> 0..1)."""
    counts = report.counts
    rows = counts["rows"].astype(float)
    shares = counts["quarantined"].astype(float) / rows.where(rows > 0)
    return shares.dropna()


def _missing_tables(report: ValidationReport) -> list[str]:
    failures = report.failures
    if failures.empty or "reason" not in failures:
        return []
    return sorted({str(t) for t in failures.loc[failures["reason"] == "missing_table", "table"]})


def _describe(report: ValidationReport, tables) -> str:
    counts = report.counts
    return ", ".join(
        f"{table} {int(counts.loc[table, 'quarantined']):,} of {int(counts.loc[table, 'rows']):,} "
        f"({counts.loc[table, 'quarantined'] / counts.loc[table, 'rows']:.1%})"
        for table in tables
    )


def _reasons(report: ValidationReport, tables) -> str:
    failures = report.failures
    if failures.empty:
        return ""
    common = failures.loc[failures["table"].isin(list(tables)), "reason"].value_counts().head(3)
    return "; most common reasons: " + ", ".join(f"{r} ({n:,})" for r, n in common.items()) if len(common) else ""


def check_run_health(report: ValidationReport, max_quarantined: float | None = DEFAULT_MAX_QUARANTINED,
                     *, source: str = "the database") -> None:
    """Refuse a run whose input is missing a table or lost too many rows to quarantine.

    Parameters
    ----------
    report : ValidationReport
        What validation found.
    max_quarantined : float or None, default 0.05
        Largest share (0..1) of any one table's rows that may be quarantined; ``None`` or 1
        switches the check off (a missing table is still refused).
    source : str
        How to name the database in the message (never a URL).

    Raises
    ------
    DataError
        A contract table is missing, or a table's quarantined share exceeds ``max_quarantined``.
    ConfigError
        ``max_quarantined`` is not between 0 and 1.
    """
    check_type("check_run_health", "report", report, ValidationReport, "pass the report of engine.validate_tables")
    missing = _missing_tables(report)
    if missing:
        raise DataError(
            f"expected every contract table in {source}; got none for {', '.join(repr(t) for t in missing)}. "
            "A run without them would score every account as if it had no such rows. Nothing was written; "
            "the previous results are intact. Fix: load the missing table(s) (`kam validate` lists what "
            "each table must hold)."
        )
    if max_quarantined is None:
        return
    if isinstance(max_quarantined, bool) or not 0 <= float(max_quarantined) <= 1:
        raise ConfigError(f"max_quarantined must be a share between 0 and 1 (e.g. 0.05); got {max_quarantined!r}.")
    shares = quarantined_shares(report)
    over = shares[shares > float(max_quarantined)]
    if len(over):
        raise DataError(
            f"expected at most {float(max_quarantined):.1%} of any input table quarantined; got "
            f"{_describe(report, over.index)}{_reasons(report, over.index)}. Nothing was written; the "
            "previous results are intact. Fix the rows (`kam validate` lists each with a hint), or, if "
            "this is expected, allow it with --max-quarantined SHARE (KAM_SCORE_MAX_QUARANTINED)."
        )
    _log.info("run health: quarantined share per table at most %.2f%% (limit %.1f%%)",
              100 * float(shares.max()) if len(shares) else 0.0, 100 * float(max_quarantined))


def warn_run_health(report: ValidationReport | None, accounts_scored: int, *, stacklevel: int = 3) -> None:
    """Warn (:class:`RunHealthWarning`) on an empty result, missing tables, or mostly quarantined tables."""
    if report is not None:
        missing = _missing_tables(report)
        if missing:
            warnings.warn(RunHealthWarning(
                f"no {', '.join(repr(t) for t in missing)} table was given: it counts as empty, so every "
                "account is scored as if it had no such rows. Pass every contract table."
            ), stacklevel=stacklevel)
        shares = quarantined_shares(report)
        mostly = shares[shares > MOSTLY]
        if len(mostly):
            warnings.warn(RunHealthWarning(
                f"most rows of {', '.join(mostly.index)} were quarantined ({_describe(report, mostly.index)})"
                f"{_reasons(report, mostly.index)}; the results rest on what is left. See report.failures."
            ), stacklevel=stacklevel)
    if accounts_scored == 0:
        why = ""
        if report is not None and "customers" in report.counts.index:
            row = report.counts.loc["customers"]
            why = f" ({int(row['rows']):,} customers in, {int(row['quarantined']):,} quarantined)"
        warnings.warn(RunHealthWarning(f"the run scored 0 accounts{why}; nothing to act on."), stacklevel=stacklevel)

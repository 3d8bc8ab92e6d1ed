"""The weekly meeting's printouts: one person's list as text, and the plan as CSV files."""

from __future__ import annotations

import hashlib
import re
import textwrap
from pathlib import Path

import pandas as pd

from engine._errors import ConfigError, StorageError

__all__ = ["EXPORT_COLUMNS", "person_text", "write_exports"]

#: Columns of the CSV exports, in order (a subset of the plan's columns that a person reads).
EXPORT_COLUMNS = (
    "week", "assignee_type", "assignee_id", "status", "rank", "account_id", "account_name", "tier", "action",
    "recommended_action", "why", "cadence_due", "days_since_contact", "value_at_risk", "open_alerts",
    "expected_deal_value", "expected_value", "copied_rep_id",
)
_SAFE = re.compile(r"[^\w.-]")  # letters of any script, digits, _ . - ; everything else becomes _


def person_text(lines: pd.DataFrame, assignee_id: str, width: int = 100) -> str:
    """One person's list for the weekly meeting: planned lines by rank, then obligations left over.

    Raises
    ------
    ConfigError
        ``assignee_id`` has no line in the plan (with the nearest ids that do).
    """
    mine = lines[lines["assignee_id"].astype(object) == assignee_id]
    if mine.empty:
        from engine._suggest import did_you_mean

        known = sorted(set(lines["assignee_id"].dropna().astype(str)))
        hint = did_you_mean(str(assignee_id), known)
        raise ConfigError(
            f"nobody with id {assignee_id!r} has a line in this plan ({len(known):,} people do){hint}. "
            "Fix: pass a rep_id or partner_id from the plan."
        )
    first = mine.iloc[0]
    planned = mine[mine["status"] == "planned"].sort_values("rank")
    short = mine[mine["status"] == "capacity_short"].sort_values("expected_value", ascending=False)
    out = [
        f"Call plan {first['week']} for {first['assignee_type']} {assignee_id} ({first['assignee_role']}): "
        f"{len(planned)} contacts" + (f", {len(short)} cadence obligations that did not fit" if len(short) else ""),
        "",
    ]
    wrap = textwrap.TextWrapper(width=width, initial_indent="     ", subsequent_indent="     ")
    for _, row in planned.iterrows():
        name = row["account_name"] if isinstance(row["account_name"], str) else ""
        out.append(f"{int(row['rank']):>3}. {row['account_id']} {name} [tier {row['tier']}]")
        out.extend(wrap.wrap("Do: " + str(row["recommended_action"])))
        out.extend(wrap.wrap("Why: " + str(row["why"])))
    if len(short):
        out += ["", "Cadence due but over capacity (raise at the meeting):"]
        for _, row in short.iterrows():
            out.append(f"  - {row['account_id']} [tier {row['tier']}], expected value {row['expected_value']:,.0f} CNY")
    return "\n".join(out) + "\n"


def _name(kind, value) -> str:
    """``<type>-<id>``, with a short hash of the id when characters had to be replaced (two ids
    that differ only in such characters must never share a file)."""
    text = str(value)
    safe = _SAFE.sub("_", text).lstrip(".") or "_"
    if safe != text:
        safe += "-" + hashlib.sha1(text.encode("utf-8")).hexdigest()[:8]
    return f"{kind}-{safe}"


def write_exports(lines: pd.DataFrame, folder: str | Path) -> list[Path]:
    """Write ``plan.csv`` (every line) and, per person, ``<type>-<id>.txt`` and ``.csv`` into ``folder``.

    ``<type>`` is ``rep`` or ``partner``, so a rep and a partner with the same id get a file each.

    Returns the paths written. Raises :class:`~engine.StorageError` when the folder cannot be
    written.
    """
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        columns = [c for c in EXPORT_COLUMNS if c in lines.columns]
        path = folder / "plan.csv"
        lines[columns].to_csv(path, index=False)
        written.append(path)
        people = lines[lines["status"].isin(["planned", "capacity_short"])]
        for (kind, person), mine in people.groupby(["assignee_type", "assignee_id"], sort=True):
            stem = _name(kind, person)
            mine[columns].sort_values(["status", "rank"]).to_csv(folder / f"{stem}.csv", index=False)
            theirs = lines[lines["assignee_type"].astype(object) == kind]
            (folder / f"{stem}.txt").write_text(person_text(theirs, str(person)), encoding="utf-8")
            written += [folder / f"{stem}.csv", folder / f"{stem}.txt"]
    except OSError as exc:
        raise StorageError(f"could not write the plan exports to {folder}: {exc}. Fix: pass a writable folder.") from exc
    return written

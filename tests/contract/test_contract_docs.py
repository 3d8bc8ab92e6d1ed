"""docs/data-model.md documents every table, column, row check and reason code of the contract."""

from __future__ import annotations

import pathlib
import re

import pytest

from engine.contract import CUSTOMER_DATABASE
from engine.validate import REASONS

DOC = pathlib.Path(__file__).resolve().parents[2] / "docs" / "data-model.md"
_SECTION = re.compile(r"^### `(?P<name>[a-z_]+)`\s*$", re.M)


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _sections() -> dict[str, str]:
    text = DOC.read_text(encoding="utf-8")
    matches = list(_SECTION.finditer(text))
    out = {}
    for i, match in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else text.find("\n## ", match.end())
        out[match["name"]] = text[match.end() : end if end != -1 else None]
    return out


def _column_rows(section: str) -> dict[str, dict[str, str]]:
    rows = {}
    header = None
    for line in section.splitlines():
        if not line.startswith("|") or set(line) <= set("|-: "):
            continue
        cells = _cells(line)
        if header is None:
            header = cells
            continue
        row = dict(zip(header, cells))
        rows[row["column"].strip("`")] = row
    return rows


def _backticked(cell: str) -> list[str]:
    return re.findall(r"`([^`]*)`", cell)


def test_every_table_is_documented_and_nothing_else():
    assert list(_sections()) == list(CUSTOMER_DATABASE.table_names)


@pytest.mark.parametrize("table", CUSTOMER_DATABASE.tables, ids=lambda t: t.name)
def test_every_column_is_documented_as_in_the_contract(table):
    section = _sections()[table.name]
    assert f"Primary key: `{table.key}`" in section
    rows = _column_rows(section)
    assert list(rows) == list(table.column_names), "columns missing, extra or out of order"
    for column in table.columns:
        row = rows[column.name]
        assert row["type"] == column.type + (" (multi)" if column.multi else ""), column.name
        assert row["required"] == ("yes" if column.required else "no"), column.name
        assert row["meaning"], column.name
        refs = row["key / references"]
        if column.name == table.key:
            assert refs == "primary key"
        if column.references:
            assert _backticked(refs) == [column.references, *column.references_or], column.name
        else:
            assert "->" not in refs, column.name
        allowed = row["allowed values / range"]
        if column.allowed:
            values = _backticked(allowed)
            if column.multi:
                assert values[0] == ";", column.name  # "each `;`-separated element of: ..."
                values = values[1:]
            assert values == list(column.allowed), column.name
        for bound in (column.minimum, column.maximum):
            if bound is not None:
                assert f"{bound:g}" in allowed, column.name
        assert ("not after as-of" in allowed) == column.not_future, column.name


@pytest.mark.parametrize("table", CUSTOMER_DATABASE.tables, ids=lambda t: t.name)
def test_every_row_check_is_documented(table):
    section = _sections()[table.name]
    for check in table.checks:
        assert f"- `{check.name}` ({', '.join(check.columns)}): {check.description}" in section
    assert len(re.findall(r"^- `", section, re.M)) == len(table.checks)


def test_every_reason_code_is_documented():
    text = DOC.read_text(encoding="utf-8")
    part = text[text.index("## Reason codes") :]
    documented = [row[0].strip("`") for row in map(_cells, part.splitlines()) if row and row[0].startswith("`")]
    table_codes = documented[: len(REASONS)]
    assert table_codes == list(REASONS)
    for reason in REASONS.values():
        assert reason.severity in ("quarantine", "warning")
        assert reason.meaning and reason.fix

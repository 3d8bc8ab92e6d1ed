"""``kam route``: route and score leads the moment they arrive (the live path, ``docs/live.md``).

Registered by :func:`engine.cli._commands.register` as ``app.command("route")(_route_cmd.route)``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

__all__ = ["route", "read_leads", "decision_text"]


def read_leads(path: Path | None) -> tuple[list[Any], str, bool, list[str]]:
    """The leads of a JSON file (an object, an array of objects, or JSON Lines), or of stdin.

    Returns the parsed leads, the name errors use for their source, whether the input was a
    list (an array or several lines) rather than one object, and where each lead is in it
    (``"lead 3"`` in an array, ``"line 4"`` in JSON Lines, ``""`` for a single object).

    Raises
    ------
    LeadError
        The text is not JSON (with the line and column) or holds no lead.
    """
    from engine.live import LeadError

    if path is None or str(path) == "-":
        name, text = "stdin", sys.stdin.read()
    else:
        if not path.is_file():
            raise typer.BadParameter(f"expected a JSON file with the lead; got {str(path)!r}, which "
                                     f"{'is not a file' if path.exists() else 'does not exist'}.", param_hint="--lead")
        name, text = str(path), path.read_text(encoding="utf-8")
    stripped = text.strip()
    if not stripped:
        raise LeadError(f"{name}: expected a lead as JSON; got nothing. Fix: pass --lead FILE or pipe the JSON "
                        "object to kam route.", [("(lead)", "a JSON object", "nothing", "send the lead")])
    try:
        data = json.loads(stripped)
        leads, many = (data, True) if isinstance(data, list) else ([data], False)
        places = [f"lead {number}" for number in range(1, len(leads) + 1)] if many else [""]
    except json.JSONDecodeError as first:
        # JSON Lines: one lead per line (numbered as in the file: leading blank lines count)
        leads, many, places = [], True, []
        skipped = len(text) - len(text.lstrip())
        offset = text[:skipped].count("\n")
        for number, line in enumerate(stripped.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                leads.append(json.loads(line))
                places.append(f"line {number + offset}")
            except json.JSONDecodeError as error:
                where = (f"line {first.lineno + offset}, column {first.colno}" if number == 1
                         else f"line {number + offset}, column {error.colno}")
                raise LeadError(f"{name}: expected JSON (an object, an array of objects or one object per line); "
                                f"got invalid JSON at {where}: {error.msg}. Fix: correct the JSON there.",
                                [("(lead)", "JSON", f"invalid JSON at {where}", "correct the JSON")]) from None
    if not leads:
        raise LeadError(f"{name}: expected at least one lead; got an empty array. Fix: send the lead objects.",
                        [("(lead)", "a lead", "an empty array", "send the leads")])
    return leads, name, many, places


def decision_text(decision) -> str:
    """A few readable lines for one decision (what ``kam route`` prints without ``--json``)."""
    d = decision
    who = (f"{d.assignee_type} {d.assignee_id} ({d.basis.replace('_', ' ')})" if d.assignee_id
           else f"unassigned: {d.status_reason}")
    tier = f"tier {d.tier} ({d.tier_source}, rule {d.tier_rule_id})" if d.tier else (
        "prospect (no account, no tier)" if d.is_prospect else f"no tier ({d.tier_because or 'not decided'})")
    lines = [
        f"lead {d.lead_id}{' (already routed at ' + d.decided_at + '; recorded decision)' if d.replayed else ''}: "
        f"{'account ' + d.account_id if d.account_id else 'prospect'} in {d.region or '?'} x {d.industry or '?'}",
        f"  {tier}",
        f"  route {d.route}{' (field rep copied)' if d.copy_outside else ''}"
        + (f" by rule {d.route_rule_id}: {d.route_because}" if d.route_rule_id else f": {d.route_reason}"),
        f"  -> {who}" + (f"; copied {d.copied_rep_id}" if d.copied_rep_id else ""),
    ]
    if d.status_message:
        lines.append(f"  note: {d.status_message}")
    if d.win_probability is not None:
        value = f"{d.expected_deal_value:,.0f} CNY" if d.expected_deal_value is not None else "unknown"
        lines.append(f"  win probability {d.win_probability:.1%}, expected deal value {value}")
    return "\n".join(lines)


def route(
    db: Annotated[Optional[str], typer.Option(help="Database URL or SQLite path with the scoring runs; the decision is recorded there (default: KAM_DB_URL / database.url).")] = None,
    lead: Annotated[Optional[Path], typer.Option(help="JSON file with the lead (an object, an array of objects, or JSON Lines); '-' or nothing reads stdin.")] = None,
    as_of: Annotated[Optional[str], typer.Option(help="Date the features and rules use (ISO). Default: the latest scoring run's as-of date.")] = None,
    rules: Annotated[Optional[Path], typer.Option(help="Folder with tiers.yaml and routing.yaml (default: rules.dir, else the shipped rules).")] = None,
    models: Annotated[Optional[Path], typer.Option(help="Folder with the published win model (default: models.dir, else models/artifacts).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the decision as JSON (an array when several leads were given).")] = False,
) -> int:
    """Route one lead as it arrives: tier, route and why, the person within capacity, win chance.

    The decision is recorded in the database's live_assignments table and its capacity claimed
    in the same transaction; the next `kam score` keeps it. Routing a lead again (same
    opportunity_id) prints the recorded decision. Several leads are routed in order; when one
    fails, the decisions before it (recorded) are printed, then the error naming that lead,
    and the leads after it are not routed. Exit 0; 3 when a rule file is wrong; 4 when the
    lead is not valid; 5 when the database cannot be read or written; 6 without a published
    win model.
    """
    from engine._errors import KamError
    from engine.cli._commands import DEFAULT_MODELS_DIR, _parse_date
    from engine.cli._context import configured, open_database, path_setting
    from engine.cli._output import error
    from engine.cli._progress import show_progress
    from engine.live import LiveRouter

    leads, source, many, places = read_leads(lead)
    day = _parse_date(as_of, "--as-of")  # a bad date is a usage error before the database is opened
    decisions: list[Any] = []
    failed: int | None = None  # index of the lead that failed, once the router is loaded
    try:
        with show_progress(enabled=not as_json), open_database(db, access="write") as database:
            with LiveRouter(database, as_of=day, rules_dir=configured(rules, "rules.dir"),
                            artifacts_dir=path_setting(models, "models.dir", DEFAULT_MODELS_DIR)) as router:
                for number, item in enumerate(leads):
                    failed = number
                    where = source if len(leads) == 1 else f"{source} {places[number]}"
                    decisions.append(router.route(item, source=where))
                failed = None
    except KamError:
        if failed is not None or decisions:  # the decisions made are recorded: print them; name the lead
            _print(decisions, many, as_json)
            if many and failed is not None:
                error(_stopped_at(leads, failed, source, places[failed], len(decisions)))
        raise
    _print(decisions, many, as_json)
    return 0


def _print(decisions: list[Any], many: bool, as_json: bool) -> None:
    """The decisions as text, or as JSON (an array when several leads were given)."""
    from engine.cli._output import console

    out = console()
    if as_json:
        if not many and not decisions:
            return  # one lead, not decided: the error is the whole answer
        payload = [d.as_dict() for d in decisions]
        out.print_json(json.dumps(payload if many else payload[0], default=str, ensure_ascii=False))
    else:
        for decision in decisions:
            out.print(decision_text(decision), markup=False, highlight=False)


def _stopped_at(leads: list[Any], index: int, source: str, place: str, decided: int) -> str:
    """Which lead of several failed, and what happened to the others."""
    item = leads[index]
    lead_id = item.get("opportunity_id") if isinstance(item, dict) else None
    named = f"opportunity_id {lead_id!r}" if lead_id is not None else "no opportunity_id"
    after = len(leads) - index - 1
    return (f"stopped at {source} {place} ({named}), lead {index + 1} of {len(leads)}: the {decided} before it "
            f"were decided and recorded (printed above), the {after} after it were not routed. Fix: correct that "
            "lead (the error follows) and send it and those after it again; a lead already decided answers with "
            "its recorded decision.")


"""Digests: one notification per recipient per run, and how it reads (text, HTML, Slack blocks).

A digest lists the accounts that newly need attention, ordered by value at risk, each with the
account, tier, owner, churn probability and its change, value at risk, the top reasons that
raise the risk, the alert kind and severity, the recommended action and why. It carries no
contact personal data: no contact names, phone numbers or e-mail addresses, only account and
sales-organisation identifiers.

Recipients: the owning rep always; the rep's manager (``reps.manager_id``) for a high-severity
alert or an escalation; the owning partner for accounts served with partners (serving role not
``outside``).
"""

from __future__ import annotations

import hashlib
import html
import json
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from engine._arguments import check_frame, check_mapping, check_type
from engine.alerts._policy import ACTION_TEXT

__all__ = ["build_digests", "idempotency_key", "render_html", "render_slack", "render_text"]

KIND_TEXT = {
    "churn_risk": "churn risk",
    "risk_rising": "risk rising",
    "key_contact_left": "key contact left",
    "complaints_unresolved": "complaints unresolved",
    "a_account_not_visited": "A account not visited",
    "volume_falling": "volume falling",
    "owner_rep_left": "owning rep left",
    "lost_to_competitor": "deal lost to a competitor",
}


def idempotency_key(run_id: str, recipient_type: str, recipient_id: str) -> str:
    """The stable key of one digest: the same run and recipient always give the same key.

    >>> idempotency_key("2026-10-01-abc", "rep", "R00042") == idempotency_key("2026-10-01-abc", "rep", "R00042")
    True
    """
    for name, value in (("run_id", run_id), ("recipient_type", recipient_type), ("recipient_id", recipient_id)):
        check_type("idempotency_key", name, value, str, "pass the run id and the recipient's type and id as text")
    digest = hashlib.sha256(f"{run_id}\x1f{recipient_type}\x1f{recipient_id}".encode()).hexdigest()
    return "msg_" + digest[:32]


def _number(value: Any) -> float | None:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return None if np.isnan(value) else round(value, 6)


def _reasons(value: Any) -> list[str]:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    try:
        parsed = json.loads(str(value))
    except ValueError:
        return [str(value)]
    return [str(v) for v in parsed] if isinstance(parsed, list) else [str(parsed)]


def _item(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "alert_key": str(row["alert_key"]),
        "account_id": str(row["account_id"]),
        "account_name": None if row.get("name") is None else str(row.get("name")),
        "tier": row.get("tier"),
        "owner_rep_id": row.get("owner_rep_id"),
        "owner_partner_id": row.get("owner_partner_id"),
        "churn_probability": _number(row.get("churn_probability")),
        "churn_probability_change": _number(row.get("churn_probability_change")),
        "value_at_risk": _number(row.get("value_at_risk")),
        "reasons": _reasons(row.get("top_reasons"))[:3],
        "kind": str(row["kind"]),
        "severity": str(row["severity"]),
        "notification": str(row["notify"]),
        "action": str(row["action"]),
        "action_text": ACTION_TEXT.get(str(row["action"]), str(row["action"])),
        "because": str(row["because"]),
    }


def build_digests(notified: pd.DataFrame, reps: pd.DataFrame | None, run_id: str, as_of: Any,
                  created_at: str) -> pd.DataFrame:
    """Outbox rows: one digest per recipient of this run's notifications.

    Parameters
    ----------
    notified : pandas.DataFrame
        One row per alert notified in this run (``notify`` is ``opened`` or ``escalated``) with
        the signal columns (account, owners, tier, scores, reasons) and the alert's kind,
        severity, action and because.
    reps : pandas.DataFrame, optional
        The ``reps`` table (``rep_id``, ``manager_id``): managers are found there.
    """
    check_frame("build_digests", "notified", notified, "pass the alerts notified in this run as a DataFrame")
    if reps is not None:
        check_frame("build_digests", "reps", reps, "pass the reps table as a DataFrame, or None")
    columns = ["notification_id", "run_id", "recipient_type", "recipient_id", "alerts", "created_at", "payload"]
    if notified.empty:
        return pd.DataFrame(columns=columns)
    managers: dict[str, str] = {}
    if reps is not None and len(reps) and "manager_id" in reps:
        known = reps[reps["manager_id"].notna()]
        managers = dict(zip(known["rep_id"].astype(str), known["manager_id"].astype(str)))
    recipients: dict[tuple[str, str], list[dict]] = {}
    for row in notified.to_dict("records"):
        item = _item(row)
        rep = _present(row.get("owner_rep_id"))
        if rep:
            recipients.setdefault(("rep", str(rep)), []).append(item)
            manager = managers.get(str(rep))
            if manager and (item["severity"] == "high" or item["notification"] == "escalated"):
                recipients.setdefault(("manager", manager), []).append(item)
        partner = _present(row.get("owner_partner_id"))
        if partner and row.get("serving_role") not in (None, "outside"):
            recipients.setdefault(("partner", str(partner)), []).append(item)
    rows = []
    for (kind, who), items in sorted(recipients.items()):
        items.sort(key=lambda i: (-(i["value_at_risk"] or 0.0), i["account_id"], i["kind"]))
        key = idempotency_key(run_id, kind, who)
        payload = {
            "type": "kam.alerts.digest",
            "idempotency_key": key,
            "run_id": run_id,
            "as_of": str(as_of),
            "recipient": {"type": kind, "id": who},
            "alerts": items,
        }
        rows.append({"notification_id": key, "run_id": run_id, "recipient_type": kind, "recipient_id": who,
                     "alerts": len(items), "created_at": created_at,
                     "payload": json.dumps(payload, ensure_ascii=False, sort_keys=True)})
    return pd.DataFrame(rows, columns=columns)


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def _change(value: float | None) -> str:
    return "" if value is None else f" ({value * 100:+.0f} pts since the last run)"


def render_text(payload: Mapping[str, Any]) -> str:
    """The digest as plain text (the e-mail text part, the Slack ``text``)."""
    check_mapping("render_text", "payload", payload, "pass one digest payload (the payload column of build_digests, parsed)")
    who = payload["recipient"]
    lines = [f"kam early warning for {who['type']} {who['id']}, run {payload['run_id']} as of {payload['as_of']}:",
             f"{len(payload['alerts'])} alert(s), highest value at risk first.", ""]
    for n, item in enumerate(payload["alerts"], 1):
        lines.append(
            f"{n}. {item['account_name'] or item['account_id']} ({item['account_id']}, tier {item['tier']}, owner "
            f"{item['owner_rep_id']}): {KIND_TEXT.get(item['kind'], item['kind'])}, {item['severity']}"
            + (" - ESCALATED" if item["notification"] == "escalated" else "")
        )
        var = item["value_at_risk"]
        lines.append(f"   churn probability {_pct(item['churn_probability'])}{_change(item['churn_probability_change'])}; "
                     f"value at risk {'n/a' if var is None else f'{var:,.0f}'} CNY")
        lines.append(f"   why: {item['because']}")
        for reason in item["reasons"]:
            lines.append(f"   - {reason}")
        lines.append(f"   action: {item['action_text']}")
    lines.append("")
    lines.append(f"idempotency key {payload['idempotency_key']}")
    return "\n".join(lines)


def render_html(payload: Mapping[str, Any]) -> str:
    """The digest as a simple HTML table (the e-mail HTML part)."""
    check_mapping("render_html", "payload", payload, "pass one digest payload (the payload column of build_digests, parsed)")
    e = html.escape
    who = payload["recipient"]
    rows = []
    for item in payload["alerts"]:
        var = item["value_at_risk"]
        reasons = "".join(f"<li>{e(r)}</li>" for r in item["reasons"])
        rows.append(
            "<tr>"
            f"<td>{e(str(item['account_name'] or item['account_id']))}<br><small>{e(item['account_id'])}</small></td>"
            f"<td>{e(str(item['tier']))}</td><td>{e(str(item['owner_rep_id']))}</td>"
            f"<td>{e(KIND_TEXT.get(item['kind'], item['kind']))}<br><b>{e(item['severity'])}</b>"
            f"{' escalated' if item['notification'] == 'escalated' else ''}</td>"
            f"<td>{e(_pct(item['churn_probability']))}{e(_change(item['churn_probability_change']))}</td>"
            f"<td style='text-align:right'>{'n/a' if var is None else f'{var:,.0f}'}</td>"
            f"<td>{e(item['because'])}<ul>{reasons}</ul></td><td>{e(item['action_text'])}</td>"
            "</tr>"
        )
    return (
        "<!DOCTYPE html><html><body>"
        f"<p>kam early warning for {e(who['type'])} {e(who['id'])}, run {e(payload['run_id'])} as of "
        f"{e(payload['as_of'])}: {len(payload['alerts'])} alert(s), highest value at risk first.</p>"
        "<table border='1' cellpadding='4' cellspacing='0'><tr><th>account</th><th>tier</th><th>owner</th>"
        "<th>alert</th><th>churn probability</th><th>value at risk (CNY)</th><th>why</th><th>action</th></tr>"
        + "".join(rows) + "</table>"
        f"<p><small>idempotency key {e(payload['idempotency_key'])}</small></p></body></html>"
    )


def render_slack(payload: Mapping[str, Any]) -> dict[str, Any]:
    """A Slack-compatible message (``text`` plus ``blocks``) carrying the same digest."""
    check_mapping("render_slack", "payload", payload, "pass one digest payload (the payload column of build_digests, parsed)")
    blocks = [{"type": "header", "text": {"type": "plain_text",
                                           "text": f"kam early warning: {len(payload['alerts'])} alert(s)"}}]
    for item in payload["alerts"][:45]:  # Slack allows 50 blocks
        var = item["value_at_risk"]
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": (
            f"*{item['account_name'] or item['account_id']}* ({item['account_id']}, tier {item['tier']}) - "
            f"{KIND_TEXT.get(item['kind'], item['kind'])}, *{item['severity']}*\n"
            f"churn {_pct(item['churn_probability'])}, value at risk {'n/a' if var is None else f'{var:,.0f}'} CNY\n"
            f"{item['because']}\n_{item['action_text']}_")}})
    return {"text": render_text(payload), "blocks": blocks}


def _present(value) -> str | None:
    """A recipient id as text, or None for a missing one (None, NaN, NA, empty)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    text = str(value).strip()
    return text or None

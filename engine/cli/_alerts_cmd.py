"""``kam alerts ...``: evaluate a scoring run, send the digests, list and act on alerts, backtest.

Registered by :func:`engine.cli._commands.register` with ``app.add_typer(_alerts_cmd.app, name="alerts")``.
Secrets (webhook secret, SMTP password) are read from the environment or the config file only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from engine.cli._commands import _parse_date
from engine.cli._output import console

__all__ = ["app"]

app = typer.Typer(
    help="Churn early warning: evaluate a scoring run, send digests, list, acknowledge, snooze, resolve, backtest.",
    no_args_is_help=True,
    add_completion=False,
)

_Db = Annotated[
    str | None, typer.Option(help="Database URL or SQLite path (the one `kam score` wrote to; default KAM_DB_URL / database.url).")
]
_Json = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@app.command("evaluate")
def evaluate(
    db: _Db = None,
    run: Annotated[str | None, typer.Option(help="Scoring run id (default: the newest).")] = None,
    rules: Annotated[Path | None, typer.Option(help="alerts.yaml or a folder holding it (default: the shipped rules/).")] = None,
    as_json: _Json = False,
) -> None:
    """Evaluate the alert policies on a scoring run: new states, events and digests in one transaction."""
    from engine.alerts import evaluate_run
    from engine.cli._context import open_database

    with open_database(db, access="write") as database:
        summary = evaluate_run(database, run, rules=rules)
    print_evaluation(summary, as_json)


def print_evaluation(summary, as_json: bool = False) -> None:
    """Print what an evaluation did (also used by ``kam score --alerts`` and ``kam demo``)."""
    out = console()
    if as_json:
        out.print_json(json.dumps(summary.to_dict(), default=str))
        return
    if not summary.evaluated:
        out.print(f"alerts: run {summary.run_id} was evaluated before; nothing changed")
        return
    out.print(
        f"alerts: run {summary.run_id} as of {summary.as_of}: {summary.opened:,} opened, {summary.escalated:,} "
        f"escalated, {summary.suppressed:,} repeats suppressed, {summary.resolved:,} resolved; "
        f"{summary.alerts_active:,} active; {summary.notifications:,} digests (recipients: "
        + (", ".join(f"{kind} {n:,}" for kind, n in summary.recipients.items()) or "none") + ")"
    )
    if summary.by_kind_severity:
        from rich.table import Table

        table = Table(title="alerts notified by kind and severity", title_justify="left")
        table.add_column("kind")
        table.add_column("severity")
        table.add_column("alerts", justify="right")
        for key, count in summary.by_kind_severity.items():
            kind, severity = key.split("/")
            table.add_row(kind, severity, f"{count:,}")
        out.print(table)


def _channel(channel: str, config, path: Path | None):
    from engine._errors import ConfigError
    from engine.alerts import JsonLinesChannel

    if channel == "stdout":
        return JsonLinesChannel()
    if channel == "jsonl":
        target = path or config.get("alerts.jsonl.path")
        if target is None:
            raise ConfigError("the jsonl channel needs a file: pass --path FILE or set alerts.jsonl.path "
                              "(KAM_ALERTS_JSONL_PATH).")
        return JsonLinesChannel(target)
    if channel == "webhook":
        from engine.alerts._webhook import WebhookChannel

        url, secret = config.get("alerts.webhook.url"), config.get("alerts.webhook.secret")
        if not url or not secret:
            raise ConfigError("the webhook channel needs alerts.webhook.url (KAM_ALERTS_WEBHOOK_URL) and the secret "
                              "KAM_ALERTS_WEBHOOK_SECRET (environment or config file, never a flag).")
        return WebhookChannel(url, secret, timeout=config.get("alerts.webhook.timeout"),
                              slack=config.get("alerts.webhook.slack"))
    if channel == "email":
        from engine.alerts._smtp import SmtpChannel

        return SmtpChannel(
            config.get("alerts.smtp.host"), config.get("alerts.smtp.port"), config.get("alerts.email.sender"),
            config.get("alerts.email.address_template"), starttls=config.get("alerts.smtp.starttls"),
            user=config.get("alerts.smtp.user"), password=config.get("alerts.smtp.password"),
            timeout=config.get("alerts.smtp.timeout"),
        )
    raise typer.BadParameter(f"expected jsonl, stdout, webhook or email; got {channel!r}.", param_hint="--channel")


@app.command("send")
def send(
    db: _Db = None,
    channel: Annotated[str, typer.Option(help="jsonl (a file), stdout, webhook or email.")] = "jsonl",
    path: Annotated[Path | None, typer.Option(help="File for the jsonl channel (default: alerts.jsonl.path).")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Send at most N digests.")] = None,
    enable_endpoint: Annotated[bool, typer.Option("--enable-endpoint", help="Re-enable an endpoint disabled by a 410.")] = False,
    as_json: _Json = False,
) -> None:
    """Deliver the outbox's due digests on one channel (at least once, same idempotency key on retries)."""
    from engine.alerts import DeliveryError, RetryPolicy, send_outbox
    from engine.cli._context import open_database, state
    from engine.storage import AlertStore

    cfg = state().settings  # the global --config, KAM_... variables and kam.toml
    target = _channel(channel, cfg, path)
    retry = RetryPolicy(max_attempts=cfg.get("alerts.send.max_attempts"), base_seconds=cfg.get("alerts.send.backoff_seconds"))
    with open_database(db, access="write") as database:
        if enable_endpoint:
            AlertStore(database).enable_endpoint(target.name, target.endpoint)
        summary = send_outbox(database, target, retry=retry, secrets=tuple(cfg.secrets()))
    if channel != "stdout" or as_json:
        out = console()
        if as_json:
            out.print_json(json.dumps(summary.to_dict()))
        else:
            out.print(f"{summary.channel}: {summary.sent:,} sent, {summary.failed:,} failed, {summary.attempts:,} attempts"
                      + (f"; endpoint disabled ({summary.disabled})" if summary.disabled else ""))
    if summary.refused:
        raise DeliveryError(f"{summary.refused}. Nothing more was sent; every digest is still due. Fix the channel's "
                            "credentials (KAM_ALERTS_SMTP_PASSWORD, KAM_ALERTS_WEBHOOK_SECRET or the config file) and "
                            "run `kam alerts send` again.")
    if summary.failed or summary.disabled:
        raise DeliveryError(f"{summary.failed + (1 if summary.disabled else 0)} digest(s) not delivered on "
                            f"{summary.channel}: " + "; ".join(summary.failures[:5])
                            + ". Every attempt is recorded in alert_attempts.")


@app.command("list")
def list_(
    db: _Db = None,
    open_only: Annotated[bool, typer.Option("--open", help="Only open, escalated, acknowledged or snoozed alerts.")] = False,
    rep: Annotated[str | None, typer.Option(help="Only accounts this rep owns.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="Rows to print.")] = 50,
    as_json: _Json = False,
) -> None:
    """List alerts, highest value at risk first."""
    from engine.alerts import list_alerts
    from engine.cli._context import open_database

    with open_database(db, access="read") as database:
        frame = list_alerts(database, active_only=open_only, rep=rep)
    columns = ["alert_key", "state", "severity", "tier", "owner_rep_id", "churn_probability", "value_at_risk",
               "opened_on", "snoozed_until", "because"]
    out = console()
    if as_json:
        out.print_json(json.dumps(frame[columns].head(limit).astype(object).where(frame[columns].head(limit).notna(), None)
                                  .to_dict("records"), default=str))
        return
    from rich.table import Table

    table = Table(title=f"alerts ({len(frame):,}; showing {min(limit, len(frame)):,})", title_justify="left")
    for column in columns[:-1]:
        table.add_column(column, justify="right" if column in ("churn_probability", "value_at_risk") else "left")
    for row in frame.head(limit).itertuples(index=False):
        cp = "" if row.churn_probability is None or row.churn_probability != row.churn_probability else f"{float(row.churn_probability):.0%}"
        var = "" if row.value_at_risk != row.value_at_risk else f"{float(row.value_at_risk):,.0f}"
        table.add_row(row.alert_key, row.state, str(row.severity), str(row.tier), str(row.owner_rep_id), cp, var,
                      _blank(row.opened_on), _blank(row.snoozed_until))
    out.print(table)


def _act(db: str | None, key: str, action: str, until=None) -> None:
    from engine.alerts import act
    from engine.cli._context import open_database

    with open_database(db, access="write") as database:
        effect = act(database, key, action, until=until)
    console().print(f"{key}: {effect.from_state} -> {effect.to_state} ({effect.because})")


@app.command("ack")
def ack(key: Annotated[str, typer.Argument(help="Alert key ACCOUNT:KIND (see `kam alerts list`).")], db: _Db = None) -> None:
    """Acknowledge an alert: it is no longer escalated for being unacknowledged."""
    _act(db, key, "ack")


@app.command("snooze")
def snooze(
    key: Annotated[str, typer.Argument(help="Alert key ACCOUNT:KIND.")],
    until: Annotated[str, typer.Option(help="Last day of the snooze (ISO date).")],
    db: _Db = None,
) -> None:
    """Snooze an alert until a date (inclusive): nothing is sent for it until then."""
    _act(db, key, "snooze", _parse_date(until, "--until"))


@app.command("resolve")
def resolve(key: Annotated[str, typer.Argument(help="Alert key ACCOUNT:KIND.")], db: _Db = None) -> None:
    """Resolve an alert by hand; it opens again only if its condition holds again."""
    _act(db, key, "resolve")


def _blank(value) -> str:
    return "" if value is None or value != value else str(value)


@app.command("backtest")
def backtest_cmd(
    db: _Db = None,
    months: Annotated[int, typer.Option(min=2, max=60, help="Monthly as-of dates to replay (the last N months).")] = 12,
    rules: Annotated[Path | None, typer.Option(help="alerts.yaml or a folder holding it (default: the shipped rules/).")] = None,
    truth: Annotated[str, typer.Option(help="Churn dates from 'tables' (status and last order) or 'demo' (the demo simulator).")] = "tables",
    seed: Annotated[int, typer.Option(help="With --truth demo: the seed the demo database was generated with.")] = 0,
    as_json: _Json = False,
) -> None:
    """Replay the alert policies monthly against what happened next (the churn model is trained before the first date)."""
    from engine.alerts._backtest import backtest, render_backtest
    from engine.cli._context import open_database
    from engine.pipeline import ingest

    if truth not in ("tables", "demo"):
        raise typer.BadParameter(f"expected tables or demo; got {truth!r}.", param_hint="--truth")
    with open_database(db, access="read") as database:
        tables = ingest(database).tables
    result = backtest(tables, months=months, rules=rules, truth=truth, demo_seed=seed)
    out = console()
    if as_json:
        out.print_json(json.dumps(result.to_dict(), default=str))
    else:
        out.print(render_backtest(result), markup=False, highlight=False)

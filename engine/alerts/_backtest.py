"""The backtest: replay the alert policies monthly over past as-of dates, against what happened next.

1. Cut the tables at the first replayed date (rows dated on or after it removed, later end dates
   and outcomes blanked) and train a churn model on that history only: no look-ahead.
2. At every replayed as-of date (month starts, the last ``months`` months of the data): build the
   account features as of that date, score churn with that model, tier the accounts, build the
   signal frame, evaluate the policies and advance the alert lifecycle in memory (the same
   :func:`engine.alerts._evaluate.advance` as a nightly run).
3. Judge against the churn that followed: the demo simulator's own churn months when the
   database is a generated demo (``truth="demo"``), otherwise an account whose status is not
   ``active`` churned the day after its last order (``truth="tables"``).

Figures (see :class:`BacktestResult`): recall of lost value, precision and the base rate, median
lead time, new alerts per rep per run (median, 95th percentile), repeats suppressed by state and
cooldown; the same for the naive policy "alert every account whose churn probability is above
0.5 on every run", and the trade-off as the churn-probability threshold varies.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from engine._errors import ConfigError, InsufficientDataError
from engine._log import get_logger
from engine._progress import task
from engine.alerts._evaluate import advance, empty_states
from engine.alerts._policy import evaluate_policies, load_alert_rules
from engine.alerts._signals import build_signals

__all__ = ["BacktestResult", "PolicyFigures", "backtest", "cut_tables", "demo_churn_dates", "tables_churn_dates"]

log = get_logger("alerts.backtest")

#: Start columns (a row starting on/after the cut is dropped) and end columns (blanked when
#: on/after the cut) of each contract table.
_STARTS = {"customers": "created_date", "orders": "order_date", "tickets": "opened_date", "contacts": "active_from",
           "visits": "visit_date", "ownership": "start_date", "opportunities": "created_date"}
_ENDS = {"tickets": ("closed_date",), "contacts": ("active_to", "last_visit_date"), "ownership": ("end_date",),
         "opportunities": ("closed_date",)}
_WEEKS_PER_MONTH = 365.25 / 12 / 7
#: The trade-off table varies these policy parameters, one at a time.
DEFAULT_VARY = {"churn_probability_threshold": (0.35, 0.45, 0.55, 0.65, 0.75, 0.85),
                "a_visit_gap_days": (90, 120, 150, 180, 240, 365)}


def cut_tables(tables: Mapping[str, pd.DataFrame], cut: Any) -> dict[str, pd.DataFrame]:
    """The tables as they were at the start of day ``cut``: nothing dated on or after it remains."""
    day = pd.Timestamp(cut).normalize()
    out: dict[str, pd.DataFrame] = {}
    for name, frame in tables.items():
        frame = frame.copy()
        start = _STARTS.get(name)
        if start and start in frame:
            frame = frame[pd.to_datetime(frame[start], errors="coerce") < day]
        for column in _ENDS.get(name, ()):
            if column not in frame:
                continue
            later = pd.to_datetime(frame[column], errors="coerce") >= day
            frame[column] = frame[column].where(~later, None)
            if name == "tickets":
                for value_column in ("resolution_hours", "satisfaction"):
                    if value_column in frame:
                        frame[value_column] = frame[value_column].where(~later, None)
            if name == "opportunities" and "outcome" in frame:
                frame["outcome"] = frame["outcome"].astype(object).where(~later, "open")
        out[name] = frame.reset_index(drop=True)
    return out


def demo_churn_dates(accounts: int, seed: int = 0, end_date: Any = None) -> pd.Series:
    """The demo simulator's churn date of every account that churned (account id -> date).

    A churned account orders, calls and visits no more from the month after its churn month,
    so the churn date is the first day of that month.
    """
    from engine.demo import DEMO_END_DATE
    from engine.demo._ids import format_ids, id_width
    from engine.demo._tables import simulate_world

    world = simulate_world(int(accounts), int(seed), end_date or DEMO_END_DATE)
    month = world.events.churn_month
    starts = world.calendar.month_start
    ids = np.asarray(format_ids("A", width=id_width(int(accounts), 7), count=int(accounts)), dtype=object)
    churned = month >= 0
    nxt = np.where(month[churned] + 1 < len(starts), starts[np.minimum(month[churned] + 1, len(starts) - 1)],
                   world.calendar.end_day + 1)
    return pd.Series(pd.to_datetime(nxt, unit="D"), index=ids[churned], name="churn_date")


def tables_churn_dates(tables: Mapping[str, pd.DataFrame]) -> pd.Series:
    """Churn dates from the tables alone: a non-active account churned the day after its last order."""
    customers = tables["customers"]
    gone = customers.loc[customers["status"].astype(str) != "active", "account_id"].astype(str)
    orders = tables.get("orders")
    if orders is None or orders.empty:
        return pd.Series(dtype="datetime64[ns]", name="churn_date")
    last = pd.to_datetime(orders["order_date"]).groupby(orders["account_id"].astype(str)).max()
    return (last.reindex(gone).dropna() + pd.Timedelta(days=1)).rename("churn_date")


def _check_demo_truth(tables: Mapping[str, pd.DataFrame], churn: pd.Series) -> None:
    """Refuse simulator churn dates that do not belong to this database (another seed or end date)."""
    orders = tables.get("orders")
    if orders is None:  # no orders: no last order after a churn date to refuse
        return
    last = pd.to_datetime(orders["order_date"]).groupby(orders["account_id"].astype(str)).max()
    late = (last.reindex(churn.index) >= churn).sum()
    if late:
        raise ConfigError(f"truth='demo' does not fit this database: {int(late):,} accounts ordered on or after their "
                          "simulated churn date. Fix: give the seed the demo database was generated with (default 0) and "
                          "keep its default end date, or use --truth tables.")


@dataclass(frozen=True)
class PolicyFigures:
    """The figures of one policy over the replay."""

    policy: str
    new_alerts: int
    alerted_accounts: int
    churners: int
    caught_churners: int
    lost_value: float
    caught_value: float
    recall_of_lost_value: float
    precision: float
    base_rate: float
    median_lead_days: float
    per_rep_run_median: float
    per_rep_run_p95: float
    per_rep_week_p95: float
    reps_over_3_in_a_run: float
    suppressed_repeats: int

    def to_dict(self) -> dict[str, Any]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


@dataclass
class BacktestResult:
    """Everything the backtest measured (``to_dict`` for JSON, ``text`` for people)."""

    dates: list[str]
    train_cut: str
    truth: str
    shipped: PolicyFigures
    naive: PolicyFigures
    tradeoff: list[dict[str, Any]] = field(default_factory=list)
    by_kind: dict[str, int] = field(default_factory=dict)
    model_metrics: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0

    def targets(self) -> dict[str, bool]:
        """The issue's targets for the shipped policies, met or not."""
        s = self.shipped
        return {
            "recall_of_lost_value >= 50%": s.recall_of_lost_value >= 0.5,
            "new alerts <= 2x churned accounts": s.new_alerts <= 2 * s.churners,
            "p95 new alerts per rep per week <= 3": s.per_rep_week_p95 <= 3,
            "median lead time >= 60 days": s.median_lead_days >= 60,
            "precision >= 2x base rate": s.precision >= 2 * s.base_rate,
        }

    def to_dict(self) -> dict[str, Any]:
        return {"dates": self.dates, "train_cut": self.train_cut, "truth": self.truth,
                "shipped": self.shipped.to_dict(), "naive": self.naive.to_dict(), "tradeoff": self.tradeoff,
                "by_kind": self.by_kind, "targets": self.targets(), "model_metrics": self.model_metrics,
                "seconds": round(self.seconds, 1)}


@dataclass
class _Snapshot:
    as_of: pd.Timestamp
    signals: pd.DataFrame


def _snapshots(tables, dates, model, tier_rules) -> list[_Snapshot]:
    from engine.features import build_account_features

    snaps: list[_Snapshot] = []
    previous = None
    with task("backtest: scoring the replayed dates", total=len(dates)) as progress:
        for day in dates:
            features = build_account_features(tables, day)
            alive = features["created_before_as_of"].to_numpy(dtype=bool) & (features["orders_12m"].to_numpy() > 0)
            features = features[alive].reset_index(drop=True)
            names = [str(c) for c in getattr(model, "feature_names_in_", features.columns)]
            p = model.predict_proba(features[[c for c in names if c in features.columns]])[:, 1]
            tiers = tier_rules.evaluate(features, as_of=day)
            margin = features["margin_12m"].clip(lower=0).to_numpy(dtype="float64")
            scores = pd.DataFrame({
                "account_id": features["account_id"].astype(str), "name": features["name"], "region": features["region"],
                "territory": features["territory"], "owner_rep_id": features["owner_rep_id"],
                "owner_partner_id": features["owner_partner_id"], "tier": tiers["tier"].astype(object),
                "serving_role": tiers["serving_role"].astype(object), "churn_probability": p,
                "expected_margin_12m": margin, "value_at_risk": p * margin, "top_reasons": None,
            })
            # the status snapshot would leak the future into a past date: judge it as of the date
            feats = features.assign(status="active")
            signals = build_signals(scores, feats, tables, day, previous)
            snaps.append(_Snapshot(pd.Timestamp(day), signals))
            previous = scores
            progress.advance()
    return snaps


def _with_parameter(ruleset, name: str, value: float):
    from engine.rules import RuleSet

    text = Path(ruleset.spec.file).read_text(encoding="utf-8") if ruleset.spec.file else None
    if text is None:
        raise ConfigError("the alert rule set has no file to vary the threshold of.")
    data = yaml.safe_load(text)
    data["parameters"][name] = value
    return RuleSet.from_text(yaml.safe_dump(data, sort_keys=False), file=ruleset.spec.file)


def _replay(snaps: Sequence[_Snapshot], ruleset) -> tuple[pd.DataFrame, int, dict[str, int]]:
    """Notified alerts (account, kind, date, rep) and the repeats state and cooldown held back."""
    states = empty_states()
    told, suppressed, matched_total = [], 0, 0
    for i, snap in enumerate(snaps):
        matches = evaluate_policies(snap.signals, ruleset, snap.as_of)
        matched_total += len(matches)
        new, events, notified = advance(states, matches, snap.signals, snap.as_of, f"backtest-{i}", now="backtest")
        if len(states):
            states = pd.concat([states[~states["alert_key"].isin(new["alert_key"])], new], ignore_index=True)
        else:
            states = new
        suppressed += int(events["suppressed"].sum()) if len(events) else 0
        opened = notified[notified["notify"] == "opened"]
        told.append(pd.DataFrame({"account_id": opened["account_id"].astype(str), "kind": opened["kind"].astype(str),
                                  "date": snap.as_of, "rep": opened["owner_rep_id"].astype(str)}))
    frame = pd.concat(told, ignore_index=True) if told else pd.DataFrame(columns=["account_id", "kind", "date", "rep"])
    # every match that was not a new notification is a repeat a stateless policy would have sent
    return frame, matched_total - len(frame), {"cooldown": suppressed}


def _naive(snaps: Sequence[_Snapshot], threshold: float = 0.5) -> pd.DataFrame:
    parts = []
    for snap in snaps:
        s = snap.signals
        hit = s["churn_probability"].to_numpy() > threshold
        parts.append(pd.DataFrame({"account_id": s["account_id"][hit].astype(str), "kind": "naive", "date": snap.as_of,
                                   "rep": s["owner_rep_id"][hit].astype(str)}))
    return pd.concat(parts, ignore_index=True)


def _figures(policy: str, told: pd.DataFrame, snaps: Sequence[_Snapshot], churn: pd.Series, suppressed: int,
             horizon_days: int = 180) -> PolicyFigures:
    first, last = snaps[0].as_of, snaps[-1].as_of
    population = pd.Index(sorted(set(snaps[0].signals["account_id"].astype(str))))
    churn = churn[churn.index.isin(population)]
    churners = churn[(churn > first) & (churn <= last + pd.DateOffset(months=1))]
    # the value lost: the account's 12-month margin at the last replayed date before it churned
    margin = {}
    for snap in snaps:
        m = dict(zip(snap.signals["account_id"].astype(str), snap.signals["expected_margin_12m"]))
        for account, day in churners.items():
            if snap.as_of < day and account in m:
                margin[account] = m[account]
    value = pd.Series({a: margin.get(a, 0.0) for a in churners.index}, dtype="float64")
    first_alert = told.groupby("account_id")["date"].min() if len(told) else pd.Series(dtype="datetime64[ns]")
    alert_before = first_alert.reindex(churners.index)
    caught = alert_before.notna() & (alert_before < churners)
    lead = (churners[caught] - alert_before[caught]).dt.days
    alerted = first_alert.index
    # precision and base rate on the same footing: churn within the horizon after the first alert
    # (after each replayed date for the base rate), both censored at the end of the replay
    end = last + pd.DateOffset(months=1)
    horizon = pd.Timedelta(days=horizon_days)
    churned_after = churn.reindex(alerted)
    hits = churned_after.notna() & (churned_after > first_alert) & (churned_after <= (first_alert + horizon).clip(upper=end))
    base = []
    for snap in snaps:
        c = churn.reindex(snap.signals["account_id"].astype(str))
        base.append(((c > snap.as_of) & (c <= min(snap.as_of + horizon, end))).to_numpy())
    base_rate = float(np.concatenate(base).mean()) if base else float("nan")
    reps = pd.Index(sorted(set().union(*[set(s.signals["owner_rep_id"].astype(str)) for s in snaps])))
    per_run = told.groupby(["rep", "date"]).size() if len(told) else pd.Series(dtype="int64")
    grid = pd.MultiIndex.from_product([reps, [s.as_of for s in snaps]], names=["rep", "date"])
    per_run = per_run.reindex(grid, fill_value=0).to_numpy(dtype="float64")
    per_week = per_run / _WEEKS_PER_MONTH
    return PolicyFigures(
        policy=policy, new_alerts=len(told), alerted_accounts=len(alerted), churners=len(churners),
        caught_churners=int(caught.sum()), lost_value=float(value.sum()), caught_value=float(value[caught].sum()),
        recall_of_lost_value=float(value[caught].sum() / value.sum()) if value.sum() > 0 else float("nan"),
        precision=float(hits.mean()) if len(alerted) else float("nan"),
        base_rate=base_rate,
        median_lead_days=float(lead.median()) if len(lead) else float("nan"),
        per_rep_run_median=float(np.median(per_run)), per_rep_run_p95=float(np.percentile(per_run, 95)),
        per_rep_week_p95=float(np.percentile(per_week, 95)),
        reps_over_3_in_a_run=float((per_run > 3).mean()), suppressed_repeats=int(suppressed),
    )


def backtest(
    tables: Mapping[str, pd.DataFrame],
    *,
    months: int = 12,
    rules: Any = None,
    truth: str | pd.Series = "tables",
    vary: Mapping[str, Sequence[float]] | None = None,
    model_spec: Any = None,
    demo_seed: int = 0,
) -> BacktestResult:
    """Replay the alert policies monthly over the last ``months`` months of ``tables``.

    Parameters
    ----------
    tables : mapping
        The validated customer tables (``ingest(db).tables``).
    months : int
        Replayed month starts, ending with the month start before the data's end.
    rules : path or RuleSet, optional
        The alert policies (default: the shipped ``rules/alerts.yaml``).
    truth : {"tables", "demo"} or pandas.Series
        Where the churn dates come from (see the module docstring), or account id -> churn date.
    demo_seed : int
        With ``truth="demo"``: the seed the demo database was generated with.
    vary : mapping of str to values, optional
        Parameters of the policies to vary one at a time for the trade-off table (default: the
        churn-probability threshold and the A-account visit gap, the two main thresholds).
    """
    from engine.features import data_end_date
    from engine.models import load_model
    from engine.pipeline._decide import load_default_rules
    from engine.pipeline._train import train_model

    started = time.perf_counter()
    end = data_end_date(dict(tables))
    if end is None:
        raise InsufficientDataError("the database has no dated rows; there is nothing to replay.")
    last = (pd.Timestamp(end) + pd.Timedelta(days=1)).to_period("M").to_timestamp()
    if last > pd.Timestamp(end):
        last = last - pd.DateOffset(months=1)
    dates = [last - pd.DateOffset(months=k) for k in range(int(months) - 1, -1, -1)]
    cut = dates[0]
    ruleset = rules if hasattr(rules, "evaluate") else load_alert_rules(rules)
    tier_rules = load_default_rules()["tiers"]
    log.info("backtest: training churn on the tables cut at %s, replaying %s .. %s", cut.date(), dates[0].date(),
             dates[-1].date())
    with tempfile.TemporaryDirectory(prefix="kam-backtest-") as folder:
        trained = train_model(cut_tables(tables, cut), "churn", spec=model_spec, artifacts_dir=folder, force=True)
        model = load_model(f"{folder}/churn.joblib")
    snaps = _snapshots(tables, dates, model, tier_rules)
    if isinstance(truth, pd.Series):
        churn, source = pd.to_datetime(truth), "given"
    elif truth == "demo":
        churn, source = demo_churn_dates(len(tables["customers"]), demo_seed), f"demo simulator (seed {demo_seed})"
        _check_demo_truth(tables, churn)
    elif truth == "tables":
        churn, source = tables_churn_dates(tables), "status and last order"
    else:
        raise ConfigError(f"truth must be 'tables', 'demo' or a Series; got {truth!r}.")
    told, repeats, _ = _replay(snaps, ruleset)
    shipped = _figures("shipped policies", told, snaps, churn, repeats)
    naive = _figures("naive p > 0.5 every run", _naive(snaps), snaps, churn, 0)
    tradeoff = []
    vary = vary if vary is not None else DEFAULT_VARY
    for name, values in vary.items():
        if name not in ruleset.spec.parameters:
            raise ConfigError(f"cannot vary {name!r}: not a parameter of the alert policies "
                              f"({', '.join(ruleset.spec.parameters)}).")
        for value in values:
            variant = _with_parameter(ruleset, name, value)
            t_told, t_repeats, _ = _replay(snaps, variant)
            f = _figures(f"{name} {value}", t_told, snaps, churn, t_repeats)
            tradeoff.append({"parameter": name, "value": value, "new_alerts": f.new_alerts,
                             "recall_of_lost_value": round(f.recall_of_lost_value, 4), "precision": round(f.precision, 4),
                             "median_lead_days": f.median_lead_days, "per_rep_week_p95": round(f.per_rep_week_p95, 3)})
    by_kind = {str(k): int(v) for k, v in told["kind"].value_counts().sort_index().items()}
    return BacktestResult(
        dates=[d.date().isoformat() for d in dates], train_cut=cut.date().isoformat(), truth=source,
        shipped=shipped, naive=naive, tradeoff=tradeoff, by_kind=by_kind,
        model_metrics={k: float(v) for k, v in trained.metrics.items() if isinstance(v, (int, float))},
        seconds=time.perf_counter() - started,
    )


def render_backtest(result: BacktestResult) -> str:
    """The backtest as text: the two policies side by side, the targets, the trade-off."""
    s, n = result.shipped, result.naive
    rows = [
        ("new alerts", f"{s.new_alerts:,}", f"{n.new_alerts:,}"),
        ("accounts alerted", f"{s.alerted_accounts:,}", f"{n.alerted_accounts:,}"),
        ("churned accounts (in the replay)", f"{s.churners:,}", f"{n.churners:,}"),
        ("recall of lost value", f"{s.recall_of_lost_value:.1%}", f"{n.recall_of_lost_value:.1%}"),
        ("precision (base rate)", f"{s.precision:.1%} ({s.base_rate:.1%})", f"{n.precision:.1%} ({n.base_rate:.1%})"),
        ("median lead time (days)", f"{s.median_lead_days:.0f}", f"{n.median_lead_days:.0f}"),
        ("new alerts per rep per run: median / p95", f"{s.per_rep_run_median:.0f} / {s.per_rep_run_p95:.0f}",
         f"{n.per_rep_run_median:.0f} / {n.per_rep_run_p95:.0f}"),
        ("new alerts per rep per week, p95", f"{s.per_rep_week_p95:.2f}", f"{n.per_rep_week_p95:.2f}"),
        ("repeats held back by state and cooldown", f"{s.suppressed_repeats:,}", "0 (repeats every run)"),
    ]
    width = max(len(r[0]) for r in rows)
    lines = [f"backtest: {len(result.dates)} monthly as-of dates {result.dates[0]} .. {result.dates[-1]}; churn model "
             f"trained on data before {result.train_cut}; churn from {result.truth}",
             f"{'':{width}}  {'shipped':>22}  {'naive p>0.5':>22}"]
    lines += [f"{a:{width}}  {b:>22}  {c:>22}" for a, b, c in rows]
    lines.append("targets: " + "; ".join(f"{k}: {'met' if v else 'NOT met'}" for k, v in result.targets().items()))
    lines.append("alerts by kind: " + ", ".join(f"{k} {v:,}" for k, v in result.by_kind.items()))
    lines.append("trade-off (one parameter varied, the others as shipped):")
    for t in result.tradeoff:
        lines.append(f"  {t['parameter']} = {t['value']}: {t['new_alerts']:,} new alerts, recall of lost value "
                     f"{t['recall_of_lost_value']:.1%}, precision {t['precision']:.1%}, lead {t['median_lead_days']:.0f} d, "
                     f"p95 {t['per_rep_week_p95']:.2f}/rep/week")
    return "\n".join(lines)

"""``plan_week``: next week's ranked, capacity-bounded contact list of every rep and partner.

Pure: frames in, frames out, no database. The rules of ``rules/plan.yaml`` decide whose list an
account belongs on and whether its tier's cadence makes a contact an obligation; the planner then
fills each person's weekly capacity, obligations first, then by the expected value of a contact.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from engine._arguments import check_type
from engine._errors import ArgumentError, DataError
from engine._log import get_logger
from engine.alerts import ACTIVE_STATES
from engine.plan._spec import PlanParameters, load_plan_rules, week_label
from engine.plan._uplift import contact_saving
from engine.rules import RuleSet

__all__ = ["PLANNED_ALERT_STATES", "PLAN_COLUMNS", "PLAN_STATUSES", "PlanResult", "holdout_mask", "plan_week"]

#: Alert states a plan line counts as open: people act on them (a snoozed alert was deferred by a
#: person until a date; a pending one has told nobody yet).
PLANNED_ALERT_STATES = tuple(state for state in ACTIVE_STATES if state != "snoozed")

_log = get_logger("plan")

#: Status of a plan line.
#: planned - on the person's list next week (``rank`` 1..capacity);
#: capacity_short - the tier's cadence is due but the person's capacity is taken by contacts of
#: higher expected value (obligations only, with ``obligations: first``; any contact expected to
#: save more or be worth more, with ``obligations: by_value``): the line says so and why;
#: holdout - eligible, but left out of every plan by ``holdout_share`` (to measure the uplift);
#: unplanned - nobody can contact it (no active owner rep and no active partner).
PLAN_STATUSES = ("planned", "capacity_short", "holdout", "unplanned")

#: Columns of a plan (and of the ``call_plans`` table, which adds ``run_id`` first).
PLAN_COLUMNS = (
    "week", "week_start", "assignee_type", "assignee_id", "assignee_role", "status", "rank",
    "account_id", "account_name", "tier", "action", "recommended_action", "why", "cadence_due",
    "days_since_contact", "churn_probability", "expected_margin_12m", "value_at_risk", "churn_if_contacted",
    "value_saved", "open_alerts", "expected_deal_value", "expected_value", "ranking", "copied_rep_id", "plan_rule_id", "plan_because",
    "plan_ruleset_hash", "holdout_share", "holdout_seed",
)

_ASSIGNEE = {"field_rep": ("rep", "outside"), "inside_rep": ("rep", "inside"), "partner": ("partner", "partner")}
_ACTION_WORDS = {
    "onsite_visit": "Visit on site",
    "phone_call": "Call",
    "partner_call": "Partner calls",
    "reassign_owner": "Sales operations: name an active owner",
}


@dataclass(frozen=True)
class PlanResult:
    """One week's plans.

    Attributes
    ----------
    week : str
        ISO week ``YYYY-Www`` planned for.
    week_start : datetime.date
        Its Monday (``days_since`` and the cadences count to this day).
    lines : pandas.DataFrame
        :data:`PLAN_COLUMNS`: every planned line (ranked per person), every cadence obligation
        that did not fit (``capacity_short``), every held-out account and every account nobody
        can contact.
    parameters : PlanParameters
    ruleset_hash : str
    counts : dict
        Eligible accounts, lines by status, obligations due and met, people planned.
    seconds : float
    """

    week: str
    week_start: dt.date
    lines: pd.DataFrame
    parameters: PlanParameters
    ruleset_hash: str
    counts: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def planned(self) -> pd.DataFrame:
        """Only the lines on someone's list (status ``planned``), by person and rank."""
        return self.lines[self.lines["status"] == "planned"]


def holdout_mask(account_ids: pd.Series, share: float, seed: int) -> np.ndarray:
    """Which accounts a holdout of ``share`` leaves out, stable across weeks for one ``seed``.

    Each account gets a uniform number from a hash of ``seed`` and its id (blake2b), so the same
    accounts stay held out week after week and whatever else is in the data; a held-out account
    is left out when that number is below ``share``.

    Examples
    --------
    >>> ids = pd.Series([f"A{i:05d}" for i in range(10_000)])
    >>> round(float(holdout_mask(ids, 0.1, seed=0).mean()), 2)
    0.1
    >>> bool((holdout_mask(ids, 0.1, seed=0) == holdout_mask(ids, 0.1, seed=0)).all())
    True
    """
    check_type("holdout_mask", "account_ids", account_ids, (pd.Series, pd.Index, np.ndarray, list, tuple),
               "pass the account_id column, e.g. frame['account_id']", described="a sequence of account ids")
    if isinstance(share, bool) or not isinstance(share, (int, float, np.integer, np.floating)) or not 0.0 <= share <= 1.0:
        raise ArgumentError(f"holdout_mask: expected share as a number from 0 to 1; got {share!r}. "
                            "Fix: pass the plan's holdout share, e.g. 0.1 (rules/plan.yaml holdout_share).")
    check_type("holdout_mask", "seed", seed, (int, np.integer), "pass an integer seed, e.g. 0", described="an integer")
    if share <= 0.0:
        return np.zeros(len(account_ids), dtype=bool)
    key = f"{int(seed)}:".encode()
    draws = np.fromiter(
        (int.from_bytes(hashlib.blake2b(key + str(a).encode(), digest_size=8).digest(), "big") for a in account_ids),
        dtype=np.uint64,
        count=len(account_ids),
    )
    return (draws / np.float64(2**64)) < share


def _check_share(holdout_share: float) -> float:
    from engine._errors import ConfigError

    if isinstance(holdout_share, bool) or not isinstance(holdout_share, (int, float)) or not 0.0 <= holdout_share < 1.0:
        raise ConfigError(
            f"holdout share must be a number from 0 (no holdout) up to but excluding 1; got {holdout_share!r}. "
            "Fix: e.g. --holdout 0.1 leaves 10% of eligible accounts out of the plans."
        )
    return float(holdout_share)


def _require(frame: pd.DataFrame, columns: tuple[str, ...], what: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        from engine._errors import ArgumentError

        raise ArgumentError(f"plan_week: expected {what} as a pandas DataFrame; got {type(frame).__name__}. "
                            f"Fix: pass the {what} frame of a `kam score` run and its source tables")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(
            f"{what} lacks the columns {missing}; expected at least {list(columns)}; got {list(frame.columns)}. "
            "Fix: plan from a complete `kam score` run (account_scores) and the source tables."
        )


def _per_account_sum(frame: pd.DataFrame | None, value: str, index: pd.Index) -> pd.Series:
    if frame is None or frame.empty or value not in frame.columns:
        return pd.Series(0.0, index=index)
    values = pd.to_numeric(frame[value], errors="coerce").fillna(0.0)
    return values.groupby(frame["account_id"].astype(object)).sum().reindex(index, fill_value=0.0)


def _open_alerts(alerts: pd.DataFrame | None, index: pd.Index) -> tuple[pd.Series, pd.Series]:
    """Open alerts per account and the recommended action of the first one (when given)."""
    none = pd.Series(0, index=index, dtype=np.int64), pd.Series(None, index=index, dtype=object)
    if alerts is None or alerts.empty or "account_id" not in alerts.columns:
        return none
    open_rows = alerts
    for state_column in ("state", "status"):
        if state_column in alerts.columns:
            state = alerts[state_column].astype(object).astype(str).str.lower()
            open_rows = alerts[state.isin(PLANNED_ALERT_STATES)]
            break
    open_rows = open_rows[open_rows["account_id"].notna()]
    if open_rows.empty:
        return none
    ids = open_rows["account_id"].astype(object)
    counts = ids.value_counts().reindex(index, fill_value=0).astype(np.int64)
    action = pd.Series(None, index=index, dtype=object)
    for column in ("recommended_action", "action", "because", "message"):
        if column in open_rows.columns:
            first = open_rows[column].astype(object).groupby(ids).first()
            action = first.reindex(index)
            break
    return counts, action


def _copied_reps(routes: pd.DataFrame | None, index: pd.Index) -> pd.Series:
    """The field rep the routing rules copy on the account's partner-routed deal, if any."""
    out = pd.Series(None, index=index, dtype=object)
    if routes is None or routes.empty or not {"account_id", "route", "copied_rep_id"} <= set(routes.columns):
        return out
    to_partner = routes[(routes["route"].astype(object) == "partner") & routes["copied_rep_id"].notna()]
    if "copy_outside" in to_partner.columns:
        to_partner = to_partner[to_partner["copy_outside"].fillna(False).astype(bool)]
    to_partner = to_partner[to_partner["account_id"].notna()]
    if to_partner.empty:
        return out
    first = to_partner["copied_rep_id"].astype(object).groupby(to_partner["account_id"].astype(object)).first()
    return first.reindex(index)


def _money(value: float) -> str:
    return f"{value:,.0f} CNY"


def _why(row: dict, params: PlanParameters) -> str:
    """The line's reason in words, with its figures."""
    parts = []
    days = row["days_since_contact"]
    cadence = params.cadence_days(row["tier"])
    tier = row["tier"] if isinstance(row["tier"], str) else "untiered"
    if days is None or (isinstance(days, float) and np.isnan(days)):
        parts.append(f"{tier} account never contacted on record (cadence {cadence} days)")
    else:
        parts.append(f"{tier} account last contacted {int(days)} days ago (cadence {cadence} days)")
    if row["cadence_due"]:
        parts[-1] += ": cadence due"
    parts.append(
        f"value at risk {_money(row['value_at_risk'])} (churn {row['churn_probability']:.0%} x 12-month margin "
        f"{_money(row['expected_margin_12m'])})"
    )
    if row["open_alerts"]:
        parts.append(f"{row['open_alerts']} open alert{'s' if row['open_alerts'] > 1 else ''}")
    if row["expected_deal_value"] > 0:
        parts.append(f"open deals worth {_money(row['expected_deal_value'])} expected")
    if row["ranking"] == "visit_effect":
        margin = row["expected_margin_12m"]
        points = row["value_saved"] / margin if margin > 0 else 0.0
        parts.append(
            f"a contact this week is expected to save {_money(row['value_saved'])} (the risk of churning within "
            f"{params.uplift_horizon_weeks} weeks {points:.1%} lower under the stated effect of a contact)"
        )
    elif row["ranking"] == "value_saved":
        parts.append(
            f"a contact this week is expected to save {_money(row['value_saved'])} (churn {row['churn_probability']:.0%}"
            f" -> {row['churn_if_contacted']:.0%} if contacted)"
        )
    parts.append(f"expected value of the contact {_money(row['expected_value'])}")
    return "; ".join(parts) + "."


def _recommended(row: dict, alert_action: Any) -> str:
    words = _ACTION_WORDS.get(row["action"], str(row["action"]))
    extra = []
    if isinstance(alert_action, str) and alert_action:
        extra.append(f"act on the open alert: {alert_action.rstrip('.')}")
    if row["expected_deal_value"] > 0:
        extra.append("move the open deal forward")
    if row["value_at_risk"] > 0 and row["churn_probability"] >= 0.3:
        extra.append("ask what would make them order again")
    if isinstance(row["copied_rep_id"], str) and row["copied_rep_id"]:
        extra.append(f"copy field rep {row['copied_rep_id']}")
    return words + (": " + "; ".join(extra) if extra else "") + "."


def decide_lists(
    accounts: pd.DataFrame, reps: pd.DataFrame, partners: pd.DataFrame, *, week_start: dt.date,
    last_contact: np.ndarray, ruleset: RuleSet,
) -> pd.DataFrame:
    """Evaluate the plan rules: whose list each account belongs on, its action, its cadence.

    ``owner_role`` is the owner rep's role when that rep is active (null otherwise) and
    ``has_active_partner`` says whether the owning partner is on the programme; the result is the
    rule set's result frame (``plan_for``, ``action``, ``cadence_due``, ``rule_id``,
    ``because``, ...) aligned to ``accounts``.
    """
    rep_ids = reps["rep_id"].astype(object)
    rep_role = pd.Series(reps["role"].astype(object).to_numpy(), index=rep_ids)
    rep_active = pd.Series(reps["active"].fillna(False).astype(bool).to_numpy(), index=rep_ids)
    partner_active = pd.Series(
        partners["active"].fillna(False).astype(bool).to_numpy(), index=partners["partner_id"].astype(object)
    )
    owner = accounts["owner_rep_id"].astype(object).to_numpy()
    partner = accounts["owner_partner_id"].astype(object).to_numpy()
    owner_ok = rep_active.reindex(owner).fillna(False).to_numpy(dtype=bool)
    role = rep_role.reindex(owner).to_numpy(dtype=object)
    role[~owner_ok | ~pd.Series(role).isin(["outside", "inside"]).to_numpy()] = None
    decide = pd.DataFrame({
        "tier": accounts["tier"].astype(object).to_numpy(),
        "owner_role": role,
        "has_active_partner": partner_active.reindex(partner).fillna(False).to_numpy(dtype=bool),
        "last_contact": last_contact,
    })
    result = ruleset.evaluate(decide, as_of=week_start)
    result.attrs["owner_role"] = role
    return result


def plan_week(
    accounts: pd.DataFrame,
    reps: pd.DataFrame,
    partners: pd.DataFrame,
    *,
    week_start: dt.date,
    last_contact: pd.Series | None = None,
    opportunities: pd.DataFrame | None = None,
    alerts: pd.DataFrame | None = None,
    rules: RuleSet | str | Path | None = None,
    holdout_share: float = 0.0,
    seed: int = 0,
    explain: bool = True,
) -> PlanResult:
    """Build next week's ranked contact list of every active rep and every active partner.

    Parameters
    ----------
    accounts : pandas.DataFrame
        One row per account, as ``account_scores`` holds it: ``account_id``, ``owner_rep_id``,
        ``owner_partner_id``, ``tier``, ``churn_probability``, ``expected_margin_12m``,
        ``value_at_risk`` (optional ``name``; optional ``status``: ``closed`` accounts are not
        planned; optional ``churn_if_contacted``: kam's churn model's probability if contacted
        this week, from :func:`engine.plan.churn_if_contacted`, which ``ranking: value_saved``
        needs - without it the plan ranks by value at risk and logs a warning).
    reps : pandas.DataFrame
        ``rep_id``, ``role`` (outside / inside), ``active``.
    partners : pandas.DataFrame
        ``partner_id``, ``active``.
    week_start : datetime.date
        Monday of the week planned for; cadences count the days to it.
    last_contact : pandas.Series, optional
        Day of the last visit or call, indexed by account id (missing: never contacted).
    opportunities : pandas.DataFrame, optional
        Open deals as ``opportunity_routes`` holds them: ``account_id``, ``expected_deal_value``
        (and ``route``, ``copy_outside``, ``copied_rep_id`` for the copied field rep).
    alerts : pandas.DataFrame, optional
        Open alerts: ``account_id`` (optional ``state``/``status``, ``recommended_action``).
    rules : RuleSet, str or None
        The plan rule set (default: the shipped ``rules/plan.yaml``).
    holdout_share : float
        Share of eligible accounts left out of every plan (0 = none), chosen by a hash of the
        account id and ``seed`` (the same accounts every week).
    seed : int
        Seed of the holdout. Nothing else is random: ties are broken by account id.
    explain : bool
        Write the ``why`` and ``recommended_action`` sentences (the simulation switches them off).

    Returns
    -------
    PlanResult

    Raises
    ------
    DataError
        A required column is missing, an account id repeats, there is no account to plan, or a
        ``churn_if_contacted`` value is not a probability.
    ConfigError
        ``holdout_share`` outside [0, 1).
    """
    started = time.perf_counter()
    holdout_share = _check_share(holdout_share)
    ruleset, params = load_plan_rules(rules)
    _require(accounts, ("account_id", "owner_rep_id", "owner_partner_id", "tier", "churn_probability",
                        "expected_margin_12m", "value_at_risk"), "accounts")
    _require(reps, ("rep_id", "role", "active"), "reps")
    _require(partners, ("partner_id", "active"), "partners")
    if accounts.empty:
        raise DataError("there are no accounts to plan (accounts is empty). Fix: run `kam score` on a database with accounts.")
    ids = accounts["account_id"].astype(object)
    if ids.duplicated().any():
        dup = ids[ids.duplicated()].iloc[0]
        raise DataError(f"account id {dup!r} appears more than once in accounts; expected one row per account.")

    frame = pd.DataFrame({"account_id": ids.to_numpy()})
    index = pd.Index(frame["account_id"])
    status = accounts["status"].astype(object).to_numpy() if "status" in accounts.columns else np.full(len(frame), None)
    contact = (
        pd.to_datetime(last_contact.reindex(index), errors="coerce").to_numpy()
        if last_contact is not None
        else np.full(len(frame), np.datetime64("NaT"), dtype="datetime64[ns]")
    )
    tier = accounts["tier"].astype(object).to_numpy()
    decided = decide_lists(accounts, reps, partners, week_start=week_start, last_contact=contact, ruleset=ruleset)
    decided_role = decided.attrs["owner_role"]
    owner = accounts["owner_rep_id"].astype(object).to_numpy()
    partner = accounts["owner_partner_id"].astype(object).to_numpy()

    day = np.datetime64(week_start, "D")
    days = (day - contact.astype("datetime64[D]")).astype("timedelta64[D]").astype(float)
    days[np.isnat(contact)] = np.nan
    cadence = np.array([params.cadence_days(t) for t in tier], dtype=float)
    cadences = np.where(np.isnan(days), params.max_cadences_counted, np.minimum(np.maximum(days, 0) / cadence,
                                                                               params.max_cadences_counted))
    value_at_risk = pd.to_numeric(accounts["value_at_risk"], errors="coerce").fillna(0.0).clip(lower=0).to_numpy()
    margin = pd.to_numeric(accounts["expected_margin_12m"], errors="coerce").fillna(0.0).clip(lower=0).to_numpy()
    open_alerts, alert_action = _open_alerts(alerts, index)
    deal_value = _per_account_sum(opportunities, "expected_deal_value", index).to_numpy()
    churn = pd.to_numeric(accounts["churn_probability"], errors="coerce").fillna(0.0).to_numpy(dtype=float)
    ranking = params.ranking
    if ranking == "visit_effect":
        churn_if_contacted, value_saved = None, _visit_effect_saving(churn, days, decided_role, params) * margin
    else:
        churn_if_contacted, value_saved = _value_saved(accounts, churn, margin)
    if ranking == "value_saved" and churn_if_contacted is None:
        _log.warning(
            "ranking value_saved needs each account's churn probability if contacted this week (column "
            "churn_if_contacted, from engine.plan.churn_if_contacted); it is missing, so this plan ranks by value "
            "at risk"
        )
        ranking = "value_at_risk"
    if ranking in ("value_saved", "visit_effect") and value_saved is not None:
        # A contact right after another moves an alert or a deal little more: the win side counts
        # in full once a cadence has passed since the last contact (never contacted: in full).
        contact_value, win_share = value_saved, np.minimum(cadences, 1.0)
    else:
        contact_value, win_share = value_at_risk * cadences, np.ones(len(frame))
    expected_value = params.weight_value_at_risk * contact_value + win_share * (
        params.weight_open_alert * margin * open_alerts.to_numpy()
        + params.weight_open_opportunity * deal_value
    )

    plan_for = decided["plan_for"].astype(object).to_numpy()
    eligible = status != "closed"
    assignable = eligible & np.isin(plan_for, list(_ASSIGNEE))
    held = np.zeros(len(frame), dtype=bool)
    held[assignable] = holdout_mask(frame["account_id"][assignable], holdout_share, seed)
    frame = frame.assign(
        account_name=accounts["name"].astype(object).to_numpy() if "name" in accounts.columns else None,
        tier=tier,
        plan_for=plan_for,
        action=decided["action"].astype(object).to_numpy(),
        cadence_due=decided["cadence_due"].fillna(False).astype(bool).to_numpy(),
        plan_rule_id=decided["rule_id"].astype(object).to_numpy(),
        plan_because=decided["because"].astype(object).to_numpy(),
        days_since_contact=days,
        churn_probability=churn,
        expected_margin_12m=margin,
        value_at_risk=value_at_risk,
        churn_if_contacted=np.full(len(frame), np.nan) if churn_if_contacted is None else churn_if_contacted,
        value_saved=np.full(len(frame), np.nan) if value_saved is None else value_saved,
        ranking=ranking,
        open_alerts=open_alerts.to_numpy(),
        expected_deal_value=deal_value,
        expected_value=expected_value,
        assignee_id=np.where(plan_for == "partner", partner, owner),
        held=held,
        alert_action=alert_action.to_numpy(),
    )
    copied = _copied_reps(opportunities, index).to_numpy()
    frame["copied_rep_id"] = pd.Series(np.where(plan_for == "partner", copied, None), dtype=object).where(
        lambda s: s.notna(), None)

    # Fill each person's capacity: cadence obligations first (``obligations: first``) or by their
    # expected value like any other contact (``by_value``; one left out is reported), then the
    # expected value. Ties by account id.
    obligations_first = params.obligations == "first"
    keys = ["plan_for", "assignee_id", *(["cadence_due"] if obligations_first else []), "expected_value", "account_id"]
    pool = frame[assignable & ~held].sort_values(
        keys, ascending=[True, True, *([False] if obligations_first else []), False, True], kind="stable",
    )
    position = pool.groupby(["plan_for", "assignee_id"], sort=False).cumcount().to_numpy() + 1
    capacity = pool["plan_for"].map(params.capacity).to_numpy()
    on_plan = position <= capacity
    short = ~on_plan & pool["cadence_due"].to_numpy()
    pool = pool.assign(rank=np.where(on_plan, position, 0), status=np.where(on_plan, "planned", "capacity_short"))
    pool = pool[on_plan | short]
    held_rows = frame[held].assign(rank=0, status="holdout")
    nobody = frame[eligible & ~assignable].assign(rank=0, status="unplanned")
    lines = pd.concat([pool, held_rows, nobody], ignore_index=True)

    assignee = lines["plan_for"].map(lambda p: _ASSIGNEE.get(p, (None, None)))
    lines["assignee_type"] = [a[0] for a in assignee]
    lines["assignee_role"] = [a[1] for a in assignee]
    lines.loc[lines["status"] == "unplanned", "assignee_id"] = None
    lines["week"] = week_label(week_start)
    lines["week_start"] = pd.Timestamp(week_start)
    lines["plan_ruleset_hash"] = ruleset.hash
    lines["holdout_share"] = holdout_share
    lines["holdout_seed"] = int(seed)
    if explain:
        records = lines.to_dict("records")
        short_by = _shortfall(lines, params)
        lines["why"] = [_line_why(r, params, short_by) for r in records]
        lines["recommended_action"] = [_recommended(r, r["alert_action"]) for r in records]
    else:
        lines["why"] = None
        lines["recommended_action"] = None
    order = {s: i for i, s in enumerate(PLAN_STATUSES)}
    lines = lines.assign(_order=lines["status"].map(order)).sort_values(
        ["_order", "assignee_type", "assignee_id", "rank", "expected_value", "account_id"],
        ascending=[True, True, True, True, False, True],
        kind="stable",
    )
    lines = lines[list(PLAN_COLUMNS)].reset_index(drop=True)
    lines["rank"] = lines["rank"].astype(np.int64)
    lines["open_alerts"] = lines["open_alerts"].astype(np.int64)
    lines["cadence_due"] = lines["cadence_due"].astype(bool)

    counts = {**_counts(lines, frame, eligible, assignable), "ranking": ranking}
    seconds = time.perf_counter() - started
    _log.info(
        "planned week %s: %s lines on %s lists (%s eligible accounts, %s obligations due, %s met, %s held out) in %.2f s",
        week_label(week_start), counts["planned"], counts["people_planned"], counts["eligible_accounts"],
        counts["obligations_due"], counts["obligations_met"], counts["holdout"], seconds,
    )
    return PlanResult(week_label(week_start), week_start, lines, params, ruleset.hash, counts, seconds)


def _value_saved(accounts: pd.DataFrame, churn: np.ndarray, margin: np.ndarray
                 ) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Churn if contacted this week and the margin a contact saves, when ``churn_if_contacted`` is given.

    The value a contact saves is kam's own churn model's uplift: the churn probability as scored
    minus the churn probability with the visit features as if the account were contacted this
    week, times the 12-month margin (never below zero: a contact is not expected to cost an account).

    Raises
    ------
    DataError
        ``churn_if_contacted`` holds a value outside [0, 1].
    """
    if "churn_if_contacted" not in accounts.columns:
        return None, None
    raw = pd.to_numeric(accounts["churn_if_contacted"], errors="coerce")
    bad = raw.notna() & ~raw.between(0.0, 1.0)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            f"accounts row {row} (account {accounts['account_id'].iloc[row]!r}): churn_if_contacted must be a "
            f"probability from 0 to 1; got {raw.iloc[row]!r}. Fix: pass engine.plan.churn_if_contacted(model, features)."
        )
    if_contacted = raw.fillna(pd.Series(churn, index=raw.index)).to_numpy(dtype=float)
    return if_contacted, np.clip(churn - if_contacted, 0.0, None) * margin


def _visit_effect_saving(churn: np.ndarray, days: np.ndarray, owner_role: np.ndarray, params: PlanParameters
                         ) -> np.ndarray:
    """The drop in churn within the horizon a contact this week brings, under the stated visit effect."""
    gap = np.where(owner_role == "outside", params.visit_gap_days_outside, params.visit_gap_days_inside)
    return contact_saving(
        churn, days, gap.astype(float), effect=params.visit_effect_log_odds, max_gaps=params.visit_effect_max_gaps,
        horizon_weeks=params.uplift_horizon_weeks, score_days=params.churn_score_days,
        effect_in_score=params.visit_effect_in_churn_score,
    )


def _shortfall(lines: pd.DataFrame, params: PlanParameters) -> dict[tuple[str, str], int]:
    """Per person with obligations left over: how many obligations were due in all."""
    due = lines[lines["cadence_due"] & lines["status"].isin(["planned", "capacity_short"])]
    return due.groupby(["plan_for", "assignee_id"]).size().to_dict()


def _line_why(row: dict, params: PlanParameters, due_by: dict) -> str:
    if row["status"] == "unplanned":
        return f"{row['plan_because']} Value at risk {_money(row['value_at_risk'])}."
    if row["status"] == "holdout":
        return (f"Held out of every plan to measure the plan's uplift (holdout {row['holdout_share']:.0%}, seed "
                f"{row['holdout_seed']}); otherwise: " + _why(row, params))
    text = _why(row, params)
    if row["status"] == "capacity_short":
        capacity = params.capacity(row["plan_for"])
        due = due_by.get((row["plan_for"], row["assignee_id"]), 0)
        if params.obligations == "by_value":
            more = "save more" if row["ranking"] in ("value_saved", "visit_effect") else "be worth more"
            text = (f"Cadence due but not planned: the capacity of {capacity} a week went to contacts expected to "
                    f"{more} ({due} obligations were due). " + text)
        else:
            text = (f"Cadence due but not planned: {due} obligations compete for a capacity of {capacity} a week "
                    f"and this one has a lower expected value. " + text)
    return text


def _counts(lines: pd.DataFrame, frame: pd.DataFrame, eligible: np.ndarray, assignable: np.ndarray) -> dict[str, Any]:
    status = lines["status"]
    planned = lines[status == "planned"]
    due = frame["cadence_due"].to_numpy() & assignable & ~frame["held"].to_numpy()
    return {
        "eligible_accounts": int(eligible.sum()),
        "planned": len(planned),
        "capacity_short": int((status == "capacity_short").sum()),
        "holdout": int((status == "holdout").sum()),
        "unplanned": int((status == "unplanned").sum()),
        "obligations_due": int(due.sum()),
        "obligations_met": int(planned["cadence_due"].sum()),
        "people_planned": int(planned[["assignee_type", "assignee_id"]].drop_duplicates().shape[0]),
        "planned_by_list": {str(k): int(v) for k, v in planned["assignee_role"].value_counts().items()},
        "value_at_risk_planned": float(planned["value_at_risk"].sum()),
        "value_at_risk_total": float(frame.loc[eligible, "value_at_risk"].sum()),
    }

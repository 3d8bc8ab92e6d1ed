"""Does the weekly call plan save customers? A simulation over 26 weeks, re-planned weekly.

For each seed: build the demo database, train kam's models and score it (``run_demo``), then
continue the simulated world forward from the as-of date (``engine.demo._forward``) for
``--weeks`` weeks under each policy, all with the same forward seed (common random numbers):

* ``status_quo`` - no plan: the simulator's own visiting goes on;
* ``naive``      - each person's list (same lists and capacities as kam's plan) worked round robin,
                   biggest 12-month revenue first;
* ``kam_as_of``  - ``engine.plan_week`` every week: cadence obligations, then the expected value
                   of a contact from kam's churn scores of the as-of run (never re-scored) and the
                   recorded last-contact dates (the visits table, then the plan's own contacts);
* ``kam``        - the same, re-scored every week as a nightly run would: kam's churn model on the
                   as-of features with the visit features (days since the last visit, visits in
                   90 days) recomputed from the recorded contacts on the week's Monday; orders,
                   tickets and deals are not simulated forward, so their features stay as of the run;
* ``kam_true_risk`` - diagnostic only (not run by default): kam's plan fed the simulator's true
                   current risk in place of kam's churn score (carrying the share of the gap's effect
                   the plan reads in a score, so the plan finds the true base risk), to separate what
                   the score costs from what the plan's rules cost;
* ``oracle``     - same lists and capacities, ranked by the true expected saving of a contact: the
                   drop in the probability of churning within 13 weeks that a contact this week
                   brings, from the simulator's own hazards, x the margin at stake: the ceiling of
                   a capacity-bounded plan that decides one week at a time.

Every policy of one seed runs on the same world with the same random streams, and the streams
draw one value per account (and possible event) every week, so the paired difference of two
policies within a seed is the policies' doing; the spread quoted for a saving is the standard
deviation over seeds of that paired difference.

Prints, per capacity scale: accounts lost and margin lost to churn (mean and standard deviation
over seeds), the share of value at risk the plans touched, and kam's saving over naive as a share
of the oracle's saving over naive (per seed, then mean and spread). With ``--compare`` every week
also computes the oracle's choice from the same state and prints the share of the oracle's true
saving each plan's choice captures and the share of the oracle's contacts it makes. kam's
ranking, obligations and any other plan parameter can be set (``--ranking``, ``--obligations``,
``--set NAME=VALUE``); by default they are the shipped ``rules/plan.yaml``'s.

    python benchmarks/bench_plan.py --accounts 20000 --seeds 0 1 2 3 4 --weeks 26 --scales 1 0.25 --compare
"""

from __future__ import annotations

import argparse
import json
import os
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd

from engine.demo import DEMO_END_DATE
from engine.demo._forward import ForwardSimulation
from engine.demo._ids import format_ids, id_width
from engine.demo._org import OUTSIDE
from engine.demo._tables import simulate_world
from engine.features import build_account_features
from engine.models import load_model
from engine.pipeline._demo import demo_artifacts_dir
from engine.pipeline._rowwise import _predict
from engine.plan import churn_if_contacted, load_plan_rules, plan_week
from engine.plan._plan import decide_lists
from engine.plan._uplift import DAYS_PER_MONTH
from engine.rules import RuleSet

POLICIES = ("status_quo", "naive", "kam_as_of", "kam", "kam_true_risk", "oracle")
#: Tables kam's account features read (engine.features.build_account_features).
FEATURE_TABLES = ("customers", "reps", "ownership", "orders", "tickets", "contacts", "visits", "opportunities")
_CAPACITY_KEYS = ("field_visits_per_week", "inside_calls_per_week", "partner_calls_per_week")


def scaled_rules(scale: float, ranking: str | None = None, obligations: str | None = None,
                 settings: dict[str, str] | None = None) -> RuleSet:
    """The shipped plan rules with every weekly capacity multiplied by ``scale`` (rounded), and
    ``ranking``, ``obligations`` and any other parameter (``settings``) in place of the shipped ones when given."""
    from engine._paths import default_rules_dir

    text = (default_rules_dir() / "plan.yaml").read_text("utf-8")
    _, params = load_plan_rules()
    for key in _CAPACITY_KEYS:
        value = getattr(params, key)
        text = text.replace(f"{key}: {value}\n", f"{key}: {round(value * scale)}\n")
    if ranking is not None:
        text = text.replace(f"ranking: {params.ranking}\n", f"ranking: {ranking}\n")
    if obligations is not None:
        text = text.replace(f"obligations: {params.obligations}\n", f"obligations: {obligations}\n")
    for key, value in (settings or {}).items():
        text, found = re.subn(rf"\n  {re.escape(key)}: [^\n]*\n", f"\n  {key}: {value}\n", text)
        if not found:
            raise SystemExit(f"--set {key}=...: rules/plan.yaml has no parameter {key!r}")
    rules = RuleSet.from_text(text)
    return rules


def kam_run(workdir: Path, accounts: int, seed: int) -> dict[str, pd.DataFrame]:
    """kam's scoring run on the demo database of ``seed`` (built, trained and scored once, then reused)."""
    from engine.pipeline import run_demo
    from engine.storage import Database

    path = workdir / f"demo-{accounts}-{seed}.sqlite"
    with Database(path) as db:
        has_run = path.exists() and "account_scores" in db.table_names()
    if not has_run:
        started = time.perf_counter()
        run_demo(path, accounts=accounts, seed=seed)
        print(f"  seed {seed}: demo database built, models trained, scored in {time.perf_counter() - started:.0f} s",
              flush=True)
    with Database(path) as db:
        scores = db.read_results("account_scores")
        routes = db.read_results("opportunity_routes")
        tables = {name: db.read_table(name) for name in FEATURE_TABLES}
        runs = db.read_table("runs")
    orders = tables["orders"]
    recent = orders[pd.to_datetime(orders["order_date"]) > pd.Timestamp(DEMO_END_DATE) - pd.Timedelta(days=365)]
    revenue = recent.groupby(recent["account_id"].astype(object))["amount"].sum()
    # What kam needs to re-score every week: the as-of run's account features and its churn model
    # (the week's visit features are then recomputed from the simulated contacts).
    run = runs[runs["run_id"].astype(str) == str(scores["run_id"].iloc[0])].iloc[0]
    as_of = pd.Timestamp(run["as_of"])
    features = build_account_features(tables, as_of)
    model = load_model(demo_artifacts_dir(path) / "churn.joblib", kind="churn")
    if str(getattr(getattr(model, "card_", None), "sha256", "")) not in ("", str(run["churn_model_sha256"])):
        raise SystemExit(f"{demo_artifacts_dir(path)} does not hold the churn model the run {run['run_id']} scored with")
    visits = tables["visits"][["account_id", "visit_date"]]
    return {"scores": scores, "routes": routes, "revenue_12m": revenue, "features": features, "churn_model": model,
            "visits": visits, "as_of": as_of}


class Views:
    """What a planner sees of the forward world each week, in the database's ids."""

    def __init__(self, sim: ForwardSimulation, run: dict, rules: RuleSet):
        n = sim.n
        self.sim = sim
        self.rules = rules
        _, self.params = load_plan_rules(rules)
        self.ids = pd.Index(np.asarray(format_ids("A", width=id_width(n, 7), count=n), dtype=object), name="account_id")
        scores = run["scores"].assign(account_id=run["scores"]["account_id"].astype(object)).set_index("account_id")
        self.scores = scores.reindex(self.ids)
        if self.scores["tier"].isna().any():
            raise SystemExit("the scoring run does not cover the simulated accounts; delete the work folder and rerun")
        self.margin = self.scores["expected_margin_12m"].fillna(0.0).clip(lower=0).to_numpy()
        self.revenue = run["revenue_12m"].reindex(self.ids, fill_value=0.0).to_numpy()
        self.routes = run["routes"]
        self.partner_ids = np.array([f"P{i}" for i in range(sim.org.partners)], dtype=object)
        self.partners = pd.DataFrame({"partner_id": self.partner_ids, "active": sim.org.partner_active})
        self.last_pick = np.full(n, -1, dtype=np.int64)
        # What kam knows of the contacts: the visits table, then the plan's own contacts (never the
        # simulator's unrecorded state). Days since 1970-01-01.
        visits = run["visits"]
        position = self.ids.get_indexer(visits["account_id"].astype(object))
        day = (pd.to_datetime(visits["visit_date"]).to_numpy().astype("datetime64[D]").astype(np.int64))
        keep = position >= 0
        self.visit_account, self.visit_day = position[keep], day[keep]
        self.recorded_last = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
        np.maximum.at(self.recorded_last, self.visit_account, self.visit_day)
        self.features = run["features"].set_index(run["features"]["account_id"].astype(object)).reindex(self.ids)
        self.churn_model = run["churn_model"]
        self.rescored = None

    def record(self, contacted: np.ndarray) -> None:
        """The week's contacts, as the visits table would hold them."""
        days = self.sim.last_visit_day[contacted]
        self.recorded_last[contacted] = np.maximum(self.recorded_last[contacted], days)
        self.visit_account = np.r_[self.visit_account, contacted]
        self.visit_day = np.r_[self.visit_day, days]

    def last_contact(self) -> pd.Series:
        never = self.recorded_last == np.iinfo(np.int64).min
        days = np.where(never, 0, self.recorded_last).astype("datetime64[D]").astype("datetime64[ns]")
        return pd.Series(np.where(never, np.datetime64("NaT"), days), index=self.ids)

    def rescore(self) -> tuple[np.ndarray, np.ndarray | None]:
        """kam's churn probability this week, and if contacted this week: the as-of features with the
        visit features recomputed from the recorded contacts on this week's Monday (orders, tickets
        and deals are not simulated forward, so their features stay as they were at the as-of date)."""
        day = int(self.sim.day)
        frame = self.features.copy()
        never = self.recorded_last == np.iinfo(np.int64).min
        frame["days_since_last_visit"] = np.where(never, np.nan, (day - self.recorded_last).astype(float))
        recent = (self.visit_day >= day - 90) & (self.visit_day < day)
        frame["visits_90d"] = np.bincount(self.visit_account[recent], minlength=self.sim.n).astype(np.int64)
        frame = frame.reset_index(drop=True)
        if self.params.ranking != "value_saved":
            return _predict(self.churn_model, frame), None
        return _predict(self.churn_model, frame), churn_if_contacted(self.churn_model, frame)

    def frames(self):
        sim = self.sim
        owner = sim.owner_rep()
        in_post = sim.active_reps()
        slot_of_rep = {}
        for slot, rep in enumerate(sim.occupant):
            slot_of_rep[int(rep)] = slot
        roles = np.where(sim.org.slot_role[[slot_of_rep[int(r)] for r in in_post]] == OUTSIDE, "outside", "inside")
        reps = pd.DataFrame({"rep_id": [f"R{int(r)}" for r in in_post], "role": roles, "active": True})
        accounts = self.scores.reset_index()[["account_id", "name", "tier", "churn_probability",
                                              "expected_margin_12m", "value_at_risk"]].copy()
        accounts["owner_rep_id"] = np.array([f"R{int(r)}" for r in owner], dtype=object)
        accounts["owner_partner_id"] = self.partner_ids[sim.org.owner_partner]
        accounts["status"] = np.where(sim.alive, "active", "closed")
        return accounts, reps, self.last_contact()

    def _top(self, lists: pd.DataFrame, score: np.ndarray, tiebreak: np.ndarray) -> np.ndarray:
        """Account positions of the top ``capacity`` of every person's list by ``score`` (then ``tiebreak``)."""
        frame = lists.assign(score=score, tiebreak=tiebreak, position=np.arange(len(lists)))
        frame = frame[frame["eligible"]]
        frame = frame.sort_values(["plan_for", "assignee", "score", "tiebreak"], ascending=[True, True, False, False])
        rank = frame.groupby(["plan_for", "assignee"], sort=False).cumcount().to_numpy()
        capacity = frame["plan_for"].map(self.params.capacity).to_numpy()
        return frame["position"].to_numpy()[rank < capacity]

    def lists(self) -> pd.DataFrame:
        accounts, reps, last = self.frames()
        decided = decide_lists(accounts, reps, self.partners, week_start=self.sim.week_start,
                               last_contact=last.to_numpy(), ruleset=self.rules)
        plan_for = decided["plan_for"].astype(object).to_numpy()
        assignee = np.where(plan_for == "partner", accounts["owner_partner_id"], accounts["owner_rep_id"])
        eligible = self.sim.alive & np.isin(plan_for, ["field_rep", "inside_rep", "partner"])
        return pd.DataFrame({"plan_for": plan_for, "assignee": assignee, "eligible": eligible})

    def contacts(self, policy: str) -> np.ndarray | None:
        if policy == "status_quo":
            return None
        if policy in ("kam", "kam_as_of", "kam_true_risk"):
            accounts, reps, last = self.frames()
            if policy == "kam_true_risk":  # diagnostic: kam's plan given the simulator's true current risk
                # with the share of the gap's effect the plan reads in a score (visit_effect_in_churn_score),
                # so that the base risk the plan finds is the true one whatever the share
                sim = self.sim
                logit = sim.base_logit() + self.params.visit_effect_in_churn_score * 1.4 * sim.neglect(
                    sim.last_visit_day, sim.day)
                monthly = 1.0 / (1.0 + np.exp(-logit))
                churn = 1.0 - (1.0 - monthly) ** (self.params.churn_score_days / DAYS_PER_MONTH)
                accounts["churn_probability"] = churn
                accounts["value_at_risk"] = churn * self.margin
            if policy == "kam":  # re-scored every week, as a nightly run would
                churn, if_contacted = self.rescore()
                accounts["churn_probability"] = churn
                accounts["value_at_risk"] = churn * self.margin
                if self.params.ranking == "value_saved":
                    accounts["churn_if_contacted"] = if_contacted
            result = plan_week(accounts, reps, self.partners, week_start=self.sim.week_start, last_contact=last,
                               opportunities=self.routes, rules=self.rules, explain=False)
            return self.ids.get_indexer(result.planned()["account_id"])
        lists = self.lists()
        if policy == "naive":  # round robin through the list, biggest 12-month revenue first
            chosen = self._top(lists, -self.last_pick.astype(float), self.revenue)
            self.last_pick[chosen] = self.sim.week
            return chosen
        return self.oracle_choice(lists)

    def oracle_choice(self, lists: pd.DataFrame | None = None) -> np.ndarray:
        """The oracle's contacts this week: the top of every list by the true saving x margin."""
        lists = self.lists() if lists is None else lists
        return self._top(lists, self.true_saving(), self.revenue)

    def true_saving(self) -> np.ndarray:
        """The margin a contact this week truly saves (the simulator's hazards; the oracle's ranking)."""
        return self.sim.contact_saving() * self.margin


def model_visit_effect(world, run: dict, seed: int) -> pd.DataFrame:
    """How much of the stated effect of a contact gap kam's churn model carries, on the as-of week.

    The mean drop in the model's churn log-odds when the same accounts are asked as if contacted
    that Monday (``engine.plan.churn_if_contacted``), by the contact gaps overdue under the stated
    gaps of ``rules/plan.yaml``, next to the stated effect (``visit_effect_log_odds`` x gaps, cap
    ``visit_effect_max_gaps``): what ``visit_effect_in_churn_score`` states. Both on the stated
    effect's scale: the model's probability within ``churn_score_days`` is first turned into a
    constant monthly probability, as ``contact_saving`` reads it. ``xy`` and ``xx`` are the sums
    of model x stated and stated squared over the accounts, for the least-squares slope of the
    model's drop on the stated effect through the origin (the share the score carries).
    """
    rules = scaled_rules(1.0)
    views = Views(ForwardSimulation(world, seed=1000 + seed), run, rules)
    day = int(views.sim.day)
    frame = views.features.copy()
    never = views.recorded_last == np.iinfo(np.int64).min
    days = np.where(never, np.nan, (day - views.recorded_last).astype(float))
    frame["days_since_last_visit"] = days
    recent = (views.visit_day >= day - 90) & (views.visit_day < day)
    frame["visits_90d"] = np.bincount(views.visit_account[recent], minlength=views.sim.n).astype(np.int64)
    frame = frame.reset_index(drop=True)
    as_scored = np.clip(_predict(views.churn_model, frame), 1e-6, 1 - 1e-6)
    contacted = np.clip(churn_if_contacted(views.churn_model, frame), 1e-6, 1 - 1e-6)
    p = views.params

    def monthly_log_odds(churn: np.ndarray) -> np.ndarray:
        monthly = 1.0 - (1.0 - churn) ** (DAYS_PER_MONTH / p.churn_score_days)
        return np.log(monthly / (1.0 - monthly))

    drop = monthly_log_odds(as_scored) - monthly_log_odds(contacted)
    outside = views.sim.outside
    gap = np.where(outside, p.visit_gap_days_outside, p.visit_gap_days_inside)
    gaps = np.where(never, p.visit_effect_max_gaps, np.clip(days / gap - 1.0, 0.0, p.visit_effect_max_gaps))
    bins = pd.cut(gaps, [-0.1, 0.0, 1.0, 2.0, p.visit_effect_max_gaps - 1e-9, p.visit_effect_max_gaps],
                  labels=["within the gap", "0-1 gaps over", "1-2", f"2-{p.visit_effect_max_gaps:g}",
                          f"{p.visit_effect_max_gaps:g} (cap) or never"])
    stated = p.visit_effect_log_odds * gaps
    frame = pd.DataFrame({"seed": seed, "owner": np.where(outside, "field", "inside"), "gaps overdue": bins,
                          "model": drop, "stated": stated, "xy": drop * stated, "xx": stated**2})[views.sim.alive]
    return frame.groupby(["seed", "owner", "gaps overdue"], observed=True).agg(
        accounts=("model", "size"), model=("model", "mean"), stated=("stated", "mean"),
        xy=("xy", "sum"), xx=("xx", "sum")).reset_index()


def run_policy(world, run: dict, policy: str, rules: RuleSet, weeks: int, forward_seed: int, compare: bool = False) -> dict:
    sim = ForwardSimulation(world, seed=forward_seed)
    views = Views(sim, run, rules)
    alive0 = sim.alive.copy()
    base = sim.base_logit()
    hazard = sim.weekly_hazard(base + 1.4 * sim.neglect(sim.last_visit_day, sim.day + 7))
    value_at_risk = views.margin * (1.0 - (1.0 - hazard) ** weeks) * alive0  # true, at the start
    touched = np.zeros(sim.n, dtype=bool)
    captured, overlap = [], []
    started = time.perf_counter()
    for _ in range(weeks):
        contacts = views.contacts(policy)
        if compare and contacts is not None and policy != "oracle":
            # This week's choice against the oracle's from the same state: the share of the oracle's
            # true saving it captures, and the share of the oracle's contacts it makes.
            best = views.oracle_choice()
            truth = views.true_saving()
            captured.append(truth[contacts].sum() / max(truth[best].sum(), 1e-9))
            overlap.append(np.isin(best, contacts).mean() if best.size else 1.0)
        outcome = sim.step(contacts)
        views.record(outcome.contacted)
        touched[outcome.contacted] = True
    lost = alive0 & (sim.churn_week >= 0)
    return {
        "accounts_lost": int(lost.sum()),
        "margin_lost": float(views.margin[lost].sum()),
        "value_at_risk_touched": float(value_at_risk[touched].sum() / value_at_risk.sum()),
        "contacts": int(sim.contacts_made.sum()),
        "oracle_saving_captured": float(np.mean(captured)) if captured else None,
        "oracle_overlap": float(np.mean(overlap)) if overlap else None,
        "seconds": time.perf_counter() - started,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--weeks", type=int, default=26)
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0, 0.25, 0.1])
    parser.add_argument("--workdir", type=Path, default=Path("bench-plan-work"))
    parser.add_argument("--policies", nargs="+", default=[p for p in POLICIES if p != "kam_true_risk"], choices=POLICIES,
                        help="Run only these policies (the others' figures can come from an earlier --json: the "
                             "worlds and random streams are the same for a seed).")
    parser.add_argument("--compare", action="store_true",
                        help="Each week, also compute the oracle's choice from the same state and report the share of its "
                             "true saving (and of its contacts) each plan's choice captures.")
    parser.add_argument("--ranking", choices=("value_saved", "value_at_risk", "visit_effect"),
                        help="kam's ranking (default: the one in rules/plan.yaml).")
    parser.add_argument("--obligations", choices=("first", "by_value"),
                        help="How kam serves cadence obligations (default: as in rules/plan.yaml).")
    parser.add_argument("--set", nargs="+", default=[], metavar="NAME=VALUE",
                        help="Any other plan parameter for kam's plan, e.g. --set weight_open_opportunity=0.")
    parser.add_argument("--json", type=Path, help="Also write every figure to this JSON file.")
    parser.add_argument("--model-effect", action="store_true",
                        help="Print only how much of the stated effect of a contact gap kam's churn model carries "
                             "(its log-odds drop if contacted today, by gaps overdue; rules/plan.yaml's "
                             "visit_effect_in_churn_score), per seed, and exit.")
    parser.add_argument("--from-json", type=Path, nargs="+", metavar="JSON",
                        help="Print the comparison from the figures of earlier runs (--json), e.g. seeds run in parallel.")
    args = parser.parse_args(argv)
    if args.from_json:
        rows = [row for path in args.from_json for row in json.loads(path.read_text("utf-8"))]
        # a later file's figures of a seed, scale and policy replace an earlier one's
        report(pd.DataFrame(rows).drop_duplicates(["seed", "scale", "policy"], keep="last"))
        return 0
    settings = dict(item.split("=", 1) for item in args.set)
    args.workdir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    print(f"bench_plan: {args.accounts:,} accounts, seeds {args.seeds}, {args.weeks} weeks, capacity scales "
          f"{args.scales}; load average at start {os.getloadavg()[0]:.1f} (shared machine)", flush=True)
    rows = []
    if args.model_effect:
        effect = pd.concat([model_visit_effect(simulate_world(args.accounts, seed, DEMO_END_DATE),
                                               kam_run(args.workdir, args.accounts, seed), seed) for seed in args.seeds])
        print("kam's churn model: mean drop of its monthly churn log-odds if contacted today (its probability "
              "within churn_score_days turned into a constant monthly one), against the stated effect")
        print(effect.groupby(["owner", "gaps overdue"], observed=True, sort=False).agg(
            accounts=("accounts", "mean"), model=("model", "mean"), model_sd_over_seeds=("model", "std"),
            stated=("stated", "mean")).round(2).to_string())
        print("share of the stated effect the score carries (least-squares slope of the model's drop on the stated "
              "effect through the origin, over every account; per seed):")
        for owner, part in (("all", effect), ("field", effect[effect["owner"] == "field"]),
                            ("inside", effect[effect["owner"] == "inside"])):
            sums = part.groupby("seed")[["xy", "xx"]].sum()
            per_seed = sums["xy"] / sums["xx"]
            print(f"  {owner:>6}: {sums['xy'].sum() / sums['xx'].sum():.3f} pooled; per seed "
                  + ", ".join(f"{v:.3f}" for v in per_seed))
        return 0
    for seed in args.seeds:
        run = kam_run(args.workdir, args.accounts, seed)
        world = simulate_world(args.accounts, seed, DEMO_END_DATE)
        for scale in args.scales:
            rules = scaled_rules(scale, args.ranking, args.obligations, settings)
            for policy in args.policies:
                figures = run_policy(world, run, policy, rules, args.weeks, forward_seed=1000 + seed, compare=args.compare)
                rows.append({"seed": seed, "scale": scale, "policy": policy, **figures})
                print(f"  seed {seed} scale {scale:g} {policy:>10}: lost {figures['accounts_lost']:,} accounts, "
                      f"{figures['margin_lost'] / 1e6:,.1f} M CNY margin; touched {figures['value_at_risk_touched']:.0%} "
                      f"of value at risk; {figures['contacts']:,} contacts; {figures['seconds']:.0f} s"
                      + (f"; captured {figures['oracle_saving_captured']:.0%} of the oracle's weekly saving, made "
                         f"{figures['oracle_overlap']:.0%} of its contacts" if figures["oracle_overlap"] is not None else ""),
                      flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1), "utf-8")
    print(f"\n{time.perf_counter() - started:.0f} s in all; load average at the end {os.getloadavg()[0]:.1f}")
    report(pd.DataFrame(rows))
    return 0


def _pm(values: pd.Series, scale: float = 1.0, digits: int = 1) -> str:
    """``mean ± sd`` of ``values / scale`` (sd over seeds)."""
    return f"{values.mean() / scale:,.{digits}f} ± {values.std() / scale:,.{digits}f}"


def _captured(rows: pd.DataFrame) -> str:
    """`` | captured ± sd, overlap`` of the rows that measured them (``--compare``), else nothing."""
    if "oracle_saving_captured" not in rows or rows["oracle_saving_captured"].isna().all():
        return ""
    captured, overlap = rows["oracle_saving_captured"].dropna(), rows["oracle_overlap"].dropna()
    return f" | {captured.mean():.0%} ± {captured.std():.0%}, {overlap.mean():.0%}"


def report(frame: pd.DataFrame) -> None:
    """The comparison table per capacity scale, and the paired savings over the naive plan."""
    seeds = sorted(frame["seed"].unique())
    print(f"{len(seeds)} seeds ({', '.join(map(str, seeds))}); mean ± sd over seeds")
    for scale, part in frame.groupby("scale", sort=False):
        _, params = load_plan_rules(scaled_rules(scale))
        print(f"\ncapacity x{scale:g}: field {params.field_visits_per_week}, inside {params.inside_calls_per_week}, "
              f"partner {params.partner_calls_per_week} contacts a week")
        print(f"  {'policy':>10} | {'accounts lost':>13} | {'margin lost (M CNY)':>19} | VaR touched | contacts | "
              "oracle's weekly saving captured, its contacts made (--compare)")
        for policy in POLICIES:
            p = part[part["policy"] == policy]
            if p.empty:
                continue
            print(f"  {policy:>10} | {_pm(p['accounts_lost'], digits=0):>13} | {_pm(p['margin_lost'], 1e6):>19} | "
                  f"{p['value_at_risk_touched'].mean():>11.0%} | {p['contacts'].mean():,.0f}" + _captured(p))
        margin = part.pivot(index="seed", columns="policy", values="margin_lost")
        lost = part.pivot(index="seed", columns="policy", values="accounts_lost")
        print("  saved over naive, paired within each seed (same world, same random numbers), mean ± sd of the difference:")
        for policy in ("kam_as_of", "kam", "kam_true_risk", "oracle"):
            if policy in margin and "naive" in margin:
                print(f"  {policy:>10} | {_pm(lost['naive'] - lost[policy], digits=0):>13} accounts | "
                      f"{_pm(margin['naive'] - margin[policy], 1e6, 2):>15} M CNY margin")
        if "oracle" not in margin or "naive" not in margin:
            print("  (no naive or oracle figures at this scale: combine with an earlier run's --json)")
            continue
        oracle = margin["naive"] - margin["oracle"]
        for policy in ("kam_as_of", "kam", "kam_true_risk"):
            if policy not in margin:
                continue
            saving = margin["naive"] - margin[policy]
            beyond = saving.mean() > saving.std()
            if oracle.sum() > 0:
                share = saving.sum() / oracle.sum()
                per_seed = ", ".join(f"{v:.0%}" for v in saving / oracle.where(oracle != 0))
                met = share >= 0.8 and beyond
                print(f"  {policy}: {share:.0%} of the oracle's margin saving over naive (pooled; per seed {per_seed}); "
                      f"its saving is {'beyond' if beyond else 'within'} the seed spread -> goal {'met' if met else 'NOT met'}")
            else:
                print(f"  {policy}: the oracle saves nothing over naive here, so no share of it can be reached")


if __name__ == "__main__":
    raise SystemExit(main())

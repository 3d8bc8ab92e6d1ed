"""Continue the simulated world past the end date, week by week, under a visit policy.

The demo database is the recorded part of a simulation (``engine.demo._simulate``) in which
neglected visits, among other signals, raise the churn hazard. :class:`ForwardSimulation` starts
from the exact state the simulation reached at the end date (every latent state and decayed
signal, who owns what, who was last visited when) and runs the same causal model on, one
**week** at a time, so that a weekly call plan can decide who is contacted:

* ``step(contacts)`` with the account indices a plan contacts this week: exactly those contacts
  happen (the plan is how the reps and partners spend their contact time); with ``None``, the
  simulator's own visiting goes on (the status quo).
* Everything else - reps leaving and books moving, contacts leaving and being replaced, service
  trouble and price pressure, tickets, lost deals, engagement, and the churn hazard - follows the
  monthly model of ``docs/demo-data.md`` converted to weeks: a monthly probability ``p`` becomes
  ``1 - (1 - p) ** (7 / 30.4375)``, a monthly rate is scaled by ``7 / 30.4375``, signals decay by
  ``0.93 ** (7 / 30.4375)`` a week and the AR(1) engagement keeps its stationary spread.

Every kind of event draws from its own random stream, and every stream draws the same number of
values every week - one per account (or per account and possible event), alive or not - so two
policies run with one seed see the same world except where their contacts change it (common
random numbers: account ``i``'s draws in week ``w`` do not depend on who churned before; the
differences between policies are not seed noise).

Simplifications, stated: orders are not drawn (churn does not depend on them; the margin at stake
is the account's 12-month margin at the end date); deals still open at the end date do not add
lost-deal signals when they close (new deals do); the few days between the end date and the first
Monday are skipped. The generated database is untouched by all of this: the state is read from
``Events.final_state``, which the simulation fills without a random draw.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import overload

import numpy as np

from engine._domain import OPPORTUNITY_SOURCES
from engine.demo import _params as P
from engine.demo._org import INSIDE, OUTSIDE
from engine.demo._simulate import (
    DAYS_PER_MONTH,
    DEAL_SHARE_OF_SPEND,
    LONG_RESOLUTION_HOURS,
    SEVERITY_MEDIAN_HOURS,
    SEVERITY_SHARES,
    SOURCE_SHARES,
    _shares,
    sigmoid,
    win_logit,
)

__all__ = ["MAX_EVENTS", "WEEK_FRACTION", "ForwardSimulation", "poisson_count"]

#: One week as a fraction of the simulation's month.
WEEK_FRACTION = 7.0 / DAYS_PER_MONTH
_STREAMS = ("turnover", "contacts", "latent", "tickets", "visits", "deals", "churn", "engagement")


#: Most events of one kind (tickets, deals) an account can have in one week; with weekly rates
#: below 0.2, more than this has a probability under 1e-8 per account and week and is cut off.
#: The status quo's visits use the same cut: only whether and when an account was last visited
#: matters to the model, so a cut count changes nothing but the tally of contacts.
MAX_EVENTS = 6


@overload
def _weekly(p: float) -> float: ...


@overload
def _weekly(p: np.ndarray) -> np.ndarray: ...


def _weekly(p: float | np.ndarray) -> float | np.ndarray:
    """A monthly probability as the probability of the event within one week."""
    return 1.0 - (1.0 - np.asarray(p, dtype=float)) ** WEEK_FRACTION


def poisson_count(rate: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Poisson counts at ``rate`` from one uniform each (inverse CDF), at most :data:`MAX_EVENTS`.

    One uniform per account whatever its rate, so a changed rate changes only that account's count.

    Examples
    --------
    >>> poisson_count(np.array([0.0, 1.0, 1.0]), np.array([0.99, 0.2, 0.9])).tolist()
    [0, 0, 2]
    """
    rate = np.asarray(rate, dtype=float)
    term = np.exp(-rate)
    cdf = term.copy()
    count = np.zeros(rate.shape, dtype=np.int64)
    for k in range(1, MAX_EVENTS + 1):
        count += u > cdf
        term = term * rate / k
        cdf = cdf + term
    return count


def _events(count: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(account, event number) of every event, for ``count`` events per account."""
    who = np.repeat(np.arange(count.size), count)
    first = np.repeat(np.cumsum(count) - count, count)
    return who, np.arange(who.size) - first


@dataclass(frozen=True)
class WeekOutcome:
    """What happened in one simulated week."""

    week: int
    start: dt.date
    churned: np.ndarray  # account indices that churned this week
    contacted: np.ndarray  # account indices contacted this week


class ForwardSimulation:
    """The simulated world after the end date, advanced one week per :meth:`step`.

    Parameters
    ----------
    world : engine.demo._tables.World
        The world behind a demo database (``simulate_world(accounts, seed, end_date)``).
    seed : int
        Seed of the forward weeks (independent of the history's seed).

    Examples
    --------
    >>> from engine.demo._tables import simulate_world
    >>> sim = ForwardSimulation(simulate_world(300, 1, "2026-09-30"), seed=0)
    >>> sim.week_start
    datetime.date(2026, 10, 5)
    >>> outcome = sim.step(None)          # one week of the status quo
    >>> sim.week, bool(sim.alive.sum() <= 300)
    (1, True)
    """

    def __init__(self, world, *, seed: int = 0):
        acc, org, ev = world.accounts, world.org, world.events
        state = ev.final_state
        if not state:
            raise ValueError("the world carries no final state; build it with engine.demo._tables.simulate_world")
        self.accounts = acc
        self.org = org
        self.n = acc.count
        rngs = np.random.SeedSequence([int(seed), 14, int(world.calendar.end_day)]).spawn(len(_STREAMS))
        self._rng = {name: np.random.default_rng(s) for name, s in zip(_STREAMS, rngs)}
        copy = {k: np.array(v, copy=True) for k, v in state.items()}
        self.alive = copy["alive"]
        self.slot_of = copy["slot_of"]
        self.occupant = copy["occupant"]
        self.rep_diligence = copy["rep_diligence"]
        self.covered = copy["contact_id"] >= 0
        self.had_level = copy["had_level"]
        self.trouble = copy["trouble_state"]
        self.pressure = copy["pressure_state"]
        self.engagement = copy["engagement"]
        self.frailty = copy["frailty"]
        self.size_term = copy["size_term"]
        self.signals = {k: copy[k] for k in ("s_trouble", "s_key_single", "s_key_multi", "s_turnover", "s_lost")}
        self.last_visit_day = copy["last_visit_day"]
        self.attention = copy["attention"]
        self.slowness = copy["slowness"]
        self.price_sensitivity = copy["price_sensitivity"]
        self.partner_tier = copy["partner_tier"]
        self.role = org.slot_role[self.slot_of]
        self.outside = self.role == OUTSIDE
        self.visit_base = np.where(self.outside, P.VISIT_RATE["outside"], P.VISIT_RATE["inside"])
        self.expected_gap_months = 1.0 / self.visit_base
        group = org.slot_region * 2 + org.slot_role
        self._slot_group = group
        self._slot_order = np.argsort(group, kind="stable")
        self._group_count = np.bincount(group, minlength=int(group.max()) + 1)
        self._group_start = np.r_[0, np.cumsum(self._group_count)[:-1]]
        self._source_table = np.array([_shares(SOURCE_SHARES[r], OPPORTUNITY_SOURCES) for r in (OUTSIDE, INSIDE)])
        self._pending_lost: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}
        end = int(world.calendar.end_day)
        first_monday = end + 1 + (7 - (dt.date(1970, 1, 1) + dt.timedelta(days=end + 1)).weekday()) % 7
        self.day = first_monday
        self.week = 0
        self.churn_week = np.full(self.n, -1, dtype=np.int64)
        self.contacts_made = np.zeros(self.n, dtype=np.int64)
        # Owners who left just before the end date (the demo's deliberate conflict): their books
        # move to new hires in the first week, as any leaver's book does.
        departed = np.isin(self.occupant, ev.departed_owner_reps)
        if departed.any():
            self._replace_reps(np.flatnonzero(departed))

    # --- what a planner may observe --------------------------------------------------------------
    @property
    def week_start(self) -> dt.date:
        """Monday of the coming week."""
        return dt.date(1970, 1, 1) + dt.timedelta(days=int(self.day))

    def owner_rep(self) -> np.ndarray:
        """Current owner rep number of every account."""
        return self.occupant[self.slot_of]

    def active_reps(self) -> np.ndarray:
        """Rep numbers currently in post."""
        return np.unique(self.occupant)

    # --- the true model (for the oracle) ---------------------------------------------------------
    def base_logit(self) -> np.ndarray:
        """The churn log-odds of every account without its neglected-visit term."""
        cw = P.CHURN_COEFFICIENTS
        s = self.signals
        return (
            cw["intercept"]
            + cw["service_trouble"] * np.minimum(s["s_trouble"], 3.0)
            + cw["key_person_single_level"] * np.minimum(s["s_key_single"], 2.0)
            + cw["key_person_multi_level"] * np.minimum(s["s_key_multi"], 2.0)
            + cw["rep_turnover"] * np.minimum(s["s_turnover"], 2.0)
            + cw["price_pressure"] * np.minimum(s["s_lost"], 3.0)
            - cw["falling_volume"] * self.engagement
            + self.size_term
            + self.frailty
        )

    def neglect(self, last_visit_day: np.ndarray, day: float) -> np.ndarray:
        """The neglected-visit signal on ``day`` for the given last-visit days."""
        months_since = (day - last_visit_day) / DAYS_PER_MONTH
        return np.clip(months_since / self.expected_gap_months - 1.0, 0.0, 3.0)

    def weekly_hazard(self, logit: np.ndarray) -> np.ndarray:
        """Probability of churning within a week at monthly log-odds ``logit``."""
        return _weekly(sigmoid(logit))

    def contact_saving(self, horizon_weeks: int = 13) -> np.ndarray:
        """Drop in the true probability of churning within ``horizon_weeks`` that a contact this week brings.

        The oracle's ranking: ``P(churn without) - P(churn with a contact in the middle of this
        week)``, each ``1 - prod(1 - weekly hazard)`` over the horizon from the simulator's own
        hazards (signals other than neglect held at their current level, no other contact in the
        horizon). Times the margin at stake, it is the expected saving of the contact.
        """
        base = self.base_logit()
        coefficient = P.CHURN_COEFFICIENTS["neglected_visits"]
        visited = np.maximum(self.last_visit_day, self.day + 3.5)
        survive_without = np.ones(self.n)
        survive_with = np.ones(self.n)
        for k in range(horizon_weeks):
            end = self.day + 7 * (k + 1)
            survive_without *= 1.0 - self.weekly_hazard(base + coefficient * self.neglect(self.last_visit_day, end))
            survive_with *= 1.0 - self.weekly_hazard(base + coefficient * self.neglect(visited, end))
        return np.where(self.alive, survive_with - survive_without, 0.0)

    # --- one week --------------------------------------------------------------------------------
    def _replace_reps(self, slots: np.ndarray) -> None:
        rng = self._rng["turnover"]
        new = self.rep_diligence.size + np.arange(slots.size)
        self.rep_diligence = np.concatenate([self.rep_diligence, rng.lognormal(0.0, 0.4, slots.size)])
        self.occupant[slots] = new
        leaving = np.zeros(self.occupant.size, dtype=bool)
        leaving[slots] = True
        self.signals["s_turnover"] += leaving[self.slot_of] & self.alive

    def step(self, contacts: np.ndarray | None) -> WeekOutcome:
        """Advance one week. ``contacts``: account indices contacted (a plan), or None (status quo).

        Common random numbers: every stream draws the same number of values every week whatever
        happened (one value per account, or per account and possible event, dead accounts
        included), so account ``i``'s draws in week ``w`` are the same under every policy and a
        churn that one policy prevents does not reshuffle the randomness of everyone else.
        """
        n = self.n
        alive = self.alive
        s = self.signals
        rng = self._rng["turnover"]
        # 1. reps leave (their book moves to a new hire); a few accounts move within the team.
        leaving = np.flatnonzero(rng.random(self.occupant.size) < _weekly(P.REP_LEAVE_RATE))
        if leaving.size:
            self._replace_reps(leaving)
        u_move, u_target = rng.random(n), rng.random(n)
        move = np.flatnonzero(alive & (u_move < _weekly(P.REASSIGN_RATE)))
        if move.size:
            g = self._slot_group[self.slot_of[move]]
            target = self._slot_order[self._group_start[g] + np.floor(u_target[move] * self._group_count[g]).astype(np.int64)]
            real = target != self.slot_of[move]
            self.slot_of[move[real]] = target[real]
            s["s_turnover"][move[real]] += 0.6

        # 2. contacts leave their role; vacant levels are refilled (or opened) later.
        rng = self._rng["contacts"]
        u_end, u_new = rng.random((3, n)), rng.random((3, n))
        vacant = alive & ~self.covered  # (3, n), at the start of the week
        ended = alive & self.covered & (u_end < np.asarray(_weekly(np.asarray(P.CONTACT_END_RATE)))[:, None])
        self.covered &= ~ended
        key_changed = np.flatnonzero(ended[1] | ended[2])
        if key_changed.size:
            changes = ended[1, key_changed].astype(float) + ended[2, key_changed]
            left = self.covered[:, key_changed].sum(axis=0)
            s["s_key_single"][key_changed] += changes * (left <= 1)
            s["s_key_multi"][key_changed] += changes * (left >= 2)
        rates = np.array([P.CONTACT_NEW_LEVEL_RATE["inside"], P.CONTACT_NEW_LEVEL_RATE["outside"],
                          P.CONTACT_REPLACE_RATE["inside"], P.CONTACT_REPLACE_RATE["outside"]])
        group = self.had_level * 2 + self.outside[None, :]
        new = vacant & (u_new < _weekly(rates)[group])
        self.covered |= new
        self.had_level |= new

        # 3. latent states switch.
        rng = self._rng["latent"]
        self.trouble = self._switch(rng, self.trouble, P.SERVICE_TROUBLE_ON * self.slowness, P.SERVICE_TROUBLE_OFF)
        self.pressure = self._switch(rng, self.pressure, P.PRICE_PRESSURE_ON * self.price_sensitivity, P.PRICE_PRESSURE_OFF)

        # 4. tickets: complaints, slow resolutions and poor ratings feed the trouble signal.
        rng = self._rng["tickets"]
        size = self.accounts.size_factor
        u_count, u, z = rng.random(n), rng.random((n, MAX_EVENTS, 3)), rng.normal(0.0, 1.0, (n, MAX_EVENTS, 2))
        count = poisson_count(P.TICKET_RATE * size * (1.0 + 2.0 * self.trouble) * alive * WEEK_FRACTION, u_count)
        who, j = _events(count)
        if who.size:
            in_trouble = self.trouble[who]
            complaint = u[who, j, 0] < 0.10 + 0.25 * in_trouble
            severity = np.minimum(np.searchsorted(np.cumsum(SEVERITY_SHARES), u[who, j, 1], side="right"), 3)
            hours = (SEVERITY_MEDIAN_HOURS[severity] * self.slowness[who] * np.where(in_trouble, 2.2, 1.0)
                     * np.where(complaint, 1.5, 1.0) * np.exp(0.8 * z[who, j, 0]))
            satisfaction = np.clip(np.round(4.7 - 0.45 * np.log2(1.0 + hours / 24.0) - 0.9 * complaint
                                            + 0.7 * z[who, j, 1]), 1, 5)
            rated = u[who, j, 2] < 0.8
            points = 1.0 * complaint + 0.6 * (hours > LONG_RESOLUTION_HOURS) + 0.3 * (rated & (satisfaction <= 2))
            np.add.at(s["s_trouble"], who, points)

        # 5. visits: the plan's contacts, or the simulator's own visiting (status quo). The day of
        # the week is one uniform per account: the last of k visits in a week falls on
        # floor(7 * u ** (1 / k)) (the largest of k uniform days).
        rng = self._rng["visits"]
        u_count, u_day = rng.random(n), rng.random(n)
        if contacts is None:
            rate = self.visit_base * self.attention * self.rep_diligence[self.occupant[self.slot_of]] * alive
            visits = poisson_count(rate * WEEK_FRACTION, u_count)
        else:
            visits = np.zeros(n, dtype=np.int64)
            visits[np.asarray(contacts, dtype=np.int64)] = 1
            visits *= alive
        contacted = np.flatnonzero(visits)
        if contacted.size:
            day = self.day + np.floor(7.0 * u_day[contacted] ** (1.0 / visits[contacted])).astype(np.int64)
            self.last_visit_day[contacted] = np.maximum(self.last_visit_day[contacted], day)
            self.contacts_made[contacted] += visits[contacted]

        # 6. deals: price pressure brings competitors; a lost deal is a signal at its close.
        rng = self._rng["deals"]
        u_count, u, z = rng.random(n), rng.random((n, MAX_EVENTS, 3)), rng.normal(0.0, 1.0, (n, MAX_EVENTS, 3))
        count = poisson_count(P.OPPORTUNITY_RATE * size * (1.0 + 0.5 * self.pressure) * alive * WEEK_FRACTION, u_count)
        who, j = _events(count)
        if who.size:
            table = np.cumsum(self._source_table, axis=1)[self.role[who]]
            source = np.minimum((u[who, j, 0][:, None] >= table).sum(axis=1), table.shape[1] - 1)
            amount = self.accounts.spend[who] * DEAL_SHARE_OF_SPEND * np.exp(-0.32 + 0.8 * z[who, j, 0])
            competitor = u[who, j, 1] < 0.18 + 0.40 * self.pressure[who]
            coverage = self.covered[:, who].sum(axis=0)
            logit = win_logit(coverage, s["s_trouble"][who], competitor, amount, source, self.partner_tier[who])
            won = u[who, j, 2] < sigmoid(logit + P.WIN_COEFFICIENTS["noise_sd"] * z[who, j, 1])
            duration = np.maximum(1, np.round(40.0 * (np.maximum(amount, 1.0) / 100_000.0) ** 0.15
                                              * np.exp(0.6 * z[who, j, 2])))
            close_week = self.week + (3 + duration.astype(np.int64)) // 7
            lost = ~won
            for w in np.unique(close_week[lost]):
                here = lost & (close_week == w)
                self._pending_lost.setdefault(int(w), []).append((who[here], np.where(competitor[here], 1.0, 0.3)))
        for accounts, weight in self._pending_lost.pop(self.week, []):
            np.add.at(s["s_lost"], accounts, weight)

        # 7. the churn hazard, from the signals so far and the visit gap at the end of the week.
        neglect = self.neglect(self.last_visit_day, self.day + 7)
        logit = self.base_logit() + P.CHURN_COEFFICIENTS["neglected_visits"] * neglect
        draw = self._rng["churn"].random(n)
        churned = np.flatnonzero(alive & (draw < self.weekly_hazard(logit)))
        self.alive[churned] = False
        self.churn_week[churned] = self.week

        # 8. signals fade; trouble drags engagement down (weekly AR(1) with the monthly stationary law).
        drag = (np.minimum(s["s_trouble"], 3.0) + np.minimum(s["s_key_single"], 2.0) + 0.5 * np.minimum(s["s_key_multi"], 2.0)
                + np.minimum(s["s_turnover"], 2.0) + np.minimum(s["s_lost"], 3.0))
        rho = P.ENGAGEMENT_RHO ** WEEK_FRACTION
        noise = P.ENGAGEMENT_NOISE * np.sqrt((1.0 - rho**2) / (1.0 - P.ENGAGEMENT_RHO**2))
        self.engagement = (rho * self.engagement + self._rng["engagement"].normal(0.0, noise, n)
                           - P.ENGAGEMENT_DRAG * drag * (1.0 - rho) / (1.0 - P.ENGAGEMENT_RHO))
        decay = P.SIGNAL_DECAY ** WEEK_FRACTION
        for signal in s.values():
            signal *= decay

        outcome = WeekOutcome(self.week, self.week_start, churned, contacted)
        self.week += 1
        self.day += 7
        return outcome

    @staticmethod
    def _switch(rng: np.random.Generator, state: np.ndarray, p_on: np.ndarray, p_off: float) -> np.ndarray:
        u = rng.random(state.size)
        return np.where(state, u >= _weekly(p_off), u < _weekly(p_on))

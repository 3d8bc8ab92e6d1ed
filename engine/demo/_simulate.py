"""The month-by-month simulation: latent signals, the events they leave, and churn they cause.

Everything is vectorised over accounts; the only Python loop is over the 36 months (and over the
few unique closing months of a month's deals). See ``docs/demo-data.md`` for the model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from engine._domain import INDUSTRIES, OPPORTUNITY_SOURCES, PARTNER_TIERS, REGIONS
from engine.demo import _params as P
from engine.demo._draws import (
    Chunks,
    bernoulli,
    pick,
    poisson_events,
    rate_groups,
    shares,
    sigmoid,
    switch,
)
from engine.demo._org import INSIDE, OUTSIDE, Accounts, Calendar, Org, make_calendar

__all__ = ["Events", "simulate", "win_logit", "sigmoid"]

#: The old private name of :func:`engine.demo._draws.shares` (engine.demo._forward imports it from here).
_shares = shares

OPS, MGMT, DECISION = 0, 1, 2
SEVERITY_MEDIAN_HOURS = np.array([6.0, 16.0, 36.0, 72.0])  # low, medium, high, critical
SEVERITY_SHARES = np.array([0.35, 0.40, 0.18, 0.07])
LONG_RESOLUTION_HOURS = 72.0
SOURCE_SHARES = {  # by owner role
    OUTSIDE: {"field": 0.35, "inside_callout": 0.10, "partner": 0.20, "marketing_event": 0.10, "web": 0.05, "referral": 0.20},
    INSIDE: {"field": 0.0, "inside_callout": 0.35, "partner": 0.30, "marketing_event": 0.15, "web": 0.12, "referral": 0.08},
}
PROSPECT_SOURCE_SHARES = {
    "field": 0.0,
    "inside_callout": 0.35,
    "partner": 0.10,
    "marketing_event": 0.25,
    "web": 0.20,
    "referral": 0.10,
}
VISIT_KIND_SHARES = {OUTSIDE: (0.72, 0.22, 0.06), INSIDE: (0.19, 0.80, 0.01)}  # onsite, phone, executive
DEAL_SHARE_OF_SPEND = 0.12  # a typical deal is ~12% of the account's yearly spend
DAYS_PER_MONTH = 30.4375


def win_logit(coverage, trouble, competitor, amount, source, tier) -> np.ndarray:
    """The systematic part of an opportunity's win log-odds (noise is added by the caller)."""
    w = P.WIN_COEFFICIENTS
    source_effect = np.array([w["source"][s] for s in OPPORTUNITY_SOURCES])
    tier_effect = np.array([w["partner_tier"][t] for t in PARTNER_TIERS] + [0.0])  # -1: no partner
    return (
        w["intercept"]
        + w["coverage_levels"] * (coverage - 2)
        + w["service_trouble"] * np.minimum(trouble, 3.0)
        + w["competitor_named"] * competitor
        + w["log10_amount"] * np.log10(np.maximum(amount, 1.0) / 100_000.0)
        + source_effect[source]
        + tier_effect[tier]
    )


@dataclass
class Events:
    """Everything the simulation produced, as plain arrays (day numbers, category indices)."""

    reps: dict[str, np.ndarray]
    ownership: dict[str, np.ndarray]
    contacts: dict[str, np.ndarray]
    tickets: dict[str, np.ndarray]
    visits: dict[str, np.ndarray]
    opportunities: dict[str, np.ndarray]
    orders: dict[str, np.ndarray]
    churn_month: np.ndarray  # -1 = retained
    departed_owner_reps: np.ndarray  # rep numbers that left without their book being reassigned
    role: np.ndarray  # per account, OUTSIDE / INSIDE
    #: The latent and observed state at the end date (engine.demo._forward continues from it).
    final_state: dict[str, np.ndarray] = field(default_factory=dict)


def simulate(
    rng: np.random.Generator,
    acc: Accounts,
    org: Org,
    cal: Calendar,
    burn_in: int = P.BURN_IN_MONTHS,
    *,
    fork: tuple[int, np.random.Generator] | None = None,
    observe_rates: Callable[[int, np.ndarray], None] | None = None,
) -> Events:
    """Simulate ``burn_in`` unrecorded months (so signals reach their steady level), then ``cal``.

    ``fork=(month, rng)`` draws every month from recorded month ``month`` on from ``rng``
    instead: the history before it is the same, the future a fresh draw (how
    ``engine.demo._oracle`` re-simulates a horizon). ``observe_rates(month, rate)`` receives
    each recorded month's expected order count per account (0 once churned). Neither draws a
    random number, so without a fork the output is the same.
    """
    n = acc.count
    months = cal.months
    full = make_calendar(np.datetime64(cal.end_day, "D"), months + burn_in)
    created_index = np.where(acc.created_month >= 0, acc.created_month, -(10**6))
    cw = P.CHURN_COEFFICIENTS
    industry = acc.industry.astype(np.int64)
    region = acc.region.astype(np.int64)
    slot_of = org.slot_of.copy()
    role = org.slot_role[slot_of]
    outside = role == OUTSIDE
    n_slots = org.slots

    # --- reps: each slot holds one rep at a time; a leaver is replaced by a new hire --------------
    occupant = np.arange(n_slots)
    rep_slot = [np.arange(n_slots)]
    rep_left_day = [np.full(n_slots, -1, dtype=np.int64)]
    next_rep = n_slots
    rep_diligence = rng.lognormal(0.0, 0.4, n_slots)
    group_of_slot = org.slot_region * 2 + org.slot_role
    slot_order = np.argsort(group_of_slot, kind="stable")
    group_count = np.bincount(group_of_slot, minlength=len(REGIONS) * 2)
    group_start = np.r_[0, np.cumsum(group_count)[:-1]]

    own_rep = occupant[slot_of].copy()
    own_start = np.where(
        acc.created_month >= 0,
        acc.created_day,
        np.maximum(acc.created_day, full.start_day - rng.integers(0, 4 * 365, n)),
    )
    ownership = Chunks()

    # --- contacts: one current contact per covered level ----------------------------------------
    coverage_shares = {OUTSIDE: (0.15, 0.30, 0.55), INSIDE: (0.50, 0.35, 0.15)}  # 1, 2, 3 levels
    levels = pick(rng, [coverage_shares[OUTSIDE], coverage_shares[INSIDE]], role) + 1
    single = pick(rng, [[0.6, 0.3, 0.1]], np.zeros(n, dtype=np.int64))  # which level when one
    missing_of_two = pick(rng, [[0.25, 0.15, 0.60]], np.zeros(n, dtype=np.int64))  # level left out
    covered = np.zeros((3, n), dtype=bool)
    covered[:, levels == 3] = True
    two = levels == 2
    covered[:, two] = True
    covered[missing_of_two[two], np.flatnonzero(two)] = False
    one = levels == 1
    covered[single[one], np.flatnonzero(one)] = True
    by_account = np.full(3 * n, -1, dtype=np.int64)  # numbered account by account
    flat = np.flatnonzero(covered.T.reshape(-1))
    by_account[flat] = np.arange(flat.size)
    contact_id = np.ascontiguousarray(by_account.reshape(n, 3).T)
    next_contact = int(flat.size)
    contact_start = np.where(
        acc.created_month[None, :] >= 0,
        acc.created_day[None, :],
        np.maximum(acc.created_day[None, :], full.start_day - np.floor(rng.exponential(3 * 365.25, (3, n))).astype(np.int64)),
    )
    had_level = covered.copy()
    contacts = Chunks()

    # --- latent states and decayed signals -------------------------------------------------------
    price_sensitivity = np.array([P.INDUSTRY_PRICE_SENSITIVITY[i] for i in INDUSTRIES])[industry]
    slowness = np.array([P.REGION_SERVICE_SLOWNESS[r] for r in REGIONS])[region]
    trouble_state = rng.random(n) < P.SERVICE_TROUBLE_ON / (P.SERVICE_TROUBLE_ON + P.SERVICE_TROUBLE_OFF) * slowness
    pressure_state = rng.random(n) < P.PRICE_PRESSURE_ON / (P.PRICE_PRESSURE_ON + P.PRICE_PRESSURE_OFF) * price_sensitivity
    engagement = rng.normal(0.0, 0.3, n)
    frailty = rng.normal(0.0, cw["frailty_sd"], n)
    size_term = cw["size"] * np.log10(acc.potential / P.POTENTIAL_MEDIAN)
    s_trouble = np.zeros(n)
    s_key_single = np.zeros(n)
    s_key_multi = np.zeros(n)
    s_turnover = np.zeros(n)
    s_lost = np.zeros(n)
    pending_lost: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in range(full.months + 1)]

    visit_base = np.where(outside, P.VISIT_RATE["outside"], P.VISIT_RATE["inside"])
    years_known = np.clip((cal.start_day - acc.created_day) / 365.25, 0.0, 20.0)
    attention = rng.lognormal(0.0, 0.7, n) * np.exp(-0.04 * years_known)  # "feed the new, starve the old"
    expected_gap_months = 1.0 / visit_base
    months_since = np.minimum(rng.exponential(expected_gap_months), 36.0)
    last_visit_day = np.where(
        acc.created_month >= 0, acc.created_day, full.start_day - np.floor(months_since * DAYS_PER_MONTH).astype(np.int64)
    )

    season_table = np.array(
        [
            [1.0 + P.INDUSTRY_SEASON[i][0] * np.cos(2 * np.pi * (moy - P.INDUSTRY_SEASON[i][1]) / 12) for moy in cal.month_of_year]
            for i in INDUSTRIES
        ]
    )
    growth = np.array([P.INDUSTRY_GROWTH[i] for i in INDUSTRIES])
    order_base = P.ORDER_RATE * acc.size_factor
    partner_tier = org.partner_tier[org.owner_partner]

    product_table = np.array([P.PRODUCT_MIX[i] for i in INDUSTRIES])
    source_table = np.array([shares(SOURCE_SHARES[r], OPPORTUNITY_SOURCES) for r in (OUTSIDE, INSIDE)])
    visit_kind_table = np.array([VISIT_KIND_SHARES[r] for r in (OUTSIDE, INSIDE)])
    unit_price = np.array(P.UNIT_PRICE)

    alive = np.ones(n, dtype=bool)
    churn_month = np.full(n, -1, dtype=np.int64)
    tickets, visits, opps, orders = Chunks(), Chunks(), Chunks(), Chunks()
    end_day = cal.end_day
    # monthly chance that a vacant level gets a contact, by (level had a contact before, field-owned)
    contact_rates = (
        P.CONTACT_NEW_LEVEL_RATE["inside"],
        P.CONTACT_NEW_LEVEL_RATE["outside"],
        P.CONTACT_REPLACE_RATE["inside"],
        P.CONTACT_REPLACE_RATE["outside"],
    )
    trouble_on_groups = rate_groups(P.SERVICE_TROUBLE_ON * slowness)
    pressure_on_groups = rate_groups(P.PRICE_PRESSURE_ON * price_sensitivity)

    for j in range(full.months):
        m = j - burn_in  # month of the recorded window; negative during burn-in
        record = m >= 0
        if fork is not None and m == fork[0]:
            rng = fork[1]
        d0 = int(full.month_start[j])
        nd = int(full.month_days[j])
        exists = created_index <= m
        active = alive & exists

        def day_in_month(size: int, d0: int = d0, nd: int = nd, rng: np.random.Generator = rng) -> np.ndarray:
            return d0 + np.floor(rng.random(size) * nd).astype(np.int64)

        # 1. rep turnover: a leaver's whole book moves to the new hire in the same position.
        leaving = np.flatnonzero(rng.random(n_slots) < P.REP_LEAVE_RATE)
        if leaving.size and not record:  # burn-in: the signal only, no people change
            is_leaving = np.zeros(n_slots, dtype=bool)
            is_leaving[leaving] = True
            s_turnover += is_leaving[slot_of] & active
        elif leaving.size:
            leave_day = day_in_month(leaving.size)
            left_reps = occupant[leaving]
            new_reps = next_rep + np.arange(leaving.size)
            next_rep += leaving.size
            rep_slot.append(leaving.copy())
            rep_left_day.append(np.full(leaving.size, -1, dtype=np.int64))
            rep_diligence = np.concatenate([rep_diligence, rng.lognormal(0.0, 0.4, leaving.size)])
            _set_left(rep_left_day, left_reps, leave_day)
            occupant[leaving] = new_reps
            slot_leave_day = np.full(n_slots, -1, dtype=np.int64)
            slot_leave_day[leaving] = leave_day
            in_book = slot_leave_day[slot_of] >= 0
            not_yet = np.flatnonzero(in_book & ~exists)  # accounts created later start with the new rep
            own_rep[not_yet] = occupant[slot_of[not_yet]]
            moved = np.flatnonzero(exists & in_book)
            _change_owner(ownership, moved, slot_leave_day[slot_of[moved]], occupant[slot_of[moved]], own_rep, own_start)
            s_turnover[moved[alive[moved]]] += 1.0
        # ... and a few accounts move to another rep of the same team.
        move = np.flatnonzero(active)[bernoulli(rng, int(np.count_nonzero(active)), P.REASSIGN_RATE)] if record else []
        move = np.asarray(move, dtype=np.int64)
        if move.size:
            g = group_of_slot[slot_of[move]]
            target = slot_order[group_start[g] + np.floor(rng.random(move.size) * group_count[g]).astype(np.int64)]
            real = target != slot_of[move]
            move, target = move[real], target[real]
            slot_of[move] = target
            _change_owner(ownership, move, day_in_month(move.size), occupant[target], own_rep, own_start)
            s_turnover[move] += 0.6

        # 2. contacts: people leave their role; the rep finds a successor (or a new level) later.
        active_idx = np.flatnonzero(active)
        vacant = [active_idx[contact_id[level, active_idx] < 0] for level in range(3)]  # before this month's ends
        ended = []
        for level in range(3):
            holders = active_idx[contact_id[level, active_idx] >= 0]
            ends = holders[bernoulli(rng, holders.size, P.CONTACT_END_RATE[level])]
            if ends.size:
                end = np.maximum(day_in_month(ends.size), contact_start[level, ends])
                if record:
                    contacts.add(
                        contact=contact_id[level, ends],
                        account=ends,
                        level=np.full(ends.size, level, dtype=np.int8),
                        start=contact_start[level, ends],
                        end=end,
                    )
                contact_id[level, ends] = -1
            ended.append(ends)
        key_changed = np.concatenate([ended[MGMT], ended[DECISION]])
        if key_changed.size:
            left_covered = (contact_id[:, key_changed] >= 0).sum(axis=0)
            np.add.at(s_key_single, key_changed, (left_covered <= 1).astype(float))
            np.add.at(s_key_multi, key_changed, (left_covered >= 2).astype(float))
        for level in range(3):
            candidates = vacant[level]
            group = had_level[level, candidates] * 2 + outside[candidates]
            picked = []
            for g, rate in enumerate(contact_rates):
                members = candidates[group == g]
                picked.append(members[bernoulli(rng, members.size, rate)])
            new = np.sort(np.concatenate(picked))
            if new.size:
                contact_id[level, new] = next_contact + np.arange(new.size)
                next_contact += new.size
                contact_start[level, new] = np.maximum(day_in_month(new.size), acc.created_day[new])
                had_level[level, new] = True

        # 3. latent states move on (Markov switches).
        trouble_state = switch(rng, trouble_state, trouble_on_groups, P.SERVICE_TROUBLE_OFF)
        pressure_state = switch(rng, pressure_state, pressure_on_groups, P.PRICE_PRESSURE_OFF)

        # 4. service tickets: more, slower and angrier while the account is in service trouble.
        who = poisson_events(rng, P.TICKET_RATE * acc.size_factor * (1.0 + 2.0 * trouble_state) * active)
        if who.size:
            in_trouble = trouble_state[who]
            k = who.size
            complaint_p = 0.10 + 0.25 * in_trouble
            u = rng.random(k)
            kind = np.where(
                u < complaint_p, 0, np.where(u < complaint_p + 0.45, 1, np.where(u < complaint_p + 0.62, 2, 3))
            )  # complaint, repair, installation, inquiry (TICKET_KINDS order)
            severity = np.minimum(np.searchsorted(np.cumsum(SEVERITY_SHARES), rng.random(k), side="right"), 3)
            hours = SEVERITY_MEDIAN_HOURS[severity] * slowness[who] * np.where(in_trouble, 2.2, 1.0) * np.where(
                kind == 0, 1.5, 1.0
            ) * rng.lognormal(0.0, 0.8, k)
            hours = np.round(hours, 1)
            opened = day_in_month(k)
            closed = opened + np.floor(hours / 24.0).astype(np.int64)
            is_open = closed > end_day
            satisfaction = np.clip(
                np.round(4.7 - 0.45 * np.log2(1.0 + hours / 24.0) - 0.9 * (kind == 0) + rng.normal(0.0, 0.7, k)), 1, 5
            ).astype(np.int64)
            rated = (rng.random(k) < 0.8) & ~is_open
            points = 1.0 * (kind == 0) + 0.6 * (hours > LONG_RESOLUTION_HOURS) + 0.3 * (rated & (satisfaction <= 2))
            np.add.at(s_trouble, who, points)
        if who.size and record:
            tickets.add(
                account=who,
                opened=opened,
                closed=np.where(is_open, -1, closed),
                severity=severity.astype(np.int8),
                kind=kind.astype(np.int8),
                hours=np.where(is_open, np.nan, hours),
                satisfaction=np.where(rated, satisfaction, -1).astype(np.int8),
            )

        # 5. visits by the current owner rep.
        who = poisson_events(rng, visit_base * attention * rep_diligence[occupant[slot_of]] * active)
        if who.size:
            k = who.size
            day = day_in_month(k)
            kind = pick(rng, visit_kind_table, role[who])
            present = (contact_id[:, who] >= 0) & (contact_start[:, who] <= day[None, :])
            present_count = present.sum(axis=0)
            choice = np.floor(rng.random(k) * np.maximum(present_count, 1)).astype(np.int64)
            level = np.argmax(np.cumsum(present, axis=0) > choice[None, :], axis=0)
            met = np.where(present_count > 0, contact_id[level, who], -1)
            if record:
                visits.add(account=who, rep=occupant[slot_of[who]], contact=met, day=day, kind=kind.astype(np.int8))
            np.maximum.at(last_visit_day, who, day)

        # 6. opportunities: price pressure brings competitors in; a lost tender is a signal.
        who = poisson_events(rng, P.OPPORTUNITY_RATE * acc.size_factor * (1.0 + 0.5 * pressure_state) * active)
        if who.size:
            k = who.size
            created = np.maximum(day_in_month(k), acc.created_day[who])
            source = pick(rng, source_table, role[who])
            product = pick(rng, product_table, industry[who])
            amount = acc.spend[who] * DEAL_SHARE_OF_SPEND * rng.lognormal(-0.32, 0.8, k)
            units = np.maximum(1, np.round(amount / unit_price[product])).astype(np.int64)
            amount = np.round(units * unit_price[product] * rng.uniform(0.9, 1.1, k), 0)
            competitor = rng.random(k) < 0.18 + 0.40 * pressure_state[who]
            coverage = (contact_id[:, who] >= 0).sum(axis=0)
            logit = win_logit(coverage, s_trouble[who], competitor, amount, source, partner_tier[who])
            won = rng.random(k) < sigmoid(logit + rng.normal(0.0, P.WIN_COEFFICIENTS["noise_sd"], k))
            duration = np.maximum(1, np.round(40.0 * (amount / 100_000.0) ** 0.15 * rng.lognormal(0.0, 0.6, k))).astype(
                np.int64
            )
            close = created + duration
        if who.size and record:
            opps.add(
                account=who,
                created=created,
                source=source.astype(np.int8),
                product=product.astype(np.int8),
                units=units,
                amount=amount,
                competitor=competitor,
                competitor_name=rng.integers(0, len(P.COMPETITORS), k).astype(np.int8),
                won=won,
                planned_close=close,
                win_logit=logit,
            )
        if who.size:
            lost = ~won & (close <= end_day)
            close_month = np.searchsorted(full.month_start, close[lost], side="right") - 1
            weight = np.where(competitor[lost], 1.0, 0.3)
            for cm in np.unique(close_month):
                here = close_month == cm
                pending_lost[cm].append((who[lost][here], weight[here]))
        for lost_accounts, weight in pending_lost[j]:
            np.add.at(s_lost, lost_accounts, weight)
        pending_lost[j] = []

        # 7. orders: engagement, season and industry growth set the rate; churned accounts stop.
        if record:
            rate = (
                order_base
                * season_table[industry, m]
                * (1.0 + growth[industry]) ** (m / 12.0)
                * np.exp(engagement)
                * np.where(pressure_state, 0.85, 1.0)
                * active
            )
            _orders(orders, rng, m, rate, pressure_state)
            if observe_rates is not None:
                observe_rates(m, rate)

        # 8. the churn hazard, from the signals accumulated so far.
        months_since = (d0 + nd - last_visit_day) / DAYS_PER_MONTH
        neglect = np.clip(months_since / expected_gap_months - 1.0, 0.0, 3.0)
        logit = (
            cw["intercept"]
            + cw["service_trouble"] * np.minimum(s_trouble, 3.0)
            + cw["key_person_single_level"] * np.minimum(s_key_single, 2.0)
            + cw["key_person_multi_level"] * np.minimum(s_key_multi, 2.0)
            + cw["rep_turnover"] * np.minimum(s_turnover, 2.0)
            + cw["price_pressure"] * np.minimum(s_lost, 3.0)
            - cw["falling_volume"] * engagement
            + cw["neglected_visits"] * neglect
            + size_term
            + frailty
        )
        churned = active & (rng.random(n) < sigmoid(logit)) & record
        alive &= ~churned
        churn_month[churned] = m

        # 9. signals fade; trouble drags engagement (and so volume) down.
        drag = (
            np.minimum(s_trouble, 3.0)
            + np.minimum(s_key_single, 2.0)
            + 0.5 * np.minimum(s_key_multi, 2.0)
            + np.minimum(s_turnover, 2.0)
            + np.minimum(s_lost, 3.0)
        )
        engagement = P.ENGAGEMENT_RHO * engagement + rng.normal(0.0, P.ENGAGEMENT_NOISE, n) - P.ENGAGEMENT_DRAG * drag
        for signal in (s_trouble, s_key_single, s_key_multi, s_turnover, s_lost):
            signal *= P.SIGNAL_DECAY

    # Deliberate conflict: a few owner reps left in the last 30 days; their books are not reassigned.
    n_departed = n // P.DEPARTED_OWNER_REPS_PER_ACCOUNTS
    book_size = np.bincount(slot_of, minlength=n_slots)
    candidates = np.flatnonzero((book_size > 0) & ~org.slot_is_lead)
    departed = np.zeros(0, dtype=np.int64)
    if n_departed and candidates.size:
        chosen = rng.choice(candidates, size=min(n_departed, candidates.size), replace=False)
        departed = occupant[np.sort(chosen)]
        _set_left(rep_left_day, departed, end_day - rng.integers(0, 30, departed.size))

    # Close the books: current ownership and contacts are open rows.
    ownership.add(account=np.arange(n), rep=own_rep, start=own_start, end=np.full(n, -1, dtype=np.int64))
    for level in range(3):
        current = np.flatnonzero(contact_id[level] >= 0)
        contacts.add(
            contact=contact_id[level, current],
            account=current,
            level=np.full(current.size, level, dtype=np.int8),
            start=contact_start[level, current],
            end=np.full(current.size, -1, dtype=np.int64),
        )
    i64, i8, f64 = np.int64, np.int8, np.float64
    reps = {
        "slot": np.concatenate(rep_slot),
        "left_day": np.concatenate(rep_left_day),
        "occupant_now": occupant,
    }
    # The world as it stands at the end date, for the forward simulation (no random draw here,
    # so the generated tables are unchanged).
    final_state = {
        "alive": alive, "slot_of": slot_of, "occupant": occupant, "rep_diligence": rep_diligence,
        "contact_id": contact_id, "had_level": had_level, "trouble_state": trouble_state,
        "pressure_state": pressure_state, "engagement": engagement, "frailty": frailty, "size_term": size_term,
        "s_trouble": s_trouble, "s_key_single": s_key_single, "s_key_multi": s_key_multi,
        "s_turnover": s_turnover, "s_lost": s_lost, "last_visit_day": last_visit_day, "attention": attention,
        "slowness": slowness, "price_sensitivity": price_sensitivity, "partner_tier": partner_tier,
    }
    return Events(
        final_state=final_state,
        reps=reps,
        ownership=ownership.done({"account": i64, "rep": i64, "start": i64, "end": i64}),
        contacts=contacts.done({"contact": i64, "account": i64, "level": i8, "start": i64, "end": i64}),
        tickets=tickets.done(
            {"account": i64, "opened": i64, "closed": i64, "severity": i8, "kind": i8, "hours": f64, "satisfaction": i8}
        ),
        visits=visits.done({"account": i64, "rep": i64, "contact": i64, "day": i64, "kind": i8}),
        opportunities=opps.done(
            {
                "account": i64,
                "created": i64,
                "source": i8,
                "product": i8,
                "units": i64,
                "amount": f64,
                "competitor": bool,
                "competitor_name": i8,
                "won": bool,
                "planned_close": i64,
                "win_logit": f64,
            }
        ),
        orders=orders.done({"account": np.int32, "month": i8, "pressure": bool}),
        churn_month=churn_month,
        departed_owner_reps=departed,
        role=role,
    )


def _orders(orders: Chunks, rng: np.random.Generator, month: int, rate: np.ndarray, pressure: np.ndarray) -> None:
    who = poisson_events(rng, rate)
    orders.add(account=who.astype(np.int32), month=np.full(who.size, month, dtype=np.int8), pressure=pressure[who])


def _set_left(rep_left_day: list[np.ndarray], reps: np.ndarray, day: np.ndarray) -> None:
    """Record the leaving day of ``reps`` (rep numbers index the concatenation of the chunks)."""
    offsets = np.cumsum([0] + [chunk.size for chunk in rep_left_day])
    for i, chunk in enumerate(rep_left_day):
        inside = (reps >= offsets[i]) & (reps < offsets[i + 1])
        if inside.any():
            chunk[reps[inside] - offsets[i]] = np.asarray(day)[inside] if np.ndim(day) else day


def _change_owner(
    ownership: Chunks,
    accounts: np.ndarray,
    day: np.ndarray,
    new_rep: np.ndarray,
    own_rep: np.ndarray,
    own_start: np.ndarray,
) -> None:
    """Close the current ownership row of ``accounts`` the day before ``day``; the new rep starts."""
    if accounts.size == 0:
        return
    closes = day - 1 >= own_start[accounts]
    closing = accounts[closes]
    ownership.add(account=closing, rep=own_rep[closing], start=own_start[closing], end=day[closes] - 1)
    own_start[accounts] = np.maximum(day, own_start[accounts])
    own_rep[accounts] = new_rep

"""The organisation: accounts, rep positions (slots), partners and who owns what."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine._domain import ADMIN_LEVELS, INDUSTRIES, PARTNER_TIERS, REGIONS
from engine.demo import _params as P

__all__ = ["Calendar", "Accounts", "Org", "make_calendar", "make_accounts", "make_org"]

N_REGIONS = len(REGIONS)
N_INDUSTRIES = len(INDUSTRIES)
OUTSIDE, INSIDE = 0, 1  # rep roles, in engine._domain.REP_ROLES order


@dataclass(frozen=True)
class Calendar:
    """The simulated months: day numbers are days since 1970-01-01."""

    end_day: int
    month_start: np.ndarray  # first day of each month (int64)
    month_days: np.ndarray  # days of each month inside the window (the last may be partial)
    month_of_year: np.ndarray  # 1..12

    @property
    def start_day(self) -> int:
        return int(self.month_start[0])

    @property
    def months(self) -> int:
        return int(self.month_start.shape[0])


def make_calendar(end_date: np.datetime64, months: int = P.HISTORY_MONTHS) -> Calendar:
    end = np.datetime64(end_date, "D")  # type: ignore[call-overload]  # numpy stubs lack datetime64(datetime64, unit)
    last = end.astype("datetime64[M]")
    month = last - (months - 1) + np.arange(months)
    start = month.astype("datetime64[D]")
    following = (month + 1).astype("datetime64[D]")
    days = np.minimum(following, end + 1) - start
    return Calendar(
        end_day=int(end.astype(np.int64)),
        month_start=start.astype(np.int64),
        month_days=days.astype(np.int64),
        month_of_year=(month.astype(np.int64) % 12 + 1).astype(np.int64),
    )


@dataclass
class Accounts:
    region: np.ndarray  # int8 index into REGIONS
    industry: np.ndarray  # int8 index into INDUSTRIES
    admin_level: np.ndarray  # int8 index into ADMIN_LEVELS, -1 = none
    potential: np.ndarray  # CNY a year
    employees: np.ndarray
    spend: np.ndarray  # CNY a year actually bought from us at full engagement
    created_day: np.ndarray
    created_month: np.ndarray  # -1 = before the window
    strategic: np.ndarray
    size_factor: np.ndarray  # (potential / median) ** elasticity, normalised to mean 1

    @property
    def count(self) -> int:
        return int(self.region.shape[0])


def _weights(mapping, keys) -> np.ndarray:
    w = np.array([mapping[k] for k in keys], dtype=float)
    return w / w.sum()


def make_accounts(rng: np.random.Generator, n: int, cal: Calendar) -> Accounts:
    region = rng.choice(N_REGIONS, size=n, p=_weights(P.REGION_WEIGHTS, REGIONS)).astype(np.int8)
    industry = rng.choice(N_INDUSTRIES, size=n, p=_weights(P.INDUSTRY_WEIGHTS, INDUSTRIES)).astype(np.int8)
    public = np.isin(industry, [INDUSTRIES.index(i) for i in P.PUBLIC_SECTOR])
    level = rng.choice(len(ADMIN_LEVELS), size=n, p=_weights(P.ADMIN_LEVEL_SHARES, ADMIN_LEVELS)).astype(np.int8)
    level = np.where(public, level, -1).astype(np.int8)
    level_size = np.array([P.ADMIN_LEVEL_SIZE[a] for a in ADMIN_LEVELS] + [1.0])
    industry_size = np.array([P.INDUSTRY_SIZE[i] for i in INDUSTRIES])
    potential = (
        P.POTENTIAL_MEDIAN
        * industry_size[industry]
        * level_size[level]
        * rng.lognormal(0.0, P.POTENTIAL_SIGMA, n)
    )
    potential = np.round(potential, -3)
    potential = np.maximum(potential, 10_000.0)
    employees = np.maximum(np.round(potential / 25_000.0 * rng.lognormal(0.0, 0.5, n)), 5).astype(np.int64)
    wallet = rng.beta(*P.WALLET_BETA, n)
    spend = potential * wallet
    new = rng.random(n) < P.NEW_ACCOUNT_SHARE
    months = cal.months
    created_month = np.where(new, rng.integers(0, max(months - 1, 1), n), -1).astype(np.int64)
    in_window_day = cal.month_start[np.maximum(created_month, 0)] + np.floor(
        rng.random(n) * cal.month_days[np.maximum(created_month, 0)]
    ).astype(np.int64)
    years_before = np.minimum(rng.exponential(6.0, n), 20.0)
    old_day = cal.start_day - 1 - np.floor(years_before * 365.25).astype(np.int64)
    created_day = np.where(new, in_window_day, old_day)
    rank = np.argsort(np.argsort(-potential, kind="stable"), kind="stable")
    strategic = (rank < max(1, round(0.03 * n))) | (rng.random(n) < 0.005)
    size_factor = (potential / P.POTENTIAL_MEDIAN) ** P.ORDER_SIZE_ELASTICITY
    size_factor = size_factor / size_factor.mean()
    return Accounts(
        region=region,
        industry=industry,
        admin_level=level,
        potential=potential,
        employees=employees,
        spend=spend,
        created_day=created_day,
        created_month=created_month,
        strategic=strategic,
        size_factor=size_factor,
    )


@dataclass
class Org:
    slot_of: np.ndarray  # initial rep position (slot) of each account
    slot_region: np.ndarray
    slot_role: np.ndarray  # OUTSIDE / INSIDE
    slot_industries: np.ndarray  # bool (slots, industries)
    slot_manager: np.ndarray  # manager slot, -1 for a region head
    slot_is_lead: np.ndarray
    partner_regions: np.ndarray  # bool (partners, regions)
    partner_industries: np.ndarray  # bool (partners, industries)
    partner_tier: np.ndarray  # index into PARTNER_TIERS
    partner_active: np.ndarray
    owner_partner: np.ndarray  # per account
    out_of_region_accounts: np.ndarray  # account indices given a partner outside their region

    @property
    def slots(self) -> int:
        return int(self.slot_region.shape[0])

    @property
    def partners(self) -> int:
        return int(self.partner_tier.shape[0])


def _within_group_position(keys: np.ndarray) -> np.ndarray:
    """0-based position of each element within its run of equal ``keys`` (keys already sorted)."""
    n = keys.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.r_[0, np.flatnonzero(keys[1:] != keys[:-1]) + 1]
    first = np.repeat(starts, np.diff(np.r_[starts, n]))
    return np.arange(n) - first


def make_org(rng: np.random.Generator, acc: Accounts) -> Org:
    n = acc.count
    region = acc.region.astype(np.int64)
    industry = acc.industry.astype(np.int64)
    territory = region * N_INDUSTRIES + industry
    # Field (outside) reps own the top accounts of each territory by potential.
    order = np.lexsort((-acc.potential, territory))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = _within_group_position(territory[order])
    territory_size = np.bincount(territory, minlength=N_REGIONS * N_INDUSTRIES)
    top = np.maximum(1, np.round(P.OUTSIDE_SHARE * territory_size)).astype(np.int64)
    role = np.where(rank < top[territory], OUTSIDE, INSIDE)

    # Books: per (region, role), accounts sorted by industry then potential, cut into even chunks.
    group = region * 2 + role
    order = np.lexsort((-acc.potential, industry, group))
    group_size = np.bincount(group, minlength=N_REGIONS * 2)
    book = np.where(np.arange(N_REGIONS * 2) % 2 == OUTSIDE, P.OUTSIDE_BOOK, P.INSIDE_BOOK)
    group_slots = -(-group_size // book)
    group_first_slot = np.r_[0, np.cumsum(group_slots)[:-1]]
    sorted_group = group[order]
    position = _within_group_position(sorted_group)
    slot_sorted = group_first_slot[sorted_group] + (position * group_slots[sorted_group]) // np.maximum(
        group_size[sorted_group], 1
    )
    slot_of = np.empty(n, dtype=np.int64)
    slot_of[order] = slot_sorted
    n_slots = int(group_slots.sum())
    slot_group = np.repeat(np.arange(N_REGIONS * 2), group_slots)
    slot_region = slot_group // 2
    slot_role = slot_group % 2
    slot_industries = np.zeros((n_slots, N_INDUSTRIES), dtype=bool)
    slot_industries[slot_of, industry] = True

    # Teams: slots of a region in order (field first), a lead per TEAM_SIZE; the first lead heads the region.
    position_in_region = _within_group_position(slot_region)
    team_first = np.arange(n_slots) - position_in_region % P.TEAM_SIZE
    region_head = np.arange(n_slots) - position_in_region
    slot_is_lead = position_in_region % P.TEAM_SIZE == 0
    slot_manager = np.where(slot_is_lead, region_head, team_first)
    slot_manager = np.where(np.arange(n_slots) == region_head, -1, slot_manager)

    # Partners: a primary region drawn like the accounts, sometimes a second region, 2-4 industries.
    n_partners = max(1, round(n / P.ACCOUNTS_PER_PARTNER))
    region_share = np.bincount(region, minlength=N_REGIONS) / n
    primary = rng.choice(N_REGIONS, size=n_partners, p=region_share)
    partner_regions = np.zeros((n_partners, N_REGIONS), dtype=bool)
    partner_regions[np.arange(n_partners), primary] = True
    second = rng.random(n_partners) < P.SECOND_REGION_SHARE
    other = (primary + rng.integers(1, N_REGIONS, n_partners)) % N_REGIONS
    partner_regions[np.flatnonzero(second), other[second]] = True
    industry_weight = _weights(P.INDUSTRY_WEIGHTS, INDUSTRIES)
    gumbel = np.log(industry_weight)[None, :] - np.log(-np.log(rng.random((n_partners, N_INDUSTRIES))))
    industry_rank = np.argsort(np.argsort(-gumbel, axis=1), axis=1)
    partner_industries = industry_rank < rng.integers(2, 5, n_partners)[:, None]
    partner_tier = rng.choice(len(PARTNER_TIERS), size=n_partners, p=_weights(P.PARTNER_TIER_SHARES, PARTNER_TIERS))
    partner_active = np.ones(n_partners, dtype=bool)
    n_inactive = int(n_partners * P.INACTIVE_PARTNER_SHARE)
    if n_inactive:
        partner_active[rng.choice(n_partners, size=n_inactive, replace=False)] = False
    active_ids = np.flatnonzero(partner_active)

    # Every territory with accounts has at least one active partner licensed for it.
    owner_partner = np.empty(n, dtype=np.int64)
    tier_weight = np.array([3.0, 2.0, 1.0])[partner_tier]
    occupied = np.flatnonzero(territory_size)
    account_order = np.argsort(territory, kind="stable")
    bounds = np.r_[0, np.cumsum(territory_size)]
    for t in occupied:
        r, i = divmod(int(t), N_INDUSTRIES)
        eligible = active_ids[partner_regions[active_ids, r] & partner_industries[active_ids, i]]
        if eligible.size == 0:
            in_region = active_ids[partner_regions[active_ids, r]]
            pick = in_region[rng.integers(in_region.size)] if in_region.size else active_ids[rng.integers(active_ids.size)]
            partner_regions[pick, r] = True
            partner_industries[pick, i] = True
            eligible = np.array([pick])
        members = account_order[bounds[t] : bounds[t + 1]]
        weight = tier_weight[eligible]
        owner_partner[members] = eligible[rng.choice(eligible.size, size=members.size, p=weight / weight.sum())]

    # Deliberate conflict: a few accounts owned by a partner not licensed for their region.
    n_conflicts = n // P.OUT_OF_REGION_ACCOUNTS_PER_ACCOUNTS
    conflicted = np.zeros(0, dtype=np.int64)
    if n_conflicts:
        chosen = np.sort(rng.choice(n, size=n_conflicts, replace=False))
        candidate = active_ids[rng.integers(active_ids.size, size=chosen.size)]
        def unfit(c: np.ndarray) -> np.ndarray:  # licensed for the region, or not for the industry
            return partner_regions[c, region[chosen]] | ~partner_industries[c, industry[chosen]]

        for _ in range(100):  # redraw the candidates that do not make a pure region conflict
            clash = unfit(candidate)
            if not clash.any():
                break
            candidate[clash] = active_ids[rng.integers(active_ids.size, size=int(clash.sum()))]
        ok = ~unfit(candidate)
        conflicted = chosen[ok]
        owner_partner[conflicted] = candidate[ok]
    return Org(
        slot_of=slot_of,
        slot_region=slot_region,
        slot_role=slot_role,
        slot_industries=slot_industries,
        slot_manager=slot_manager,
        slot_is_lead=slot_is_lead,
        partner_regions=partner_regions,
        partner_industries=partner_industries,
        partner_tier=partner_tier,
        partner_active=partner_active,
        owner_partner=owner_partner,
        out_of_region_accounts=conflicted,
    )

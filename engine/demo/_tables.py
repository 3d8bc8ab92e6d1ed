"""Turn the simulation's arrays into the contract's tables (``pandas.DataFrame`` per table)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from engine._arguments import check_frame
from engine._asof import AsOf, calendar_date
from engine._domain import (
    ADMIN_LEVELS,
    CONTACT_LEVELS,
    INDUSTRIES,
    OPPORTUNITY_SOURCES,
    PARTNER_TIERS,
    PRODUCT_LINES,
    REGIONS,
    REP_ROLES,
    TICKET_KINDS,
    TICKET_SEVERITIES,
    VISIT_KINDS,
)
from engine._errors import ConfigError
from engine.demo import _params as P
from engine.demo._ids import fixed_width_series, format_ids, id_width, to_str_series
from engine.demo._org import (
    INSIDE,
    OUTSIDE,
    Accounts,
    Calendar,
    Org,
    make_accounts,
    make_calendar,
    make_org,
)
from engine.demo._simulate import (
    PROSPECT_SOURCE_SHARES,
    Events,
    _shares,
    pick,
    sigmoid,
    simulate,
    win_logit,
)

__all__ = ["generate_demo_tables", "top_revenue_share", "MAX_ACCOUNTS"]

#: Largest supported size (ids are fixed width; memory is the practical limit).
MAX_ACCOUNTS = 20_000_000
_STR = pd.StringDtype("pyarrow", na_value=np.nan)
_REGION_KEYS = tuple(REGIONS)
_SURNAMES = (
    "Wang Li Zhang Liu Chen Yang Huang Zhao Wu Zhou Xu Sun Ma Zhu Hu Guo He Lin Gao Luo Zheng Liang Xie Song Tang"
).split()
_GIVEN = (
    "Wei Fang Na Min Jing Li Qiang Lei Jun Yang Yong Yan Jie Tao Ming Chao Xiuying Xia Ping Gang Hui Hong Peng Bo "
    "Lin Hao Yu Xin Kai Rui"
).split()
_PARTNER_WORDS = (
    "Huaxin Zhongke Tianyuan Shengda Hengtong Jinhai Xinda Dongfang Kaiyuan Ruitong Boxin Yuanhang Changhong "
    "Guangda Jiayu Hongtu Weiye Zhicheng Xingchen Anke"
).split()
_INDUSTRY_NOUN = {
    "government": "Municipal Bureau",
    "education": "University",
    "public_utilities": "Water & Gas Co.",
    "transport": "Transport Group",
    "finance": "Bank Branch",
    "telecom": "Telecom Branch",
    "manufacturing": "Manufacturing Co.",
    "enterprise": "Group Co.",
    "military": "Research Institute",
    "power": "Power Supply Co.",
    "energy": "Petrochemical Co.",
}
_ROLE_TITLES = {
    0: ("IT engineer", "IT administrator", "Procurement officer", "Network engineer"),
    1: ("IT manager", "Head of procurement", "Department director", "Deputy CIO"),
    2: ("CIO", "General manager", "Director general", "Vice president"),
}


def _as_end_date(end_date) -> np.datetime64:
    """The last day of history, read as every date argument is (:func:`engine._asof.calendar_date`)."""
    return np.datetime64(calendar_date(end_date, name="end_date"), "D")


def _check_arguments(accounts, seed) -> None:
    if isinstance(accounts, bool) or not isinstance(accounts, (int, np.integer)) or not 1 <= accounts <= MAX_ACCOUNTS:
        raise ConfigError(
            f"accounts must be a whole number: expected 1 to {MAX_ACCOUNTS:,}; got {accounts!r}. "
            "Fix: pass e.g. accounts=20_000 (the default)."
        )
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"seed must be a non-negative whole number; got {seed!r}.")


def _dates(days: np.ndarray) -> pd.Series:
    """Day numbers (days since 1970-01-01; negative = null) as a ``datetime64[ns]`` Series."""
    days = np.asarray(days, dtype=np.int64)
    values = days.astype("datetime64[D]").astype("datetime64[ns]")
    values[days < 0] = np.datetime64("NaT")
    return pd.Series(values)


def _labels(codes: np.ndarray, labels, valid: np.ndarray | None = None) -> pd.Series:
    """Category codes as a ``str`` Series via an Arrow dictionary (fast for millions of rows)."""
    codes = np.asarray(codes, dtype=np.int32)
    mask = None if valid is None else ~np.asarray(valid, dtype=bool)
    if mask is not None:
        codes = np.where(mask, 0, codes)
    indices = pa.array(codes, type=pa.int32(), mask=mask)
    dictionary = pa.array([str(label) for label in labels], type=pa.large_string())
    array = pa.DictionaryArray.from_arrays(indices, dictionary).cast(pa.large_string())
    return pd.Series(pd.array(array, dtype=_STR))


def _join_sets(matrix: np.ndarray, labels) -> list[str]:
    """Each row's True columns as a ';'-separated list (rows are few: reps and partners)."""
    cache: dict[bytes, str] = {}
    out = []
    for row in matrix:
        key = row.tobytes()
        if key not in cache:
            cache[key] = ";".join(label for label, on in zip(labels, row) if on)
        out.append(cache[key])
    return out


def _person_names(rng: np.random.Generator, n: int) -> pd.Series:
    surname = np.array(_SURNAMES, dtype=object)[rng.integers(0, len(_SURNAMES), n)]
    given = np.array(_GIVEN, dtype=object)[rng.integers(0, len(_GIVEN), n)]
    return to_str_series(surname + " " + given)


def top_revenue_share(orders: pd.DataFrame, share: float = 0.2, accounts: int | None = None) -> float:
    """Share of revenue brought by the top ``share`` of accounts (by revenue).

    ``accounts`` is the population size (accounts without orders count as zero revenue); by
    default, the accounts that appear in ``orders``.

    Examples
    --------
    >>> orders = pd.DataFrame({"account_id": ["a", "b", "c", "d", "e"], "amount": [80.0, 5, 5, 5, 5]})
    >>> top_revenue_share(orders)
    0.8
    """
    check_frame("top_revenue_share", "orders", orders, "pass the orders table (account_id, amount)")
    revenue = orders.groupby("account_id", sort=False)["amount"].sum().to_numpy()
    population = max(accounts or revenue.size, revenue.size)
    if population == 0 or revenue.sum() <= 0:
        return 0.0
    top = max(1, int(round(share * population)))
    ordered = np.sort(revenue)[::-1]
    return float(ordered[:top].sum() / revenue.sum())


@dataclass
class World:
    """The simulated world behind the tables (for tests and diagnostics; not public API)."""

    calendar: Calendar
    accounts: Accounts
    org: Org
    events: Events
    rng_rows: np.random.Generator
    rng_names: np.random.Generator


def simulate_world(accounts: int, seed: int, end_date, **hooks) -> World:
    """Run the organisation and the month-by-month simulation for ``(accounts, seed, end_date)``.

    ``hooks`` (``fork``, ``observe_rates``) go to :func:`engine.demo._simulate.simulate`.
    """
    _check_arguments(accounts, seed)
    end = _as_end_date(end_date)
    streams = np.random.SeedSequence([int(seed), int(accounts), int(end.astype(np.int64))]).spawn(5)
    rng_accounts, rng_org, rng_sim, rng_rows, rng_names = (np.random.default_rng(s) for s in streams)
    cal = make_calendar(end)
    acc = make_accounts(rng_accounts, int(accounts), cal)
    org = make_org(rng_org, acc)
    events = simulate(rng_sim, acc, org, cal, **hooks)
    return World(cal, acc, org, events, rng_rows, rng_names)


def generate_demo_tables(
    accounts: int = 20_000,
    seed: int = 0,
    end_date: AsOf = P.DEMO_END_DATE,
    *,
    progress: Callable[[str], None] | None = None,
) -> dict[str, pd.DataFrame]:
    """Generate the demo customer database as one DataFrame per contract table.

    Pure and deterministic: the same ``(accounts, seed, end_date)`` always gives identical
    frames. The history covers the 36 months ending at ``end_date``; churn and deal outcomes are
    caused by signals the tables record (see ``docs/demo-data.md``).

    Parameters
    ----------
    accounts : int, default 20_000
        Number of key accounts (1 to 20,000,000). Reps (~accounts/67), partners (accounts/20)
        and all event tables scale with it.
    seed : int, default 0
        Random seed.
    end_date : date or ISO string, default DEMO_END_DATE (2026-09-30)
        The last day of the history ("today" of the demo); no row is dated after it.
    progress : callable, optional
        Called with a short message as each step starts.

    Returns
    -------
    dict of str to DataFrame
        ``reps, partners, customers, ownership, orders, tickets, contacts, visits,
        opportunities`` with exactly the contract's columns; dates are ``datetime64[ns]``.

    Examples
    --------
    >>> tables = generate_demo_tables(accounts=50, seed=1)
    >>> sorted(tables) == sorted(["reps", "partners", "customers", "ownership", "orders",
    ...     "tickets", "contacts", "visits", "opportunities"])
    True
    >>> len(tables["customers"])
    50
    """
    _check_arguments(accounts, seed)  # before the first use of accounts below
    say = progress or (lambda message: None)
    say(f"simulating {int(accounts):,} accounts over {P.HISTORY_MONTHS} months")
    world = simulate_world(accounts, seed, end_date)
    cal, acc, org, ev = world.calendar, world.accounts, world.org, world.events
    rng_rows, rng_names = world.rng_rows, world.rng_names

    say("building tables")
    n = int(accounts)
    w_acc = id_width(n, 7)
    n_reps = ev.reps["slot"].shape[0]
    w_rep = id_width(n_reps, 5)
    w_partner = id_width(org.partners, 5)
    account_ids = format_ids("A", width=w_acc, count=n)

    # --- reps ------------------------------------------------------------------------------------
    rep_slot = ev.reps["slot"]
    manager_slot = org.slot_manager[rep_slot]
    manager_rep = np.where(manager_slot >= 0, ev.reps["occupant_now"][np.maximum(manager_slot, 0)], 0)
    slot_industries = np.array(_join_sets(org.slot_industries, INDUSTRIES), dtype=object)
    role_names = np.array(REP_ROLES)[np.array([OUTSIDE, INSIDE])]
    reps = pd.DataFrame(
        {
            "rep_id": format_ids("R", width=w_rep, count=n_reps),
            "name": _person_names(rng_names, n_reps),
            "role": _labels(org.slot_role[rep_slot], role_names),
            "region": _labels(org.slot_region[rep_slot], _REGION_KEYS),
            "industries": to_str_series(slot_industries[rep_slot]),
            "manager_id": format_ids("R", manager_rep, width=w_rep, valid=manager_slot >= 0),
            "capacity": np.array([P.REP_CAPACITY["outside"], P.REP_CAPACITY["inside"]], dtype=np.int64)[
                org.slot_role[rep_slot]
            ],
            "active": ev.reps["left_day"] < 0,
        }
    )

    # --- partners ----------------------------------------------------------------------------------
    n_partners = org.partners
    primary_region = np.argmax(org.partner_regions, axis=1)
    region_display = np.array(list(REGIONS.values()), dtype=object)
    words = np.array(_PARTNER_WORDS, dtype=object)[rng_names.integers(0, len(_PARTNER_WORDS), n_partners)]
    partner_numbers = format_ids(" ", width=w_partner, count=n_partners).to_numpy(dtype=object)
    partners = pd.DataFrame(
        {
            "partner_id": format_ids("P", width=w_partner, count=n_partners),
            "name": to_str_series(words + " Technology (" + region_display[primary_region] + ")" + partner_numbers),
            "regions": to_str_series(_join_sets(org.partner_regions, _REGION_KEYS)),
            "industries": to_str_series(_join_sets(org.partner_industries, INDUSTRIES)),
            "tier": _labels(org.partner_tier, PARTNER_TIERS),
            "capacity": np.array([P.PARTNER_CAPACITY[t] for t in PARTNER_TIERS], dtype=np.int64)[org.partner_tier],
            "active": org.partner_active,
        }
    )

    # --- orders ------------------------------------------------------------------------------------
    say("building orders")
    o_acc = ev.orders["account"].astype(np.int64)
    o_month = ev.orders["month"].astype(np.int64)
    k = o_acc.size
    o_day = cal.month_start[o_month] + np.floor(rng_rows.random(k) * cal.month_days[o_month]).astype(np.int64)
    product_table = np.array([P.PRODUCT_MIX[i] for i in INDUSTRIES])
    product = pick(rng_rows, product_table, acc.industry[o_acc])
    unit_price = np.array(P.UNIT_PRICE)
    target = acc.spend[o_acc] / (12.0 * P.ORDER_RATE * acc.size_factor[o_acc]) * rng_rows.lognormal(-0.18, 0.6, k)
    units = np.maximum(1, np.round(target / unit_price[product])).astype(np.int64)
    amount = np.round(units * unit_price[product] * rng_rows.uniform(0.9, 1.1, k), 2)
    margin_rate = (
        np.array(P.MARGIN_RATE)[product]
        + rng_rows.normal(0.0, 0.04, k)
        - P.PRICE_PRESSURE_DISCOUNT * ev.orders["pressure"]
    )
    margin = np.round(amount * np.minimum(margin_rate, 0.9), 2)
    direct_share = np.where(ev.role == OUTSIDE, 0.70, 0.15)
    direct = rng_rows.random(k) < direct_share[o_acc]
    orders = pd.DataFrame(
        {
            "order_id": format_ids("O", width=id_width(k, 9), count=k),
            "account_id": format_ids("A", o_acc, width=w_acc),
            "order_date": _dates(o_day),
            "product_line": _labels(product, PRODUCT_LINES),
            "units": units,
            "amount": amount,
            "margin": margin,
            "channel": _channel(org.owner_partner[o_acc], direct, w_partner),
        }
    )

    # --- customers -----------------------------------------------------------------------------
    last_order_month = np.full(n, -1, dtype=np.int64)
    np.maximum.at(last_order_month, o_acc, o_month)
    churned = ev.churn_month >= 0
    long_ago = churned & (ev.churn_month <= cal.months - 1 - 12)
    quiet = ~churned & (last_order_month <= cal.months - 1 - 12) & (acc.created_month <= cal.months - 1 - 12)
    status = np.where(long_ago, 2, np.where(churned | quiet, 1, 0))  # active, dormant, closed
    own = ev.ownership
    current = own["end"] < 0
    owner_rep = np.empty(n, dtype=np.int64)
    owner_rep[own["account"][current]] = own["rep"][current]
    industry_noun = np.array([_INDUSTRY_NOUN[i] for i in INDUSTRIES], dtype=object)
    account_numbers = format_ids(" ", width=w_acc, count=n).to_numpy(dtype=object)
    customers = pd.DataFrame(
        {
            "account_id": account_ids,
            "name": to_str_series(region_display[acc.region] + " " + industry_noun[acc.industry] + account_numbers),
            "region": _labels(acc.region, _REGION_KEYS),
            "industry": _labels(acc.industry, INDUSTRIES),
            "admin_level": _labels(acc.admin_level, ADMIN_LEVELS, valid=acc.admin_level >= 0),
            "employees": acc.employees,
            "it_spend_potential": acc.potential,
            "owner_rep_id": format_ids("R", owner_rep, width=w_rep),
            "owner_partner_id": format_ids("P", org.owner_partner, width=w_partner),
            "strategic": acc.strategic,
            "created_date": _dates(acc.created_day),
            "status": _labels(status, ("active", "dormant", "closed")),
        }
    )

    # --- ownership -----------------------------------------------------------------------------
    order = np.lexsort((own["start"], own["account"]))
    ownership = pd.DataFrame(
        {
            "ownership_id": format_ids("W", width=id_width(order.size, 8), count=order.size),
            "account_id": format_ids("A", own["account"][order], width=w_acc),
            "rep_id": format_ids("R", own["rep"][order], width=w_rep),
            "start_date": _dates(own["start"][order]),
            "end_date": _dates(own["end"][order]),
        }
    )

    # --- tickets -------------------------------------------------------------------------------
    t = ev.tickets
    k = t["account"].size
    satisfaction = pd.array(np.where(t["satisfaction"] > 0, t["satisfaction"], 0).astype(np.int64), dtype="Int64")
    satisfaction[t["satisfaction"] <= 0] = pd.NA
    tickets = pd.DataFrame(
        {
            "ticket_id": format_ids("T", width=id_width(k, 8), count=k),
            "account_id": format_ids("A", t["account"], width=w_acc),
            "opened_date": _dates(t["opened"]),
            "closed_date": _dates(t["closed"]),
            "severity": _labels(t["severity"], TICKET_SEVERITIES),
            "kind": _labels(t["kind"], TICKET_KINDS),
            "resolution_hours": t["hours"],
            "satisfaction": satisfaction,
        }
    )

    # --- contacts and visits -------------------------------------------------------------------
    c = ev.contacts
    order = np.argsort(c["contact"], kind="stable")
    n_contacts = order.size
    w_contact = id_width(n_contacts, 8)
    # Contacts that left during the unrecorded burn-in leave gaps: number the recorded ones densely.
    simulated_numbers = c["contact"][order]
    v = ev.visits
    met = v["contact"] >= 0
    visit_contact = np.where(met, np.searchsorted(simulated_numbers, np.where(met, v["contact"], 0)), 0)
    last_visit = np.full(n_contacts, -1, dtype=np.int64)
    np.maximum.at(last_visit, visit_contact[met], v["day"][met])
    level = c["level"][order].astype(np.int64)
    title = rng_names.integers(0, 4, n_contacts)
    titles = np.array([_ROLE_TITLES[lv][i] for lv in range(3) for i in range(4)], dtype=object)
    contacts = pd.DataFrame(
        {
            "contact_id": format_ids("C", width=w_contact, count=n_contacts),
            "account_id": format_ids("A", c["account"][order], width=w_acc),
            "level": _labels(level, CONTACT_LEVELS),
            "role": _labels(level * 4 + title, titles),
            "active_from": _dates(c["start"][order]),
            "active_to": _dates(c["end"][order]),
            "last_visit_date": _dates(last_visit),
        }
    )
    k = v["account"].size
    visits = pd.DataFrame(
        {
            "visit_id": format_ids("V", width=id_width(k, 9), count=k),
            "account_id": format_ids("A", v["account"], width=w_acc),
            "rep_id": format_ids("R", v["rep"], width=w_rep),
            "contact_id": format_ids("C", visit_contact, width=w_contact, valid=met),
            "visit_date": _dates(v["day"]),
            "kind": _labels(v["kind"], VISIT_KINDS),
        }
    )

    # --- opportunities -------------------------------------------------------------------------
    opportunities = _opportunities(rng_rows, ev, acc, cal, account_ids, w_acc)
    say("done")
    return {
        "reps": reps,
        "partners": partners,
        "customers": customers,
        "ownership": ownership,
        "orders": orders,
        "tickets": tickets,
        "contacts": contacts,
        "visits": visits,
        "opportunities": opportunities,
    }


def _channel(partner: np.ndarray, direct: np.ndarray, width: int) -> pd.Series:
    """``'direct'`` or the owning partner's id, built as one fixed-width buffer when widths allow."""
    ids = format_ids("P", partner, width=width)
    if 1 + width == len("direct"):
        rows = np.frombuffer(
            pa.array(ids.array).buffers()[2], dtype=np.uint8, count=ids.size * (1 + width)
        ).reshape(-1, 1 + width).copy()  # fixed width: the data buffer is the rows
        rows[direct] = np.frombuffer(b"direct", dtype=np.uint8)
        return fixed_width_series(rows)
    arrow = pc.if_else(pa.array(direct), "direct", pa.array(ids.array))
    return pd.Series(pd.array(arrow, dtype=_STR))


def _opportunities(rng, ev, acc, cal, account_ids: pd.Series, w_acc: int) -> pd.DataFrame:
    o = ev.opportunities
    k_acc = o["account"].size
    # New prospects: leads with no account yet, named by their territory.
    k_pro = int(round(k_acc * P.PROSPECT_SHARE / (1.0 - P.PROSPECT_SHARE)))
    span = cal.end_day - cal.start_day + 1
    created = cal.start_day + np.floor(rng.random(k_pro) * span).astype(np.int64)
    p_region = rng.choice(len(REGIONS), size=k_pro, p=_shares(P.REGION_WEIGHTS, _REGION_KEYS))
    p_industry = rng.choice(len(INDUSTRIES), size=k_pro, p=_shares(P.INDUSTRY_WEIGHTS, INDUSTRIES))
    source = pick(rng, [_shares(PROSPECT_SOURCE_SHARES, OPPORTUNITY_SOURCES)], np.zeros(k_pro, dtype=np.int64))
    product = pick(rng, np.array([P.PRODUCT_MIX[i] for i in INDUSTRIES]), p_industry)
    unit_price = np.array(P.UNIT_PRICE)
    amount = P.POTENTIAL_MEDIAN * 0.33 * 0.12 * rng.lognormal(0.0, 1.1, k_pro)
    units = np.maximum(1, np.round(amount / unit_price[product])).astype(np.int64)
    amount = np.round(units * unit_price[product] * rng.uniform(0.9, 1.1, k_pro), 0)
    competitor = rng.random(k_pro) < 0.25
    logit = win_logit(np.zeros(k_pro), np.zeros(k_pro), competitor, amount, source, np.full(k_pro, -1))
    won = rng.random(k_pro) < sigmoid(logit + rng.normal(0.0, P.WIN_COEFFICIENTS["noise_sd"], k_pro))
    duration = np.maximum(1, np.round(40.0 * (amount / 100_000.0) ** 0.15 * rng.lognormal(0.0, 0.6, k_pro)))
    planned_close = created + duration.astype(np.int64)

    account = np.r_[o["account"], np.full(k_pro, -1)]
    created_all = np.r_[o["created"], created]
    close_all = np.r_[o["planned_close"], planned_close]
    won_all = np.r_[o["won"], won]
    is_open = close_all > cal.end_day
    outcome = np.where(is_open, 0, np.where(won_all, 1, 2))  # open, won, lost
    elapsed = (cal.end_day - created_all) / np.maximum(close_all - created_all, 1)
    open_stage = np.minimum((elapsed * 4).astype(np.int64), 3)  # lead, qualified, proposal, negotiation
    stage = np.where(is_open, open_stage, 4)
    has_account = account >= 0
    region = np.r_[acc.region[o["account"]], p_region]
    industry = np.r_[acc.industry[o["account"]], p_industry]
    competitor_all = np.r_[o["competitor"], competitor]
    competitor_name = np.r_[o["competitor_name"], rng.integers(0, len(P.COMPETITORS), k_pro)]
    order = np.argsort(created_all, kind="stable")
    prospect_number = np.r_[np.zeros(k_acc, dtype=np.int64), np.arange(k_pro)]
    region_display = np.array(list(REGIONS.values()), dtype=object)
    noun = np.array([_INDUSTRY_NOUN[i] for i in INDUSTRIES], dtype=object)
    names = np.full(account.size, None, dtype=object)
    pro = ~has_account
    names[pro] = (
        "Prospect "
        + region_display[region[pro]]
        + " "
        + noun[industry[pro]]
        + format_ids(" #", prospect_number[pro], width=id_width(max(k_pro, 1), 6)).to_numpy(dtype=object)
    )
    k = account.size
    from engine._domain import OPPORTUNITY_OUTCOMES, OPPORTUNITY_STAGES

    return pd.DataFrame(
        {
            "opportunity_id": format_ids("Q", width=id_width(k, 8), count=k),
            "account_id": format_ids("A", account[order], width=w_acc, valid=has_account[order]),
            "prospect_name": to_str_series(names[order]),
            "region": _labels(region[order], _REGION_KEYS),
            "industry": _labels(industry[order], INDUSTRIES),
            "created_date": _dates(created_all[order]),
            "source": _labels(np.r_[o["source"], source][order], OPPORTUNITY_SOURCES),
            "product_line": _labels(np.r_[o["product"], product][order], PRODUCT_LINES),
            "est_units": np.r_[o["units"], units][order],
            "est_amount": np.r_[o["amount"], amount][order],
            "stage": _labels(stage[order], OPPORTUNITY_STAGES),
            "closed_date": _dates(np.where(is_open, -1, close_all)[order]),
            "outcome": _labels(outcome[order], OPPORTUNITY_OUTCOMES),
            "competitor": _labels(competitor_name[order], P.COMPETITORS, valid=competitor_all[order]),
        }
    )

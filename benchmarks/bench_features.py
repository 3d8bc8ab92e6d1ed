"""Time ``build_account_features`` on synthetic, contract-shaped tables.

Default size: 1,000,000 accounts and 10,000,000 orders, with tickets, contacts, visits,
ownership and opportunities in proportion (2, 3, 4, 1.5 and 1 per account). Target:
<= 30 s on a 2-core machine. Prints seconds per run and peak RSS.

    python benchmarks/bench_features.py                       # the full target size
    python benchmarks/bench_features.py --accounts 20000 --orders 200000
    python benchmarks/bench_features.py --iso-dates           # dates as ISO strings

The data is generated with numpy and Arrow (fixed seed), so generation takes seconds too;
only the builder call is timed.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine._domain import (  # noqa: E402
    ACCOUNT_STATUSES,
    ADMIN_LEVELS,
    CONTACT_LEVELS,
    INDUSTRIES,
    OPPORTUNITY_SOURCES,
    OPPORTUNITY_STAGES,
    PRODUCT_LINES,
    REGIONS,
    TICKET_KINDS,
    TICKET_SEVERITIES,
    VISIT_KINDS,
)
from engine.features import build_account_features  # noqa: E402

AS_OF = np.datetime64("2025-01-01", "D")
SPAN_DAYS = 3650


def _strings(array: pa.Array) -> pd.Series:
    return pd.Series(pd.array(array, dtype="str"))


def _ids(prefix: str, count: int) -> pa.Array:
    numbers = pc.cast(pa.array(np.arange(count, dtype=np.int64)), pa.string())
    return pc.binary_join_element_wise(pa.scalar(prefix), numbers, pa.scalar(""))


def _choice(rng: np.random.Generator, values, count: int, null_share: float = 0.0) -> pd.Series:
    codes = pa.array(rng.integers(0, len(values), count))
    picked = pc.take(pa.array(list(values)), codes)
    if null_share:
        mask = pa.array(rng.random(count) < null_share)
        picked = pc.if_else(mask, pa.scalar(None, pa.string()), picked)
    return _strings(picked)


def _dates(days: np.ndarray, iso: bool, null: np.ndarray | None = None) -> pd.Series:
    values = (AS_OF - SPAN_DAYS) + days.astype("timedelta64[D]")
    series = pd.Series(values.astype("datetime64[us]"))
    if null is not None:
        series = series.mask(null)
    if iso:
        return _strings(pc.strftime(pa.array(series), format="%Y-%m-%d"))
    return series


def _account_refs(rng: np.random.Generator, accounts: pa.Array, count: int) -> tuple[np.ndarray, pd.Series]:
    # Pareto-like: low account numbers buy much more (about 20% of accounts, 80% of rows)
    codes = np.minimum((len(accounts) * rng.random(count) ** 3).astype(np.int64), len(accounts) - 1)
    return codes, _strings(pc.take(accounts, pa.array(codes)))


def generate(n_accounts: int, n_orders: int, seed: int = 20240601, iso: bool = False) -> dict[str, pd.DataFrame]:
    """Contract-shaped tables: customers, reps, ownership, orders, tickets, contacts, visits, opportunities."""
    rng = np.random.default_rng(seed)
    n_reps = max(10, n_accounts // 3000)
    account_ids = _ids("A", n_accounts)
    rep_ids = _ids("R", n_reps)
    regions = tuple(REGIONS)
    created = rng.integers(0, SPAN_DAYS - 30, n_accounts)
    customers = pd.DataFrame(
        {
            "account_id": _strings(account_ids),
            "name": _strings(_ids("Customer ", n_accounts)),
            "region": _choice(rng, regions, n_accounts),
            "industry": _choice(rng, INDUSTRIES, n_accounts),
            "admin_level": _choice(rng, ADMIN_LEVELS, n_accounts, null_share=0.5),
            "employees": rng.integers(10, 50_000, n_accounts),
            "it_spend_potential": rng.lognormal(13, 1.2, n_accounts).round(2),
            "owner_rep_id": _strings(pc.take(rep_ids, pa.array(rng.integers(0, n_reps, n_accounts)))),
            "owner_partner_id": _strings(pc.take(_ids("P", 1000), pa.array(rng.integers(0, 1000, n_accounts)))),
            "strategic": rng.random(n_accounts) < 0.05,
            "created_date": _dates(created, iso),
            "status": _choice(rng, ACCOUNT_STATUSES, n_accounts),
        }
    )
    reps = pd.DataFrame({"rep_id": _strings(rep_ids), "active": rng.random(n_reps) < 0.9})

    order_codes, order_accounts = _account_refs(rng, account_ids, n_orders)
    order_days = rng.integers(0, SPAN_DAYS, n_orders)
    units = rng.integers(1, 200, n_orders)
    amount = (units * rng.uniform(3000, 9000, n_orders)).round(2)
    orders = pd.DataFrame(
        {
            "order_id": _strings(_ids("O", n_orders)),
            "account_id": order_accounts,
            "order_date": _dates(order_days, iso),
            "product_line": _choice(rng, PRODUCT_LINES, n_orders),
            "units": units,
            "amount": amount,
            "margin": (amount * rng.uniform(-0.05, 0.3, n_orders)).round(2),
            "channel": _choice(rng, ("direct", "P1", "P2"), n_orders),
        }
    )

    n_tickets = 2 * n_accounts
    _, ticket_accounts = _account_refs(rng, account_ids, n_tickets)
    opened = rng.integers(0, SPAN_DAYS, n_tickets)
    duration = rng.integers(0, 60, n_tickets)
    still_open = (opened + duration >= SPAN_DAYS) | (rng.random(n_tickets) < 0.02)
    tickets = pd.DataFrame(
        {
            "ticket_id": _strings(_ids("T", n_tickets)),
            "account_id": ticket_accounts,
            "opened_date": _dates(opened, iso),
            "closed_date": _dates(opened + duration, iso, null=still_open),
            "severity": _choice(rng, TICKET_SEVERITIES, n_tickets),
            "kind": _choice(rng, TICKET_KINDS, n_tickets),
            "resolution_hours": pd.Series(rng.gamma(2.0, 12.0, n_tickets).round(1)).mask(still_open),
            "satisfaction": pd.Series(rng.integers(1, 6, n_tickets).astype(float)).mask(still_open),
        }
    )

    n_contacts = 3 * n_accounts
    contact_accounts = _strings(pc.take(account_ids, pa.array(np.arange(n_contacts) % n_accounts)))
    start = rng.integers(0, SPAN_DAYS, n_contacts)
    tenure = rng.integers(30, 4000, n_contacts)
    contacts = pd.DataFrame(
        {
            "contact_id": _strings(_ids("C", n_contacts)),
            "account_id": contact_accounts,
            "level": _choice(rng, CONTACT_LEVELS, n_contacts),
            "role": _choice(rng, ("CIO", "buyer", "IT manager"), n_contacts),
            "active_from": _dates(start, iso),
            "active_to": _dates(start + tenure, iso, null=start + tenure >= SPAN_DAYS),
            "last_visit_date": _dates(np.minimum(start + tenure // 2, SPAN_DAYS - 1), iso),
        }
    )

    n_visits = 4 * n_accounts
    _, visit_accounts = _account_refs(rng, account_ids, n_visits)
    visits = pd.DataFrame(
        {
            "visit_id": _strings(_ids("V", n_visits)),
            "account_id": visit_accounts,
            "rep_id": _strings(pc.take(rep_ids, pa.array(rng.integers(0, n_reps, n_visits)))),
            "contact_id": pd.Series([None] * 0 + [None], dtype="str").reindex(range(n_visits)),
            "visit_date": _dates(rng.integers(0, SPAN_DAYS, n_visits), iso),
            "kind": _choice(rng, VISIT_KINDS, n_visits),
        }
    )

    n_ownership = n_accounts + n_accounts // 2
    owner_codes = np.concatenate([np.arange(n_accounts), rng.integers(0, n_accounts, n_ownership - n_accounts)])
    owner_start = np.where(
        np.arange(n_ownership) < n_accounts,
        created[owner_codes % n_accounts],
        rng.integers(0, SPAN_DAYS, n_ownership),
    )
    owner_end = owner_start + rng.integers(100, 3000, n_ownership)
    ownership = pd.DataFrame(
        {
            "ownership_id": _strings(_ids("W", n_ownership)),
            "account_id": _strings(pc.take(account_ids, pa.array(owner_codes))),
            "rep_id": _strings(pc.take(rep_ids, pa.array(rng.integers(0, n_reps, n_ownership)))),
            "start_date": _dates(owner_start, iso),
            "end_date": _dates(owner_end, iso, null=owner_end >= SPAN_DAYS),
        }
    )

    n_opps = n_accounts
    _, opp_accounts = _account_refs(rng, account_ids, n_opps)
    prospect = rng.random(n_opps) < 0.1
    opp_created = rng.integers(0, SPAN_DAYS, n_opps)
    opp_closed = opp_created + rng.integers(5, 200, n_opps)
    opp_open = opp_closed >= SPAN_DAYS
    outcome = np.where(opp_open, "open", np.where(rng.random(n_opps) < 0.4, "won", "lost"))
    opportunities = pd.DataFrame(
        {
            "opportunity_id": _strings(_ids("OP", n_opps)),
            "account_id": opp_accounts.mask(prospect),
            "prospect_name": _strings(_ids("Prospect ", n_opps)).mask(~prospect),
            "region": _choice(rng, regions, n_opps).mask(~prospect),
            "industry": _choice(rng, INDUSTRIES, n_opps).mask(~prospect),
            "created_date": _dates(opp_created, iso),
            "source": _choice(rng, OPPORTUNITY_SOURCES, n_opps),
            "product_line": _choice(rng, PRODUCT_LINES, n_opps),
            "est_units": rng.integers(1, 500, n_opps),
            "est_amount": rng.lognormal(12, 1, n_opps).round(2),
            "stage": _choice(rng, OPPORTUNITY_STAGES, n_opps),
            "closed_date": _dates(opp_closed, iso, null=opp_open),
            "outcome": _strings(pa.array(outcome)),
            "competitor": _choice(rng, ("Dell", "HP", "Huawei", "Inspur"), n_opps, null_share=0.6),
        }
    )
    return {
        "customers": customers,
        "reps": reps,
        "ownership": ownership,
        "orders": orders,
        "tickets": tickets,
        "contacts": contacts,
        "visits": visits,
        "opportunities": opportunities,
    }


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=2, help="timed runs (the best is reported)")
    parser.add_argument("--iso-dates", action="store_true", help="dates as ISO strings instead of datetime64")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of one run")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    tables = generate(args.accounts, args.orders, iso=args.iso_dates)
    rows = sum(len(frame) for frame in tables.values())
    print(
        f"generated {args.accounts:,} accounts, {args.orders:,} orders, {rows:,} rows in all "
        f"in {time.perf_counter() - started:.1f} s (dates as {'ISO strings' if args.iso_dates else 'datetime64'})"
    )
    print(f"peak RSS after generating: {_peak_rss_mb():,.0f} MB")
    as_of = pd.Timestamp(AS_OF)
    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        build_account_features(tables, as_of)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
    timings = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        features = build_account_features(tables, as_of)
        timings.append(time.perf_counter() - started)
    best = min(timings)
    print(f"build_account_features: {len(features):,} rows x {features.shape[1]} columns")
    print("seconds per run: " + ", ".join(f"{t:.2f}" for t in timings) + f" (best {best:.2f}; target <= 30)")
    print(f"peak RSS after building: {_peak_rss_mb():,.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

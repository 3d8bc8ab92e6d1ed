"""Benchmark: assign 1,000,000 open opportunities across ~300 reps and ~1,000 partners.

Prints figures; not a test. Run: /work/venv/bin/python benchmarks/bench_assign.py [N]
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd

from engine._domain import INDUSTRIES, REGIONS
from engine.assign import assign_with_report


def make_tables(n_opportunities: int, seed: int = 7):
    rng = np.random.default_rng(seed)
    regions, industries = np.array(list(REGIONS)), np.array(INDUSTRIES)

    def some(k_low, k_high, pool, size):
        return [";".join(rng.choice(pool, rng.integers(k_low, k_high + 1), replace=False)) for _ in range(size)]

    n_reps, n_partners = 300, 1000
    reps = pd.DataFrame(
        {
            "rep_id": [f"R{i:05d}" for i in range(n_reps)],
            "role": rng.choice(["outside", "inside"], n_reps, p=[0.45, 0.55]),
            "region": regions[np.arange(n_reps) % len(regions)],
            "industries": some(3, 6, industries, n_reps),
            "capacity": rng.integers(2_000, 6_000, n_reps),
            "active": rng.random(n_reps) > 0.03,
        }
    )
    partners = pd.DataFrame(
        {
            "partner_id": [f"P{i:05d}" for i in range(n_partners)],
            "regions": some(1, 3, regions, n_partners),
            "industries": some(2, 5, industries, n_partners),
            "tier": rng.choice(["platinum", "gold", "silver"], n_partners),
            "capacity": rng.integers(200, 1_200, n_partners),
            "active": rng.random(n_partners) > 0.03,
        }
    )
    # 20,000 locked accounts; owners mostly in the account's territory, a few conflicts
    n_accounts = 20_000
    acc_region = regions[rng.integers(0, len(regions), n_accounts)]
    acc_industry = industries[rng.integers(0, len(industries), n_accounts)]
    reps_by_region = {r: reps.loc[reps["region"] == r, "rep_id"].to_numpy() for r in regions}
    owner_rep = np.array([rng.choice(reps_by_region[r]) for r in acc_region], dtype=object)
    # the owning partner is registered for the account's region, except for ~1% (conflicts)
    partner_ids = partners["partner_id"].to_numpy()
    in_region = {r: partner_ids[partners["regions"].str.contains(r, regex=False).to_numpy()] for r in regions}
    owner_partner = np.array([rng.choice(in_region[r]) for r in acc_region], dtype=object)
    stray = rng.random(n_accounts) < 0.01
    owner_partner[stray] = partner_ids[rng.integers(0, n_partners, stray.sum())]
    account = rng.integers(0, n_accounts, n_opportunities)
    prospect = rng.random(n_opportunities) < 0.3
    region = np.where(prospect, regions[rng.integers(0, len(regions), n_opportunities)], acc_region[account])
    industry = np.where(prospect, industries[rng.integers(0, len(industries), n_opportunities)], acc_industry[account])
    route = rng.choice(["owner", "outside", "inside", "partner", "unrouted"], n_opportunities, p=[0.2, 0.15, 0.35, 0.25, 0.05])
    route = np.where(prospect & (route == "owner"), "inside", route)
    routes = pd.DataFrame(
        {
            "opportunity_id": [f"O{i:08d}" for i in rng.permutation(n_opportunities)],
            "account_id": pd.Series(np.where(prospect, None, [f"A{i:07d}" for i in account]), dtype="str"),
            "region": region,
            "industry": industry,
            "route": route,
            "owner_rep_id": pd.Series(np.where(prospect, None, owner_rep[account]), dtype="str"),
            "owner_partner_id": pd.Series(np.where(prospect, None, owner_partner[account]), dtype="str"),
            "est_amount": np.round(rng.lognormal(11, 1.2, n_opportunities), -2),
        }
    )
    return routes, reps, partners


def main(n: int = 1_000_000) -> None:
    routes, reps, partners = make_tables(n)
    start = time.perf_counter()
    result = assign_with_report(routes, reps, partners)
    elapsed = time.perf_counter() - start
    a = result.assignments
    print(f"assign_with_report: {n:,} opportunities, {len(reps)} reps, {len(partners)} partners: {elapsed:.2f} s "
          f"({n / elapsed:,.0f} opportunities/s)")
    print(a["status"].value_counts().to_string())
    print(a["status_reason"].value_counts(dropna=False).to_string())
    print(f"conflict rows: {len(result.conflicts):,}")
    over = (result.load["load_after"] > np.maximum(result.load["capacity"], result.load["load_before"])).sum()
    print(f"people over capacity: {over}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)

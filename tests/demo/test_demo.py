"""The demo database generator: deterministic, contract-clean, Pareto-shaped, causal, scalable."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from engine._errors import ConfigError
from engine.contract import CUSTOMER_DATABASE
from engine.demo import (
    DEMO_END_DATE,
    generate_demo_database,
    generate_demo_tables,
    top_revenue_share,
)
from engine.demo._tables import simulate_world
from engine.validate import validate_tables

SEED = 7


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    return generate_demo_tables(accounts=3_000, seed=SEED)


@pytest.fixture(scope="module")
def world():
    return simulate_world(8_000, SEED, DEMO_END_DATE)


def test_same_seed_gives_identical_frames():
    first = generate_demo_tables(accounts=300, seed=3)
    second = generate_demo_tables(accounts=300, seed=3)
    assert list(first) == list(second)
    for name in first:
        pd.testing.assert_frame_equal(first[name], second[name], check_exact=True)


def test_different_seed_gives_different_frames():
    first = generate_demo_tables(accounts=300, seed=3)
    other = generate_demo_tables(accounts=300, seed=4)
    assert not first["orders"]["amount"].equals(other["orders"]["amount"])
    assert not first["customers"]["region"].equals(other["customers"]["region"])


def test_tables_have_exactly_the_contract_columns(tables):
    assert set(tables) == set(CUSTOMER_DATABASE.table_names)
    for spec in CUSTOMER_DATABASE.tables:
        assert tuple(tables[spec.name].columns) == spec.column_names, spec.name


def test_generated_database_passes_the_contract_validator(tables):
    report = validate_tables(tables, as_of=DEMO_END_DATE)
    assert report.failures.empty, report.failures.head(20).to_string()
    assert report.n_quarantined == 0
    assert int(report.counts["valid"].sum()) == sum(len(t) for t in tables.values())


def test_keys_unique_and_references_resolve(tables):
    for spec in CUSTOMER_DATABASE.tables:
        frame = tables[spec.name]
        assert frame[spec.key].is_unique, spec.name
        for column in spec.columns:
            if column.references is None:
                continue
            target_table, target_column = column.references.split(".")
            values = frame[column.name].dropna()
            known = set(tables[target_table][target_column]) | set(column.references_or)
            assert values.isin(known).all(), f"{spec.name}.{column.name}"


def test_allowed_values_and_no_future_dates(tables):
    end = pd.Timestamp(DEMO_END_DATE)
    for spec in CUSTOMER_DATABASE.tables:
        frame = tables[spec.name]
        for column in spec.columns:
            values = frame[column.name]
            if not column.required:
                pass
            else:
                assert values.notna().all(), f"{spec.name}.{column.name} has nulls"
            if column.allowed is not None:
                items = values.dropna()
                if column.multi:
                    items = items.str.split(";").explode()
                assert items.isin(column.allowed).all(), f"{spec.name}.{column.name}"
            if column.type == "date":
                assert values.dtype == "datetime64[ns]", f"{spec.name}.{column.name}"
                assert (values.dropna() <= end).all(), f"{spec.name}.{column.name} after the end date"
        for check in spec.checks:
            assert not check.fails(frame).any(), f"{spec.name}: {check.name}"


def test_history_covers_three_years(tables):
    dates = tables["orders"]["order_date"]
    assert dates.min() >= pd.Timestamp("2023-10-01")
    assert dates.max() <= pd.Timestamp(DEMO_END_DATE)
    assert dates.max() >= pd.Timestamp(DEMO_END_DATE) - pd.Timedelta(days=7)


def test_public_sector_has_admin_levels_and_others_none(tables):
    customers = tables["customers"]
    public = customers["industry"].isin(["government", "education", "public_utilities", "military", "power"])
    assert customers.loc[public, "admin_level"].notna().all()
    assert customers.loc[~public, "admin_level"].isna().all()
    assert set(customers["region"]) == set(CUSTOMER_DATABASE["customers"].column("region").allowed)
    top_two = customers["industry"].value_counts().index[:2]
    assert set(top_two) == {"government", "education"}


def test_revenue_is_pareto_shaped(tables):
    share = top_revenue_share(tables["orders"], accounts=len(tables["customers"]))
    assert 0.72 <= share <= 0.88


def test_ten_orders_per_account_on_average(tables):
    per_account = len(tables["orders"]) / len(tables["customers"])
    assert 8.0 <= per_account <= 12.0


def test_counts_scale_with_accounts():
    small = generate_demo_tables(accounts=400, seed=1)
    large = generate_demo_tables(accounts=4_000, seed=1)
    for name in ("customers", "orders", "tickets", "contacts", "visits", "opportunities", "ownership", "partners"):
        ratio = len(large[name]) / len(small[name])
        assert 7.0 <= ratio <= 13.0, (name, ratio)
    # Books round up per region and role (18 x 2 positions at least), so small sizes have more reps
    # than accounts / 67; the count still grows with the accounts.
    assert large["reps"]["active"].sum() > 1.5 * small["reps"]["active"].sum()


def test_rep_and_partner_counts_follow_the_domain(tables):
    reps = tables["reps"]
    active = reps[reps["active"]]
    assert 3_000 / 90 <= len(active) <= 3_000 / 45
    assert set(reps["role"]) == {"outside", "inside"}
    assert len(tables["partners"]) == 150
    assert reps["manager_id"].isna().sum() >= 1


@pytest.mark.parametrize("accounts", [1, 2, 10])
def test_tiny_databases_are_valid(accounts):
    tables = generate_demo_tables(accounts=accounts, seed=0)
    assert len(tables["customers"]) == accounts
    report = validate_tables(tables, as_of=DEMO_END_DATE)
    assert report.failures.empty, report.failures.to_string()


@pytest.mark.parametrize("accounts", [0, -5, 2.5, True, "100"])
def test_bad_account_counts_are_config_errors(accounts):
    with pytest.raises(ConfigError, match="accounts must be"):
        generate_demo_tables(accounts=accounts)


def test_bad_end_date_is_a_config_error():
    with pytest.raises(ConfigError, match="ISO date"):
        generate_demo_tables(accounts=10, end_date="30/09/2026")


def test_end_date_moves_the_whole_history():
    tables = generate_demo_tables(accounts=200, seed=0, end_date="2025-03-15")
    end = pd.Timestamp("2025-03-15")
    for name, column in (("orders", "order_date"), ("visits", "visit_date"), ("tickets", "opened_date")):
        assert tables[name][column].max() <= end
    assert tables["orders"]["order_date"].min() >= pd.Timestamp("2022-04-01")


def test_deliberate_ownership_conflicts_are_exactly_as_documented():
    tables = generate_demo_tables(accounts=10_000, seed=0)
    customers, reps, partners = tables["customers"], tables["reps"], tables["partners"]
    inactive = set(reps.loc[~reps["active"], "rep_id"])
    departed_owners = set(customers.loc[customers["owner_rep_id"].isin(inactive), "owner_rep_id"])
    assert len(departed_owners) == 10_000 // 5_000
    licensed = partners.set_index("partner_id")["regions"].str.split(";")
    owner_regions = licensed.reindex(customers["owner_partner_id"]).to_numpy()
    outside_region = [region not in allowed for region, allowed in zip(customers["region"], owner_regions)]
    assert sum(outside_region) == 10_000 // 2_000
    assert partners.set_index("partner_id").loc[customers["owner_partner_id"], "active"].all()


def test_churn_is_preceded_by_its_signals(world):
    """Churned accounts had more complaints and key-person changes in the 6 months before churn."""
    ev, cal = world.events, world.calendar
    churn = ev.churn_month
    n = churn.size
    rng = np.random.default_rng(0)
    # Each churned account at month c >= 12 is compared at the same month with retained accounts.
    churned = np.flatnonzero(churn >= 12)
    retained = np.flatnonzero(churn < 0)
    assert churned.size > 300
    window_end = np.full(n, -1)
    window_end[churned] = churn[churned]
    window_end[retained] = rng.choice(churn[churned], size=retained.size)
    end_day = cal.month_start[np.minimum(window_end, cal.months - 1)] + 27
    start_day = end_day - 182

    def rate(account, day, mask):
        inside = mask & (day <= end_day[account]) & (day > start_day[account]) & (window_end[account] >= 0)
        counts = np.bincount(account[inside], minlength=n)
        return counts[churned].mean(), counts[retained].mean()

    t = ev.tickets
    churned_complaints, retained_complaints = rate(t["account"], t["opened"], t["kind"] == 0)
    assert churned_complaints > 1.5 * retained_complaints
    c = ev.contacts
    churned_key, retained_key = rate(c["account"], c["end"], c["level"] >= 1)
    assert churned_key > 1.3 * retained_key
    o = ev.opportunities
    lost_competitor = ~o["won"] & o["competitor"] & (o["planned_close"] <= cal.end_day)
    churned_lost, retained_lost = rate(o["account"], o["planned_close"], lost_competitor)
    assert churned_lost > 1.3 * retained_lost


def test_churned_accounts_stop_ordering(world):
    ev = world.events
    churned = np.flatnonzero(ev.churn_month >= 0)
    orders = ev.orders
    after = orders["month"].astype(int) > ev.churn_month[orders["account"]]
    assert not (after & (ev.churn_month[orders["account"]] >= 0)).any()
    assert churned.size > 0


def test_yearly_churn_and_win_rate_in_documented_band(world, tables):
    churn = world.events.churn_month
    old = world.accounts.created_month < 0
    yearly = 1.0 - (1.0 - ((churn >= 0) & old).sum() / old.sum()) ** (1 / 3)
    assert 0.06 <= yearly <= 0.13
    deals = tables["opportunities"]
    closed = deals[deals["outcome"] != "open"]
    win_rate = (closed["outcome"] == "won").mean()
    assert 0.33 <= win_rate <= 0.50


def test_win_depends_on_competitor_and_coverage(tables):
    deals = tables["opportunities"]
    closed = deals[deals["outcome"] != "open"]
    won = closed["outcome"] == "won"
    with_competitor = won[closed["competitor"].notna()].mean()
    without = won[closed["competitor"].isna()].mean()
    assert without - with_competitor > 0.10
    prospects = won[closed["account_id"].isna()].mean()
    accounts = won[closed["account_id"].notna()].mean()
    assert accounts > prospects


def test_open_opportunities_have_no_closed_date_and_prospects_name_a_territory(tables):
    deals = tables["opportunities"]
    is_open = deals["outcome"] == "open"
    assert deals.loc[is_open, "closed_date"].isna().all()
    assert (deals.loc[is_open, "stage"] != "closed").all()
    assert (deals.loc[~is_open, "stage"] == "closed").all()
    prospects = deals[deals["account_id"].isna()]
    assert len(prospects) > 0
    assert prospects[["prospect_name", "region", "industry"]].notna().all().all()


def test_contacts_cover_three_levels_with_key_person_changes(tables):
    contacts = tables["contacts"]
    assert set(contacts["level"]) == {"operations", "management", "decision"}
    ended = contacts[contacts["active_to"].notna()]
    assert ended["level"].isin(["management", "decision"]).sum() > 0


def test_generate_demo_database_writes_sqlite(tmp_path):
    path = tmp_path / "demo.sqlite"
    messages: list[str] = []
    summary = generate_demo_database(path, accounts=150, seed=2, progress=messages.append)
    assert summary.row_counts["customers"] == 150
    assert summary.file_size == path.stat().st_size > 0
    assert summary.end_date == dt.date(2026, 9, 30)
    assert 0.0 < summary.top20_revenue_share < 1.0
    assert summary.seconds >= summary.write_seconds > 0
    assert messages
    from engine.storage import Database

    with Database(path) as db:
        assert db.count_rows("orders") == summary.row_counts["orders"]
        assert db.count_rows("customers") == 150


def test_top_revenue_share_counts_accounts_without_orders():
    orders = pd.DataFrame({"account_id": ["a", "b"], "amount": [90.0, 10.0]})
    assert top_revenue_share(orders, accounts=10) == pytest.approx(1.0)
    assert top_revenue_share(orders) == pytest.approx(0.9)
    assert top_revenue_share(orders.iloc[:0], accounts=5) == 0.0

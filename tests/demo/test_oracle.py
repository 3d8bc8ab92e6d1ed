"""The oracle: the simulator's own probabilities, without changing the generated data."""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.demo import DEMO_END_DATE, generate_demo_tables
from engine.demo._oracle import churn_oracle, win_oracle
from engine.demo._tables import simulate_world


def test_hooks_draw_nothing_so_the_data_is_the_same():
    plain = simulate_world(300, 3, np.datetime64(DEMO_END_DATE))
    seen = []
    hooked = simulate_world(300, 3, np.datetime64(DEMO_END_DATE), observe_rates=lambda m, r: seen.append(m))
    assert seen == list(range(36))
    for name in ("orders", "opportunities", "tickets"):
        for column, values in getattr(plain.events, name).items():
            assert np.array_equal(values, getattr(hooked.events, name)[column], equal_nan=True), (name, column)


def test_churn_oracle_is_a_probability_and_knows_who_already_left():
    tables = generate_demo_tables(accounts=300, seed=3)
    as_of = pd.Timestamp("2025-06-30")
    truth = churn_oracle(300, 3, DEMO_END_DATE, [as_of], replicates=3)
    assert len(truth) == 300 and truth["probability"].between(0, 1).all()
    orders = tables["orders"]
    window = orders[(orders["order_date"] >= as_of) & (orders["order_date"] < as_of + pd.Timedelta(days=180))]
    bought = truth["account_id"].isin(window["account_id"])
    # accounts that did buy had a lower true chance of not buying than those that did not
    assert truth.loc[bought, "probability"].mean() < truth.loc[~bought, "probability"].mean() - 0.2


def test_win_oracle_matches_the_outcomes_on_average():
    tables = generate_demo_tables(accounts=600, seed=4)
    truth = win_oracle(600, 4, DEMO_END_DATE, tables["opportunities"])
    closed = tables["opportunities"]["outcome"].isin(["won", "lost"]).to_numpy()
    won = (tables["opportunities"]["outcome"] == "won").to_numpy()[closed]
    merged = tables["opportunities"][["opportunity_id"]].merge(truth, on="opportunity_id")
    p = merged["probability"].to_numpy()[closed]
    assert abs(p.mean() - won.mean()) < 0.03
    assert p[won].mean() > p[~won].mean()

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


def _decided_with_truth(accounts: int, seed: int) -> pd.DataFrame:
    tables = generate_demo_tables(accounts=accounts, seed=seed)
    truth = win_oracle(accounts, seed, DEMO_END_DATE, tables["opportunities"])
    deals = tables["opportunities"].merge(truth, on="opportunity_id", validate="one_to_one")
    deals = deals[deals["outcome"].isin(["won", "lost"])]
    return pd.DataFrame({"won": (deals["outcome"] == "won").to_numpy(dtype=float),
                         "probability": deals["probability"].to_numpy()})


def test_win_oracle_is_the_probability_of_the_drawn_outcome_across_seeds_and_levels():
    # Pooled over independent databases, the realised win rate must match the oracle's mean
    # overall and within each fifth of its probabilities, to sampling noise (|z| < 4). The
    # 20,000-account seed-0 demo runs 2.6 standard errors above its oracle (docs/models.md);
    # this says that is the draw, not the oracle (pooled over seeds 1-8 of that size the realised
    # rate is 0.4105 against the oracle's 0.4119). A logit read from the wrong deal fails here:
    # the levels go flat (|z| of 5-17 in the outer fifths).
    deals = pd.concat([_decided_with_truth(500, seed) for seed in range(6)], ignore_index=True)
    assert len(deals) > 3_000

    def z(part: pd.DataFrame) -> float:
        p = part["probability"].to_numpy()
        return float((part["won"].mean() - p.mean()) / (np.sqrt((p * (1 - p)).sum()) / len(p)))

    assert abs(z(deals)) < 4
    fifths = pd.qcut(deals["probability"], 5, labels=False)
    scores = [z(deals[fifths == k]) for k in range(5)]
    assert max(map(abs, scores)) < 4, scores
    spread = deals.groupby(fifths)["won"].mean()
    assert spread.iloc[-1] - spread.iloc[0] > 0.25  # the levels are real, not one rate for all

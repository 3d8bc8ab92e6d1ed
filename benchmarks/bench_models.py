"""Benchmark of the churn/win models: accuracy, calibration and speed.

Run: ``python benchmarks/bench_models.py [--quick]``; ``--demo`` instead trains on the
20,000-account demo database exactly as ``kam train`` does and prints, out of time, ours vs
plain HGB vs plain LR fitted on the same training rows, each as a share of the oracle (the
simulator's true probabilities, ``engine.demo._oracle``), the selection score next to the
out-of-time score, and the training seconds with the load average. With ``--demo``,
``--churn-level nowcast`` re-levels churn to the label windows still open at each training
cut-off (measured, not shipped; docs/models.md). ``--folds``, ``--win-oracle-seeds`` and
``--demo-seeds`` print the diagnostics behind docs/models.md's selection-fold table and win-oracle checks
(``benchmarks/_models_demo.py``).

For every data set the script compares, by stratified 3-fold outer cross-validation (pooled
out-of-fold predictions, the model never sees the rows it is scored on):

* ``LR``   - a plain, reasonably set-up logistic regression: median imputation, one-hot
  categories, standard scaling, C=1;
* ``HGB``  - HistGradientBoostingClassifier with default settings and native categories;
* ``HGB-1h`` - the same behind a one-hot encoder (the baseline of the telecom comparison in
  the models issue);
* ``ours`` - :class:`engine.models.ChurnModel` with default settings on the raw frame;

and prints ROC AUC of each, the ECE (10 equal-width bins) of ours, the ECE a perfectly
calibrated model would show on the same number of rows (sampling noise floor), the candidate
ours chose, and its mean fit time. It then times scoring 1,000,000 rows x 47 columns for each
candidate type (logistic, boosting with early stopping, 200-tree boosting like the demo model,
also with ``n_jobs=1``, blend; median of ``--repeats`` runs, with the load average, since the 2-core machine is
shared), top-3 reasons for 10,000 rows, and training on a 360,000-row frame (20,000 accounts
x 18 monthly as-of dates, the demo database's training size). ``--speed-only`` skips the
accuracy table.

Data sets: sklearn's bundled real data (breast cancer, digits 0-4 vs 5-9, wine class 0 vs rest,
diabetes progression above median) and synthetic churn-like frames with numeric, skewed,
categorical (incl. high-cardinality), boolean and datetime columns, missing values, an id column
and a constant column; one with 8% positives.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_wine
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._models_demo import (  # noqa: E402
    demo_seeds,
    fold_diagnostics,
    nowcast_relevel,
    shifted,
    win_oracle_seeds,
)
from engine.models import (  # noqa: E402
    ChurnModel,
    calibration_error_against_truth,
    calibration_noise,
    expected_calibration_error,
)

#: The shipped model specs.
MODELS = Path(__file__).resolve().parents[1] / "models"


def churn_like(n: int, positive_rate: float, seed: int, n_numeric: int = 25) -> tuple[pd.DataFrame, np.ndarray]:
    """A churn-like frame with ~40 mixed columns and a non-linear, interacting signal."""
    rng = np.random.default_rng(seed)
    data: dict[str, object] = {"account_id": [f"ACC{seed}-{i:07d}" for i in range(n)]}
    latent = np.zeros(n)
    for j in range(n_numeric):
        kind = j % 5
        if kind == 0:
            x = rng.lognormal(3, 1.2, n)            # revenue-like, skewed
            latent += 0.6 * (j < 10) * -np.log1p(x) / 3
        elif kind == 1:
            x = rng.poisson(1.5, n).astype(float)   # counts (complaints, tickets)
            latent += 0.5 * (j < 12) * np.minimum(x, 4) / 2
        elif kind == 2:
            x = rng.normal(0, 1, n)
            latent += 0.4 * (j < 15) * np.sin(2 * x)
        elif kind == 3:
            x = rng.uniform(0, 365, n)              # days since something
            latent += (j < 15) * 0.8 * (x > 200)
        else:
            x = rng.normal(0, 1, n)                 # noise
        if j % 3 == 0:
            x = np.where(rng.random(n) < 0.08, np.nan, x)
        data[f"num_{j:02d}"] = x
    region = rng.choice([f"region_{k}" for k in range(18)], n)
    industry = rng.choice([f"ind_{k}" for k in range(11)], n, p=np.r_[0.3, 0.2, [0.5 / 9] * 9])
    partner = rng.choice([f"partner_{k}" for k in range(300)], n)
    tier = rng.choice(["A", "B", "C"], n, p=[0.1, 0.3, 0.6])
    level = rng.choice(["central", "provincial", "municipal", "county", None], n)
    data.update(region=region, industry=industry, partner=partner, tier=tier, admin_level=level)
    region_effect = dict(zip(sorted(set(region)), rng.normal(0, 0.4, 18)))
    partner_effect = dict(zip(sorted(set(partner)), rng.normal(0, 0.5, 300)))
    latent += np.vectorize(region_effect.get)(region) + np.vectorize(partner_effect.get)(partner)
    latent += 0.5 * (tier == "C")
    flags = rng.random((n, 4)) < [0.2, 0.5, 0.1, 0.3]
    for k in range(4):
        data[f"flag_{k}"] = flags[:, k]
    latent += 0.7 * flags[:, 0] * (tier != "A") - 0.4 * flags[:, 2]
    as_of = pd.Timestamp("2025-06-30")
    last_order = as_of - pd.to_timedelta(rng.exponential(60, n).astype(int), unit="D")
    data["last_order_date"] = last_order
    data["contract_start"] = as_of - pd.to_timedelta(rng.integers(30, 3000, n), unit="D")
    latent += 0.9 * np.log1p((as_of - last_order).days.to_numpy()) / 3
    data["currency"] = "CNY"
    X = pd.DataFrame(data)
    # intercept by bisection so the positive rate is as asked
    lo, hi = -20.0, 20.0
    for _ in range(60):
        mid = (lo + hi) / 2
        rate = (1 / (1 + np.exp(-(1.6 * (latent - latent.mean()) + mid)))).mean()
        lo, hi = (mid, hi) if rate < positive_rate else (lo, mid)
    p = 1 / (1 + np.exp(-(1.6 * (latent - latent.mean()) + lo)))
    y = (rng.random(n) < p).astype(int)
    return X, y


def datasets(quick: bool):
    bc = load_breast_cancer(as_frame=True)
    yield "breast_cancer (real, 569 rows)", bc.data, bc.target.to_numpy()
    digits = load_digits(as_frame=True)
    yield "digits 0-4 vs 5-9 (real, 1797)", digits.data, (digits.target.to_numpy() >= 5).astype(int)
    wine = load_wine(as_frame=True)
    yield "wine class 0 vs rest (real, 178)*", wine.data, (wine.target.to_numpy() == 0).astype(int)
    diab = load_diabetes(as_frame=True, scaled=False)
    target = diab.target.to_numpy()
    yield "diabetes > median (real, 442)", diab.data, (target > np.median(target)).astype(int)
    yield "churn-like mixed, 30% pos (5,000)", *churn_like(5_000, 0.30, seed=1)
    yield "churn-like mixed, 8% pos (20,000)", *churn_like(5_000 if quick else 20_000, 0.08, seed=2)


def plain_lr(X: pd.DataFrame):
    cats = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c]) or X[c].dtype == bool]
    nums = [c for c in X.columns if c not in cats]
    return make_pipeline(
        ColumnTransformer([
            ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), nums),
            ("cat", OneHotEncoder(handle_unknown="ignore"), cats),
        ]),
        LogisticRegression(C=1.0, max_iter=5000),
    )


def plain_hgb(X: pd.DataFrame):
    cats = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c]) or X[c].dtype == bool]
    nums = [c for c in X.columns if c not in cats]
    return make_pipeline(
        ColumnTransformer([
            ("num", "passthrough", nums),
            ("cat", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan,
                                   encoded_missing_value=np.nan, max_categories=250), cats),
        ]),
        HistGradientBoostingClassifier(categorical_features=[False] * len(nums) + [True] * len(cats),
                                       random_state=0),
    )


def plain_hgb_onehot(X: pd.DataFrame):
    """The telecom issue's baseline: default HGB behind a one-hot encoder."""
    cats = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c]) or X[c].dtype == bool]
    nums = [c for c in X.columns if c not in cats]
    return make_pipeline(
        ColumnTransformer([
            ("num", "passthrough", nums),
            ("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), cats),
        ]),
        HistGradientBoostingClassifier(random_state=0),
    )


def baseline_frame(X: pd.DataFrame) -> pd.DataFrame:
    """What a user would hand the plain baselines: datetimes as day numbers, no id column."""
    out = X.drop(columns=[c for c in ("account_id", "currency") if c in X.columns])
    for c in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[c]):
            out[c] = (out[c] - pd.Timestamp("2000-01-01")).dt.days.astype(float)
        elif out[c].dtype == bool:
            out[c] = out[c].astype(float)
        elif not pd.api.types.is_numeric_dtype(out[c]):
            out[c] = out[c].astype(object).where(out[c].notna(), "missing")
    return out


def compare(name: str, X: pd.DataFrame, y: np.ndarray, small_minimums: bool) -> None:
    """Ours vs plain LR / default HGB / HGB behind one-hot on the same 3 outer folds.

    ROC AUC is the mean over the outer folds (what ``cross_val_score`` reports: each fold's
    model ranks its own rows). The pooled out-of-fold AUC is printed too: it also compares
    rows scored by different fold models, so three differently calibrated fold models lose a
    little there even when each ranks exactly as the baseline does (wine: the same logistic
    regression on every fold, 0.9996 per fold for both, pooled 0.9936 vs 0.9984).
    """
    folds = list(StratifiedKFold(3, shuffle=True, random_state=0).split(X, y))
    oof = {k: np.empty(len(y)) for k in ("LR", "HGB", "HGB-1h", "ours")}
    fit_seconds, chosen = [], []
    base = baseline_frame(X)
    for train, test in folds:
        for key, make in (("LR", plain_lr), ("HGB", plain_hgb), ("HGB-1h", plain_hgb_onehot)):
            model = make(base).fit(base.iloc[train], y[train])
            oof[key][test] = model.predict_proba(base.iloc[test])[:, 1]
        kwargs = {"min_rows": 50, "min_class_count": 10} if small_minimums else {}
        start = time.perf_counter()
        ours = ChurnModel(**kwargs).fit(X.iloc[train], y[train])
        fit_seconds.append(time.perf_counter() - start)
        oof["ours"][test] = ours.predict_proba(X.iloc[test])[:, 1]
        chosen.append(ours.selected_candidate_.split("(")[0] + ("+cal:" + ours.calibration_method_[:3]))
    aucs = {k: np.mean([roc_auc_score(y[test], v[test]) for _, test in folds]) for k, v in oof.items()}
    pooled = roc_auc_score(y, oof["ours"])
    ece = expected_calibration_error(y, oof["ours"])
    floor = calibration_noise(oof["ours"])["mean"]
    best = max(aucs["LR"], aucs["HGB"], aucs["HGB-1h"])
    print(f"{name:<38} {aucs['LR']:.4f} {aucs['HGB']:.4f} {aucs['HGB-1h']:.4f} {aucs['ours']:.4f} "
          f"{aucs['ours'] - best:+.4f} {aucs['ours'] - aucs['LR']:+.4f} {aucs['ours'] - aucs['HGB']:+.4f} "
          f"{pooled:.4f} {ece:.4f} {floor:.4f} {np.mean(fit_seconds):6.1f}s  {','.join(sorted(set(chosen)))}")


def _floor(frame: pd.DataFrame, kind: str, column: str = "probability") -> dict[str, float]:
    groups = frame["opportunity_id"].to_numpy() if kind == "win" else None
    return calibration_noise(frame[column].to_numpy(), groups)


def demo(accounts: int, replicates: int, origins: int, churn_level: str = "history",
         spec_dir: Path = MODELS) -> None:
    """kam train on the demo database vs plain HGB and LR on the same rows, and the oracle.

    ``origins`` rolling origins: training is replayed as if the data ended 0, 3, 6, ... months
    earlier (``train_model(data_end=...)``), each validated on its own 3 as-of dates strictly
    after its training labels; the pooled windows give an ECE with a noise floor small enough
    to read (one window of win holds ~3,700 rows of ~2,600 deals: a perfectly calibrated model
    shows ECE ~0.018 there by chance). ``churn_level="nowcast"`` re-levels the trained churn
    model at each origin to the nowcast of the label windows still open at its training cut-off
    (``_models_demo.nowcast_relevel``: the experiment kam measured and does not ship).
    ``spec_dir`` holds the churn.yaml and win.yaml trained (default: the shipped ``models/``).
    """
    import tempfile

    from engine.demo import generate_demo_tables
    from engine.demo._oracle import demo_oracle
    from engine.features import (
        build_churn_training_frame,
        build_win_training_frame,
        data_end_date,
    )
    from engine.models import evaluate, load_model, load_model_spec
    from engine.pipeline import train_model
    from engine.pipeline._train import training_rows

    tables = generate_demo_tables(accounts=accounts, seed=0)
    oracle = demo_oracle(accounts, 0, replicates=replicates)
    end = data_end_date(tables)
    print(f"demo database, {accounts:,} accounts, seed 0; load average {os.getloadavg()[0]:.1f} at start "
          f"(2 shared cores)")
    print(f"{'model':<6} {'origin':<10} {'who':<10} {'ROC AUC':>8} {'/oracle':>8} {'Brier':>7} {'/oracle':>8} "
          f"{'ECE':>7} {'floor':>6} {'p95':>6} {'<=.02':>6} {'ECE-q':>6} {'selection':>9} {'fit s':>6}")
    for kind in ("churn", "win"):
        pooled = []
        for back in range(origins):
            data_end = end - pd.DateOffset(months=3 * back) if back else None
            origin = str((data_end or end).date())
            with tempfile.TemporaryDirectory() as folder:
                start = time.perf_counter()
                spec = load_model_spec(spec_dir / f"{kind}.yaml")
                result = train_model(tables, kind, spec=spec, artifacts_dir=folder, oracle=oracle,
                                     data_end=data_end)
                total = time.perf_counter() - start
                card, valid_rows = result.card, result.validation
                shift = None
                if kind == "churn" and churn_level == "nowcast":
                    model = load_model(next((Path(folder) / "candidates").iterdir()), "churn")
                    shift = nowcast_relevel(tables, model, spec, data_end or end, oracle, origin)
                    mean_before = valid_rows["probability"].mean()
                    ece_before = result.metrics["ece"]
                    valid_rows = valid_rows.assign(probability=shifted(valid_rows["probability"].to_numpy(), shift))
                    result = dataclasses.replace(result, metrics=evaluate(valid_rows["label"], valid_rows["probability"]))
            truth = oracle(kind, valid_rows, tables)
            valid_rows = valid_rows.assign(oracle=truth)
            pooled.append(valid_rows)
            best = evaluate(valid_rows["label"], truth)
            rows = {"ours": (result.metrics, card.validation.get("selection_roc_auc"), result.seconds["fit"])}
            if back == 0:  # the plain baselines on the same rows as the published model
                spec = load_model_spec(spec_dir / f"{kind}.yaml")
                dates = spec.as_of_dates(end)
                X, y, meta = (build_churn_training_frame(tables, dates, spec.horizon_days) if kind == "churn"
                              else build_win_training_frame(tables, dates))
                train, valid = training_rows(kind, spec, meta, spec.validation_start(end))
                y = y.to_numpy()
                base = baseline_frame(X)
                for name, make in (("plain HGB", plain_hgb), ("plain LR", plain_lr)):
                    tick = time.perf_counter()
                    model = make(base).fit(base[train], y[train])
                    rows[name] = (evaluate(y[valid], model.predict_proba(base[valid])[:, 1]), None,
                                  time.perf_counter() - tick)
            floor = _floor(valid_rows, kind)
            for who, (metrics, selection, seconds) in rows.items():
                selection_text = f"{selection:9.4f}" if selection is not None else f"{'':>9}"
                print(f"{kind:<6} {origin:<10} {who:<10} {metrics['roc_auc']:8.4f} "
                      f"{metrics['roc_auc'] / best['roc_auc']:8.1%} {metrics['brier']:7.4f} "
                      f"{metrics['brier'] / best['brier']:8.2f} {metrics['ece']:7.4f} {floor['mean']:6.4f} "
                      f"{floor['p95']:6.4f} {floor['share_within_target']:6.0%} {metrics['ece_quantile']:6.4f} "
                      f"{selection_text} {seconds:6.1f}")
            against = calibration_error_against_truth(truth, valid_rows["probability"])
            print(f"{kind:<6} {origin:<10} level: mean probability {valid_rows['probability'].mean():.4f}, realised "
                  f"{valid_rows['label'].mean():.4f}, oracle {np.nanmean(truth):.4f}; ECE against the true "
                  f"probabilities {against:.4f}"
                  + (f"; nowcast level (history level: mean {mean_before:.4f}, ECE {ece_before:.4f}; "
                     f"log-odds shift {shift:+.3f})"
                     if shift is not None else "; level from the labelled history"))
            oracle_floor = _floor(valid_rows, kind, "oracle")
            print(f"{kind:<6} {origin:<10} {'oracle':<10} {best['roc_auc']:8.4f} {'100.0%':>8} {best['brier']:7.4f} "
                  f"{'1.00':>8} {best['ece']:7.4f} {oracle_floor['mean']:6.4f} {oracle_floor['p95']:6.4f} "
                  f"{oracle_floor['share_within_target']:6.0%} {best['ece_quantile']:6.4f}   ({len(valid_rows):,} rows; ours: {card.selected_candidate[:50]}, "
                  f"{card.calibration}; train_model {total:.1f} s incl. oracle)")
        if origins > 1:
            rows = pd.concat(pooled, ignore_index=True)
            ours, best = evaluate(rows["label"], rows["probability"]), evaluate(rows["label"], rows["oracle"])
            floor, oracle_floor = _floor(rows, kind), _floor(rows, kind, "oracle")
            print(f"{kind:<6} {'pooled':<10} {'ours':<10} {ours['roc_auc']:8.4f} {ours['roc_auc'] / best['roc_auc']:8.1%} "
                  f"{ours['brier']:7.4f} {ours['brier'] / best['brier']:8.2f} {ours['ece']:7.4f} {floor['mean']:6.4f} "
                  f"{floor['p95']:6.4f} {floor['share_within_target']:6.0%} {ours['ece_quantile']:6.4f}   "
                  f"({len(rows):,} rows, {origins} origins; mean probability {rows['probability'].mean():.4f}, "
                  f"realised {rows['label'].mean():.4f}, oracle {rows['oracle'].mean():.4f}; ECE against the true "
                  f"probabilities {calibration_error_against_truth(rows['oracle'], rows['probability']):.4f})")
            print(f"{kind:<6} {'pooled':<10} {'oracle':<10} {best['roc_auc']:8.4f} {'100.0%':>8} {best['brier']:7.4f} "
                  f"{'1.00':>8} {best['ece']:7.4f} {oracle_floor['mean']:6.4f} {oracle_floor['p95']:6.4f} "
                  f"{oracle_floor['share_within_target']:6.0%} {best['ece_quantile']:6.4f}")
    print(f"load average {os.getloadavg()[0]:.1f} at the end. Brier /oracle: model / oracle (1.00 = the ceiling). "
          "ECE: 10 equal-width bins; floor / p95: mean and 95th percentile of the ECE of a perfectly calibrated "
          "model on the same rows (outcomes drawn from the probabilities; win: one outcome per deal); <=.02: how "
          "often such a model shows ECE <= 0.02 there; "
          "ECE-q: 10 quantile bins.")


def _decayed(tables, meta: pd.DataFrame, table: str, account: str, date: str, weight: np.ndarray,
             half_life_days: float) -> np.ndarray:
    """Per training row: the sum over the account's events before the as-of date of
    ``weight * 0.5 ** (age / half_life_days)`` - an exponentially decayed count."""
    frame = tables[table]
    index = {a: i for i, a in enumerate(tables["customers"]["account_id"])}
    days = pd.to_datetime(frame[date], errors="coerce")
    ok = (days.notna() & frame[account].isin(index)).to_numpy()
    codes = frame[account][ok].map(index).to_numpy()
    days, weight = days[ok].to_numpy(), np.asarray(weight, dtype=float)[ok]
    rows_as_of = pd.to_datetime(meta["as_of"]).to_numpy()
    row_codes = meta["account_id"].map(index).to_numpy()
    out = np.zeros(len(meta))
    for as_of in np.unique(rows_as_of):
        before = days < as_of
        age = (as_of - days[before]) / np.timedelta64(1, "D")
        sums = np.bincount(codes[before], weights=weight[before] * 0.5 ** (age / half_life_days),
                           minlength=len(index))
        here = rows_as_of == as_of
        out[here] = sums[row_codes[here]]
    return out


def ceiling(accounts: int, replicates: int) -> None:
    """Why churn stops near 90% of the oracle: the features, more features, and a hidden state.

    Default HGB on the churn training frame's numeric columns, out of time, (a) as kam builds
    them; (b) plus exponentially decayed signals derived from the tables (complaints, long
    resolutions and poor ratings; lost deals weighted by a named competitor; owner changes;
    management/decision contacts leaving; orders and visits) - what the simulator's hazard
    accumulates, rebuilt from recorded events only; (c) plus the simulator's hidden state "this
    account has already churned at the as-of date" (not in any table: it only shows as orders
    that stop). (c) is not a feature anyone could build; it measures what is out of reach.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier

    from engine.demo import _params as params
    from engine.demo import generate_demo_tables
    from engine.demo._oracle import demo_oracle
    from engine.demo._tables import _as_end_date, simulate_world
    from engine.features import build_churn_training_frame, data_end_date
    from engine.models import load_model_spec
    from engine.pipeline._train import training_rows

    tables = generate_demo_tables(accounts=accounts, seed=0)
    end = data_end_date(tables)
    spec = load_model_spec(Path(__file__).resolve().parents[1] / "models" / "churn.yaml")
    X, y, meta = build_churn_training_frame(tables, spec.as_of_dates(end), spec.horizon_days)
    train, valid = training_rows("churn", spec, meta, spec.validation_start(end))
    y = y.to_numpy()
    truth = demo_oracle(accounts, 0, replicates=replicates)("churn", meta.loc[valid].reset_index(drop=True), tables)
    best = roc_auc_score(y[valid], truth)
    tickets, opportunities = tables["tickets"], tables["opportunities"]
    points = ((tickets["kind"] == "complaint") * 1.0 + (tickets["resolution_hours"] > 72) * 0.6
              + (tickets["satisfaction"] <= 2) * 0.3).to_numpy()
    lost = np.where(opportunities["competitor"].notna(), 1.0, 0.3) * (opportunities["outcome"] == "lost").to_numpy()
    key = tables["contacts"]["level"].isin(["management", "decision"]).to_numpy() * 1.0
    signals = pd.DataFrame({
        "trouble_points": _decayed(tables, meta, "tickets", "account_id", "opened_date", points, 300),
        "lost_deal_points": _decayed(tables, meta, "opportunities", "account_id", "closed_date", lost, 300),
        "owner_changes": _decayed(tables, meta, "ownership", "account_id", "start_date",
                                  np.ones(len(tables["ownership"])), 300),
        "key_contacts_left": _decayed(tables, meta, "contacts", "account_id", "active_to", key, 300),
        "orders_90": _decayed(tables, meta, "orders", "account_id", "order_date", np.ones(len(tables["orders"])), 90),
        "orders_180": _decayed(tables, meta, "orders", "account_id", "order_date", np.ones(len(tables["orders"])), 180),
        "visits_180": _decayed(tables, meta, "visits", "account_id", "visit_date", np.ones(len(tables["visits"])), 180),
    })
    world = simulate_world(accounts, 0, _as_end_date(params.DEMO_END_DATE))
    churn_month = world.events.churn_month[meta["account_id"].str[1:].astype(int).to_numpy()]
    day = pd.to_datetime(meta["as_of"]).to_numpy().astype("datetime64[D]").astype(np.int64)
    month = np.searchsorted(world.calendar.month_start, day, side="right") - 1
    hidden = ((churn_month >= 0) & (churn_month <= month)).astype(float)
    numeric = X.select_dtypes("number").reset_index(drop=True)
    print(f"churn ceiling diagnosis, {accounts:,} accounts; default HGB on {int(train.sum()):,} training rows, "
          f"{int(valid.sum()):,} out-of-time rows; oracle ROC AUC {best:.4f}; load average {os.getloadavg()[0]:.1f}")
    for label, frame in (("kam's numeric features", numeric),
                         ("+ decayed signals from the tables", pd.concat([numeric, signals], axis=1)),
                         ("+ hidden 'already churned' state", pd.concat([numeric, signals], axis=1).assign(
                             churned_already=hidden))):
        model = HistGradientBoostingClassifier(random_state=0).fit(frame[train], y[train])
        auc = roc_auc_score(y[valid], model.predict_proba(frame[valid])[:, 1])
        print(f"  {label:<36} ROC AUC {auc:.4f}  {auc / best:6.1%} of the oracle")


def _timed_scoring(label: str, model, frame: pd.DataFrame, repeats: int) -> None:
    model.predict_proba(frame.iloc[:1000])  # warm-up: first large allocations of the process
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.predict_proba(frame)
        times.append(time.perf_counter() - start)
    print(f"  predict_proba on {len(frame):,} rows, {label}: median {np.median(times):.2f} s "
          f"(min {min(times):.2f}, runs {len(times)}; load average {os.getloadavg()[0]:.1f})")


def speed(quick: bool, repeats: int = 3) -> None:
    print("\nspeed")
    X, y = churn_like(20_000, 0.10, seed=3, n_numeric=34)  # 47 columns, 45 used (~ churn features)
    start = time.perf_counter()
    model = ChurnModel().fit(X, y)
    print(f"  fit on 20,000 rows x {X.shape[1]} columns: {time.perf_counter() - start:.1f} s "
          f"(chose {model.selected_candidate_}, calibration {model.calibration_method_})")
    n_score = 200_000 if quick else 1_000_000
    big = X.sample(n_score, replace=True, random_state=0).reset_index(drop=True)
    _timed_scoring(f"default model ({model.selected_candidate_})", model, big, repeats)
    logistic = ChurnModel(candidates={"logistic": [{"numeric_encoding": "spline", "C": 0.1}]},
                          blend=False).fit(X, y)
    _timed_scoring("logistic (spline) only", logistic, big, repeats)
    boosting = ChurnModel(candidates={"hist_gradient_boosting": [{}]}, blend=False).fit(X, y)
    trees = boosting.estimators_[0][-1].n_iter_
    _timed_scoring(f"boosting only (defaults, early stopping: {trees} trees)", boosting, big, repeats)
    # The demo database's model: 200 trees of 31 leaves, no early stopping.
    boosting_200 = ChurnModel(candidates={"hist_gradient_boosting": [
        {"max_iter": 200, "early_stopping": False}]}, blend=False).fit(X, y)
    _timed_scoring("boosting only (200 trees, like the demo model)", boosting_200, big, repeats)
    # n_jobs="auto" (the default) scores 1M rows on every core; the same on one thread:
    _timed_scoring("boosting only (200 trees), n_jobs=1", copy.deepcopy(boosting_200).set_params(
        n_jobs=1), big, repeats)
    # A blend scores both members; selection picks it on its own merits, so for timing its two
    # members are taken from the single-family fits above.
    blend = copy.deepcopy(logistic)
    blend.estimators_ = logistic.estimators_ + boosting_200.estimators_
    _timed_scoring("blend (logistic + 200-tree boosting)", blend, big, repeats)
    riskiest = X.iloc[:10_000]
    for label, explained in (("default model", model), ("200-tree boosting", boosting_200)):
        start = time.perf_counter()
        reasons = explained.explain(riskiest, top=3)
        print(f"  explain top-3 for {len(riskiest):,} rows x {len(explained.feature_types_)} used "
              f"features, {label}: {time.perf_counter() - start:.2f} s ({len(reasons):,} reasons)")
    if quick:
        return
    parts = [churn_like(20_000, 0.10, seed=100 + k) for k in range(18)]
    snapshots = pd.concat([frame for frame, _ in parts], ignore_index=True)
    labels = np.concatenate([target for _, target in parts])
    start = time.perf_counter()
    model = ChurnModel().fit(snapshots, labels)
    print(f"  fit on {len(snapshots):,} rows (20,000 accounts x 18 as-of dates; selection and "
          f"calibration on {model.n_selection_rows_:,}): {time.perf_counter() - start:.1f} s "
          f"(chose {model.selected_candidate_})")


def _seeds(text: str) -> list[int]:
    first, _, last = text.partition("-")
    return list(range(int(first), int(last or first) + 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller data, skip the 360k fit")
    parser.add_argument("--skip-speed", action="store_true", help="accuracy table only")
    parser.add_argument("--speed-only", action="store_true",
                        help="timings only (scoring per candidate type, reasons, training)")
    parser.add_argument("--repeats", type=int, default=3, help="scoring runs per model (median)")
    parser.add_argument("--demo", action="store_true",
                        help="the demo database: kam train vs plain HGB and LR out of time, against the oracle")
    parser.add_argument("--demo-accounts", type=int, default=20_000)
    parser.add_argument("--ceiling", action="store_true",
                        help="churn: what more features, and a hidden state, add out of time (vs the oracle)")
    parser.add_argument("--replicates", type=int, default=16, help="churn oracle re-simulations per as-of date")
    parser.add_argument("--churn-level", choices=("history", "nowcast"), default="history",
                        help="--demo: 'nowcast' re-levels churn to the open label windows at each origin "
                        "(measured, not shipped; docs/models.md), printing each open date's nowcast")
    parser.add_argument("--folds", action="store_true",
                        help="churn: plain HGB on each forward selection fold at each origin, grouped and ungrouped, "
                        "and with kam's categories (native splits or ordinal numbers)")
    parser.add_argument("--win-oracle-seeds", metavar="FIRST-LAST",
                        help="the win oracle's mean against the drawn outcomes on demo databases of these seeds")
    parser.add_argument("--demo-seeds", metavar="FIRST-LAST",
                        help="the shipped churn and win specs on demo databases of these seeds (latest origin), "
                        "ECE also against the true probabilities")
    parser.add_argument("--only", choices=("churn", "win"), help="--demo-seeds: one model only")
    parser.add_argument("--spec-dir", type=Path, default=MODELS,
                        help="--demo, --demo-seeds, --folds: the folder of the churn.yaml and win.yaml to train "
                        "(default: the shipped models/)")
    parser.add_argument("--origins", type=int, default=3,
                        help="--demo: rolling origins (training replayed 0, 3, 6 ... months earlier), pooled")
    args = parser.parse_args()
    if args.only and not args.demo_seeds:
        parser.error("--only applies to --demo-seeds; add --demo-seeds FIRST-LAST or drop --only")
    if args.speed_only:
        speed(args.quick, args.repeats)
        return
    if args.ceiling:
        ceiling(args.demo_accounts, args.replicates)
        return
    if args.folds:
        from engine.demo import generate_demo_tables
        from engine.features import data_end_date
        from engine.models import load_model_spec

        tables = generate_demo_tables(accounts=args.demo_accounts, seed=0)
        end = data_end_date(tables)
        spec = load_model_spec(args.spec_dir / "churn.yaml")
        for back in range(args.origins):
            fold_diagnostics(tables, spec, end - pd.DateOffset(months=3 * back) if back else end)
        return
    if args.win_oracle_seeds:
        win_oracle_seeds(args.demo_accounts, _seeds(args.win_oracle_seeds))
        return
    if args.demo_seeds:
        demo_seeds(args.demo_accounts, _seeds(args.demo_seeds), args.replicates, args.spec_dir,
                   ("churn", "win") if args.only is None else (args.only,))
        return
    if args.demo:
        demo(args.demo_accounts, args.replicates, args.origins, args.churn_level, args.spec_dir)
        return
    print(f"load average {os.getloadavg()[0]:.1f} (2 shared cores). ROC AUC: mean over 3 stratified outer folds "
          "(the same folds for every model)")
    print(f"{'data set':<38} {'LR':>6} {'HGB':>6} {'HGB-1h':>6} {'ours':>6} {'vs best':>7} {'vs LR':>7} "
          f"{'vs HGB':>7} {'pooled':>6} {'ECE':>6} {'floor':>6} {'fit':>7}  chosen")
    for name, X, y in datasets(args.quick):
        compare(name, X, y, small_minimums=len(y) < 300 or np.bincount(y).min() * 2 / 3 < 40)
    print("* wine: 59 positives; trained with min_rows=50, min_class_count=10 (below the defaults).")
    print("pooled = ours' ROC AUC over the pooled out-of-fold predictions (compares the folds' calibrations too)")
    print("floor = mean ECE of a perfectly calibrated model with these probabilities on this many rows")
    if not args.skip_speed:
        speed(args.quick, args.repeats)


if __name__ == "__main__":
    main()

"""Diagnostics of the demo models behind figures in docs/models.md (run through bench_models.py).

* :func:`nowcast_relevel` - the churn "nowcast" level that kam measured and does not ship
  (``--churn-level nowcast``): the base rate at the as-of dates whose label windows are still
  open at the training cut-off, nowcast from the days already seen, and the trained model's
  log-odds shifted by one constant to it. Self-contained here, exactly as measured: nothing
  in ``engine`` computes it.
* :func:`fold_diagnostics` - why churn's selection score misses its out-of-time AUC at the
  earlier origins (``--folds``): plain HGB on each forward fold, grouped and ungrouped, and
  with kam's categories (native splits, or ordinal numbers).
* :func:`win_oracle_seeds` - the win oracle's mean against the drawn outcomes on other
  databases (``--win-oracle-seeds``).
* :func:`demo_seeds` - the published churn and win models, trained as ``kam demo`` trains
  them, on demo databases of other seeds (``--demo-seeds``): is a card's figure the model's or
  its database's draw? Next to the usual ECE it prints the calibration error against the true
  probabilities, which no outcome draw moves.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OrdinalEncoder


def days_to_first_order(tables: Mapping[str, pd.DataFrame], meta: pd.DataFrame, cutoff: pd.Timestamp) -> np.ndarray:
    """Whole days from each row's as-of date to its account's first order on or after it, before ``cutoff``.

    The churn label of as-of date ``A`` is "no order on a day in [A, A + horizon)", so a wait
    ``w`` (order day - ``A``) in ``0 .. horizon - 1`` means "not churned". ``inf``: no order
    seen before ``cutoff``.
    """
    orders = tables["orders"]
    order_day = pd.to_datetime(orders["order_date"]).to_numpy().astype("datetime64[D]").astype(np.int64)
    seen = order_day < np.datetime64(pd.Timestamp(cutoff).date(), "D").astype(np.int64)
    codes, keys = pd.factorize(pd.concat([orders["account_id"][seen], meta["account_id"]], ignore_index=True))
    order_code, row_code = codes[: int(seen.sum())], codes[int(seen.sum()):]
    order_day = order_day[seen]
    row_day = pd.to_datetime(meta["as_of"]).to_numpy().astype("datetime64[D]").astype(np.int64)
    out = np.full(len(meta), np.inf)
    for day in np.unique(row_day):
        first = np.full(len(keys), np.inf)
        after = order_day >= day
        np.minimum.at(first, order_code[after], (order_day[after] - day).astype(float))
        rows = row_day == day
        out[rows] = first[row_code[rows]]
    return out


def nowcast_rates(as_of: pd.Series, wait: np.ndarray, cutoff: pd.Timestamp, horizon: int) -> pd.DataFrame:
    """The churn rate of each as-of date whose label window is open at ``cutoff``.

    Date ``A`` has been watched for ``c = cutoff - A`` whole days (orders on days ``A .. A + c - 1``).
    Its rate is ``S_A(c) * S(horizon) / S(c)``: the share with no order yet, ``S_A(c) = P(wait
    >= c)`` on its rows, times the chance of none in the rest of the window given none so far,
    from the fully labelled dates' waits, ``S(k) = P(wait >= k)``.

    With waits [0, 2, 5, inf] on labelled dates, S(2) = 3/4 and S(6) = 1/4 (only the
    ``inf`` has no order in days 0-5): the tail after two days is 1/3.
    """
    day = pd.to_datetime(as_of).to_numpy().astype("datetime64[D]").astype(np.int64)
    end = int(np.datetime64(pd.Timestamp(cutoff).date(), "D").astype(np.int64))
    history = wait[day + horizon <= end]
    if history.size == 0:
        raise ValueError(f"no as-of date labelled by {cutoff.date()}: nothing to borrow the window's tail from")

    def survival(values: np.ndarray, k: int) -> float:  # P(wait >= k), whole days
        return float(np.mean(values >= k))

    rows = []
    for a in np.unique(day[(day < end) & (end < day + horizon)]):
        here, c = day == a, int(end - a)
        tail = survival(history, horizon) / survival(history, c) if survival(history, c) > 0 else 1.0
        rows.append({"as_of": pd.Timestamp(np.datetime64(int(a), "D")), "rows": int(here.sum()), "observed_days": c,
                     "no_order_so_far": survival(wait[here], c), "rate": survival(wait[here], c) * tail})
    return pd.DataFrame(rows)


def level_shift(proba: np.ndarray, target: float) -> float:
    """The constant added to every log-odds that makes the mean probability ``target`` (bisection)."""
    p = np.clip(np.asarray(proba, dtype=float), 1e-9, 1 - 1e-9)
    logit = np.log(p) - np.log1p(-p)
    low, high = -40.0, 40.0  # the mean is increasing in the shift
    while high - low > 1e-12:
        shift = (low + high) / 2
        low, high = (shift, high) if np.mean(1 / (1 + np.exp(-(logit + shift)))) < target else (low, shift)
    return (low + high) / 2


def shifted(proba: np.ndarray, shift: float) -> np.ndarray:
    """``proba`` with ``shift`` added to its log-odds (ranking unchanged)."""
    p = np.clip(np.asarray(proba, dtype=float), 1e-9, 1 - 1e-9)
    return 1 / (1 + np.exp(-(np.log(p) - np.log1p(-p) + shift)))


def nowcast_relevel(tables: Mapping[str, pd.DataFrame], model, spec, data_end: pd.Timestamp, oracle: Callable,
                    origin: str) -> float:
    """The nowcast at the training cut-off (the first validation date), as measured; returns the shift.

    Prints, per open as-of date, the nowcast against the rate its labels realised and the
    oracle's mean. What a training run on the cut-off day knows: orders before it only.
    """
    from engine.features import build_churn_training_frame

    cutoff = spec.validation_start(data_end)
    dates = [d for d in spec.as_of_dates(data_end) if d < cutoff < d + pd.Timedelta(days=spec.horizon_days)]
    labelled = [d for d in spec.as_of_dates(data_end) if d + pd.Timedelta(days=spec.horizon_days) <= cutoff]
    X, y, meta = build_churn_training_frame(dict(tables), labelled + dates, spec.horizon_days)
    table = nowcast_rates(meta["as_of"], days_to_first_order(tables, meta, cutoff), cutoff, spec.horizon_days)
    open_rows = pd.to_datetime(meta["as_of"]).isin(dates).to_numpy()
    truth = np.asarray(oracle("churn", meta.loc[open_rows].reset_index(drop=True), tables), dtype=float)
    as_of = pd.to_datetime(meta.loc[open_rows, "as_of"]).to_numpy()
    for row in table.itertuples():
        here = as_of == np.datetime64(row.as_of)
        realised = float(y.to_numpy()[open_rows][here].mean())
        print(f"churn  {origin:<10} nowcast {row.as_of.date()} ({row.observed_days:3d} of {spec.horizon_days} days "
              f"seen, {row.rows:,} rows): {row.rate:.4f}, realised {realised:.4f}, oracle {np.nanmean(truth[here]):.4f} "
              f"(nowcast - oracle {row.rate - np.nanmean(truth[here]):+.4f})")
    target = float(np.average(table["rate"], weights=table["rows"]))
    before = model.predict_proba(X.loc[open_rows, list(model.feature_names_in_)])[:, 1]
    shift = level_shift(before, target)
    print(f"churn  {origin:<10} nowcast target {target:.4f} on {int(open_rows.sum()):,} open-window rows "
          f"(model mean {before.mean():.4f}): log-odds shift {shift:+.3f}")
    return shift


def _boosting(numeric: list[str], categories: list[str], native: bool) -> Pipeline:
    """Default HGB on ``numeric`` and ``categories`` (ordinal codes; native splits or plain numbers)."""
    codes = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan, encoded_missing_value=np.nan)
    mask = [False] * len(numeric) + [True] * len(categories) if native and categories else None
    return Pipeline([("encode", ColumnTransformer([("numeric", "passthrough", numeric), ("codes", codes, categories)])),
                     ("model", HistGradientBoostingClassifier(random_state=0, categorical_features=mask))])


def fold_diagnostics(tables: Mapping[str, pd.DataFrame], spec, data_end: pd.Timestamp) -> None:
    """Plain HGB on each of churn's forward selection folds at one origin, grouped as kam selects and ungrouped.

    Per fold: AUC on the fold's own validation block and, the same fold model, on the
    out-of-time evaluation window; then one model on every training date. Numeric columns
    only (kam's censoring aside: a plain baseline); then, grouped, the same with kam's
    categories and booleans, the categories once through scikit-learn's native categorical
    splits (as kam's boosting candidates see them) and once as plain ordinal numbers.
    Ungrouped: the same folds validating every account of the block (the gap already keeps
    each training label before the block).
    """
    from engine.features import build_churn_training_frame
    from engine.features._training import history_limits
    from engine.models import ForwardGroupSplit
    from engine.pipeline._train import training_rows

    X, y, meta = build_churn_training_frame(dict(tables), spec.as_of_dates(data_end), spec.horizon_days)
    train, valid = training_rows("churn", spec, meta, spec.validation_start(data_end))
    dates = pd.to_datetime(meta.loc[train, "as_of"])
    _, short = history_limits(dict(tables), X.columns, dates.min(), dates.max())
    X = X.drop(columns=list(short))
    numeric = list(X.select_dtypes("number").columns)
    flags = list(X.select_dtypes("bool").columns)
    categories = [c for c in X.columns if c not in numeric and c not in flags]
    X = X.astype(dict.fromkeys(flags, float))
    y = y.to_numpy()
    Xt, yt, Xv, yv = X[train], y[train], X[valid], y[valid]
    groups = meta.loc[train, "account_id"].to_numpy()
    print(f"churn folds at data end {data_end.date()}: {len(yt):,} training rows over {dates.nunique()} as-of dates, "
          f"{len(yv):,} out-of-time rows; categories {categories}; load average {os.getloadavg()[0]:.1f}")
    # ungrouped: every row its own group, one part - each fold validates every account of its block
    for label, parts, by, make in (
            ("grouped (kam)", None, groups, lambda: _boosting(numeric, [], False)),
            ("ungrouped", 1, np.arange(len(yt)), lambda: _boosting(numeric, [], False)),
            ("+ categories, native", None, groups, lambda: _boosting(numeric + flags, categories, True)),
            ("+ categories, ordinal", None, groups, lambda: _boosting(numeric + flags, categories, False))):
        split = ForwardGroupSplit(dates.to_numpy(), n_splits=3, gap_days=spec.horizon_days, group_parts=parts)
        own, there = [], []
        for k, (fit_rows, check_rows) in enumerate(split.split(Xt, yt, groups=by), start=1):
            model = make().fit(Xt.iloc[fit_rows], yt[fit_rows])
            own.append(roc_auc_score(yt[check_rows], model.predict_proba(Xt.iloc[check_rows])[:, 1]))
            there.append(roc_auc_score(yv, model.predict_proba(Xv)[:, 1]))
            fit_dates = dates.iloc[fit_rows]
            print(f"  {label:<22} fold {k}: trains on {fit_dates.min():%Y-%m} to {fit_dates.max():%Y-%m} "
                  f"({len(fit_rows):,} rows), validates on {dates.iloc[check_rows].min():%Y-%m} "
                  f"({len(check_rows):,} rows): fold AUC {own[-1]:.4f}, on the evaluation window {there[-1]:.4f}")
        model = make().fit(Xt, yt)
        print(f"  {label:<22} mean: fold AUC {np.mean(own):.4f}, on the evaluation window {np.mean(there):.4f}; "
              f"every training date: {roc_auc_score(yv, model.predict_proba(Xv)[:, 1]):.4f}")


def win_oracle_seeds(accounts: int, seeds: list[int]) -> None:
    """Realised win rate against the oracle's mean over every decided deal, per seed and pooled."""
    from engine.demo import DEMO_END_DATE, generate_demo_tables
    from engine.demo._oracle import win_oracle

    pooled = []
    print(f"win oracle against the drawn outcomes, {accounts:,} accounts; load average {os.getloadavg()[0]:.1f}")
    for seed in seeds:
        deals = generate_demo_tables(accounts=accounts, seed=seed)["opportunities"]
        deals = deals.merge(win_oracle(accounts, seed, DEMO_END_DATE, deals), on="opportunity_id")
        deals = deals[deals["outcome"].isin(["won", "lost"])].assign(won=lambda d: d["outcome"] == "won", seed=seed)
        pooled.append(deals)
        _z_line(f"seed {seed}", deals)
    deals = pd.concat(pooled, ignore_index=True)
    _z_line(f"seeds {seeds[0]}-{seeds[-1]} pooled", deals)
    quarter = pd.to_datetime(deals["created_date"]).dt.to_period("Q")
    scores = {str(q): _z(part) for q, part in deals.groupby(quarter)}
    worst = max(scores, key=lambda q: abs(scores[q]))
    print(f"  by creation quarter (pooled): largest |z| {worst} {scores[worst]:+.2f}; beyond 2: "
          + (", ".join(f"{q} {z:+.2f}" for q, z in scores.items() if abs(z) > 2) or "none"))
    level = deals.groupby(quarter)["probability"].mean()
    print(f"  oracle mean by creation quarter (pooled): {level.index[0]} {level.iloc[0]:.4f} ... "
          f"{level.index[-2]} {level.iloc[-2]:.4f}, {level.index[-1]} {level.iloc[-1]:.4f} (last, partly open)")


def _z(deals: pd.DataFrame) -> float:
    p = deals["probability"].to_numpy()
    return float((deals["won"].mean() - p.mean()) / (np.sqrt((p * (1 - p)).sum()) / len(p)))


def _z_line(label: str, deals: pd.DataFrame) -> None:
    account = deals["account_id"].notna()
    print(f"  {label:<18} {len(deals):7,} decided deals: realised {deals['won'].mean():.4f}, oracle mean "
          f"{deals['probability'].mean():.4f}, z {_z(deals):+.2f} (account deals {_z(deals[account]):+.2f}, "
          f"prospects {_z(deals[~account]):+.2f})")


def demo_seeds(accounts: int, seeds: list[int], replicates: int, model_dir,
               kinds: tuple[str, ...] = ("churn", "win")) -> None:
    """The shipped churn and win specs trained on demo databases of ``seeds``, latest origin.

    Per seed and model: out-of-time ROC AUC and its share of the oracle's, ECE (10 equal-width
    bins) with the noise floor's mean and p95 and the oracle's own ECE on the same rows, the
    calibration error against the true probabilities
    (:func:`engine.models.calibration_error_against_truth`), mean
    probability / realised rate / oracle mean, the slope of the true probability on the model's
    (above 1: under-confident), the selection score and its distance from the out-of-time AUC,
    and the fit seconds. Then how many seeds meet ECE <= 0.02 and |selection - out of time| <= 0.02.
    """
    import tempfile

    from engine.demo import generate_demo_tables
    from engine.demo._oracle import demo_oracle
    from engine.models import calibration_noise, evaluate, load_model_spec
    from engine.pipeline import train_model

    print(f"shipped specs on demo databases of seeds {seeds[0]}-{seeds[-1]}, {accounts:,} accounts, latest origin; "
          f"churn oracle {replicates} re-simulations; load average {os.getloadavg()[0]:.1f}")
    print(f"{'model':<6} {'seed':>4} {'rows':>6} {'AUC':>7} {'/oracle':>7} {'ECE':>7} {'floor':>6} {'p95':>6} "
          f"{'oracle':>7} {'vs truth':>8} {'slope':>5} {'mean p':>7} {'realised':>8} {'truth':>6} {'select':>7} "
          f"{'|gap|':>6} {'fit s':>5}  chosen")
    for kind in kinds:
        rows = []
        for seed in seeds:
            tables = generate_demo_tables(accounts=accounts, seed=seed)
            oracle = demo_oracle(accounts, seed, replicates=replicates)
            with tempfile.TemporaryDirectory() as folder:
                result = train_model(tables, kind, spec=load_model_spec(model_dir / f"{kind}.yaml"),
                                     artifacts_dir=folder, oracle=oracle)
            valid = result.validation
            proba, label = valid["probability"].to_numpy(), valid["label"].to_numpy()
            truth = np.asarray(oracle(kind, valid, tables), dtype=float)
            best = evaluate(label, truth)
            floor = calibration_noise(proba, valid["opportunity_id"].to_numpy() if kind == "win" else None)
            selection = result.card.validation["selection_roc_auc"]
            row = {"ece": result.metrics["ece"], "oracle_ece": best["ece"], "vs_truth": result.card.oracle["model_ece_against_truth"],
                   "gap": abs(selection - result.metrics["roc_auc"]), "share": result.metrics["roc_auc"] / best["roc_auc"]}
            # Under- or over-confidence: the true probability regressed on the model's (1 = calibrated
            # in spread; above 1 the truth moves more than the model says).
            row["slope"] = float(np.polyfit(proba, truth, 1)[0])
            rows.append(row)
            print(f"{kind:<6} {seed:>4} {len(valid):>6,} {result.metrics['roc_auc']:7.4f} {row['share']:7.1%} "
                  f"{row['ece']:7.4f} {floor['mean']:6.4f} {floor['p95']:6.4f} {row['oracle_ece']:7.4f} "
                  f"{row['vs_truth']:8.4f} {row['slope']:5.2f} {proba.mean():7.4f} {label.mean():8.4f} "
                  f"{truth.mean():6.4f} {selection:7.4f} {row['gap']:6.4f} {result.seconds['fit']:5.1f}  "
                  f"{result.card.selected_candidate[:48]}", flush=True)
            bins = np.minimum((proba * 10).astype(int), 9)
            print(f"{'':<11} per bin of 0.1, kam's mean / the truth's (rows): " + ", ".join(
                f"{proba[bins == b].mean():.2f} / {truth[bins == b].mean():.2f} ({int((bins == b).sum()):,})"
                for b in np.unique(bins)))
        frame = pd.DataFrame(rows)
        print(f"{kind:<6} over {len(seeds)} seeds: ECE <= 0.02 ours {int((frame['ece'] <= 0.02).sum())}, oracle "
              f"{int((frame['oracle_ece'] <= 0.02).sum())}; mean ECE ours {frame['ece'].mean():.4f}, oracle "
              f"{frame['oracle_ece'].mean():.4f}; against the truth mean {frame['vs_truth'].mean():.4f}, max "
              f"{frame['vs_truth'].max():.4f}; slope {frame['slope'].min():.2f} to {frame['slope'].max():.2f}; "
              f"|selection - out of time| <= 0.02: {int((frame['gap'] <= 0.02).sum())}; "
              f"share of the oracle's AUC {frame['share'].min():.1%} to {frame['share'].max():.1%}")
    print(f"load average {os.getloadavg()[0]:.1f} at the end. vs truth: the ECE's bins and weights with the true "
          "probabilities in place of the outcomes (no draw luck, no sampling noise; the oracle's is 0).")

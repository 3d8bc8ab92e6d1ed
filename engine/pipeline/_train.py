"""``kam train churn|win``: point-in-time training frames, out-of-time validation, publish gate."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import get_args

import numpy as np
import numpy.typing as npt
import pandas as pd

from engine._errors import ConfigError, InsufficientDataError
from engine._log import get_logger
from engine._paths import default_artifacts_dir, default_models_dir
from engine._suggest import did_you_mean
from engine.features import build_churn_training_frame, build_win_training_frame, data_end_date
from engine.features._training import history_limits
from engine.models import (
    ForwardGroupSplit,
    ModelCard,
    ModelSpec,
    PublishDecision,
    TimeSplit,
    calibration_error_against_truth,
    calibration_noise,
    data_fingerprint,
    evaluate,
    load_model_spec,
    publish,
    save_model,
    time_split,
    validation_curves,
)
from engine.models._drift import training_distribution
from engine.models._types import DateLike, Mask, ModelKind

__all__ = ["TrainResult", "train_model", "training_rows", "KINDS", "GROUP_COLUMNS"]

KINDS: tuple[ModelKind, ...] = get_args(ModelKind)

#: Fewest rows the drift reference (training distribution in the card) is taken from.
_MIN_REFERENCE_ROWS = 2_000

_log = get_logger("train")


@dataclass(frozen=True)
class TrainResult:
    """What one training run produced.

    Attributes
    ----------
    kind : {"churn", "win"}
    card : ModelCard
        The candidate's model card (metrics measured on the validation window).
    decision : PublishDecision
        Whether the candidate replaced the current model, and why.
    metrics : dict
        Out-of-time validation metrics (ROC AUC, PR AUC, Brier, ECE, top-decile lift and capture).
    rows : dict
        Training and validation row counts.
    seconds : dict
        Wall time of each step.
    validation : pandas.DataFrame or None
        The out-of-time rows' keys (account or opportunity, as-of date), label and predicted
        probability, so evaluations over several runs can be pooled (rolling origins).
    """

    kind: ModelKind
    card: ModelCard
    decision: PublishDecision
    metrics: dict[str, float]
    rows: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    validation: pd.DataFrame | None = None


#: What a training row is grouped by: no account (deal) is on both sides of a fold.
GROUP_COLUMNS = {"churn": "account_id", "win": "opportunity_id"}


def training_rows(kind: ModelKind, spec: ModelSpec, meta: pd.DataFrame,
                  validation_start: DateLike) -> tuple[Mask, Mask]:
    """Boolean masks of the training and the out-of-time validation rows of a training frame.

    Validation: the last ``validation_periods`` as-of dates. Training: the earlier rows whose
    label window (``horizon_days``; a win label is the deal's outcome, closed within the
    horizon) ends before validation starts - otherwise the model would see the future it is
    judged on (a gap of one horizon); for win, no deal of the validation window; and at most
    ``spec.max_rows`` of them (a seeded random sample of the account-dates: monthly snapshots
    repeat each account).

    Parameters
    ----------
    kind : {"churn", "win"}
    spec : ModelSpec
        Its ``horizon_days`` and ``max_rows``.
    meta : pandas.DataFrame
        One row per training row: ``as_of`` and, for win, ``opportunity_id``.
    validation_start : str, datetime.date or numpy.datetime64
        The first validation as-of date (:meth:`ModelSpec.validation_start`).

    Returns
    -------
    train, validation : numpy.ndarray of bool
        One per row of ``meta``.
    """
    split = time_split(meta, "as_of", validation_start, horizon_days=spec.horizon_days)
    train_mask = split.train
    if kind == "win":
        column = GROUP_COLUMNS[kind]
        train_mask = train_mask & ~meta[column].isin(meta.loc[split.validation, column]).to_numpy()
    if spec.max_rows is not None and train_mask.sum() > spec.max_rows:
        rng = np.random.default_rng(0)
        keep = rng.choice(np.flatnonzero(train_mask), size=spec.max_rows, replace=False)
        train_mask = np.zeros(len(train_mask), dtype=bool)
        train_mask[keep] = True
    return train_mask, split.validation


def _spec_for(kind: str, spec: ModelSpec | str | Path | None) -> ModelSpec:
    if kind not in KINDS:
        raise ConfigError(f"expected the model kind, one of {list(KINDS)}; got {kind!r}{did_you_mean(kind, KINDS)}. "
                          "Fix: pass kind='churn' or kind='win'.")
    if isinstance(spec, ModelSpec):
        loaded = spec
    else:
        loaded = load_model_spec(Path(spec) if spec is not None else default_models_dir() / f"{kind}.yaml")
    if loaded.kind != kind:
        raise ConfigError(f"model spec {loaded.source or loaded.name!r} is for {loaded.kind!r}, not {kind!r}.")
    return loaded


def train_model(
    tables: Mapping[str, pd.DataFrame],
    kind: ModelKind,
    *,
    spec: ModelSpec | str | Path | None = None,
    artifacts_dir: str | Path | None = None,
    force: bool = False,
    oracle: Callable[[ModelKind, pd.DataFrame, Mapping[str, pd.DataFrame]], npt.ArrayLike] | None = None,
    data_end: DateLike | None = None,
) -> TrainResult:
    """Train, validate out of time, save and (if good enough) publish a churn or win model.

    The as-of dates come from the spec (e.g. 18 month-ends, the last one ``horizon_days``
    before the data ends, so every label is observed). The model is fitted on the earlier dates
    and validated on the last ``validation_periods`` dates; for churn, training dates whose
    label window reaches into the validation period are left out. The validation metrics go
    into the card and decide the publish gate, which compares with the current model on the
    same window.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        Validated customer-database tables (``ingest(db).tables``).
    kind : {"churn", "win"}
    spec : ModelSpec or path, optional
        Default: the shipped ``models/<kind>.yaml``.
    artifacts_dir : path, optional
        Default :func:`engine._paths.default_artifacts_dir` (``$KAM_MODELS_DIR``, else the
        checkout's ``models/artifacts``; never the working directory), where ``score`` looks.
        The current model lives here; candidates go to ``<artifacts_dir>/candidates/``.
    force : bool, default False
        Publish even when the candidate is worse than the current model.
    oracle : callable, optional
        ``(kind, validation_meta, tables) -> true probabilities`` of the validation rows, for
        simulated data whose generating probabilities are known (the demo:
        ``engine.demo._oracle.demo_oracle``). The card then reports the model's out-of-time
        ROC AUC and Brier score as a share of the oracle's.
    data_end : str, datetime.date or numpy.datetime64, optional
        Train as if the data ended on this date (default: the latest dated row): the as-of
        dates, the training and the validation window all move back. Features and labels only
        read data before each as-of date and within its horizon, so this replays an earlier
        training run faithfully - rolling-origin validation (``benchmarks/bench_models.py``).
    """
    spec = _spec_for(kind, spec)
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    tables = dict(tables)
    end = data_end_date(tables)
    if end is None:
        raise ConfigError("the customer database has no dated rows; nothing to train on.")
    if data_end is not None:
        if pd.Timestamp(data_end) > end:
            raise ConfigError(f"data_end {pd.Timestamp(data_end).date()} is after the data's last date "
                              f"{end.date()}; expected an earlier date (labels must be observed).")
        end = pd.Timestamp(data_end)
    dates = spec.as_of_dates(end)
    validation_start = spec.validation_start(end)
    if kind == "churn":
        X, y, meta = build_churn_training_frame(tables, dates, spec.horizon_days)
    else:
        X, y, meta = build_win_training_frame(tables, dates)
    X = X[spec.select_features(X.columns)]
    seconds["features"] = time.perf_counter() - started

    group_column = GROUP_COLUMNS[kind]
    train_mask, validation_mask = training_rows(kind, spec, meta, validation_start)
    split = TimeSplit(train=train_mask, validation=validation_mask)
    censor: dict[str, float] = {}
    short_history: dict[str, str] = {}
    if kind == "churn" and train_mask.any():
        # Features that read further back than the data goes mean something else at the early
        # training dates than at scoring: make them mean the same (docs/models.md, "Short histories").
        train_dates = pd.to_datetime(meta.loc[train_mask, "as_of"])
        censor, short_history = history_limits(tables, X.columns, train_dates.min(), train_dates.max())
        X = X.drop(columns=list(short_history))
        if censor or short_history:
            _log.info("training churn: history before the first training date %s; censored above it: %s; "
                      "left out (window never whole): %s", train_dates.min().date(), censor, sorted(short_history))
    X_train, y_train = X.loc[train_mask], y.loc[train_mask]
    X_valid, y_valid = X.loc[split.validation], y.loc[split.validation]
    model = spec.build_estimator()
    if censor:
        model.set_params(censor_above=censor)
    cv = model.get_params()["cv"]
    if cv == "auto" or isinstance(cv, int):
        # Select and calibrate the way the model is used: forward in time, never with one
        # account (deal) on both sides of a fold. Churn folds keep the one-horizon gap. Win
        # folds drop every deal they validate on from training, which removes the label
        # overlap; a 180-day gap on top left the first folds one to three dates of ~1,200
        # deals, and selection scored 0.620 against 0.653 out of time (no gap: 0.634).
        # Not the deals' close dates either: the latest dates would hold only fast closers.
        forward = ForwardGroupSplit(meta.loc[train_mask, "as_of"].to_numpy(),
                                    n_splits=3 if cv == "auto" else int(cv),
                                    gap_days=spec.horizon_days if kind == "churn" else 0,
                                    group_parts=None if kind == "churn" else 1,
                                    calibration_parts=spec.calibration_folds)
        try:
            forward.blocks()
            model.set_params(cv=forward)
        except InsufficientDataError as error:
            # Too short a history for forward folds: grouped K-fold still keeps each account
            # (deal) on one side; the card records the scheme and the log says why.
            _log.warning("training %s: %s Selecting on grouped K-fold instead.", kind, error)
            model.set_params(cv=forward.n_splits if forward.n_splits >= 2 else 2)
    tick = time.perf_counter()
    model.fit(X_train, y_train, groups=meta.loc[train_mask, group_column].to_numpy())
    seconds["fit"] = time.perf_counter() - tick
    tick = time.perf_counter()
    valid_proba = model.predict_proba(X_valid)[:, 1]
    metrics = evaluate(y_valid.to_numpy(), valid_proba)
    # The ECE a perfectly calibrated model would show on these rows (sampling noise alone):
    # a win deal open at several as-of dates is one outcome; churn rows are drawn independently,
    # which understates the noise of an account's overlapping windows (a lower bound).
    floor = calibration_noise(valid_proba, meta.loc[split.validation, group_column].to_numpy()
                              if kind == "win" else None)
    metrics["ece_noise_mean"], metrics["ece_noise_p95"] = floor["mean"], floor["p95"]
    curves = validation_curves(y_valid.to_numpy(), valid_proba)
    seconds["validate"] = time.perf_counter() - tick

    oracle_card = None
    if oracle is not None:
        tick = time.perf_counter()
        truth = np.asarray(oracle(kind, meta.loc[split.validation].reset_index(drop=True), tables), dtype=float)
        known = np.isfinite(truth)
        best = evaluate(y_valid.to_numpy()[known], truth[known])
        ours = evaluate(y_valid.to_numpy()[known], model.predict_proba(X_valid[known])[:, 1]) \
            if not known.all() else metrics
        oracle_card = {"rows": int(known.sum()), "metrics": {k: best[k] for k in ("roc_auc", "brier", "ece")},
                       "share": {"roc_auc": ours["roc_auc"] / best["roc_auc"], "brier": ours["brier"] / best["brier"]},
                       # The model's ECE bins against the true probabilities instead of the drawn
                       # outcomes: its calibration without sampling noise or the draw's luck.
                       "model_ece_against_truth": calibration_error_against_truth(truth[known], valid_proba[known]),
                       "note": "share = model / oracle: ROC AUC at most 1 (1 = the ceiling); Brier at least 1; "
                               "model_ece_against_truth: the model's ECE with the true probabilities in place of "
                               "the outcomes (0 = calibrated; the oracle's own ECE is the outcome draw's noise)"}
        seconds["oracle"] = time.perf_counter() - tick
    tick = time.perf_counter()
    # Drift is measured against the population the model was published for: the accounts (or
    # deals) of the newest as-of dates, not the whole history, whose early dates see truncated
    # windows (a 36-month frequency two years into the data) and would make every first run say
    # "retrain". The newest as-of date alone when it holds enough rows, else the validation window.
    # The bins need deciles, not every row: 20,000 rows pin a decile to about +-0.2 percentiles.
    valid_dates = pd.to_datetime(meta.loc[split.validation, "as_of"]).to_numpy()
    reference = X_valid[valid_dates == valid_dates.max()] if len(valid_dates) else X_train
    if len(reference) < _MIN_REFERENCE_ROWS:
        reference = X_valid if len(X_valid) >= _MIN_REFERENCE_ROWS else X_train
    sample = reference.sample(n=min(len(reference), 20_000), random_state=0)
    distribution = training_distribution(model, sample, model.predict_proba(sample)[:, 1])
    seconds["distribution"] = time.perf_counter() - tick
    artifacts_dir = Path(artifacts_dir) if artifacts_dir is not None else default_artifacts_dir()
    stamp = pd.Timestamp.now(tz="UTC").strftime("%Y%m%dT%H%M%S%f")
    candidate_dir = artifacts_dir / "candidates" / f"{spec.name}-{stamp}"
    used = set(pd.to_datetime(meta.loc[train_mask, "as_of"]).unique())
    train_dates = [d for d in dates if d in used]
    valid_dates = [d for d in dates if d >= validation_start]
    recalibration = model.recalibration_ or {}
    card = save_model(
        model,
        candidate_dir,
        spec,
        metrics,
        data_fingerprint(X, y),
        (train_dates[0].date(), train_dates[-1].date()),
        validation_window=(valid_dates[0].date(), valid_dates[-1].date()),
        validation={
            "selection": dict(model.cv_scheme_),
            "group_by": group_column,
            "calibration": model.cv_scheme_.get("calibration", "the selection folds")
            + (f"; recalibrated to the latest dates' rate (log-odds shift {recalibration['shift']:+.3f})"
               if recalibration.get("shift") else "")
            + (f" ({model.calibration_method_}, {model.n_calibration_rows_:,} scores)"
               if model.calibration_method_ != "none" else ""),
            "out_of_time": f"trained on as-of dates {train_dates[0].date()} to {train_dates[-1].date()} "
            f"(labels ending before {validation_start.date()}), scored on {valid_dates[0].date()} to "
            f"{valid_dates[-1].date()}" + ("; deals open in that window left out of training" if kind == "win" else ""),
            "recalibration": dict(model.recalibration_) if model.recalibration_ else
            "none: no calibrator (calibration: none)" if model.calibration_method_ == "none" else
            "none: the calibrator is fitted on every training date; re-levelling to the latest labelled dates "
            "(six months before the scored dates for churn) made out-of-time ECE worse on the demo (docs/models.md)",
            "short_history": {"censored_above_days": censor, "left_out": short_history} if censor or short_history
            else "every feature's window inside the recorded history",
            "selection_roc_auc": model.selection_score_,
            "selection_rule": dict(model.selection_choice_),
            "out_of_time_roc_auc": metrics["roc_auc"],
        },
        oracle=oracle_card,
        training_distribution=distribution,
        curves=curves,
    )
    decision = publish(
        card, artifacts_dir, metric=spec.publish_metric, tolerance=spec.publish_tolerance, force=force
    )
    seconds["total"] = time.perf_counter() - started
    return TrainResult(
        kind=kind,
        card=card,
        decision=decision,
        metrics=metrics,
        rows={"train": int(len(X_train)), "validation": int(len(X_valid)), "features": int(X.shape[1])},
        seconds=seconds,
        validation=meta.loc[split.validation, [group_column, "as_of"]].reset_index(drop=True).assign(
            label=y_valid.to_numpy(), probability=valid_proba),
    )


def describe_metrics(metrics: Mapping[str, float]) -> str:
    """One line of the headline metrics, for the CLI and the demo."""
    return (
        f"ROC AUC {metrics['roc_auc']:.3f}, PR AUC {metrics['pr_auc']:.3f}, Brier {metrics['brier']:.4f}, "
        f"ECE {metrics['ece']:.4f}"
        + (f" (a calibrated model: {metrics['ece_noise_mean']:.4f}, 95% below {metrics['ece_noise_p95']:.4f})"
           if "ece_noise_mean" in metrics else "")
        + f", top-decile lift {metrics['lift_top_decile']:.2f}, "
        f"capture {metrics['capture_top_decile']:.1%} (n={int(metrics['n']):,}, base rate {metrics['base_rate']:.1%})"
    )

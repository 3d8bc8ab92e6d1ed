"""Candidate selection: the folds (any scikit-learn splitter), fold scores, the blend.

:class:`~engine.models.AutoClassifier` calls :func:`resolve_folds` and then
:func:`score_candidates`; both are plain functions of the data so they can be tested alone.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import log_loss, roc_auc_score
from sklearn.model_selection import (
    StratifiedGroupKFold,
    StratifiedKFold,
    train_test_split,
)
from threadpoolctl import threadpool_limits

from engine._errors import DataError, InsufficientDataError
from engine._progress import task
from engine.models._candidates import build_candidate
from engine.models._params import InvalidParameterError

__all__ = [
    "Folds",
    "calibration_folds",
    "check_cv",
    "choose_candidate",
    "complexity",
    "fold_predictions",
    "resolve_folds",
    "score_candidates",
]


@dataclass(frozen=True)
class Folds:
    """Train/validation index pairs into the training frame, and how they were made."""

    pairs: list[tuple[np.ndarray, np.ndarray]]
    scheme: dict[str, Any]
    n_rows: int

    @property
    def validated(self) -> np.ndarray:
        """Row indices of every validation fold, concatenated in fold order."""
        return np.concatenate([valid for _, valid in self.pairs])

    @property
    def segments(self) -> list[np.ndarray]:
        """Positions in :attr:`validated` of each fold's validation rows."""
        bounds = np.cumsum([0] + [len(valid) for _, valid in self.pairs])
        return [np.arange(bounds[i], bounds[i + 1]) for i in range(len(self.pairs))]


def check_cv(cv) -> None:
    """Refuse a ``cv`` that is not "auto", an integer >= 2, a splitter or a list of folds."""
    if isinstance(cv, str):
        if cv == "auto":
            return
    elif isinstance(cv, (int, np.integer)) and not isinstance(cv, bool):
        if cv >= 2:
            return
    elif hasattr(cv, "split") or (isinstance(cv, Iterable) and not isinstance(cv, (str, bytes))):
        return
    raise InvalidParameterError(
        "The 'cv' parameter: expected 'auto', an integer >= 2, a scikit-learn splitter (an object "
        "with split(X, y, groups), e.g. GroupKFold(3) or engine.models.ForwardGroupSplit) or a list "
        f"of (train_indices, validation_indices) pairs; got {cv!r}. Fix: use cv='auto'."
    )


def resolve_folds(cv, X: pd.DataFrame, y: np.ndarray, groups, *, max_rows: int | None,
                  random_state: int | None) -> Folds:
    """The selection folds of ``X``, ``y`` (positions into them), each with both classes.

    ``cv="auto"`` or an integer: stratified K-fold (5 folds up to 50,000 rows, else 3), grouped
    (``StratifiedGroupKFold``) when ``groups`` are given. A splitter gets ``X``, ``y`` and
    ``groups`` as in scikit-learn. Above ``max_rows`` rows a stratified sample of that size
    takes part (fold scores are precise long before that); folds keep only sampled rows.
    """
    check_cv(cv)
    n = len(y)
    if groups is not None and len(groups) != n:
        raise DataError(f"groups: expected one group per row of X ({n} rows); got {len(groups)}. "
                        "Fix: pass one group per row.")
    keep = None
    if max_rows is not None and n > max_rows:
        keep, _ = train_test_split(np.arange(n), train_size=max_rows, stratify=y,
                                   random_state=random_state)
        keep = np.sort(keep)
    if isinstance(cv, (str, int, np.integer)):
        rows = np.arange(n) if keep is None else keep
        n_splits = (5 if len(rows) <= 50_000 else 3) if cv == "auto" else int(cv)
        # Every fold needs both classes: never more folds than rows of the smaller class.
        n_splits = max(2, min(n_splits, int(np.bincount(y[rows], minlength=2).min())))
        if groups is None:
            splitter = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=random_state)
            local = splitter.split(rows, y[rows])
            scheme = {"scheme": "stratified K-fold, shuffled", "n_splits": n_splits}
        else:
            splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=random_state)
            local = splitter.split(rows, y[rows], np.asarray(groups)[rows])
            scheme = {"scheme": "stratified group K-fold, shuffled", "n_splits": n_splits,
                      "grouped": True}
        pairs = [(rows[tr], rows[va]) for tr, va in local]
    else:
        if hasattr(cv, "split"):
            pairs = [(np.asarray(tr), np.asarray(va)) for tr, va in cv.split(X, y, groups)]
            scheme = cv.describe() if hasattr(cv, "describe") else {"scheme": repr(cv)}
        else:
            pairs = [(np.asarray(tr), np.asarray(va)) for tr, va in cv]
            scheme = {"scheme": "given folds"}
        scheme = {**scheme, "n_splits": len(pairs), "grouped": groups is not None}
        if keep is not None:
            sampled = np.zeros(n, dtype=bool)
            sampled[keep] = True
            pairs = [(tr[sampled[tr]], va[sampled[va]]) for tr, va in pairs]
    if not pairs:
        raise InsufficientDataError(f"cv={cv!r}: expected at least one (train, validation) pair; got no "
                                    "folds. Fix: pass a splitter that yields folds for these rows.")
    for k, (train, valid) in enumerate(pairs, start=1):
        for side, idx in (("training", train), ("validation", valid)):
            counts = np.bincount(y[idx], minlength=2) if len(idx) else np.zeros(2, dtype=int)
            if counts.min() == 0:
                raise InsufficientDataError(
                    f"Selection fold {k} of {len(pairs)} ({scheme.get('scheme')}) has {len(idx)} "
                    f"{side} rows with {counts[0]} of one class and {counts[1]} of the other; "
                    "expected both classes on both sides. Fix: more as-of dates or rows, or fewer "
                    "splits."
                )
    scheme["selection_rows"] = int(n if keep is None else len(keep))
    return Folds(pairs=pairs, scheme=scheme, n_rows=n)


def calibration_folds(cv, X: pd.DataFrame, y: np.ndarray, groups, selection: Folds, *,
                      max_rows: int | None, random_state: int | None) -> Folds | None:
    """Folds to fit the calibrator on when they differ from the selection folds, else None.

    A splitter with a ``calibration_split`` method (:class:`~engine.models.ForwardGroupSplit`)
    gives them; training sides above ``max_rows`` rows are sampled down to it.
    """
    if not hasattr(cv, "calibration_split"):
        return None
    rng = np.random.default_rng(random_state)
    pairs = []
    for train, valid in cv.calibration_split(X, y, groups):
        if max_rows is not None and len(train) > max_rows:
            train = np.sort(rng.choice(train, size=max_rows, replace=False))
        pairs.append((np.asarray(train), np.asarray(valid)))
    for k, (train, valid) in enumerate(pairs, start=1):
        if min(np.bincount(y[train], minlength=2).min(), np.bincount(y[valid], minlength=2).min()) == 0:
            raise InsufficientDataError(
                f"Calibration fold {k} of {len(pairs)} lacks one class on one side ({len(train)} "
                f"training, {len(valid)} validation rows); expected both classes. Fix: more rows, "
                "fewer calibration folds (kam train: training.calibration_folds in the model spec), "
                "or calibration='none'."
            )
    return Folds(pairs=pairs, scheme={"scheme": "calibration folds"}, n_rows=len(y))


def _fold_scores(y: np.ndarray, folds: Folds, pred: np.ndarray) -> tuple[list[float], list[float]]:
    aucs, losses = [], []
    for segment, (_, valid) in zip(folds.segments, folds.pairs):
        aucs.append(roc_auc_score(y[valid], pred[segment]))
        losses.append(log_loss(y[valid], np.clip(pred[segment], 1e-15, 1 - 1e-15), labels=[0, 1]))
    return aucs, losses


def score_candidates(candidates, internal: pd.DataFrame, y: np.ndarray, folds: Folds,
                     column_groups: dict[str, list[str]], *, blend: bool,
                     random_state: int | None, label: str = "training", n_workers: int = 1
                     ) -> tuple[pd.DataFrame, dict[str, np.ndarray], dict[str, Any]]:
    """Fit every candidate on every fold; return the results, validation scores and members.

    The validation scores of a candidate are its predictions on :attr:`Folds.validated`.
    ``members`` maps each label to ``(family, params)``, or a blend to its member labels.
    Progress is reported per candidate and fold through :func:`engine._progress.task`. The
    fold fits run on ``n_workers`` threads (scikit-learn's fitting releases the GIL; each fit
    keeps one OpenMP thread); ``fit_seconds`` adds up each candidate's fold fits.
    """
    n_fit_rows = min(len(tr) for tr, _ in folds.pairs)
    validated = folds.validated
    segments = folds.segments
    jobs = [(name, family, params, k) for name, family, params in candidates
            for k in range(len(folds.pairs))]

    def fit_fold(job):
        _name, family, params, k = job
        train, valid = folds.pairs[k]
        start = time.perf_counter()
        pipe = build_candidate(family, params, **column_groups, n_fit_rows=n_fit_rows,
                               random_state=random_state)
        fold_train, fold_valid = _fold_frames(internal, train, valid)
        pipe.fit(fold_train, y[train])
        return pipe.predict_proba(fold_valid)[:, 1], time.perf_counter() - start

    predictions = {name: np.empty(len(validated)) for name, _, _ in candidates}
    seconds = dict.fromkeys(predictions, 0.0)
    with task(f"{label}: candidates x folds", total=len(jobs)) as progress:
        for (name, _, _, k), (pred, took) in _run(fit_fold, jobs, n_workers):
            predictions[name][segments[k]] = pred
            seconds[name] += took
            progress.advance(description=f"{label}: {name}, fold {k + 1}/{len(folds.pairs)}")
    rows, scores = [], {}
    for name, family, params in candidates:
        aucs, losses = _fold_scores(y, folds, predictions[name])
        scores[name] = predictions[name]
        rows.append({"candidate": name, "family": family, "params": dict(params),
                     "roc_auc_mean": float(np.mean(aucs)), "roc_auc_std": float(np.std(aucs)),
                     "log_loss_mean": float(np.mean(losses)), "fit_seconds": seconds[name],
                     "roc_auc_folds": [float(a) for a in aucs]})
    results = pd.DataFrame(rows)
    members: dict[str, Any] = {name: (family, params) for name, family, params in candidates}
    best_by_family = (results.sort_values("roc_auc_mean", ascending=False, kind="stable")
                      .groupby("family", sort=False).head(1))
    if blend and best_by_family["family"].nunique() == 2:
        pair = list(best_by_family["candidate"])
        pred = np.mean([scores[p] for p in pair], axis=0)
        aucs, losses = _fold_scores(y, folds, pred)
        name = "blend(" + " + ".join(pair) + ")"
        scores[name] = pred
        members[name] = pair
        results = pd.concat([results, pd.DataFrame([{
            "candidate": name, "family": "blend", "params": {"members": pair},
            "roc_auc_mean": float(np.mean(aucs)), "roc_auc_std": float(np.std(aucs)),
            "log_loss_mean": float(np.mean(losses)),
            "fit_seconds": float(results.set_index("candidate").loc[pair, "fit_seconds"].sum()),
            "roc_auc_folds": [float(a) for a in aucs],
        }])], ignore_index=True)
    return results, scores, members


#: Order of simplicity of the candidate kinds (lower is simpler): scikit-learn's plain logistic
#: regression, linear then spline logistic, boosting, and the blend of two fitted models.
#: Boosting has one rank whatever its ``categorical_encoding``: native and ordinal are the same
#: trees on the same codes (ordinal only restricts a categorical split to a threshold on the
#: codes), and the grid's size settings differ far more than that; a tie between the two goes to
#: the higher mean fold AUC, as between any two boosting settings.
_SIMPLICITY = {("logistic", "raw"): 0, ("logistic", "linear"): 1, ("logistic", "spline"): 2,
               ("hist_gradient_boosting", None): 3, ("blend", None): 4}


def complexity(family: str, params: dict[str, Any]) -> int:
    """Rank of a candidate kind from simplest (0, plain logistic regression) to the blend (4).

    Examples
    --------
    >>> complexity("logistic", {"numeric_encoding": "raw"}), complexity("blend", {})
    (0, 4)
    """
    if family == "logistic":
        return _SIMPLICITY[("logistic", params.get("numeric_encoding", "spline"))]
    return _SIMPLICITY[(family, None)]


def choose_candidate(results: pd.DataFrame) -> tuple[int, dict[str, Any]]:
    """The simplest candidate within one standard error of the best: its row, and why.

    The best mean fold ROC AUC is itself a noisy estimate: on a few hundred rows, the candidate
    that tops the folds by 0.002 is as often the one that generalises worse (an outer check
    on scikit-learn's wine and diabetes sets lost 0.004-0.007 AUC to plain logistic regression
    that way). So every candidate whose fold AUCs are, paired fold by fold with the best's,
    not worse by more than one standard error of the mean difference counts as a tie, and the
    tie goes to the simplest (:func:`complexity`; then the higher mean, then grid order) - the
    "one-standard-error rule" of Breiman et al. (1984) and Hastie, Tibshirani & Friedman, *The
    Elements of Statistical Learning*, 7.10. With one fold there is no standard error: the best
    wins.
    """
    means = results["roc_auc_mean"].to_numpy()
    best = int(np.argmax(means))
    folds = np.array([list(f) for f in results["roc_auc_folds"]], dtype=float)
    k = folds.shape[1]
    differences = folds[best][None, :] - folds  # >0: the best did better on that fold
    mean_difference = differences.mean(axis=1)
    standard_error = differences.std(axis=1, ddof=1) / np.sqrt(k) if k > 1 else np.zeros(len(means))
    tied = mean_difference <= standard_error
    ranks = np.array([complexity(f, p) for f, p in zip(results["family"], results["params"])])
    order = sorted(np.flatnonzero(tied), key=lambda i: (ranks[i], -means[i], i))
    chosen = int(order[0])
    return chosen, {"rule": "simplest candidate within one standard error of the best mean fold ROC AUC",
                    "best_candidate": str(results["candidate"].iloc[best]),
                    "best_roc_auc": float(means[best]),
                    "standard_error": float(standard_error[chosen]),
                    "tied_candidates": [str(results["candidate"].iloc[i]) for i in order]}


def fold_predictions(parts: list[tuple[str, dict]], internal: pd.DataFrame, y: np.ndarray,
                     folds: Folds, column_groups: dict[str, list[str]], *,
                     random_state: int | None, label: str, n_workers: int = 1) -> np.ndarray:
    """Validation predictions of one model (the mean of ``parts``' probabilities) on ``folds``."""
    n_fit_rows = min(len(tr) for tr, _ in folds.pairs)
    pred = np.zeros(len(folds.validated))
    segments = folds.segments
    jobs = [(k, family, params) for k in range(len(folds.pairs)) for family, params in parts]

    def fit_fold(job):
        k, family, params = job
        train, valid = folds.pairs[k]
        pipe = build_candidate(family, params, **column_groups, n_fit_rows=n_fit_rows,
                               random_state=random_state)
        fold_train, fold_valid = _fold_frames(internal, train, valid)
        pipe.fit(fold_train, y[train])
        return pipe.predict_proba(fold_valid)[:, 1]

    with task(label, total=len(jobs)) as progress:
        for (k, _, _), fold_pred in _run(fit_fold, jobs, n_workers):
            pred[segments[k]] += fold_pred / len(parts)
            progress.advance()
    return pred


def _fold_frames(internal: pd.DataFrame, train: np.ndarray, valid: np.ndarray
                 ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A fold's training and validation rows; a column with no value in the training rows is
    set to 0 on both sides (a constant: no candidate can use it in that fold).

    Forward folds train on the earliest as-of dates, where a feature with a long look-back
    (``revenue_change_12m`` needs 24 months of history) can be missing on every row although
    the whole frame has it; scikit-learn's boosting then fails binning it ("window shape
    cannot be larger than input array shape") and the imputers drop it.
    """
    fold_train, fold_valid = internal.iloc[train], internal.iloc[valid]
    empty = fold_train.columns[fold_train.isna().all().to_numpy()]
    if len(empty):
        fold_train, fold_valid = fold_train.copy(), fold_valid.copy()
        fold_train[empty] = 0.0
        fold_valid[empty] = 0.0
    return fold_train, fold_valid


def _run(function, jobs: list, n_workers: int):
    """Yield ``(job, function(job))`` in job order, on up to ``n_workers`` threads."""
    if n_workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            yield job, function(job)
        return
    def one_thread(job):
        # OpenMP's thread count is per calling thread: a new thread would start with one per
        # core and two fits would then fight over the cores at every tree.
        with threadpool_limits(limits=1):
            return function(job)

    with ThreadPoolExecutor(max_workers=min(n_workers, len(jobs))) as pool:
        yield from zip(jobs, pool.map(one_thread, jobs))


@dataclass(frozen=True)
class Selection:
    """What candidate selection decided, for :class:`~engine.models.AutoClassifier`."""

    folds: Folds
    results: pd.DataFrame
    candidate: str
    choice: dict[str, Any]
    scores: np.ndarray
    parts: list[tuple[str, dict[str, Any]]]


def select_candidate(cv, frame: pd.DataFrame, internal: pd.DataFrame, y: np.ndarray, groups,
                     column_groups: dict[str, list[str]], *, candidates, blend: bool,
                     max_rows: int | None, random_state: int | None, label: str,
                     n_workers: int) -> Selection:
    """Score every candidate on the folds of ``cv`` and choose one (:func:`choose_candidate`).

    Returns the folds, the per-candidate results (``cv_results_``), the chosen label, why it
    was chosen, its validation scores on :attr:`Folds.validated` and its members
    (``(family, params)``; two for a blend).
    """
    from engine.models._candidates import expand_candidates

    folds = resolve_folds(cv, frame, y, groups, max_rows=max_rows, random_state=random_state)
    results, oof, members = score_candidates(
        expand_candidates(candidates), internal, y, folds, column_groups, blend=blend,
        random_state=random_state, label=label, n_workers=n_workers)
    row, choice = choose_candidate(results)
    name = str(results["candidate"].iloc[row])
    chosen = members[name]
    parts = [members[p] for p in chosen] if isinstance(chosen, list) else [chosen]
    return Selection(folds=folds, results=results, candidate=name, choice=choice, scores=oof[name],
                     parts=parts)


def refit(parts: list[tuple[str, dict[str, Any]]], internal: pd.DataFrame, y: np.ndarray,
          column_groups: dict[str, list[str]], *, random_state: int | None, label: str) -> list:
    """The chosen candidate's pipelines fitted on every training row (one per blend member)."""
    fitted = []
    with task(f"{label}: refit on {len(internal):,} rows", total=len(parts)) as progress:
        for family, params in parts:
            pipe = build_candidate(family, params, **column_groups, n_fit_rows=len(internal),
                                   random_state=random_state)
            fitted.append(pipe.fit(internal, y))
            progress.advance()
    return fitted

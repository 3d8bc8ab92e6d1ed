"""Validation splits shaped like the models' use: forward in time, grouped by account or deal.

A churn or win training frame holds one row per account (or open deal) per as-of date. Shuffled
K-fold puts one account, with overlapping label windows, in the training and the validation
folds at once: selection then rewards memorising accounts, and calibration learns on scores
that are better than any the model will give on the future. :class:`ForwardGroupSplit` splits
the way the model is used: trained on the past, judged on later as-of dates whose labels
the training rows could not have seen, and on accounts (or deals) it did not train on.
"""

from __future__ import annotations

from collections.abc import Iterator, Sized
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import pandas as pd

from engine._errors import ArgumentError, DataError, InsufficientDataError
from engine.models._types import Fold

__all__ = ["ForwardGroupSplit"]


class ForwardGroupSplit:
    """Expanding-window splits over as-of dates with a gap, grouped by account or deal.

    Of the distinct dates that have at least ``min_train_dates`` earlier dates, and one date's
    worth of rows (the median per date), with labels known by then, the latest
    ``n_splits * block_dates`` are cut into ``n_splits`` consecutive blocks. Fold ``k``
    validates on the rows dated in block ``k`` and trains on the earlier rows whose label was
    known by the block's first date (``gap_days`` after their date, or ``label_dates``): an
    expanding window. With ``groups``, no group is on both sides of a fold: the groups are
    dealt at random into ``group_parts`` parts (default ``n_splits``), fold ``k`` validates
    on part ``k mod group_parts`` and training drops every group it validates on. Accounts
    recur at every as-of date, so churn deals them into parts (each fold trains on the other
    parts); a deal is open at a few dates only, so win uses ``group_parts=1`` (every deal of
    the block is validated, and only those deals leave training).

    A scikit-learn splitter: pass it as ``cv=`` to :class:`~engine.models.ChurnModel` and the
    groups to ``fit(X, y, groups=...)``; it also works with ``cross_val_score``.

    Parameters
    ----------
    dates : array-like of datetime, one per row of the X that will be split
        The as-of date of each row.
    n_splits : int, default=3
    gap_days : int, default=0
        The label horizon: a training row's label looks this far past its date, so it may only
        train a fold whose validation starts at least this many days later.
    label_dates : array-like of datetime, optional
        Instead of ``gap_days``: the day each row's label became known (a deal's close date;
        ``as_of + horizon`` for churn); a row trains a fold only if its label was known by the
        fold's first validation date. Missing means never known.
    block_dates : int, default=1
        Distinct as-of dates per validation block.
    group_parts : int, optional
        Parts the groups are dealt into (default ``n_splits``); 1 validates every group.
    calibration_parts : int, default=3
        Parts of the groups for the calibration folds (:meth:`calibration_split`).
    recent_dates : int or None, default=None
        If given, the calibration is re-levelled to the base rate of the latest this many dates
        when it drifted there (:meth:`recent_rows`). Off by default: on the demo, churn's rate
        is seasonal, and re-levelling to the latest quarter (summer, 0.24) moved out-of-time
        ECE from 0.019 to 0.031 on the next winter quarter (0.25); win did not drift.
    min_train_dates : int, default=1
        Distinct training dates the first fold needs at least.
    random_state : int or None, default=0
        Seed of the dealing of groups into parts.

    Examples
    --------
    >>> dates = pd.to_datetime(["2024-01-31"] * 4 + ["2024-02-29"] * 4 + ["2024-03-31"] * 4)
    >>> split = ForwardGroupSplit(dates, n_splits=2, gap_days=20)
    >>> [(sorted({str(dates[i].date()) for i in tr}), sorted({str(dates[i].date()) for i in va}))
    ...  for tr, va in split.split(np.zeros((12, 1)))]
    [(['2024-01-31'], ['2024-02-29']), (['2024-01-31', '2024-02-29'], ['2024-03-31'])]
    """

    def __init__(self, dates: npt.ArrayLike, n_splits: int = 3, *, gap_days: int = 0,
                 label_dates: npt.ArrayLike | None = None, block_dates: int = 1,
                 group_parts: int | None = None, calibration_parts: int = 3,
                 recent_dates: int | None = None,
                 min_train_dates: int = 1, random_state: int | None = 0):
        self.calibration_parts = calibration_parts
        self.recent_dates = recent_dates
        self.dates = dates
        self.n_splits = n_splits
        self.block_dates = block_dates
        self.group_parts = group_parts
        self.gap_days = gap_days
        self.label_dates = label_dates
        self.min_train_dates = min_train_dates
        self.random_state = random_state

    def __repr__(self) -> str:
        return (f"ForwardGroupSplit(n_splits={self.n_splits}, gap_days={self.gap_days}, "
                f"block_dates={self.block_dates}, group_parts={self.group_parts})")

    def get_n_splits(self, X: npt.ArrayLike | pd.DataFrame | None = None, y: npt.ArrayLike | None = None,
                     groups: npt.ArrayLike | None = None) -> int:
        """The number of folds (``n_splits``; the arguments are ignored, as scikit-learn's splitters do)."""
        return int(self.n_splits)

    def _known(self, days: np.ndarray) -> np.ndarray:
        """The day each row's label is known (int64 day numbers; never: the largest int)."""
        if self.label_dates is None:
            return days + int(self.gap_days)
        known = pd.to_datetime(pd.Series(np.asarray(self.label_dates)))
        if len(known) != len(days):
            raise ArgumentError(f"ForwardGroupSplit: expected one label date per row of dates "
                                f"({len(days)}); got {len(known)} label_dates. Fix: pass both for "
                                "the same rows.")
        out = known.to_numpy().astype("datetime64[D]").astype(np.int64)
        out[known.isna().to_numpy()] = np.iinfo(np.int64).max
        return out

    def _days(self) -> np.ndarray:
        dates = pd.to_datetime(pd.Series(np.asarray(self.dates)))
        if dates.isna().any():
            raise InsufficientDataError(
                f"ForwardGroupSplit: expected a date on every row; got {int(dates.isna().sum())} "
                "rows without one. Drop them or fill the as-of date."
            )
        return (dates.to_numpy().astype("datetime64[D]").astype(np.int64))

    def blocks(self) -> list[np.ndarray]:
        """The validation dates (as day numbers) of each fold, oldest block first."""
        if isinstance(self.n_splits, bool) or not isinstance(self.n_splits, (int, np.integer)) \
                or self.n_splits < 1:
            raise ArgumentError(f"ForwardGroupSplit: expected n_splits as an integer >= 1; got "
                                f"{self.n_splits!r}. Fix: pass e.g. n_splits=3.")
        days = self._days()
        known = self._known(days)
        distinct, per_date = np.unique(days, return_counts=True)
        # A fold needs history: at least min_train_dates dates and one date's worth of rows
        # (the median per date) whose labels were known by its validation date.
        min_rows = float(np.median(per_date))
        eligible = [d for d in distinct
                    if len(np.unique(days[(known <= d) & (days < d)])) >= self.min_train_dates
                    and np.count_nonzero((known <= d) & (days < d)) >= min_rows]
        if len(eligible) < self.n_splits:
            raise InsufficientDataError(
                f"ForwardGroupSplit: {len(distinct)} distinct as-of dates leave {len(eligible)} "
                f"with at least {self.min_train_dates} training date(s) whose labels were known "
                f"by then; expected at least n_splits={self.n_splits}. Fix: train on more "
                "as-of dates (training.as_of.periods in the model spec) or use fewer splits."
            )
        eligible = eligible[-self.n_splits * max(1, int(self.block_dates)):]
        return [np.asarray(block) for block in np.array_split(np.asarray(eligible), self.n_splits)]

    def split(self, X: npt.ArrayLike | pd.DataFrame, y: npt.ArrayLike | None = None,
              groups: npt.ArrayLike | None = None) -> Iterator[Fold]:
        """Yield ``(train_indices, validation_indices)`` per fold, oldest validation first.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_samples, n_features)
            The rows being split: one per date given to the splitter (only their number is read).
        y : array-like of shape (n_samples,), optional
            Ignored; there for scikit-learn's splitter interface.
        groups : array-like of shape (n_samples,), optional
            The account (or deal) of each row: no group is on both sides of a fold.

        Yields
        ------
        train, validation : numpy.ndarray of intp
            Row positions into ``X``.
        """
        days = self._days()
        n = len(cast(Sized, X)) if not hasattr(X, "shape") else X.shape[0]
        if len(days) != n:
            raise DataError(
                f"ForwardGroupSplit: expected one date per row of the X being split ({n} rows); "
                f"got {len(days)} dates. Fix: build the splitter on the same rows."
            )
        part: np.ndarray | None = None
        codes: np.ndarray | None = None
        if groups is not None:
            codes, uniques = pd.factorize(pd.Series(np.asarray(groups)), use_na_sentinel=False)
            if len(codes) != n:
                raise DataError(f"ForwardGroupSplit: expected one group per row of X ({n} rows); "
                                f"got {len(codes)} groups. Fix: pass the groups of the same rows.")
            rng = np.random.default_rng(self.random_state)
            parts = self._parts()
            part = (rng.permutation(len(uniques)) % parts)[codes]
        known = self._known(days)
        for k, block in enumerate(self.blocks()):
            valid = np.isin(days, block)
            train = (known <= block[0]) & (days < block[0])
            if part is not None:
                assert codes is not None  # part is only ever computed from codes
                valid &= part == k % self._parts()
                seen = np.zeros(codes.max() + 1, dtype=np.bool_)
                seen[codes[valid]] = True
                train &= ~seen[codes]
            yield np.flatnonzero(train), np.flatnonzero(valid)

    def _parts(self) -> int:
        return int(self.n_splits if self.group_parts is None else self.group_parts)

    def calibration_split(self, X: npt.ArrayLike | pd.DataFrame, y: npt.ArrayLike | None = None,
                          groups: npt.ArrayLike | None = None) -> Iterator[Fold]:
        """Yield ``(train, validation)`` folds to fit the calibrator on: grouped, whole history.

        The groups (or rows) are dealt into ``calibration_parts`` parts; fold ``k`` validates on part
        ``k`` at every date and trains on the other parts. A calibrator must learn on scores
        as sharp as the published model's: the forward folds train on a fraction of the
        history (the first on a few dates), and calibrating the final model with their
        scores shrank its probabilities (win: out-of-time ECE 0.064, uncalibrated 0.021).
        Every date, not only the latest: the demo's churn rate is seasonal (0.24 in July,
        0.27 in February), and a calibrator learned on the latest month missed the next
        quarter's rate by 0.03. No account (deal) is on both sides of a fold.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_samples, n_features)
            Ignored: the rows are the splitter's dates.
        y : array-like of shape (n_samples,), optional
            Ignored.
        groups : array-like of shape (n_samples,), optional
            The account (or deal) of each row; without them the rows are dealt one by one.

        Yields
        ------
        train, validation : numpy.ndarray of intp
            Row positions.
        """
        parts = self.calibration_parts
        if isinstance(parts, bool) or not isinstance(parts, (int, np.integer)) or parts < 2:
            raise ArgumentError(f"ForwardGroupSplit: expected calibration_parts as an integer >= 2 (each "
                                f"part is scored by a model trained on the others); got {parts!r}. Fix: "
                                "use 3 (the default) to 10.")
        days = self._days()
        rng = np.random.default_rng(self.random_state)
        if groups is None:
            dealt, what = len(days), "rows"
            part = rng.permutation(dealt) % parts
        else:
            codes, uniques = pd.factorize(pd.Series(np.asarray(groups)), use_na_sentinel=False)
            dealt, what = len(uniques), "accounts (deals)"
            part = (rng.permutation(dealt) % parts)[codes]
        if dealt < parts:
            raise InsufficientDataError(
                f"ForwardGroupSplit: expected at least {parts} {what} to deal into "
                f"calibration_parts={parts}; got {dealt}. Fix: fewer parts (kam train: "
                "training.calibration_folds in the model spec) or more data.")
        for k in range(parts):
            yield np.flatnonzero(part != k), np.flatnonzero(part == k)

    def recent_rows(self, rows: np.ndarray) -> np.ndarray:
        """Mask of ``rows`` (indices into the split X) dated in the latest ``recent_dates`` dates.

        :class:`~engine.models.AutoClassifier` re-levels its calibration on them when the
        base rate there drifted from the whole history's (see ``recalibration_``).
        """
        days = self._days()
        if self.recent_dates is None:
            return np.zeros(len(rows), dtype=bool)
        latest = np.unique(days)[-max(1, int(self.recent_dates)):]
        return np.isin(days[np.asarray(rows)], latest)

    def describe(self) -> dict[str, Any]:
        """The scheme in plain data, for the model card."""
        return {
            "scheme": "forward in time, expanding window over as-of dates",
            "n_splits": int(self.n_splits),
            "group_parts": self._parts(),
            "gap": (f"{int(self.gap_days)} days (the label horizon)" if self.label_dates is None
                    else "a training row's label was known before the validation date"),
            "validation_blocks": [[str(np.datetime64(int(d), "D")) for d in block]
                                  for block in self.blocks()],
            "calibration": f"{int(self.calibration_parts)} grouped folds over the whole history: each "
                           "account (deal) scored by a model trained on the other accounts (deals)",
        }

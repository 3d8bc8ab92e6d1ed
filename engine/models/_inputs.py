"""What the auto classifiers accept: the feature frame, the binary target and the minimums.

Checked at the start of ``fit`` (and, for ``X``, of every scoring call) with scikit-learn's
wording, so its estimator checks recognise the errors, and with kam's expected / got / fix.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import column_or_1d

from engine._errors import ArgumentError, DataError, InsufficientDataError

__all__ = ["as_frame", "check_sufficient", "encode_target"]


def as_frame(X) -> tuple[pd.DataFrame, bool]:
    """``X`` as a DataFrame, and whether it came with string column names.

    A dense 2-D array is named ``x0, x1, ...``; sparse input and other shapes are refused.
    """
    if isinstance(X, pd.DataFrame):
        return X, all(isinstance(c, str) for c in X.columns)
    if hasattr(X, "toarray") or hasattr(X, "tocsr"):
        raise ArgumentError(
            "Sparse input is not supported: expected a pandas DataFrame (or a dense 2-D "
            "array); got a sparse matrix. Fix: convert it with .toarray() or pass a DataFrame."
        )
    array = np.asarray(X)
    if array.ndim != 2:
        raise DataError(
            f"Expected 2D array or a DataFrame, got {array.ndim}D array instead. Reshape your "
            "data (fix: use array.reshape(-1, 1) for a single feature)."
        )
    return pd.DataFrame(array, columns=[f"x{i}" for i in range(array.shape[1])]), False


def encode_target(y, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """``(classes, codes)`` of a binary target with one label per row.

    ``classes`` are the sorted labels (the larger one is the positive class), ``codes`` the
    position of each row's label in them (int64 0/1).
    """
    y_array = np.asarray(y)
    if y_array.ndim == 2 and y_array.shape[1] == 1:
        y_array = column_or_1d(y_array, warn=True)
    if y_array.ndim != 1:
        raise DataError(
            f"y should be a 1d array, got an array of shape {y_array.shape} instead. Expected "
            "one label per row; fix: pass a single column (a Series or a 1-D array)."
        )
    if len(y_array) != n_rows:
        raise DataError(
            f"X and y have inconsistent numbers of samples: expected one label per row of X "
            f"({n_rows} rows); got {len(y_array)} labels. Fix: pass one label per row."
        )
    if pd.isna(y_array).any():
        raise DataError(
            f"y has {int(pd.isna(y_array).sum())} missing labels; expected every training row "
            "to be labelled. Drop unlabelled rows before fit."
        )
    if y_array.dtype.kind == "f" and not np.isfinite(y_array).all():
        raise DataError(
            "Input y contains infinity or a value too large for dtype('float64'). Expected "
            "binary labels; got infinite values. Fix the target column."
        )
    if type_of_target(y_array) == "continuous":
        raise DataError(
            "Unknown label type: continuous. Expected a binary target (0/1, bool or two "
            "labels); got continuous values. Fix: threshold or label your target first."
        )
    classes, codes = np.unique(y_array, return_inverse=True)
    if len(classes) > 2:
        raise DataError(
            "Only binary classification is supported. Expected 2 classes; got "
            f"{len(classes)} ({list(classes)[:10]}). Churn and win are yes/no outcomes; fix: "
            "map the target to two labels."
        )
    return classes, codes.astype(np.int64)


def check_sufficient(name: str, classes: np.ndarray, codes: np.ndarray, *, min_rows: int,
                     min_class_count: int) -> None:
    """Refuse, before any fitting, fewer rows or rows of a class than the minimums."""
    n = len(codes)
    counts = np.bincount(codes, minlength=2)
    if len(classes) < 2:
        raise InsufficientDataError(
            f"Training needs both outcomes; got only one class ({_plain(classes[0])!r}) in {n} "
            "rows. Widen the training window or check the target definition."
        )
    problems = []
    if n < min_rows:
        problems.append(f"{n} rows (minimum {min_rows})")
    for label, count in zip(classes, counts):
        if count < min_class_count:
            problems.append(f"{count} rows of class {_plain(label)!r} (minimum {min_class_count})")
    if problems:
        raise InsufficientDataError(
            f"Too little data to train {name}: got " + "; ".join(problems)
            + ". Expected at least the minimums (see docs/models.md, 'Minimums'). Fix: widen "
            "the training window (more as-of dates), or lower min_rows/min_class_count if "
            "you accept a less reliable model."
        )


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value

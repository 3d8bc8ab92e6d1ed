"""Type aliases of the models' public signatures (one home for each, so they read the same).

Annotations only: nothing here is checked at run time (the functions check their arguments
themselves and raise :class:`engine.ArgumentError` and kin with a fix).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Literal, Protocol, TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = ["CV", "Calibration", "DateLike", "Direction", "Fold", "Indices", "Mask", "ModelKind", "PublishMetric", "Splitter",
           "Window"]

#: The two model kinds (``kam train churn|win``; a model's ``kind`` on its card).
ModelKind: TypeAlias = Literal["churn", "win"]

#: Metrics the publish gate can compare (the keys of :data:`engine.models.PUBLISH_METRICS`).
PublishMetric: TypeAlias = Literal["roc_auc", "pr_auc", "lift_top_decile", "capture_top_decile", "brier", "ece"]

#: A date as the models take it: ISO text (``"2025-06-30"``), a ``datetime.date`` or
#: ``datetime.datetime`` (``pandas.Timestamp`` is one) or a ``numpy.datetime64``.
DateLike: TypeAlias = str | dt.date | np.datetime64

#: A training or validation window on a model card: a ``(start, end)`` pair of dates, or a
#: mapping such as ``{"start": ..., "end": ...}`` (values that are not dates are kept as text).
Window: TypeAlias = tuple[DateLike, DateLike] | Mapping[str, object]

#: Row positions into the X being split.
Indices: TypeAlias = npt.NDArray[np.intp]

#: One boolean per row.
Mask: TypeAlias = npt.NDArray[np.bool_]

#: One cross-validation fold: ``(training row positions, validation row positions)``.
Fold: TypeAlias = tuple[Indices, Indices]

#: Which factors ``explain`` keeps: all by size, or only those that raise (lower) the probability.
Direction: TypeAlias = Literal["both", "raises", "lowers"]

#: How a model calibrates its probabilities (``AutoClassifier(calibration=...)``).
Calibration: TypeAlias = Literal["auto", "isotonic", "sigmoid", "none"]


class Splitter(Protocol):
    """A scikit-learn splitter: ``GroupKFold(3)``, :class:`engine.models.ForwardGroupSplit`, ...

    ``fit`` calls ``split(X, y, groups)`` with the training frame, the 0/1 target and the groups.
    """

    def split(self, X: pd.DataFrame, y: npt.NDArray[np.int64], groups: npt.ArrayLike | None,
              /) -> Iterable[tuple[npt.ArrayLike, npt.ArrayLike]]: ...


#: The folds of ``AutoClassifier(cv=...)``: ``"auto"``, a number of folds, a splitter, or the
#: ``(train, validation)`` row positions of each fold.
CV: TypeAlias = int | Literal["auto"] | Splitter | Iterable[tuple[npt.ArrayLike, npt.ArrayLike]]

"""Threads of the auto classifiers: how many score, how many fit, and OpenMP/BLAS limits.

``n_jobs`` ("auto", None or a positive integer) is the estimators' one thread setting
(see :class:`~engine.models.AutoClassifier`); these helpers turn it into counts and limits.
"""

from __future__ import annotations

import os

import numpy as np
from threadpoolctl import threadpool_limits

from engine.models._params import InvalidParameterError

__all__ = ["AUTO_THREADS_MIN_ROWS", "check_n_jobs", "fit_workers", "scoring_threads", "thread_limits"]


#: With n_jobs="auto", scoring uses every core from this many rows on (below, one thread:
#: starting threads costs more than they save).
AUTO_THREADS_MIN_ROWS = 100_000


def check_n_jobs(n_jobs) -> None:
    """Refuse an ``n_jobs`` that is not "auto", None or a positive integer (set after fit too)."""
    if n_jobs is None or n_jobs == "auto" or (
            isinstance(n_jobs, (int, np.integer)) and not isinstance(n_jobs, bool) and n_jobs >= 1):
        return
    raise InvalidParameterError(
        f"The 'n_jobs' parameter: expected 'auto', None or a positive integer; got {n_jobs!r}. "
        "Fix: use set_params(n_jobs='auto')."
    )


def scoring_threads(n_jobs: int | str | None, n_rows: int) -> int:
    """Threads for scoring ``n_rows`` rows (see the ``n_jobs`` parameter)."""
    check_n_jobs(n_jobs)
    if n_jobs == "auto":
        return 1 if n_rows < AUTO_THREADS_MIN_ROWS else (os.cpu_count() or 1)
    if n_jobs is None:
        return os.cpu_count() or 1
    return int(n_jobs)


def fit_workers(n_jobs: int | str | None) -> int:
    """Fold fits run at once: one per core under "auto" and None, else ``n_jobs``."""
    check_n_jobs(n_jobs)
    if n_jobs in ("auto", None):
        return os.cpu_count() or 1
    return int(n_jobs)


def thread_limits(n_jobs: int | str | None):
    # OpenMP threads in gradient boosting cost far more than they save on small frames, and
    # badly so on a busy machine (measured 10x slower on 2,400 rows with 2 cores).
    check_n_jobs(n_jobs)
    return threadpool_limits(limits=1 if n_jobs == "auto" else n_jobs)

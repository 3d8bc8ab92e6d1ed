"""The statistics over all accounts that some features compare against (for partitioned runs).

Most features of an account read only that account's rows. A few compare it with other rows:

* ``resolution_hours_ratio`` divides by the median resolution hours of **all** accounts'
  tickets;
* ``territory_win_rate_12m`` / ``territory_closed_deals_12m`` (opportunities) count the deals of
  the whole territory;
* ``revenue_rank_in_territory``, ``territory_accounts`` and ``revenue_share_in_territory`` rank
  and sum within the territory.

A run that builds features one partition at a time passes a :class:`FeatureReference` taken once
over the whole database, so the first two are exact whatever the partitioning. The territory
ranks need every account of the territory and are exact when each partition holds whole
territories (``engine.pipeline._partition.partition_tables`` guarantees it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from engine._errors import DataError
from engine._normalise import as_of_day, day_to_timestamp
from engine.features._accounts import resolution_hours_median
from engine.features._opportunities import territory_deal_counts

__all__ = ["FeatureReference", "feature_reference"]


@dataclass(frozen=True)
class FeatureReference:
    """Cross-account statistics at one as-of date (small: a float and one pair per territory).

    Attributes
    ----------
    as_of_day : int
        The as-of date as a day number (days since 1970-01-01); the builders refuse a
        reference taken at another date.
    resolution_hours_median : float
        Median resolution hours of all tickets closed in ``[A - 365, A)`` (NaN when none).
    territory_deals : mapping of str to (int, int)
        ``territory -> (won, decided)`` over deals closed in ``[A - 365, A)``; territories with
        no decided deal are absent.
    """

    as_of_day: int
    resolution_hours_median: float
    territory_deals: Mapping[str, tuple[int, int]]

    def check_day(self, day: int) -> None:
        """Raise DataError unless the reference was taken at day number ``day``."""
        if int(day) != int(self.as_of_day):
            raise DataError(
                f"expected a feature reference taken at the as-of date "
                f"{day_to_timestamp(day).date()}; got one taken at {day_to_timestamp(self.as_of_day).date()}; "
                "call feature_reference(tables, as_of) with the same as_of as the builder"
            )


def feature_reference(tables: dict[str, pd.DataFrame], as_of: Any) -> FeatureReference:
    """Return the cross-account statistics of ``tables`` at ``as_of``.

    Take it once over the whole database, then pass it as ``reference=`` to
    :func:`build_account_features` and :func:`build_opportunity_features` on each partition:
    the partitions' rows then equal the rows of one pass over everything (see the module
    docstring for the territory condition).

    Parameters
    ----------
    tables : dict of str to pandas.DataFrame
        The whole customer database (``customers``; ``tickets`` and ``opportunities`` are read,
        missing ones count as empty).
    as_of : date-like
        The as-of date of the run.

    Returns
    -------
    FeatureReference

    Examples
    --------
    >>> customers = pd.DataFrame({"account_id": ["A1", "A2"], "region": ["shanghai"] * 2,
    ...                           "industry": ["finance"] * 2})
    >>> tickets = pd.DataFrame({"account_id": ["A1", "A2", "A2"],
    ...                         "closed_date": ["2024-05-01", "2024-05-02", "2024-05-03"],
    ...                         "resolution_hours": [4.0, 10.0, 30.0]})
    >>> ref = feature_reference({"customers": customers, "tickets": tickets}, "2024-07-01")
    >>> ref.resolution_hours_median, dict(ref.territory_deals)
    (10.0, {})
    """
    day = as_of_day(as_of, tables)
    return FeatureReference(
        as_of_day=day,
        resolution_hours_median=resolution_hours_median(tables, as_of),
        territory_deals=territory_deal_counts(tables, as_of),
    )

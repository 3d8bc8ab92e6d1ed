"""Moved to :mod:`engine._normalise` (shared by features, the decision stage and partitioning).

Kept so that ``from engine.features._normalise import ...`` goes on working.
"""

from engine._normalise import (
    NULL_DAY,
    arrow_to_numpy,
    as_of_day,
    day_numbers,
    day_to_timestamp,
    duplicate_keys,
    encode_keys,
    encode_many,
    key_array,
    table,
    typed_frame,
)

__all__ = ["NULL_DAY", "arrow_to_numpy", "as_of_day", "day_numbers", "day_to_timestamp", "duplicate_keys",
           "encode_keys", "encode_many", "key_array", "table", "typed_frame"]

"""Fixtures for the validation tests: small valid tables generated from the real contract."""

from __future__ import annotations

import pytest
from validate_factories import AS_OF, valid_tables


@pytest.fixture
def tables():
    """A fresh, valid copy of every contract table (about 30 rows each)."""
    return valid_tables(rows=30, seed=7)


@pytest.fixture
def as_of():
    return AS_OF

"""docs/features.md lists every produced feature and states the as-of convention."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.features import (
    ACCOUNT_FEATURE_COLUMNS,
    OPPORTUNITY_FEATURE_COLUMNS,
    TRANSACTION_FEATURES,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "features.md"
PRODUCED = sorted(set(ACCOUNT_FEATURE_COLUMNS) | set(OPPORTUNITY_FEATURE_COLUMNS) | set(TRANSACTION_FEATURES))


@pytest.mark.parametrize("feature", PRODUCED)
def test_every_feature_is_documented(feature):
    assert f"`{feature}`" in DOC.read_text(encoding="utf-8")


def test_the_as_of_convention_is_stated():
    text = DOC.read_text(encoding="utf-8")
    assert "Features read rows dated strictly before `A`" in text
    assert "A <= date < A + horizon_days" in text

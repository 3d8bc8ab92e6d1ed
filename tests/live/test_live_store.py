"""The live store's one transaction: all or nothing, on SQLite (driver connection) and PostgreSQL."""

from __future__ import annotations

import pytest

from engine._errors import StorageError
from engine.storage import LiveStore


class _Refused(Exception):
    pass


def test_a_failure_inside_the_decision_writes_nothing(live_db):
    """The claim and the row are written in one transaction; an error after the claim undoes both."""
    store = LiveStore(live_db)
    store.sync()
    person = ("rep", "R-TEST")
    row = {"lead_id": "L-1", "status": "assigned", "assignee_type": "rep", "assignee_id": "R-TEST",
           "load_claimed": 1}
    claim = store.decide("L-1", base_run_key=None, choose=lambda load_of: dict(row), capacity_of=lambda *_: 3)
    assert not claim.replayed and store.loads() == {person: 1}

    def choose_then_fail(load_of):
        assert load_of([person, ("rep", "R-NONE")]) == {person: 1, ("rep", "R-NONE"): 0}  # IN (...) of two ids
        return {**row, "lead_id": "L-2", "lead": object()}  # not storable: the INSERT fails after the claim

    with pytest.raises(StorageError, match="route lead 'L-2'.*Nothing was written"):
        store.decide("L-2", base_run_key=None, choose=choose_then_fail, capacity_of=lambda *_: 3)
    assert store.loads() == {person: 1}  # the claim of L-2 was rolled back with it
    assert store.recorded("L-2") is None
    assert list(store.assignments()["lead_id"]) == ["L-1"]

    def refuse(load_of):
        raise _Refused("the caller's own error")

    with pytest.raises(_Refused):
        store.decide("L-3", base_run_key=None, choose=refuse, capacity_of=lambda *_: 3)
    # the lock was released: the next decision goes through
    again = store.decide("L-3", base_run_key=None, choose=lambda load_of: {**row, "lead_id": "L-3"},
                         capacity_of=lambda *_: 3)
    assert again.row["seq"] == 2 and store.loads() == {person: 2}

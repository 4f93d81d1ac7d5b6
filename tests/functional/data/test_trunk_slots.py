"""The trunk slot leases behind ``max_concurrent_calls``: the table's repository and the in-memory
store the edge tests use, held to one contract."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

import pytest

from contact_center.data.trunk_slots import TrunkSlots
from tests.support.trunk_slots import MemoryTrunkSlots


class Store(Protocol):
    def claim(
        self, trunk_id: str, limit: int, contact_id: str, task_id: str, now: int, lease_seconds: int
    ) -> int | None: ...

    def renew(self, trunk_id: str, slot: int, contact_id: str, now: int, lease_seconds: int) -> bool: ...

    def release(self, trunk_id: str, slot: int, contact_id: str) -> None: ...


@pytest.fixture(params=["table", "memory"])
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    if request.param == "memory":
        yield MemoryTrunkSlots()
    else:
        request.getfixturevalue("moto_table")
        yield TrunkSlots()


def test_no_more_calls_than_the_limit_hold_a_trunk_and_a_release_frees_a_slot(store: Store) -> None:
    first = store.claim("t1", 2, "c1", "edge-a", 1000, 120)
    second = store.claim("t1", 2, "c2", "edge-b", 1000, 120)
    assert {first, second} == {0, 1}
    assert store.claim("t1", 2, "c3", "edge-a", 1000, 120) is None
    assert store.claim("t2", 2, "c3", "edge-a", 1000, 120) is not None  # each trunk its own slots
    assert first is not None
    store.release("t1", first, "c1")
    assert store.claim("t1", 2, "c3", "edge-a", 1001, 120) == first


def test_a_lease_not_renewed_expires_and_its_slot_is_claimed_again(store: Store) -> None:
    slot = store.claim("t1", 1, "c1", "edge-dead", 1000, 120)
    assert slot == 0
    assert store.claim("t1", 1, "c2", "edge-a", 1119, 120) is None
    assert store.claim("t1", 1, "c2", "edge-a", 1120, 120) == 0
    # The dead task's call can neither renew nor free the slot now held by another call.
    assert store.renew("t1", 0, "c1", 1121, 120) is False
    store.release("t1", 0, "c1")
    assert store.claim("t1", 1, "c3", "edge-a", 1122, 120) is None


def test_a_renewed_lease_outlives_its_first_term(store: Store) -> None:
    assert store.claim("t1", 1, "c1", "edge-a", 1000, 120) == 0
    assert store.renew("t1", 0, "c1", 1100, 120) is True
    assert store.claim("t1", 1, "c2", "edge-b", 1150, 120) is None
    assert store.claim("t1", 1, "c2", "edge-b", 1220, 120) == 0


def test_slots_above_a_lowered_limit_still_count_until_their_calls_end(store: Store) -> None:
    for contact in ("c1", "c2", "c3"):
        assert store.claim("t1", 3, contact, "edge-a", 1000, 120) is not None
    assert store.claim("t1", 2, "c4", "edge-a", 1000, 120) is None

"""Write-behind of the location service: every change reaches the store, a failed write is kept."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Sequence

import pytest

from sip_edge.app.registration.location import LocationService
from sip_edge.sip.registration import Binding

AOR = "sip:alice@sip.test"


def binding(key: str, expires_at: float, cseq: int = 1) -> Binding:
    return Binding(
        aor=AOR,
        key=key,
        contact_uri=f"sip:alice@192.0.2.1:5060;k={key}",
        expires_at=expires_at,
        received="192.0.2.1:5060",
        transport="UDP",
        flow_owner="edge-a",
        call_id="call-1",
        cseq=cseq,
    )


class FlakyStore:
    """Fails the next ``failures`` writes (after running ``meanwhile``), then keeps what it is given."""

    def __init__(self, failures: int = 0, meanwhile: Callable[[], None] = lambda: None) -> None:
        self.failures = failures
        self.meanwhile = meanwhile
        self.writes: list[tuple[list[Binding], list[tuple[str, str]]]] = []

    def write(self, upserts: list[Binding], removals: list[tuple[str, str]]) -> None:
        if self.failures:
            self.failures -= 1
            self.meanwhile()
            raise OSError("table unreachable")
        self.writes.append((upserts, removals))

    def load(self, aor: str, now: float) -> list[Binding]:
        return []

    def load_many(self, aors: Sequence[str], now: float) -> dict[str, list[Binding]]:
        return {aor: self.load(aor, now) for aor in aors}


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def test_changes_to_one_binding_collapse_into_its_last_state() -> None:
    store = FlakyStore()
    location = LocationService(store, now=lambda: 100.0)
    location.put(binding("a", 200, cseq=1))
    location.put(binding("a", 300, cseq=2))  # a refresh: the new expiry must be written
    location.put(binding("b", 200))
    location.remove(AOR, "b")
    run(location.flush())
    assert store.writes == [([binding("a", 300, cseq=2)], [(AOR, "b")])]
    assert location.pending == 0 and location.written == 2


def test_a_failed_write_keeps_its_changes_and_newer_ones_win() -> None:
    # Given a store that fails once, while a newer REGISTER of "a" arrives during that write
    store = FlakyStore(failures=1, meanwhile=lambda: location.put(binding("a", 400, cseq=2)))
    location = LocationService(store, now=lambda: 100.0)
    location.put(binding("a", 200, cseq=1))
    location.put(binding("b", 200))
    # When the flush fails
    with pytest.raises(OSError):
        run(location.flush())
    # Then nothing is lost: both bindings are pending again, "a" with its newer state
    assert location.pending == 2 and store.writes == []
    run(location.flush())
    [(upserts, removals)] = store.writes
    assert sorted(upserts, key=lambda b: b.key) == [binding("a", 400, cseq=2), binding("b", 200)]
    assert removals == [] and location.pending == 0


def test_a_refresh_is_written_only_when_the_tables_expiry_covers_less_than_half_the_lifetime() -> None:
    clock = [1000.0]
    store = FlakyStore()
    location = LocationService(store, now=lambda: clock[0])
    location.put(binding("a", 1000 + 3600, cseq=1))
    run(location.flush())
    # Refreshes 2 minutes apart with a 1-hour expiry (some phones with a new Call-ID each time):
    # the table's copy (4600) still covers half.
    for n in range(2, 17):
        clock[0] = 1000 + 120 * (n - 1)
        location.put(dataclasses.replace(binding("a", clock[0] + 3600, cseq=n), call_id=f"call-{n % 2}"))
        run(location.flush())
    assert len(store.writes) == 1 and location.written == 1
    # The memory has the newest state: what the edge answers and uses is current.
    assert location.current(AOR) == [
        dataclasses.replace(binding("a", clock[0] + 3600, cseq=16), call_id="call-0")
    ]
    # Once the table's copy covers less than half of the new lifetime, the refresh is written.
    clock[0] = 1000 + 1801
    location.put(binding("a", clock[0] + 3600, cseq=17))
    run(location.flush())
    assert store.writes[-1] == ([binding("a", clock[0] + 3600, cseq=17)], [])


def test_a_refresh_that_moves_the_device_or_its_flow_is_written_at_once() -> None:
    store = FlakyStore()
    location = LocationService(store, now=lambda: 100.0)
    location.put(binding("a", 3700))
    run(location.flush())
    moved = dataclasses.replace(binding("a", 3700, cseq=2), received="192.0.2.1:6000")
    location.put(moved)
    other_owner = dataclasses.replace(
        binding("a", 3700, cseq=3), received="192.0.2.1:6000", flow_owner="edge-b"
    )
    run(location.flush())
    location.put(other_owner)
    run(location.flush())
    assert [upserts for upserts, _ in store.writes] == [[binding("a", 3700)], [moved], [other_owner]]


def test_a_binding_loaded_from_the_table_is_refreshed_against_its_stored_expiry() -> None:
    class Loaded(FlakyStore):
        def load(self, aor: str, now: float) -> list[Binding]:
            return [binding("a", 150)]  # 50 s left in the table

    store = Loaded()
    location = LocationService(store, now=lambda: 100.0)
    run(location.ensure_loaded(AOR))
    location.put(binding("a", 3700, cseq=2))  # 50 s < half of 3,600 s: written
    run(location.flush())
    assert store.writes == [([binding("a", 3700, cseq=2)], [])]


def test_a_new_device_or_one_that_moved_flow_is_marked_until_written_and_a_refresh_is_not() -> None:
    store = FlakyStore()
    location = LocationService(store, now=lambda: 100.0)
    location.put(binding("a", 400))
    assert location.moved(AOR)  # new here: the table does not know where to reach it yet
    run(location.durable())
    assert not location.moved(AOR) and [b.flow_owner for b in store.writes[-1][0]] == ["edge-a"]
    location.put(dataclasses.replace(binding("a", 400, cseq=2), expires_at=410))
    assert not location.moved(AOR)  # a refresh on the same flow: written behind, nobody waits
    # The phone re-registers through another task (its flow owner died): a move again.
    location.put(dataclasses.replace(binding("a", 400, cseq=3), flow_owner="edge-b"))
    assert location.moved(AOR)


def test_a_failed_write_keeps_the_move_marked() -> None:
    store = FlakyStore(failures=1)
    location = LocationService(store, now=lambda: 100.0)
    location.put(binding("a", 400))
    with pytest.raises(OSError):
        run(location.durable())
    assert location.moved(AOR) and location.pending == 1
    run(location.durable())
    assert not location.moved(AOR) and location.pending == 0

"""Write-behind of the location service: every change reaches the store, a failed write is kept."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from sip_edge.app.location import Binding, LocationService

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

"""Write-behind of the location service: every change reaches the store, a failed write is kept."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from collections.abc import Awaitable, Callable, Sequence

import pytest

from sip_edge.app.registration.location import BindingWriteError, LocationService
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
    with pytest.raises(BindingWriteError):
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
    with pytest.raises(BindingWriteError):
        run(location.durable())
    assert location.moved(AOR) and location.pending == 1
    run(location.durable())
    assert not location.moved(AOR) and location.pending == 0


def seat(n: int, expires_at: float = 400, cseq: int = 1) -> Binding:
    return dataclasses.replace(binding("a", expires_at, cseq), aor=f"sip:seat{n}@sip.test")


class SlowStore(FlakyStore):
    """Takes ``delay`` per request and records how many requests it had in hand at once."""

    def __init__(self, delay: float = 0.02, failing_aors: frozenset[str] = frozenset()) -> None:
        super().__init__()
        self.delay = delay
        self.failing_aors = failing_aors
        self.in_flight = 0
        self.most_in_flight = 0
        self._lock = threading.Lock()

    def write(self, upserts: list[Binding], removals: list[tuple[str, str]]) -> None:
        with self._lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            time.sleep(self.delay)
            if self.failing_aors & {b.aor for b in upserts}:
                raise OSError("request failed after the store's retries")
            with self._lock:
                self.writes.append((upserts, removals))
        finally:
            with self._lock:
                self.in_flight -= 1


def test_a_flush_sends_its_requests_side_by_side_never_more_than_the_bound() -> None:
    # Given 200 new seats (8 requests of 25) and at most 3 requests in flight
    store = SlowStore()
    location = LocationService(store, now=lambda: 100.0, max_writes_in_flight=3)
    for n in range(200):
        location.put(seat(n))
    # When they are flushed
    run(location.flush())
    # Then requests overlapped up to the bound and no further, and every binding was written once
    assert store.most_in_flight == 3
    assert sorted(len(upserts) for upserts, _ in store.writes) == [25] * 8
    assert sorted(b.aor for upserts, _ in store.writes for b in upserts) == sorted(
        seat(n).aor for n in range(200)
    )
    assert location.written == 200 and location.write_requests == 8 and location.pending == 0


def test_the_changes_of_one_aor_share_a_request() -> None:
    store = SlowStore(delay=0)
    location = LocationService(store, now=lambda: 100.0, write_batch=4)
    for n in range(3):
        for key in "abc":
            location.put(dataclasses.replace(seat(n), key=key))
    run(location.flush())
    # (the requests run side by side: they may reach the store in any order)
    assert sorted(sorted({b.aor for b in upserts}) for upserts, _ in store.writes) == [
        [seat(0).aor],
        [seat(1).aor],
        [seat(2).aor],
    ]


def test_a_later_write_of_a_binding_is_sent_only_after_the_earlier_one_returned() -> None:
    # Given a write of alice's binding the store holds on to
    release = threading.Event()
    entered = threading.Event()
    order: list[str] = []

    class HeldStore(FlakyStore):
        def write(self, upserts: list[Binding], removals: list[tuple[str, str]]) -> None:
            order.append(f"start cseq {upserts[0].cseq}")
            entered.set()
            if upserts[0].cseq == 1:
                release.wait(5)
            order.append(f"done cseq {upserts[0].cseq}")
            super().write(upserts, removals)

    store = HeldStore()
    location = LocationService(store, now=lambda: 100.0)

    async def go() -> None:
        location.put(binding("a", 400, cseq=1))
        first = asyncio.create_task(location.durable(AOR))
        await asyncio.to_thread(entered.wait, 5)
        # When a newer REGISTER of hers moves the device while that write is in flight
        location.put(dataclasses.replace(binding("a", 400, cseq=2), flow_owner="edge-b"))
        second = asyncio.create_task(location.durable(AOR))
        await asyncio.sleep(0.05)
        # Then its write waits for the first to return, and the table ends with the newer state
        assert order == ["start cseq 1"]
        release.set()
        await asyncio.gather(first, second)

    run(go())
    assert order == ["start cseq 1", "done cseq 1", "start cseq 2", "done cseq 2"]
    assert store.writes[-1][0] == [dataclasses.replace(binding("a", 400, cseq=2), flow_owner="edge-b")]


def test_a_failed_request_fails_only_its_own_aors_and_is_written_again_alone() -> None:
    # Given 60 seats (3 requests) and a store that fails the request holding seat 30
    store = SlowStore(delay=0, failing_aors=frozenset({seat(30).aor}))
    location = LocationService(store, now=lambda: 100.0)
    for n in range(60):
        location.put(seat(n))

    async def durable(aor: str) -> str:
        try:
            await location.durable(aor)
        except BindingWriteError:
            return "failed"
        return "written"

    async def go() -> tuple[list[str], frozenset[str]]:
        flushing = asyncio.create_task(location.flush())
        await asyncio.sleep(0)  # the flush has sent its requests
        outcomes = await asyncio.gather(*(durable(seat(n).aor) for n in (0, 30, 59)))
        with pytest.raises(BindingWriteError) as failed:
            await flushing
        return list(outcomes), failed.value.aors

    # When they are flushed while seats 0, 30 and 59 wait for their writes
    outcomes, failed_aors = run(go())
    # Then only seat 30, whose request failed, is told so; the other requests were written
    assert outcomes == ["written", "failed", "written"]
    failed = {seat(n).aor for n in range(25, 50)}
    assert failed_aors == failed
    assert location.pending == 25 and location.written == 35
    assert all(location.moved(aor) for aor in failed) and not location.moved(seat(0).aor)
    # and the next flush writes that request's changes again, and only those
    store.failing_aors = frozenset()
    store.writes.clear()
    run(location.flush())
    assert {b.aor for upserts, _ in store.writes for b in upserts} == failed
    assert location.pending == 0


class HeldStore(FlakyStore):
    """Holds every write of ``held_aor`` until released; others are written at once."""

    def __init__(self, held_aor: str) -> None:
        super().__init__()
        self.held_aor = held_aor
        self.holding = threading.Event()
        self.release = threading.Event()

    def write(self, upserts: list[Binding], removals: list[tuple[str, str]]) -> None:
        if any(b.aor == self.held_aor for b in upserts):
            self.holding.set()
            self.release.wait(5)
        super().write(upserts, removals)


async def held_write_of_seat_1(location: LocationService, store: HeldStore) -> asyncio.Task[None]:
    """Seat 1 waiting for its write, which the store holds (a lone change is sent at once)."""
    location.put(seat(1))
    waiting = asyncio.create_task(location.durable(seat(1).aor))
    await asyncio.to_thread(store.holding.wait, 5)
    return waiting


def while_seat_1_is_held(
    location: LocationService, store: HeldStore, meanwhile: Callable[[asyncio.Task[None]], Awaitable[None]]
) -> None:
    """Run ``meanwhile`` (given seat 1's wait) while the store holds seat 1's write, then release it."""

    async def go() -> None:
        first = await held_write_of_seat_1(location, store)
        try:
            await meanwhile(first)
        finally:
            store.release.set()
        await first

    run(go())


def test_a_change_is_written_without_waiting_for_a_slower_request_of_another_aor() -> None:
    # Given seat 1's write held by the store
    store = HeldStore(seat(1).aor)
    location = LocationService(store, now=lambda: 100.0)

    async def meanwhile(first: asyncio.Task[None]) -> None:
        # When seat 2 registers meanwhile
        location.put(seat(2))
        # Then its own write is done while seat 1's is still held
        await asyncio.wait_for(location.durable(seat(2).aor), 1.0)
        assert [b.aor for upserts, _ in store.writes for b in upserts] == [seat(2).aor]
        assert not first.done()

    while_seat_1_is_held(location, store, meanwhile)
    assert location.written == 2 and location.pending == 0


def test_a_request_not_full_waits_while_half_the_requests_are_out_and_a_full_one_does_not() -> None:
    # Given two requests at most, and seat 1's write held (a lone change goes at once)
    store = HeldStore(seat(1).aor)
    location = LocationService(store, now=lambda: 100.0, write_batch=3, max_writes_in_flight=2)

    async def meanwhile(first: asyncio.Task[None]) -> None:
        # When two more seats wait for their writes: too few to fill a request
        for n in (2, 3):
            location.put(seat(n))
        few = asyncio.gather(*(location.durable(seat(n).aor) for n in (2, 3)))
        await asyncio.sleep(0.05)
        assert store.writes == [] and location.pending == 2
        # and a third one fills it: it goes, beside the held one
        location.put(seat(4))
        await asyncio.wait_for(asyncio.gather(few, location.durable(seat(4).aor)), 1.0)
        assert [sorted(b.aor for b in upserts) for upserts, _ in store.writes] == [
            sorted(seat(n).aor for n in (2, 3, 4))
        ]

    while_seat_1_is_held(location, store, meanwhile)
    assert location.write_requests == 2 and location.pending == 0


def test_the_changes_left_when_the_last_request_returns_go_without_waiting_for_the_next_flush() -> None:
    store = HeldStore(seat(1).aor)
    location = LocationService(store, now=lambda: 100.0, flush_interval=3600, max_writes_in_flight=2)

    async def go() -> None:
        first = await held_write_of_seat_1(location, store)
        location.put(seat(2))
        second = asyncio.create_task(location.durable(seat(2).aor))
        await asyncio.sleep(0.02)
        assert not second.done()  # one change: not a full request, and half the requests are out
        store.release.set()
        await asyncio.wait_for(asyncio.gather(first, second), 1.0)

    run(go())
    assert [[b.aor for b in upserts] for upserts, _ in store.writes] == [[seat(1).aor], [seat(2).aor]]

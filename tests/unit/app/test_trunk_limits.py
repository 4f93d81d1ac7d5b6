"""An edge task's leases of trunk call slots: taken per call, renewed while the call is held here,
released when it is gone; a trunk without a limit costs no request."""

from __future__ import annotations

import asyncio

from sip_edge.app.calls.trunk_limits import TrunkLimits
from tests.support.trunk_slots import MemoryTrunkSlots


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def limits_with(store: MemoryTrunkSlots, held: set[str], clock: Clock, task: str = "edge-a") -> TrunkLimits:
    return TrunkLimits(store, task, lambda: held, lease_seconds=120, renew_seconds=40, now=clock)


def test_a_call_over_the_limit_is_refused_and_one_ending_makes_room() -> None:
    async def scenario() -> None:
        store, held, clock = MemoryTrunkSlots(), {"c1", "c2"}, Clock()
        limits = limits_with(store, held, clock)
        assert await limits.acquire("t1", 1, "c1")
        assert not await limits.acquire("t1", 1, "c2")
        held.discard("c1")  # the call ended on this task
        await limits.tend()
        assert await limits.acquire("t1", 1, "c2")

    asyncio.run(scenario())


def test_the_limit_holds_across_tasks_sharing_the_store() -> None:
    async def scenario() -> None:
        store, clock = MemoryTrunkSlots(), Clock()
        a = limits_with(store, {"c1"}, clock, "edge-a")
        b = limits_with(store, {"c2", "c3"}, clock, "edge-b")
        assert await a.acquire("t1", 2, "c1")
        assert await b.acquire("t1", 2, "c2")
        assert not await b.acquire("t1", 2, "c3")

    asyncio.run(scenario())


def test_held_calls_are_renewed_so_their_slots_outlive_the_first_lease() -> None:
    async def scenario() -> None:
        store, clock = MemoryTrunkSlots(), Clock()
        limits = limits_with(store, {"c1"}, clock)
        assert await limits.acquire("t1", 1, "c1")
        for _ in range(10):  # 400 s of a long call, tended as the worker does
            clock.now += 40
            await limits.tend()
        other = limits_with(store, {"c2"}, clock, "edge-b")
        assert not await other.acquire("t1", 1, "c2")

    asyncio.run(scenario())


def test_the_slots_of_a_task_that_stopped_renewing_come_free_one_lease_later() -> None:
    async def scenario() -> None:
        store, clock = MemoryTrunkSlots(), Clock()
        dead = limits_with(store, {"c1"}, clock, "edge-dead")
        assert await dead.acquire("t1", 1, "c1")
        alive = limits_with(store, {"c2"}, clock, "edge-b")
        clock.now += 119
        assert not await alive.acquire("t1", 1, "c2")
        clock.now += 1
        assert await alive.acquire("t1", 1, "c2")

    asyncio.run(scenario())


def test_a_trunk_without_a_limit_costs_no_request_and_a_limited_call_costs_four_for_two_minutes() -> None:
    async def scenario() -> None:
        store, held, clock = MemoryTrunkSlots(), {"c1", "c2"}, Clock()
        limits = limits_with(store, held, clock)
        assert await limits.acquire("t1", None, "c1")
        await limits.tend()
        assert store.requests == 0 and limits.leased == 0
        assert await limits.acquire("t2", 5, "c2")  # a query and a put
        clock.now += 60
        await limits.tend()  # one renewal
        held.discard("c2")
        await limits.tend()  # one delete
        assert store.requests == 4 and limits.leased == 0

    asyncio.run(scenario())


def test_when_the_store_fails_the_call_goes_ahead() -> None:
    class Broken(MemoryTrunkSlots):
        def claim(self, *args: object, **kwargs: object) -> int | None:
            raise ConnectionError("table unreachable")

    async def scenario() -> None:
        limits = limits_with(Broken(), {"c1"}, Clock())
        assert await limits.acquire("t1", 1, "c1")

    asyncio.run(scenario())

"""Lost edge tasks: their ringing and queued calls are ended once, by whichever task sees it."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from sip_edge.app.fleet.directory import LostEdgeSweeper


class Fleet:
    """Heartbeats as the table keeps them: task id -> last beat; lost when older than 30 s."""

    def __init__(self, beats: dict[str, int]) -> None:
        self.beats = beats

    def heartbeat(self, task_id: str, address: str, now: int, active_calls: int) -> None:
        self.beats[task_id] = now

    def address_of(self, task_id: str, now: int) -> str | None:
        return None

    def lost(self, now: int) -> list[tuple[str, int]]:
        return [(task, beat) for task, beat in sorted(self.beats.items()) if beat + 30 <= now]

    def forget(self, task_id: str, heartbeat_at: int) -> bool:
        if self.beats.get(task_id) != heartbeat_at:
            return False
        del self.beats[task_id]
        return True


class Routing:
    """Records lost tasks reported (``reported``) and this task's own checks (``own``)."""

    def __init__(self, failing: set[str] | None = None) -> None:
        self.failing = failing or set()
        self.reported: list[str] = []
        self.own: list[tuple[tuple[str, ...], int | None]] = []

    async def edge_lost(
        self, edge_task_id: str, held: Sequence[str] = (), initiated_before_ms: int | None = None
    ) -> list[str]:
        if edge_task_id == "edge-a":
            self.own.append((tuple(held), initiated_before_ms))
            return []
        self.reported.append(edge_task_id)
        if edge_task_id in self.failing:
            raise ConnectionError("routing unavailable")
        return [f"{edge_task_id}-call"]


NOW = 1_000_000


def test_a_lost_task_is_reported_once_and_forgotten() -> None:
    # edge-c's lease lapsed 40 s ago: within the 60 s grace, it may only be slow
    fleet = Fleet({"edge-a": NOW, "edge-b": NOW - 91, "edge-c": NOW - 70})
    routing = Routing()
    sweeper = LostEdgeSweeper(fleet, routing, "edge-a", now=lambda: NOW)
    asyncio.run(sweeper.sweep())
    asyncio.run(sweeper.sweep())
    assert routing.reported == ["edge-b"] and sweeper.handled == ["edge-b"]
    assert set(fleet.beats) == {"edge-a", "edge-c"}


def test_a_failed_report_is_retried_at_the_next_sweep_and_own_stalls_are_ignored() -> None:
    # This task's own lease lapsed (a long pause) and edge-b's report fails once
    fleet = Fleet({"edge-a": NOW - 120, "edge-b": NOW - 91})
    routing = Routing(failing={"edge-b"})
    sweeper = LostEdgeSweeper(fleet, routing, "edge-a", now=lambda: NOW)
    asyncio.run(sweeper.sweep())
    assert routing.reported == ["edge-b"] and "edge-b" in fleet.beats
    routing.failing.clear()
    asyncio.run(sweeper.sweep())
    assert routing.reported == ["edge-b", "edge-b"] and sweeper.handled == ["edge-b"]
    assert fleet.beats == {"edge-a": NOW - 120}


def test_a_task_that_beats_again_before_it_is_forgotten_stays() -> None:
    fleet = Fleet({"edge-b": NOW - 91})

    class Revived(Routing):
        async def edge_lost(
            self, edge_task_id: str, held: Sequence[str] = (), initiated_before_ms: int | None = None
        ) -> list[str]:
            if edge_task_id == "edge-b":
                fleet.heartbeat(edge_task_id, "10.0.0.2:5060", NOW, 0)  # it was only slow
            return await super().edge_lost(edge_task_id, held, initiated_before_ms)

    sweeper = LostEdgeSweeper(fleet, Revived(), "edge-a", now=lambda: NOW)
    asyncio.run(sweeper.sweep())
    assert fleet.beats == {"edge-b": NOW} and sweeper.handled == []


def test_this_task_ends_the_old_contacts_it_no_longer_holds() -> None:
    routing = Routing()
    sweeper = LostEdgeSweeper(Fleet({}), routing, "edge-a", lambda: ["c1", "c2"], now=lambda: NOW)
    asyncio.run(sweeper.sweep())
    # Every contact it holds is named, and only contacts initiated over a minute ago may end.
    assert routing.own == [(("c1", "c2"), (NOW - 60) * 1000)]


def test_a_task_that_never_routed_a_call_does_not_ask_about_its_own_contacts() -> None:
    routing = Routing()
    sweeper = LostEdgeSweeper(
        Fleet({}), routing, "edge-a", lambda: [], has_routed=lambda: False, now=lambda: NOW
    )
    asyncio.run(sweeper.sweep())
    assert routing.own == []


def test_a_restarted_task_ends_at_start_every_contact_its_earlier_life_held() -> None:
    # A task restarted under the same id holds none of the contacts initiated before it started.
    routing = Routing(failing=set())
    sweeper = LostEdgeSweeper(Fleet({}), routing, "edge-a", lambda: ["c-new"], now=lambda: NOW)
    asyncio.run(sweeper.end_earlier_life())
    assert routing.own == [((), NOW * 1000)]


def test_a_failed_start_sweep_is_retried_by_the_next_sweep() -> None:
    class DownOnce(Routing):
        calls = 0

        async def edge_lost(
            self, edge_task_id: str, held: Sequence[str] = (), initiated_before_ms: int | None = None
        ) -> list[str]:
            DownOnce.calls += 1
            if DownOnce.calls == 1:
                raise ConnectionError("routing unavailable")
            return await super().edge_lost(edge_task_id, held, initiated_before_ms)

    routing = DownOnce()
    sweeper = LostEdgeSweeper(
        Fleet({}), routing, "edge-a", lambda: [], has_routed=lambda: False, now=lambda: NOW
    )
    asyncio.run(sweeper.end_earlier_life())
    asyncio.run(sweeper.sweep())
    assert routing.own == [((), NOW * 1000)]

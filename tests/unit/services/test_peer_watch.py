"""The deployed failover controller's watch: one probe per tick, its memory kept between runs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from contact_center.domain.ownership import HealthMemory, Hysteresis, ProbeOutcome, SlowGrace
from contact_center.services.peer_watch import (
    DEPLOYED,
    LOST_REGION_PAGE,
    LOST_REGION_PAGE_BUDGET_MS,
    PeerWatch,
    WatchState,
)
from contact_center.services.regions import RegionControl
from tests.support.clocks import T0, SleepingClock
from tests.support.routing_fakes import FakeOwnerships, RoutingTable

TICK_MS = 10_000
OK, REFUSED, SLOW = ProbeOutcome.OK, ProbeOutcome.REFUSED, ProbeOutcome.SLOW


class Store:
    """The watch's item: what a fresh run (a new Lambda environment) finds."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], WatchState] = {}
        self.saves = 0

    def load(self, region: str, peer: str) -> WatchState | None:
        return self.items.get((region, peer))

    def save(self, region: str, peer: str, state: WatchState, now_ms: int) -> None:
        self.items[(region, peer)] = state
        self.saves += 1


class Metrics:
    def __init__(self) -> None:
        self.probes: list[bool] = []
        self.takeovers: list[tuple[str, int]] = []

    def probed(self, peer: str, failed: bool, at_ms: int) -> None:
        self.probes.append(failed)

    def taken_over(self, peer: str, merchants: int, at_ms: int) -> None:
        self.takeovers.append((peer, merchants))


class World:
    def __init__(self, outcomes: Sequence[ProbeOutcome], merchants: Sequence[str] = ("m1", "m2")) -> None:
        self.clock = SleepingClock()
        self.ownerships = FakeOwnerships(RoutingTable(clock=self.clock))
        self.control = RegionControl("us-west-2", self.ownerships, self.clock, 3_000)
        for merchant in merchants:
            self.control.home(merchant, "us-east-1")
        self.control.home("local", "us-west-2")
        self.outcomes = iter(outcomes)
        self.store = Store()
        self.metrics = Metrics()
        self.swept: list[tuple[int, list[str]]] = []

    def probe(self) -> ProbeOutcome:
        outcome = next(self.outcomes)
        self.clock.now += 50  # a probe takes a moment
        return outcome

    def sweep(self, merchant_ids: Sequence[str]) -> None:
        self.swept.append((self.clock.now, list(merchant_ids)))

    def watch(self) -> PeerWatch:
        """A new watch object per run: nothing survives in memory, as in a cold Lambda environment."""
        return PeerWatch(
            self.control,
            "us-east-1",
            self.store,
            self.probe,
            self.clock,
            DEPLOYED,
            metrics=self.metrics,
            sweep=self.sweep,
            handoff_ms=3_000,
        )

    def home_of(self, merchant_id: str) -> str:
        ownership = self.ownerships.get(merchant_id)
        assert ownership is not None
        return ownership.home_region


def test_two_refusals_ten_seconds_apart_take_the_peers_merchants_over_across_runs() -> None:
    world = World([OK, REFUSED, REFUSED, REFUSED])
    reports = []
    for _ in range(4):  # one tick per run: the state lives only in the store
        reports.append(world.watch().tick())
        world.clock.now += TICK_MS

    assert [r.failed for r in reports] == [False, True, True, True]
    assert [r.took_over for r in reports] == [False, False, True, False]
    assert [m.merchant_id for m in reports[2].moved] == ["m1", "m2"]
    assert world.home_of("m1") == world.home_of("m2") == "us-west-2"
    ownership = world.ownerships.get("m1")
    assert ownership is not None and ownership.preferred == "us-east-1"  # the failback returns it there
    assert world.metrics.takeovers == [("us-east-1", 2)]
    assert world.metrics.probes == [False, True, True, True]


def test_one_refusal_between_good_probes_moves_nothing() -> None:
    world = World([OK, REFUSED, OK, REFUSED, OK, OK])
    for _ in range(6):
        assert not world.watch().tick().took_over
        world.clock.now += TICK_MS
    assert world.home_of("m1") == "us-east-1" and world.metrics.takeovers == []


def test_a_silent_peer_is_taken_over_only_after_the_grace_and_two_failed_probes() -> None:
    world = World([SLOW] * 5)
    reports = world.watch().run(5, TICK_MS, world.clock.sleep, T0 + 60_000)

    # Timeouts at 0 and 10 s count only from 10 s of silence on; the second failure 10 s later.
    assert [r.failed for r in reports] == [False, True, True, True, True]
    assert [r.took_over for r in reports] == [False, False, True, False, False]
    assert world.home_of("m1") == "us-west-2"


def test_a_run_probes_every_tick_and_sweeps_the_moved_merchants_after_the_handoff() -> None:
    world = World([REFUSED] * 6)
    reports = world.watch().run(6, TICK_MS, world.clock.sleep, T0 + 50_000)

    assert len(reports) == 6 and world.store.saves == 6
    assert [r.took_over for r in reports] == [False, True, False, False, False, False]
    # Asked at the tick after the takeover: the new home decides 3 s after it, the sweep 10 s after.
    ((asked_at, merchants),) = world.swept
    taken_at = T0 + TICK_MS + 50
    assert merchants == ["m1", "m2"] and asked_at - taken_at >= 3_000


def test_a_takeover_on_a_runs_last_tick_is_swept_before_the_run_ends() -> None:
    world = World([OK, REFUSED, REFUSED])
    watch = world.watch()
    watch.run(1, TICK_MS, world.clock.sleep, T0 + 50_000)
    world.clock.now += TICK_MS
    watch.run(2, TICK_MS, world.clock.sleep, T0 + 80_000)

    ((asked_at, merchants),) = world.swept
    assert merchants == ["m1", "m2"] and asked_at >= T0 + 2 * TICK_MS + 3_000


def test_a_run_stops_probing_at_its_deadline() -> None:
    world = World([OK] * 6)
    reports = world.watch().run(6, TICK_MS, world.clock.sleep, T0 + 25_000)
    assert len(reports) == 3  # at 0, 10 and 20 s; the one at 30 s belongs to the next run


def test_a_takeover_that_failed_is_done_by_the_next_run() -> None:
    world = World([REFUSED, REFUSED, REFUSED])
    real_all = world.ownerships.all
    broken = [True]

    def all_or_timeout() -> list:  # type: ignore[type-arg]
        if broken[0]:
            raise TimeoutError("query timed out")
        return real_all()

    world.ownerships.all = all_or_timeout  # type: ignore[method-assign]
    world.watch().tick()
    world.clock.now += TICK_MS
    second = world.watch().tick()
    assert not second.took_over and world.store.items[("us-west-2", "us-east-1")].takeover_due
    broken[0] = False
    world.clock.now += TICK_MS
    third = world.watch().tick()
    assert third.took_over and world.home_of("m1") == "us-west-2"
    assert world.metrics.takeovers == [("us-east-1", 2)]


def test_a_probe_that_raises_counts_as_a_refusal() -> None:
    world = World([])  # next() on the empty outcomes raises StopIteration inside the probe
    report = world.watch().tick()
    assert report.outcome is REFUSED and report.failed


def test_the_peer_is_healthy_again_after_three_good_probes_and_nothing_moves_back_by_itself() -> None:
    world = World([REFUSED, REFUSED, OK, OK, OK])
    healthy = []
    for _ in range(5):
        healthy.append(world.watch().tick().peer_healthy)
        world.clock.now += TICK_MS
    assert healthy == [True, False, False, False, True]
    assert world.home_of("m1") == "us-west-2"  # failing back is the operator's move


def test_a_region_does_not_watch_itself() -> None:
    world = World([])
    with pytest.raises(ValueError, match="itself"):
        PeerWatch(world.control, "us-west-2", world.store, world.probe, world.clock)


def test_hysteresis_and_grace_resume_from_their_memory_as_if_never_stopped() -> None:
    outcomes = [True, False, False, True, False, False, False, True, True, True]
    steady = Hysteresis(2, 3, 10_000)
    verdicts_steady = []
    verdicts_resumed = []
    memory = HealthMemory()
    for index, ok in enumerate(outcomes):
        now = T0 + index * TICK_MS
        verdicts_steady.append(steady.observe(ok, now))
        resumed = Hysteresis.remembering(memory, 2, 3, 10_000)
        verdicts_resumed.append(resumed.observe(ok, now))
        memory = resumed.memory()
    assert verdicts_resumed == verdicts_steady
    grace = SlowGrace(10_000)
    assert not grace.failed(SLOW, T0)
    assert SlowGrace(10_000, grace.slow_since_ms).failed(SLOW, T0 + 10_000)


def test_a_slow_first_refusal_does_not_push_the_takeover_a_tick_later() -> None:
    world = World([REFUSED, REFUSED])
    durations = iter([1_500, 10])  # a new connection refused slowly, then at once

    def probe() -> ProbeOutcome:
        outcome = next(world.outcomes)
        world.clock.now += next(durations)
        return outcome

    world.probe = probe  # type: ignore[method-assign]
    reports = world.watch().run(2, TICK_MS, world.clock.sleep, T0 + 50_000)
    assert [r.took_over for r in reports] == [False, True]


def test_a_silent_peer_whose_first_timeout_was_the_longest_is_still_taken_over_at_the_third() -> None:
    world = World([SLOW, SLOW, SLOW])
    durations = iter([6_000, 1_000, 1_000])  # connect and read timeouts, then a quicker failure

    def probe() -> ProbeOutcome:
        outcome = next(world.outcomes)
        world.clock.now += next(durations)
        return outcome

    world.probe = probe  # type: ignore[method-assign]
    reports = world.watch().run(3, TICK_MS, world.clock.sleep, T0 + 50_000)
    assert [r.took_over for r in reports] == [False, False, True]


def test_a_timeout_then_a_refusal_are_two_failures_a_tick_apart() -> None:
    world = World([SLOW, SLOW, REFUSED])
    durations = iter([6_000, 6_000, 10])  # silent past the grace, then refused at once

    def probe() -> ProbeOutcome:
        outcome = next(world.outcomes)
        world.clock.now += next(durations)
        return outcome

    world.probe = probe  # type: ignore[method-assign]
    reports = world.watch().run(3, TICK_MS, world.clock.sleep, T0 + 50_000)
    assert [r.failed for r in reports] == [False, True, True]
    assert [r.took_over for r in reports] == [False, False, True]


class Routing:
    """This region's routing function as the watch asks it: ``pending`` contacts per lost task,
    ended ``limit`` at a time."""

    def __init__(self, clock: SleepingClock, pending: dict[str, int], page_ms: int = 100) -> None:
        self.clock = clock
        self.pending = pending
        self.page_ms = page_ms
        self.asked: list[tuple[int, list[str], int]] = []

    def __call__(self, event: Mapping[str, Any]) -> Mapping[str, Any]:
        assert event["action"] == "region_lost"
        edges, limit = list(event["edge_task_ids"]), event["limit"]
        self.asked.append((self.clock.now, edges, limit))
        self.clock.now += self.page_ms
        ended: list[str] = []
        for edge in edges:
            while self.pending.get(edge, 0) and len(ended) < limit:
                self.pending[edge] -= 1
                ended.append(f"{edge}-{self.pending[edge]}")
        return {"ended": ended, "more": any(self.pending.get(edge, 0) for edge in edges)}


def lost_region_watch(world: World, routing: Routing, beats: dict[str, int]) -> PeerWatch:
    return PeerWatch(
        world.control,
        "us-east-1",
        world.store,
        world.probe,
        world.clock,
        DEPLOYED,
        sweep=world.sweep,
        handoff_ms=3_000,
        silent_edges=lambda before_ms: [task for task, beat in beats.items() if beat < before_ms],
        routing=routing,
    )


def test_after_a_takeover_the_peers_lost_tasks_contacts_are_ended_page_by_page_after_the_handoff() -> None:
    world = World([REFUSED] * 6)
    routing = Routing(world.clock, {"east-1": 30, "east-2": 10})
    # east-1 and east-2 stopped beating when the peer died; east-3 beat a moment ago (alive).
    beats = {"east-1": T0 - 5_000, "east-2": T0 - 1_000, "east-3": T0 + 9_000}

    lost_region_watch(world, routing, beats).run(6, TICK_MS, world.clock.sleep, T0 + 50_000, T0 + 57_000)

    taken_at = T0 + TICK_MS + 50
    assert routing.asked and routing.asked[0][0] - taken_at >= 3_000  # the new home decides by then
    assert {tuple(edges) for _, edges, _ in routing.asked} == {("east-1", "east-2")}
    assert all(limit == LOST_REGION_PAGE for _, _, limit in routing.asked)
    assert len(routing.asked) == 2 and routing.pending == {"east-1": 0, "east-2": 0}


def test_what_a_run_had_no_time_for_the_next_run_ends_and_a_healthy_peer_is_never_asked() -> None:
    world = World([REFUSED] * 2 + [REFUSED] * 3)
    routing = Routing(world.clock, {"east-1": 200}, page_ms=2_000)
    beats = {"east-1": T0 - 20_000}

    # The takeover at 10 s, the handoff over at 13 s, the run ends at 20 s: room for a page or two
    lost_region_watch(world, routing, beats).run(2, TICK_MS, world.clock.sleep, T0 + 12_000, T0 + 20_000)
    first = len(routing.asked)
    assert first == 1 and routing.pending["east-1"] == 175
    assert all(asked_at + LOST_REGION_PAGE_BUDGET_MS <= T0 + 20_000 for asked_at, _, _ in routing.asked[1:])
    # The peer is still down at the next run: the rest is ended, and again finds nothing
    world.clock.now = T0 + 60_000
    lost_region_watch(world, routing, beats).run(3, TICK_MS, world.clock.sleep, T0 + 110_000, T0 + 120_000)
    assert routing.pending["east-1"] == 0 and len(routing.asked) == 8

    healthy = World([OK] * 3)
    untouched = Routing(healthy.clock, {"east-1": 5})
    lost_region_watch(healthy, untouched, beats).run(3, TICK_MS, healthy.clock.sleep, T0 + 50_000)
    assert untouched.asked == []

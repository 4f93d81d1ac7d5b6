"""Ownership, moves and failure detection as pure rules, over the in-memory ownership store."""

from __future__ import annotations

import pytest

from contact_center.domain.errors import ValidationError
from contact_center.domain.ownership import Hysteresis, Ownership, ProbeOutcome, SlowGrace
from contact_center.services.errors import NotFoundError
from contact_center.services.regions import FailoverMonitor, Moved, RegionControl, parse_move_home
from tests.support.routing_fakes import FakeOwnerships, RoutingTable

T0 = 1_790_000_000_000


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> int:
        return self.now


def control(region: str = "west", handoff_ms: int = 3_000) -> tuple[RegionControl, FakeOwnerships, Clock]:
    clock = Clock()
    store = FakeOwnerships(RoutingTable(clock=clock))
    return RegionControl(region, store, clock, handoff_ms), store, clock


def test_a_home_decides_only_from_its_active_time_and_only_in_its_region() -> None:
    ownership = Ownership("m1", "east", 3, active_from_ms=T0)
    assert ownership.decides_in("east", T0)
    assert not ownership.decides_in("east", T0 - 1)
    assert not ownership.decides_in("west", T0 + 10_000)


def test_a_move_bumps_the_epoch_keeps_the_preferred_region_and_waits_for_the_handoff() -> None:
    moved = Ownership("m1", "east", 3, 0, "east").moved_to("west", T0, 2_000)
    assert moved == Ownership("m1", "west", 4, T0 + 2_000, "east")


def test_a_planned_move_and_back_leaves_the_merchant_home_at_a_higher_epoch() -> None:
    regions, store, clock = control()
    regions.home("m1", "east")
    assert regions.move_home("m1", "west") == Moved("m1", "east", "west", 2)
    assert store.get("m1") == Ownership("m1", "west", 2, T0 + 3_000, "west")
    clock.now += 10_000
    assert regions.move_home("m1", "east") == Moved("m1", "west", "east", 3)
    assert store.get("m1") == Ownership("m1", "east", 3, clock.now + 3_000, "east")


def test_moving_a_merchant_without_an_ownership_is_not_found() -> None:
    regions, _, _ = control()
    with pytest.raises(NotFoundError):
        regions.move_home("nobody", "west")


def test_a_takeover_moves_only_the_failed_regions_merchants_and_a_failback_returns_them() -> None:
    regions, store, clock = control("west")
    for merchant, home in (("m1", "east"), ("m2", "east"), ("m3", "west")):
        regions.home(merchant, home)
    taken = regions.take_over("east")
    assert [(m.merchant_id, m.to_region, m.epoch) for m in taken] == [("m1", "west", 2), ("m2", "west", 2)]
    assert store.get("m3") == Ownership("m3", "west", 1, 0, "west")
    assert all(store.get(m).preferred == "east" for m in ("m1", "m2"))  # type: ignore[union-attr]
    clock.now += 60_000
    back = regions.fail_back("east")
    assert [(m.merchant_id, m.to_region, m.epoch) for m in back] == [("m1", "east", 3), ("m2", "east", 3)]
    assert regions.fail_back("east") == []  # nothing left to move


def test_one_lost_probe_never_fails_a_region_over() -> None:
    health = Hysteresis(fall=3, rise=2, min_down_ms=2_000)
    results = [(False, 0), (True, 500), (False, 1_000), (False, 1_500), (True, 2_000)]
    assert all(health.observe(ok, at).healthy for ok, at in results)


def test_failures_must_last_before_a_region_is_down_and_successes_must_repeat_before_it_is_up() -> None:
    health = Hysteresis(fall=3, rise=2, min_down_ms=2_000)
    assert [health.observe(False, at).healthy for at in (0, 500, 1_000, 1_500)] == [True] * 4
    down = health.observe(False, 2_000)
    assert (down.healthy, down.changed) == (False, True)
    assert health.observe(True, 2_500).healthy is False
    up = health.observe(True, 3_000)
    assert (up.healthy, up.changed) == (True, True)


def test_the_monitor_takes_over_once_when_the_peer_goes_down() -> None:
    regions, store, clock = control("west")
    regions.home("m1", "east")
    probes = iter([True, False, False, False, False, False])
    taken: list[list[Moved]] = []
    monitor = FailoverMonitor(
        regions, "east", lambda: next(probes), clock, Hysteresis(3, 2, 1_000), on_taken=taken.append
    )
    moved_per_tick = []
    for _ in range(6):
        moved_per_tick.append(monitor.tick())
        clock.now += 500
    assert [len(m) for m in moved_per_tick] == [0, 0, 0, 1, 0, 0]
    assert taken == [moved_per_tick[3]] and not monitor.peer_healthy
    assert store.get("m1").home_region == "west"  # type: ignore[union-attr]


def test_a_probe_that_raises_counts_as_a_failure() -> None:
    regions, _, clock = control("west")

    def broken() -> bool:
        raise OSError("connection refused")

    monitor = FailoverMonitor(regions, "east", broken, clock, Hysteresis(1, 1, 0))
    monitor.tick()
    assert not monitor.peer_healthy


def test_a_takeover_that_fails_is_tried_again_on_the_next_probe_until_done() -> None:
    regions, store, clock = control("west")
    regions.home("m1", "east")
    real_all = store.all
    failures = iter([TimeoutError("scan timed out"), TimeoutError("scan timed out")])

    def slow_then_fine() -> list[Ownership]:
        error = next(failures, None)
        if error is not None:
            raise error
        return real_all()

    store.all = slow_then_fine  # type: ignore[method-assign]
    taken: list[list[Moved]] = []
    monitor = FailoverMonitor(
        regions, "east", lambda: False, clock, Hysteresis(1, 1, 0), on_taken=taken.append
    )

    moved_per_tick = [len(monitor.tick()) for _ in range(4)]

    assert moved_per_tick == [0, 0, 1, 0]
    assert len(taken) == 1 and store.get("m1").home_region == "west"  # type: ignore[union-attr]


def test_a_home_moves_only_to_a_deployed_region() -> None:
    clock = Clock()
    store = FakeOwnerships(RoutingTable(clock=clock))
    regions = RegionControl("west", store, clock, regions=("west", "east"))
    regions.home("m1", "east")
    with pytest.raises(ValidationError) as refused:
        regions.move_home("m1", "mars")
    assert refused.value.field == "region" and "west, east" in refused.value.message
    assert store.get("m1") == Ownership("m1", "east", 1, 0, "east")  # unchanged
    single = RegionControl("west", store, clock, regions=("west",))
    with pytest.raises(ValidationError, match="single region"):
        single.move_home("m1", "west")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([], "body"),
        ({}, "region"),
        ({"region": 7}, "region"),
        ({"region": " "}, "region"),
        ({"home": "x"}, "home"),
    ],
)
def test_a_move_request_names_the_field_at_fault(body: object, field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        parse_move_home(body)
    assert refused.value.field == field


def test_a_move_request_gives_the_region() -> None:
    assert parse_move_home({"region": "us-west-2"}) == "us-west-2"


def test_a_refused_probe_fails_at_once_a_slow_one_only_after_the_grace() -> None:
    grace = SlowGrace(grace_ms=12_000)
    assert grace.failed(ProbeOutcome.REFUSED, 0)
    assert [grace.failed(ProbeOutcome.SLOW, at) for at in (1_000, 6_000, 12_999)] == [False] * 3
    assert grace.failed(ProbeOutcome.SLOW, 13_000)
    # One answer in time starts the grace over
    assert not grace.failed(ProbeOutcome.OK, 14_000)
    assert not grace.failed(ProbeOutcome.SLOW, 15_000)
    assert grace.failed(ProbeOutcome.REFUSED, 16_000)

"""A failback moves merchants home only once the returning region is ready for them: its canary
answered OK and quickly, and replication into it caught up, several rounds in a row."""

from __future__ import annotations

import pytest

from contact_center.domain.ownership import (
    FailbackPolicy,
    FailbackReadiness,
    ProbeOutcome,
    ReturnCheck,
    forward_retry_wait_ms,
)
from contact_center.services.regions import RegionControl, ReturnNotReadyError
from tests.support.clocks import T0, SleepingClock
from tests.support.routing_fakes import FakeOwnerships, RoutingTable

POLICY = FailbackPolicy(passes=3, max_canary_ms=1_000, max_lag_ms=3_000)
GOOD = ReturnCheck(ProbeOutcome.OK, 80, 1_100)


def test_a_region_is_ready_after_the_policys_passes_in_a_row_and_not_before() -> None:
    readiness = FailbackReadiness(POLICY)
    verdicts = [readiness.observe(GOOD) for _ in range(3)]
    assert [v.ready for v in verdicts] == [False, False, True]
    assert [v.passes for v in verdicts] == [1, 2, 3]


@pytest.mark.parametrize(
    ("check", "reason"),
    [
        (ReturnCheck(ProbeOutcome.REFUSED, 5, 1_000), "canary refused"),
        (ReturnCheck(ProbeOutcome.SLOW, 5_000, 1_000), "canary slow"),
        (ReturnCheck(ProbeOutcome.OK, 4_200, 1_000), "canary answered in 4200 ms"),
        (ReturnCheck(ProbeOutcome.OK, 80, None), "replication lags more than 3000 ms"),
        (ReturnCheck(ProbeOutcome.OK, 80, 3_500), "replication lags 3500 ms"),
    ],
)
def test_one_failed_round_starts_the_count_again_and_says_why(check: ReturnCheck, reason: str) -> None:
    readiness = FailbackReadiness(POLICY)
    readiness.observe(GOOD)
    readiness.observe(GOOD)

    failed = readiness.observe(check)

    assert not failed.ready and failed.passes == 0 and failed.reason.startswith(reason)
    assert [readiness.observe(GOOD).ready for _ in range(3)] == [False, False, True]


class Marks:
    """Two replicas' replication marks: what a region writes in its own reaches the other after
    ``lag_ms`` (None: never)."""

    def __init__(self, clock: SleepingClock, lag_ms: int | None = 1_000) -> None:
        self.clock = clock
        self.lag_ms = lag_ms
        self.written: list[tuple[str, int]] = []

    def mark(self, region: str, now_ms: int) -> None:
        self.written.append((region, now_ms))

    def of(self, region: str) -> int | None:
        return None  # the survivor never asks its own replica

    def seen_elsewhere(self, region: str) -> int | None:
        if self.lag_ms is None:
            return None
        arrived = [at for name, at in self.written if name == region and at + self.lag_ms <= self.clock()]
        return max(arrived, default=None)


class Returning:
    """The returning region's routing function: the canary's outcomes and times, round by round."""

    def __init__(self, clock: SleepingClock, marks: Marks, canaries: list[tuple[ProbeOutcome, int]]) -> None:
        self.clock = clock
        self.marks = marks
        self.canaries = canaries
        self.asked = 0

    def canary(self, region: str) -> ProbeOutcome:
        outcome, took_ms = self.canaries[min(self.asked, len(self.canaries) - 1)]
        self.asked += 1
        self.clock.now += took_ms
        return outcome

    def mark_of(self, region: str, marking_region: str) -> int | None:
        assert region == "east" and marking_region == "west"
        return self.marks.seen_elsewhere(marking_region)


def survivor(lag_ms: int | None = 1_000) -> tuple[RegionControl, FakeOwnerships, SleepingClock, Marks]:
    clock = SleepingClock()
    store = FakeOwnerships(RoutingTable(clock=clock))
    marks = Marks(clock, lag_ms)
    west = RegionControl("west", store, clock, 3_000, marks=marks)
    for merchant in ("m1", "m2"):
        west.home(merchant, "east")
    west.take_over("east")
    return west, store, clock, marks


def test_a_failback_waits_until_a_region_that_answers_slowly_at_first_has_answered_quickly_in_a_row() -> None:
    west, store, clock, marks = survivor()
    # Just started: its first canaries take seconds (imports, a cold database engine), then 50 ms.
    east = Returning(
        clock, marks, [(ProbeOutcome.SLOW, 5_000), (ProbeOutcome.OK, 2_500), (ProbeOutcome.OK, 50)]
    )
    rounds: list[int] = []

    moved = west.fail_back_when_ready(
        "east", east, 60_000, POLICY, sleep=clock.sleep, on_round=lambda v: rounds.append(v.passes)
    )

    assert [(m.merchant_id, m.to_region) for m in moved] == [("m1", "east"), ("m2", "east")]
    assert rounds == [0, 0, 1, 2, 3]
    assert all(store.get(m).home_region == "east" for m in ("m1", "m2"))  # type: ignore[union-attr]


def test_a_region_replication_has_not_caught_up_with_gets_nothing_back() -> None:
    west, store, clock, marks = survivor(lag_ms=None)  # the backlog holds every mark back
    east = Returning(clock, marks, [(ProbeOutcome.OK, 50)])

    with pytest.raises(ReturnNotReadyError) as refused:
        west.fail_back_when_ready("east", east, 30_000, POLICY, sleep=clock.sleep)

    assert "replication lags more than 3000 ms" in str(refused.value)
    assert all(store.get(m).home_region == "west" for m in ("m1", "m2"))  # type: ignore[union-attr]


def test_a_region_whose_canary_keeps_failing_gets_nothing_back_by_the_deadline() -> None:
    west, store, clock, marks = survivor()
    east = Returning(clock, marks, [(ProbeOutcome.REFUSED, 10)])

    with pytest.raises(ReturnNotReadyError):
        west.fail_back_when_ready("east", east, 20_000, POLICY, sleep=clock.sleep)

    assert clock.now - T0 >= 20_000
    assert all(store.get(m).home_region == "west" for m in ("m1", "m2"))  # type: ignore[union-attr]


def test_by_default_replication_must_lag_less_than_the_handoff() -> None:
    west, _, clock, marks = survivor(lag_ms=3_500)  # above the 3 s handoff: writes could land late
    east = Returning(clock, marks, [(ProbeOutcome.OK, 50)])

    with pytest.raises(ReturnNotReadyError, match="replication lags"):
        west.fail_back_when_ready("east", east, 30_000, sleep=clock.sleep)


def test_a_forwarded_request_waits_out_the_handoff_before_its_one_retry_within_bounds() -> None:
    handoff = 3_000
    assert forward_retry_wait_ms(T0 + 2_000, T0, handoff) == 2_000  # the rest of the handoff
    assert forward_retry_wait_ms(T0 + 60_000, T0, handoff) == handoff  # never more than a handoff
    assert forward_retry_wait_ms(T0 - 10_000, T0, handoff) == handoff // 4  # over: a moment still


class FailingMarks(Marks):
    def mark(self, region: str, now_ms: int) -> None:
        raise TimeoutError("this replica did not answer")


def test_a_mark_this_replica_could_not_write_fails_the_round_not_the_failback() -> None:
    west, store, clock, _ = survivor()
    marks = FailingMarks(clock)
    west = RegionControl("west", store, clock, 3_000, marks=marks)
    east = Returning(clock, marks, [(ProbeOutcome.OK, 50)])
    rounds: list[str] = []

    with pytest.raises(ReturnNotReadyError):
        west.fail_back_when_ready(
            "east", east, 5_000, POLICY, sleep=clock.sleep, on_round=lambda v: rounds.append(v.reason)
        )

    assert rounds and all(reason.startswith("replication lags more than") for reason in rounds)

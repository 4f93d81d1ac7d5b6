"""The edge's deep health: hysteresis over rounds of probes, on a fake clock, and the HTTP answers."""

from __future__ import annotations

import asyncio

import pytest

from sip_edge.app.edge import Edge
from sip_edge.app.health import HealthMonitor, HealthSettings, Hysteresis, Verdict

SETTINGS = HealthSettings(
    interval=2.0, probe_timeout=0.05, max_loop_lag=1.0, unhealthy_after=3, healthy_after=2
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Switch:
    """A dependency that answers, fails, or hangs past the deadline, as the test says."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.mode = "up"

    async def check(self) -> None:
        if self.mode == "down":
            raise ConnectionError("connect timeout")
        if self.mode == "hang":
            await asyncio.sleep(10)


def rounds(monitor: HealthMonitor, clock: FakeClock, count: int, lag: float = 0.0) -> list[bool]:
    async def run() -> list[bool]:
        seen = []
        for _ in range(count):
            clock.now += monitor.settings.interval
            seen.append((await monitor.round(lag)).healthy)
        return seen

    return asyncio.run(run())


def test_a_fresh_task_takes_its_first_round_as_it_is() -> None:
    assert Hysteresis(3, 2).observe(True) is True
    assert Hysteresis(3, 2).observe(False) is False


def test_one_bad_round_does_not_flap_a_healthy_task() -> None:
    hysteresis = Hysteresis(unhealthy_after=3, healthy_after=2)
    seen = [hysteresis.observe(ok) for ok in (True, False, True, False, False, True)]
    assert seen == [True] * 6


def test_unhealthy_after_n_bad_rounds_in_a_row_and_back_after_m_good_ones() -> None:
    hysteresis = Hysteresis(unhealthy_after=3, healthy_after=2)
    seen = [hysteresis.observe(ok) for ok in (True, False, False, False, True, False, True, True)]
    assert seen == [True, True, True, False, False, False, False, True]


def test_a_lost_dependency_turns_the_task_unhealthy_on_the_third_round_naming_it() -> None:
    clock, table, routing = FakeClock(), Switch("dynamodb"), Switch("routing function")
    monitor = HealthMonitor([table, routing], clock, SETTINGS)
    assert rounds(monitor, clock, 1) == [True]
    # Given DynamoDB stops answering,
    table.mode = "down"
    # then the task stays in the rotation for two rounds and leaves it on the third,
    assert rounds(monitor, clock, 3) == [True, True, False]
    verdict = monitor.verdict()
    assert not verdict.healthy
    assert verdict.problems == ("dynamodb: ConnectionError: connect timeout",)
    # and comes back after two good rounds once DynamoDB answers again.
    table.mode = "up"
    assert rounds(monitor, clock, 2) == [False, True]
    assert monitor.verdict() == Verdict(True, ())


def test_a_probe_that_hangs_fails_at_its_deadline() -> None:
    clock, routing = FakeClock(), Switch("routing function")
    monitor = HealthMonitor([routing], clock, SETTINGS)
    routing.mode = "hang"
    assert rounds(monitor, clock, 1) == [False]
    assert monitor.verdict().problems == ("routing function: no answer within 0.1 s",)


def test_event_loop_lag_over_the_bound_counts_as_a_bad_round() -> None:
    clock = FakeClock()
    monitor = HealthMonitor([], clock, SETTINGS)
    assert rounds(monitor, clock, 1, lag=0.2) == [True]
    assert rounds(monitor, clock, 3, lag=1.5) == [True, True, False]
    assert monitor.verdict().problems == ("event loop lag 1.50 s over 1.00 s",)


def test_a_verdict_nobody_refreshed_for_three_rounds_is_unhealthy() -> None:
    clock = FakeClock()
    monitor = HealthMonitor([], clock, SETTINGS)
    assert rounds(monitor, clock, 1) == [True]
    clock.now += 3 * SETTINGS.interval
    assert monitor.verdict().healthy
    clock.now += 0.5
    assert not monitor.verdict().healthy


def test_no_round_yet_is_unhealthy() -> None:
    assert HealthMonitor([], FakeClock(), SETTINGS).verdict() == Verdict(False, ("no check has run yet",))


@pytest.mark.parametrize(
    ("request_line", "verdict", "status"),
    [
        (b"GET /health HTTP/1.1\r\n", Verdict(True, ()), b"HTTP/1.1 200 OK"),
        (
            b"GET /health HTTP/1.1\r\n",
            Verdict(False, ("dynamodb: down",)),
            b"HTTP/1.1 503 Service Unavailable",
        ),
        # The container's liveness check stays green: an unreachable table is not a reason to kill.
        (b"GET /live HTTP/1.1\r\n", Verdict(False, ("dynamodb: down",)), b"HTTP/1.1 200 OK"),
        (b"GET / HTTP/1.1\r\n", Verdict(True, ()), b"HTTP/1.1 404 Not Found"),
    ],
)
def test_the_health_port_answers_from_the_verdict(
    request_line: bytes, verdict: Verdict, status: bytes
) -> None:
    edge = Edge.__new__(Edge)
    edge.health = lambda: verdict
    answer = edge._health_answer(request_line)
    assert answer.startswith(status + b"\r\n")
    if status.endswith(b"503 Service Unavailable"):
        assert answer.endswith(b"\r\n\r\ndynamodb: down\n")

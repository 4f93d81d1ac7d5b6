"""FakeClock and the RFC 3261 timer table."""

from __future__ import annotations

import asyncio

import pytest

from sip_edge.sip.timers import DEFAULT_TIMERS, AsyncioClock, FakeClock, Timers


def test_fake_clock_runs_callbacks_in_time_order_and_moves_time_to_each() -> None:
    clock = FakeClock()
    seen: list[tuple[str, float]] = []
    clock.call_later(2.0, lambda: seen.append(("b", clock.now())))
    clock.call_later(1.0, lambda: seen.append(("a", clock.now())))
    clock.call_later(2.0, lambda: seen.append(("c", clock.now())))

    clock.advance(1.5)
    assert seen == [("a", 1.0)]
    assert clock.now() == 1.5

    clock.advance(10)
    assert seen == [("a", 1.0), ("b", 2.0), ("c", 2.0)]
    assert clock.now() == 11.5


def test_fake_clock_cancelled_handle_never_fires() -> None:
    clock = FakeClock()
    fired: list[int] = []
    handle = clock.call_later(1.0, lambda: fired.append(1))
    handle.cancel()
    clock.advance(5)
    assert fired == []
    assert clock.pending() == 0


def test_fake_clock_timer_rearmed_from_its_callback_counts_from_the_callback_instant() -> None:
    clock = FakeClock()
    fired: list[float] = []

    def tick() -> None:
        fired.append(clock.now())
        if len(fired) < 3:
            clock.call_later(1.0, tick)

    clock.call_later(1.0, tick)
    clock.advance(10)
    assert fired == [1.0, 2.0, 3.0]


def test_run_until_idle_drains_everything() -> None:
    clock = FakeClock()
    fired: list[float] = []
    clock.call_later(30, lambda: fired.append(clock.now()))
    clock.run_until_idle()
    assert fired == [30]


@pytest.mark.parametrize(
    ("name", "unreliable", "reliable"),
    [
        ("timer_a", 0.5, 0.5),
        ("timer_b", 32.0, 32.0),
        ("timer_d", 32.0, 0.0),
        ("timer_e", 0.5, 0.5),
        ("timer_f", 32.0, 32.0),
        ("timer_g", 0.5, 0.5),
        ("timer_h", 32.0, 32.0),
        ("timer_i", 5.0, 0.0),
        ("timer_j", 32.0, 0.0),
        ("timer_k", 5.0, 0.0),
        ("timer_l", 32.0, 32.0),
        ("timer_m", 32.0, 32.0),
    ],
)
def test_rfc3261_table_4_defaults(name: str, unreliable: float, reliable: float) -> None:
    value = getattr(DEFAULT_TIMERS, name)
    if callable(value):
        assert value(False) == unreliable
        assert value(True) == reliable
    else:
        assert value == unreliable == reliable


def test_timers_scale_with_t1() -> None:
    fast = Timers(t1=0.05, t2=0.4, t4=0.5)
    assert fast.timer_b == pytest.approx(3.2)
    # Timer D is at least 32 s on unreliable transports whatever T1 is (§17.1.1.2).
    assert fast.timer_d(False) == 32.0


def test_asyncio_clock_binds_to_the_running_loop() -> None:
    async def scenario() -> float:
        clock = AsyncioClock()
        done = asyncio.get_running_loop().create_future()
        start = clock.now()
        clock.call_later(0.01, lambda: done.set_result(clock.now()))
        end: float = await done
        return end - start

    assert asyncio.run(scenario()) >= 0.009

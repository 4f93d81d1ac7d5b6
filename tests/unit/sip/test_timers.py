"""FakeClock, the timer wheel for coarse timers and the RFC 3261 timer table."""

from __future__ import annotations

import asyncio
import logging

import pytest

from sip_edge.sip.timers import DEFAULT_TIMERS, AsyncioClock, FakeClock, Timers, TimerWheel


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


# --- the timer wheel (coarse timers: D, I, J, K) ---------------------------------------------------


def test_wheel_timers_fire_never_early_and_at_most_one_tick_late_in_order() -> None:
    clock = FakeClock(start=100.0)
    wheel = TimerWheel(clock, tick=0.1)
    fired: list[tuple[str, float]] = []
    wheel.call_later(32.0, lambda: fired.append(("j1", clock.now())))
    wheel.call_later(5.0, lambda: fired.append(("k", clock.now())))
    clock.advance(0.03)
    wheel.call_later(31.97, lambda: fired.append(("j2", clock.now())))  # due with j1

    clock.advance(4.96)  # just before k is due
    assert fired == []
    clock.advance(0.1)
    assert [name for name, _ in fired] == ["k"]
    clock.advance(30)
    assert [name for name, _ in fired] == ["k", "j1", "j2"]
    for name, when in fired:
        due = 105.0 if name == "k" else 132.0
        assert due <= when <= due + 0.1
    assert len(wheel) == 0


def test_wheel_keeps_one_clock_timer_whatever_it_holds() -> None:
    clock = FakeClock()
    wheel = TimerWheel(clock, tick=0.1)
    for n in range(1000):
        wheel.call_later(32.0 + n / 1000, lambda: None)
    assert len(wheel) == 1000
    assert clock.pending() == 1
    clock.advance(34)
    assert len(wheel) == 0 and clock.pending() == 0


def test_wheel_cancelled_timer_never_fires() -> None:
    clock = FakeClock()
    wheel = TimerWheel(clock, tick=0.1)
    fired: list[str] = []
    handle = wheel.call_later(1.0, lambda: fired.append("cancelled"))
    wheel.call_later(1.0, lambda: fired.append("kept"))
    handle.cancel()
    clock.advance(2)
    assert fired == ["kept"]


def test_wheel_timer_started_from_a_callback_before_the_next_bucket_is_not_delayed_by_it() -> None:
    clock = FakeClock()
    wheel = TimerWheel(clock, tick=0.1)
    fired: list[tuple[str, float]] = []

    def first() -> None:
        fired.append(("first", clock.now()))
        wheel.call_later(32.0, lambda: fired.append(("far", clock.now())))
        wheel.call_later(0.0, lambda: fired.append(("now", clock.now())))

    wheel.call_later(1.0, first)
    wheel.call_later(2.0, lambda: fired.append(("second", clock.now())))
    clock.advance(3)
    assert [name for name, _ in fired] == ["first", "now", "second"]
    assert dict(fired)["second"] == pytest.approx(2.0)
    clock.advance(31)
    assert [name for name, _ in fired][-1] == "far"


def test_wheel_callback_failure_is_logged_and_stops_no_other(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    wheel = TimerWheel(clock, tick=0.1)
    fired: list[str] = []

    def broken() -> None:
        raise RuntimeError("boom")

    wheel.call_later(1.0, broken)
    wheel.call_later(1.0, lambda: fired.append("after"))
    with caplog.at_level(logging.ERROR, logger="sip_edge.sip.timers"):
        clock.advance(2)
    assert fired == ["after"]
    assert "boom" in caplog.text


def test_wheel_close_drops_pending_timers() -> None:
    clock = FakeClock()
    wheel = TimerWheel(clock, tick=0.1)
    fired: list[str] = []
    wheel.call_later(1.0, lambda: fired.append("x"))
    wheel.close()
    clock.advance(5)
    assert fired == [] and len(wheel) == 0 and clock.pending() == 0


def test_asyncio_clock_runs_coarse_timers_on_its_wheel() -> None:
    async def scenario() -> tuple[float, float]:
        clock = AsyncioClock(coarse_tick=0.02)
        done = asyncio.get_running_loop().create_future()
        start = clock.now()
        clock.call_later_coarse(0.05, lambda: done.set_result(clock.now()))
        end: float = await done
        return start, end

    start, end = asyncio.run(scenario())
    # Never early (the loop's own timers may run a millisecond before their time).
    assert 0.049 <= end - start < 0.5

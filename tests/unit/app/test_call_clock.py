"""The one clock of a call: stack timers and wall-clock deadlines driven together."""

from __future__ import annotations

from sip_edge.app.calls.clock import CallClock
from sip_edge.sip.timers import FakeClock


def test_a_wall_clock_deadline_fires_on_the_stack_clock_after_the_time_left() -> None:
    timers, wall = FakeClock(), [1_790_000_000.0]
    clock = CallClock(timers, wall=lambda: wall[0])
    fired: list[str] = []
    clock.call_at_ms(clock.now_ms() + 2_500, lambda: fired.append("deadline"))
    clock.call_later(1.0, lambda: fired.append("timer"))
    timers.advance(2.4)
    assert fired == ["timer"]
    timers.advance(0.2)
    assert fired == ["timer", "deadline"]


def test_a_deadline_already_passed_fires_at_once() -> None:
    timers = FakeClock()
    clock = CallClock(timers, wall=lambda: 1_790_000_000.0)
    fired: list[int] = []
    clock.call_at_ms(clock.now_ms() - 5_000, lambda: fired.append(1))
    timers.advance(0)
    assert fired == [1]

"""The one clock of a call: timers on the SIP stack's clock, deadlines in epoch milliseconds.

The router speaks epoch milliseconds (a queue deadline, the end of wrap-up); timers run on the
stack's clock (`sip_edge.sip.timers.Clock`, the event loop in production, a fake in tests). A call
gets one `CallClock` for both, so a test that drives one drives the other.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sip_edge.sip.timers import Clock, TimerHandle

__all__ = ["CallClock"]


class CallClock:
    def __init__(self, timers: Clock, wall: Callable[[], float] = time.time) -> None:
        self._timers = timers
        self._wall = wall

    def now(self) -> float:
        return self._timers.now()

    def now_ms(self) -> int:
        """Wall-clock time in epoch milliseconds, as the router writes deadlines."""
        return int(self._wall() * 1000)

    def call_later(self, delay: float, callback: Callable[[], object]) -> TimerHandle:
        return self._timers.call_later(delay, callback)

    def call_later_coarse(self, delay: float, callback: Callable[[], object]) -> TimerHandle:
        return self._timers.call_later_coarse(delay, callback)

    def call_at_ms(self, epoch_ms: int, callback: Callable[[], object]) -> TimerHandle:
        """Run ``callback`` at a wall-clock deadline (at once when it has passed)."""
        return self._timers.call_later(max(0.0, (epoch_ms - self.now_ms()) / 1000), callback)

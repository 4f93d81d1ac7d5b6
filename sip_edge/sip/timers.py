"""Clocks and the RFC 3261 timer values.

Every timer in the stack is scheduled through a `Clock`, so the transaction state machines can be
driven in tests by a `FakeClock` that advances time without sleeping. Timer names follow RFC 3261
§17 / Table 4 and RFC 6026 (timer L and M) so the code can be read next to the RFC.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

__all__ = ["DEFAULT_TIMERS", "AsyncioClock", "Clock", "FakeClock", "TimerHandle", "Timers"]


class TimerHandle(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    """The one source of time and delayed callbacks for the SIP stack."""

    def now(self) -> float: ...

    def call_later(self, delay: float, callback: Callable[[], object]) -> TimerHandle: ...


class AsyncioClock:
    """A `Clock` on an asyncio loop (loop.time() is monotonic).

    Without an explicit loop it binds to the running loop at first use, so it can be built
    before the loop starts (composition roots build objects first, then run).
    """

    __slots__ = ("_loop",)

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._loop = loop

    def _bind(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self._loop

    def now(self) -> float:
        return (self._loop or self._bind()).time()

    def call_later(self, delay: float, callback: Callable[[], object]) -> TimerHandle:
        return (self._loop or self._bind()).call_later(delay, callback)


class _FakeHandle:
    __slots__ = ("callback", "cancelled", "when")

    def __init__(self, when: float, callback: Callable[[], object]) -> None:
        self.when = when
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class FakeClock:
    """A manually advanced clock: `advance(dt)` runs every callback that falls due, in time order."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        # The counter breaks ties so callbacks due at the same instant run in scheduling order.
        self._seq = itertools.count()
        self._heap: list[tuple[float, int, _FakeHandle]] = []

    def now(self) -> float:
        return self._now

    def call_later(self, delay: float, callback: Callable[[], object]) -> TimerHandle:
        handle = _FakeHandle(self._now + max(0.0, delay), callback)
        heapq.heappush(self._heap, (handle.when, next(self._seq), handle))
        return handle

    def advance(self, seconds: float) -> None:
        deadline = self._now + seconds
        while self._heap and self._heap[0][0] <= deadline:
            when, _, handle = heapq.heappop(self._heap)
            if handle.cancelled:
                continue
            # Time moves to each callback's instant so timers it re-arms are relative to it.
            self._now = max(self._now, when)
            handle.callback()
        self._now = deadline

    def run_until_idle(self, limit: float = 3600.0) -> None:
        """Advance until nothing is scheduled (bounded so a self-re-arming timer cannot spin)."""
        end = self._now + limit
        while self.pending() and self._heap[0][0] <= end:
            self.advance(self._heap[0][0] - self._now)

    def pending(self) -> int:
        self._heap = [entry for entry in self._heap if not entry[2].cancelled]
        heapq.heapify(self._heap)
        return len(self._heap)


@dataclass(frozen=True, slots=True)
class Timers:
    """RFC 3261 Table 4 timer values, derived from T1/T2/T4 so one setting scales them all.

    `reliable` selects the values for connection-oriented transports, where retransmissions are
    the transport's job and the absorb-retransmission wait states collapse to zero.
    """

    t1: float = 0.5
    t2: float = 4.0
    t4: float = 5.0

    @property
    def timer_a(self) -> float:
        return self.t1

    @property
    def timer_b(self) -> float:
        return 64 * self.t1

    @property
    def timer_c(self) -> float:
        return 180.0

    def timer_d(self, reliable: bool) -> float:
        return 0.0 if reliable else max(32.0, 64 * self.t1)

    @property
    def timer_e(self) -> float:
        return self.t1

    @property
    def timer_f(self) -> float:
        return 64 * self.t1

    @property
    def timer_g(self) -> float:
        return self.t1

    @property
    def timer_h(self) -> float:
        return 64 * self.t1

    def timer_i(self, reliable: bool) -> float:
        return 0.0 if reliable else self.t4

    def timer_j(self, reliable: bool) -> float:
        return 0.0 if reliable else 64 * self.t1

    def timer_k(self, reliable: bool) -> float:
        return 0.0 if reliable else self.t4

    @property
    def timer_l(self) -> float:
        return 64 * self.t1

    @property
    def timer_m(self) -> float:
        return 64 * self.t1


DEFAULT_TIMERS = Timers()

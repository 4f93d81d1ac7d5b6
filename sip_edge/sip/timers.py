"""Clocks and the RFC 3261 timer values.

Every timer in the stack is scheduled through a `Clock`, so the transaction state machines can be
driven in tests by a `FakeClock` that advances time without sleeping. Timer names follow RFC 3261
§17 / Table 4 and RFC 6026 (timer L and M) so the code can be read next to the RFC.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

__all__ = ["DEFAULT_TIMERS", "AsyncioClock", "Clock", "FakeClock", "TimerHandle", "TimerWheel", "Timers"]

log = logging.getLogger(__name__)


class TimerHandle(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    """The one source of time and delayed callbacks for the SIP stack."""

    def now(self) -> float: ...

    def call_later(self, delay: float, callback: Callable[[], object]) -> TimerHandle: ...

    def call_later_coarse(self, delay: float, callback: Callable[[], object]) -> TimerHandle:
        """Like `call_later`, never earlier, but possibly a fraction of a second later.

        For wait timers (D, I, J, K) whose only effect is to end a state that absorbs
        retransmissions: ending it a little later changes nothing on the wire, and these are the
        timers every transaction over UDP starts, so they may be kept more cheaply.
        """
        ...


class _WheelHandle:
    __slots__ = ("callback",)

    def __init__(self, callback: Callable[[], object]) -> None:
        self.callback: Callable[[], object] | None = callback

    def cancel(self) -> None:
        self.callback = None  # also lets the callback's owner be freed before its slot comes


class TimerWheel:
    """Timers kept in buckets of `tick` seconds, on one timer of the underlying clock.

    Starting one is a list append instead of a loop timer of its own (a handle, a heap entry);
    at 1,000 registrations a second the loop otherwise holds 32,000 timer J handles. A timer
    fires when its bucket's time has come: never early, at most `tick` late. Callbacks due
    together run in the order they were scheduled.
    """

    __slots__ = ("_armed", "_armed_slot", "_buckets", "_clock", "_running", "_tick")

    def __init__(self, clock: Clock, tick: float = 0.1) -> None:
        if tick <= 0:
            raise ValueError("tick must be positive")
        self._clock = clock
        self._tick = tick
        # slot number (due time // tick, rounded up) -> handles due then
        self._buckets: dict[int, list[_WheelHandle]] = {}
        self._armed: TimerHandle | None = None
        self._armed_slot = 0
        self._running = False

    def __len__(self) -> int:
        """Timers scheduled and not yet run (cancelled ones included until their slot)."""
        return sum(len(bucket) for bucket in self._buckets.values())

    def call_later(self, delay: float, callback: Callable[[], object]) -> TimerHandle:
        slot = math.ceil((self._clock.now() + max(0.0, delay)) / self._tick)
        handle = _WheelHandle(callback)
        bucket = self._buckets.get(slot)
        if bucket is not None:
            bucket.append(handle)
        else:
            self._buckets[slot] = [handle]
            # While buckets run, the one timer is armed once they are done, for the earliest.
            if not self._running and (self._armed is None or slot < self._armed_slot):
                self._arm(slot)
        return handle

    def close(self) -> None:
        """Drop every pending timer without running it."""
        if self._armed is not None:
            self._armed.cancel()
            self._armed = None
        self._buckets.clear()

    def _arm(self, slot: int) -> None:
        if self._armed is not None:
            self._armed.cancel()
        self._armed_slot = slot
        self._armed = self._clock.call_later(slot * self._tick - self._clock.now(), self._run)

    def _run(self) -> None:
        self._armed = None
        self._running = True
        buckets = self._buckets
        try:
            # The clock ran us for the armed slot; later ones may be due too after a stall.
            due = max(self._armed_slot, math.floor(self._clock.now() / self._tick))
            for slot in sorted(slot for slot in buckets if slot <= due):
                for handle in buckets.pop(slot):
                    callback = handle.callback
                    if callback is None:
                        continue
                    handle.callback = None
                    try:
                        callback()
                    except Exception:
                        # As the event loop does for its own callbacks: one failure stops no other.
                        log.exception("timer callback %r failed", callback)
        finally:
            self._running = False
            if buckets:
                self._arm(min(buckets))


class AsyncioClock:
    """A `Clock` on an asyncio loop (loop.time() is monotonic).

    Without an explicit loop it binds to the running loop at first use, so it can be built
    before the loop starts (composition roots build objects first, then run).
    """

    __slots__ = ("_loop", "_wheel")

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None, *, coarse_tick: float = 0.1) -> None:
        self._loop = loop
        self._wheel = TimerWheel(self, coarse_tick)

    def _bind(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self._loop

    def now(self) -> float:
        return (self._loop or self._bind()).time()

    def call_later(self, delay: float, callback: Callable[[], object]) -> TimerHandle:
        return (self._loop or self._bind()).call_later(delay, callback)

    def call_later_coarse(self, delay: float, callback: Callable[[], object]) -> TimerHandle:
        return self._wheel.call_later(delay, callback)


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

    def call_later_coarse(self, delay: float, callback: Callable[[], object]) -> TimerHandle:
        # Exact here, so tests see the RFC values; TimerWheel has tests of its own.
        return self.call_later(delay, callback)

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

"""Load shedding for registration storms: 503 with a spread Retry-After, never silence.

A REGISTER whose seat is not in memory waits for a read of the table (batched, see `batching`).
When more of them wait than the edge reads in about a second, waiting longer only brings the
phones' retransmissions (every 500 ms over UDP, each parsed and matched again), then their
timeouts, then a second storm of the same REGISTERs. Past ``max_backlog`` the registrar answers
503 at once instead (RFC 3261 21.5.4), with a Retry-After the phone honours (RFC 3261 20.33).

The Retry-After is spread: uniform over ``[min_retry, min_retry + window)``, the window growing with
what was shed lately divided by the rate the edge can take first registrations at. Phones shed in
the same second then come back over as many seconds as the edge needs for them, not together into
the next storm.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from sip_edge.sip.decisions import Reply
from sip_edge.sip.registration import warning


@dataclass(frozen=True, slots=True)
class SheddingSettings:
    max_backlog: int = 1000  # first registrations waiting for the table before 503s start
    rate: float = 500.0  # first registrations a second one task takes: the spread's scale
    min_retry: int = 1  # seconds: the soonest a shed phone comes back
    min_window: int = 4  # seconds the returns are spread over, at least
    max_window: int = 120  # ... and at most
    memory: float = 10.0  # seconds a shed REGISTER counts toward the window


class RegistrationShedder:
    def __init__(
        self,
        settings: SheddingSettings | None = None,
        *,
        now: Callable[[], float] = time.monotonic,
        uniform: Callable[[], float] = random.random,
    ) -> None:
        self.settings = settings or SheddingSettings()
        self._now = now
        self._uniform = uniform
        # Sheds in the current and the previous period of ``memory`` seconds.
        self._period = -1
        self._current = 0
        self._previous = 0
        self.shed = 0

    def refusal(self, backlog: int) -> Reply | None:
        """503 with a spread Retry-After when ``backlog`` REGISTERs already wait; None otherwise."""
        if backlog < self.settings.max_backlog:
            return None
        self.shed += 1
        recent = self._count()
        settings = self.settings
        window = min(settings.max_window, max(settings.min_window, math.ceil(recent / settings.rate)))
        retry_after = settings.min_retry + int(self._uniform() * window)
        return Reply(
            503,
            "Service Unavailable",
            headers=(
                ("Retry-After", str(retry_after)),
                warning(f"registration backlog; retry in {retry_after} s"),
            ),
            stateless=True,  # nothing to keep: a retransmission is shed again, or served
        )

    def _count(self) -> int:
        period = int(self._now() // self.settings.memory)
        if period != self._period:
            self._previous = self._current if period == self._period + 1 else 0
            self._current = 0
            self._period = period
        self._current += 1
        return self._current + self._previous

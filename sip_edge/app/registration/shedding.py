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

A phone that was shed is admitted when it comes back, even while the backlog is still full: it
did what it was told, and shedding it again on every return (its retry competing with the storm's
new first registrations each time) could keep it out for the whole storm. The backlog may then
pass ``max_backlog``, by no more than the returns the spread lets in, and never past
``return_backlog``: past that, a returning phone is shed again with a new Retry-After.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from sip_edge.app.registration.challenges import ClientKey
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
    return_backlog: int = 2000  # a shed phone coming back when told is admitted below this backlog
    max_owed: int = 100_000  # shed phones remembered for their return (oldest forgotten first)


# A return this much before its Retry-After is up counts as on time (whole seconds, phones' timers);
# one up to a window late (its own retransmissions, a slow network) still counts as a return.
_EARLY = 0.5


def _unavailable(retry_after: int) -> Reply:
    return Reply(
        503,
        "Service Unavailable",
        headers=(
            ("Retry-After", str(retry_after)),
            warning(f"registration backlog; retry in {retry_after} s"),
        ),
        stateless=True,  # nothing to keep: a retransmission is shed again, or served
    )


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
        # Shed phones not back yet: (source address, username) -> (earliest, latest) return.
        self._owed: dict[ClientKey, tuple[float, float]] = {}
        self.shed = 0
        self.readmitted = 0  # shed phones admitted on their return past max_backlog

    def refusal(self, backlog: int, client: ClientKey) -> Reply | None:
        """503 with a spread Retry-After when ``backlog`` REGISTERs already wait; None otherwise.

        ``client`` (source address, username) shed before and back when it was told is let in
        below ``return_backlog``."""
        settings = self.settings
        if backlog < settings.max_backlog:
            if self._owed:
                self._owed.pop(client, None)
            return None
        now = self._now()
        owed = self._owed.get(client)
        if owed is not None:
            earliest, latest = owed
            if now < earliest:
                # A retransmission of the request just shed (in flight before its 503): the same
                # time to come back, so the phone's return still finds its place kept.
                self.shed += 1
                return _unavailable(max(1, math.ceil(earliest + _EARLY - now)))
            del self._owed[client]
            if now <= latest and backlog < settings.return_backlog:
                self.readmitted += 1
                return None
        self.shed += 1
        recent = self._count(now)
        window = min(settings.max_window, max(settings.min_window, math.ceil(recent / settings.rate)))
        retry_after = settings.min_retry + int(self._uniform() * window)
        self._owe(client, now + retry_after - _EARLY, now + retry_after + window)
        return _unavailable(retry_after)

    def _owe(self, client: ClientKey, earliest: float, latest: float) -> None:
        if len(self._owed) >= self.settings.max_owed:
            # Oldest first: dicts keep insertion order, so dropping from the front is cheap.
            for key in list(self._owed)[: self.settings.max_owed // 8]:
                del self._owed[key]
        self._owed[client] = (earliest, latest)

    def _count(self, now: float) -> int:
        period = int(now // self.settings.memory)
        if period != self._period:
            self._previous = self._current if period == self._period + 1 else 0
            self._current = 0
            self._period = period
        self._current += 1
        return self._current + self._previous

"""Per-source limits on failed authentication, so password guessing and user scanning stall.

A source (IP address) that fails authentication ``max_failures`` times within ``window`` seconds
is locked out for ``lockout`` seconds: its REGISTERs are then dropped without an answer, so a
scanner learns nothing (not even that a registrar is there) and spends no more of our CPU on
digest checks. Other sources are unaffected, so legitimate seats keep registering.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(slots=True)
class _Source:
    failures: list[float] = field(default_factory=list)
    locked_until: float = 0.0


class FailedAuthLimiter:
    def __init__(
        self,
        *,
        max_failures: int = 10,
        window: float = 60.0,
        lockout: float = 300.0,
        max_sources: int = 100_000,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.window = window
        self.lockout = lockout
        self._max_sources = max_sources
        self._now = now
        self._sources: dict[str, _Source] = {}
        self.lockouts = 0

    def is_locked(self, source: str) -> bool:
        state = self._sources.get(source)
        return state is not None and state.locked_until > self._now()

    def record_failure(self, source: str) -> bool:
        """Count a failed attempt; True when this failure locks the source out."""
        now = self._now()
        state = self._sources.get(source)
        if state is None:
            if len(self._sources) >= self._max_sources:
                self._forget_idle(now)
            state = self._sources[source] = _Source()
        state.failures = [t for t in state.failures if now - t < self.window]
        state.failures.append(now)
        if len(state.failures) >= self.max_failures:
            state.locked_until = now + self.lockout
            state.failures.clear()
            self.lockouts += 1
            return True
        return False

    def record_success(self, source: str) -> None:
        # A NAT may hide a mistyped phone beside good ones: success clears the count, not a lockout.
        state = self._sources.get(source)
        if state is not None and state.locked_until <= self._now():
            del self._sources[source]

    def _forget_idle(self, now: float) -> None:
        for key in [
            k
            for k, s in self._sources.items()
            if s.locked_until <= now and (not s.failures or now - s.failures[-1] >= self.window)
        ]:
            del self._sources[key]

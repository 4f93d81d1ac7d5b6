"""Limits on failed authentication, so password guessing stalls without locking out bystanders.

A failure here is a wrong response over a nonce this fleet issued to that same source address
(see ``DigestAuthenticator``'s client binding): forged packets carrying somebody else's address
cannot produce one, so they cannot lock anybody out.

- A (source address, username) pair with ``max_failures`` failures within ``window`` seconds is
  locked for ``lockout`` seconds: REGISTERs for that username from that address are dropped
  unanswered, so a password guesser gets no more verdicts and costs no more digest checks.
- A source address with ``max_source_failures`` failures across usernames in the window (a
  scanner trying many accounts) is locked as a whole. The bar is high because a whole office or a
  carrier-grade NAT may share one address with a few mistyped phones.
Other addresses and other users behind the same address are unaffected. A locked scanner still
gets OPTIONS answered like anyone: a public edge cannot hide that it speaks SIP.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(slots=True)
class _Record:
    failures: list[float] = field(default_factory=list)
    locked_until: float = 0.0


class FailedAuthLimiter:
    def __init__(
        self,
        *,
        max_failures: int = 10,
        max_source_failures: int = 100,
        window: float = 60.0,
        lockout: float = 300.0,
        max_entries: int = 100_000,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.max_source_failures = max_source_failures
        self.window = window
        self.lockout = lockout
        self._max_entries = max_entries
        self._now = now
        self._records: dict[tuple[str, str | None], _Record] = {}
        self.lockouts = 0

    def is_locked(self, source: str, username: str) -> bool:
        now = self._now()
        for key in ((source, username), (source, None)):
            record = self._records.get(key)
            if record is not None and record.locked_until > now:
                return True
        return False

    def record_failure(self, source: str, username: str) -> bool:
        """Count a failed guess; True when it locks the pair or the whole source out."""
        locked_pair = self._count((source, username), self.max_failures)
        locked_source = self._count((source, None), self.max_source_failures)
        return locked_pair or locked_source

    def record_success(self, source: str, username: str) -> None:
        # Success clears the pair's count (a phone whose user fixed a typo), never a running lockout.
        record = self._records.get((source, username))
        if record is not None and record.locked_until <= self._now():
            del self._records[(source, username)]

    def _count(self, key: tuple[str, str | None], limit: int) -> bool:
        now = self._now()
        record = self._records.get(key)
        if record is None:
            if len(self._records) >= self._max_entries:
                self._forget_idle(now)
            record = self._records[key] = _Record()
        record.failures = [t for t in record.failures if now - t < self.window]
        record.failures.append(now)
        if len(record.failures) >= limit:
            record.locked_until = now + self.lockout
            record.failures.clear()
            self.lockouts += 1
            return True
        return False

    def _forget_idle(self, now: float) -> None:
        for key in [
            k
            for k, r in self._records.items()
            if r.locked_until <= now and (not r.failures or now - r.failures[-1] >= self.window)
        ]:
            del self._records[key]

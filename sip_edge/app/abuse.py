"""Limits on failed authentication: a guesser stalls, the good users behind its address do not.

A failure here is a wrong digest over a nonce this fleet issued to that same source address (see
``DigestAuthenticator``'s client binding): a forged packet carrying somebody else's address never
sees that nonce, so it cannot produce a failure, and cannot lock anybody out.

Two limits, the two Kamailio combines in its recipes (per auth user: htable counters and "403 Try
later"; per address: pike and an htable ban), changed for offices and carrier-grade NATs where
many good phones share one address:

- **Per user.** A (source address, username) pair with ``max_failures`` failures within ``window``
  seconds is locked for ``lockout`` seconds. Its REGISTERs are answered 403 with a Warning and no
  digest check: right and wrong passwords get the same answer, so a guesser learns nothing, and a
  misconfigured phone's user is told why. Other usernames at that address are unaffected.
- **Per address.** More failures across usernames within the window than ``max_source_failures``
  plus ``per_good_user`` for every username that succeeded from the address in the last
  ``trust_for`` seconds (a scanner trying many accounts) locks the address for ``lockout``
  seconds, for the usernames that have *not* succeeded from it: they get 503 with Retry-After
  (the lock's remaining time), so an innocent new phone registers by itself once it lifts. The
  users seen succeeding there go on registering; their own per-user limit still holds, so the
  exemption gives a guesser nothing.

Kamailio's stock configuration bans a flooding address silently and whole; Asterisk and
FreeSWITCH log failed authentications for fail2ban to ban the address at the firewall. Each of
these punishes everyone behind a shared address for one bad device; the per-user lock with
answers is Kamailio's auth recipe, the per-address exemption of proven users is ours.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from sip_edge.sip.stack import Reply

__all__ = ["FailedAuthLimiter"]

_Key = TypeVar("_Key", str, tuple[str, str])


@dataclass(slots=True)
class _Counter:
    failures: deque[float] = field(default_factory=deque)
    locked_until: float = 0.0


@dataclass(slots=True)
class _Proven:
    """Usernames that authenticated from one address, with the time each last did."""

    users: dict[str, float] = field(default_factory=dict)
    pruned_at: float = 0.0


def _warning(text: str) -> tuple[str, str]:
    return ("Warning", f'399 switchboard "{text}"')


_USER_LOCKED = _warning("too many failed attempts for this user from this address; try again later")
_ADDRESS_LOCKED = _warning("too many failed attempts from this address; try again later")


class FailedAuthLimiter:
    def __init__(
        self,
        *,
        max_failures: int = 10,
        max_source_failures: int = 100,
        per_good_user: int = 20,
        window: float = 60.0,
        lockout: float = 300.0,
        trust_for: float = 7200.0,
        max_entries: int = 100_000,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.max_source_failures = max_source_failures
        self.per_good_user = per_good_user
        self.window = window
        self.lockout = lockout
        self.trust_for = trust_for
        self._max_entries = max_entries
        self._now = now
        self._pairs: dict[tuple[str, str], _Counter] = {}
        self._addresses: dict[str, _Counter] = {}
        self._proven: dict[str, _Proven] = {}
        self.lockouts = 0

    # --- the verdict before any digest work ---------------------------------------------------------

    def refusal(self, source: str, username: str) -> Reply | None:
        """The answer for a locked client (no digest is checked), or None to go on."""
        now = self._now()
        pair = self._pairs.get((source, username))
        if pair is not None and pair.locked_until > now:
            return Reply(403, headers=(_USER_LOCKED,))
        address = self._addresses.get(source)
        if address is not None and address.locked_until > now and not self.is_proven(source, username):
            retry_after = str(max(1, math.ceil(address.locked_until - now)))
            return Reply(503, headers=(("Retry-After", retry_after), _ADDRESS_LOCKED))
        return None

    def is_proven(self, source: str, username: str) -> bool:
        """Whether `username` authenticated from `source` within the last ``trust_for`` seconds."""
        proven = self._proven.get(source)
        seen = proven.users.get(username) if proven is not None else None
        return seen is not None and self._now() - seen < self.trust_for

    def source_limit(self, source: str) -> int:
        """Failures across usernames the address may have within the window before it is locked."""
        return self.max_source_failures + self.per_good_user * self._proven_count(source)

    # --- outcomes -----------------------------------------------------------------------------------

    def record_failure(self, source: str, username: str) -> str | None:
        """Count a failed guess; what it locked ("user", "address") or None."""
        locked = None
        if self._count(self._pairs, (source, username), self.max_failures):
            locked = "user"
        if self._count(self._addresses, source, self.source_limit(source)):
            locked = "address"
        return locked

    def record_success(self, source: str, username: str) -> None:
        now = self._now()
        # Success clears the pair's count (a phone whose user fixed a typo), never a running lockout.
        pair = self._pairs.get((source, username))
        if pair is not None and pair.locked_until <= now:
            del self._pairs[(source, username)]
        proven = self._proven.get(source)
        if proven is None:
            if len(self._proven) >= self._max_entries:
                self._forget_unproven(now)
            proven = self._proven[source] = _Proven()
        proven.users[username] = now

    # --- bookkeeping --------------------------------------------------------------------------------

    def _count(self, table: dict[_Key, _Counter], key: _Key, limit: int) -> bool:
        now = self._now()
        counter = table.get(key)
        if counter is None:
            if len(table) >= self._max_entries:
                self._forget_idle(table, now)
            counter = table[key] = _Counter()
        if counter.locked_until > now:
            return False  # already locked: only a guess past a refusal's race gets here
        failures = counter.failures
        while failures and now - failures[0] >= self.window:
            failures.popleft()
        failures.append(now)
        if len(failures) < limit:
            return False
        counter.locked_until = now + self.lockout
        failures.clear()
        self.lockouts += 1
        return True

    def _proven_count(self, source: str) -> int:
        proven = self._proven.get(source)
        if proven is None:
            return 0
        now = self._now()
        if now - proven.pruned_at >= 1.0:
            # At most once a second, so a flood of failures does not rescan a big office each time.
            proven.pruned_at = now
            for user in [u for u, seen in proven.users.items() if now - seen >= self.trust_for]:
                del proven.users[user]
        return len(proven.users)

    def _forget_idle(self, table: dict[_Key, _Counter], now: float) -> None:
        for key in [
            k
            for k, c in table.items()
            if c.locked_until <= now and (not c.failures or now - c.failures[-1] >= self.window)
        ]:
            del table[key]

    def _forget_unproven(self, now: float) -> None:
        for source in [
            s for s, p in self._proven.items() if all(now - t >= self.trust_for for t in p.users.values())
        ]:
            del self._proven[source]
        if len(self._proven) >= self._max_entries:
            # Oldest first: dicts keep insertion order, so dropping from the front is cheap.
            for source in list(self._proven)[: self._max_entries // 8]:
                del self._proven[source]

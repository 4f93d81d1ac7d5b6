"""Seat SIP credentials for the registrar: HA1s from the data layer behind a short-lived cache.

The hot path must not wait for DynamoDB on every REGISTER. Entries live ``ttl`` seconds, longer
than the usual re-registration interval (2 minutes in the customer case), or every refresh would
re-read the table (measured: about 1.4 ms more edge CPU per REGISTER). A failed verification
against an entry older than ``refresh_after`` re-reads it once, so a password rotated through the
API works at once on every edge task; the old password stops working within ``ttl``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from sip_edge.app.registration.batching import BatchLoader


class CredentialSource(Protocol):
    """Where HA1s come from (the data layer in production, a dict in tests). Blocking is fine: it
    runs in a worker thread."""

    def ha1s_many(self, usernames: Sequence[str]) -> Mapping[str, Mapping[str, str] | None]:
        """HA1s (algorithm -> hex) of each username; None, or left out, for an unknown one."""
        ...


@dataclass(frozen=True, slots=True)
class _Entry:
    ha1s: Mapping[str, str] | None
    loaded_at: float


class CredentialCache:
    def __init__(
        self,
        source: CredentialSource,
        *,
        ttl: float = 300.0,
        negative_ttl: float = 5.0,
        refresh_after: float = 1.0,
        max_entries: int = 50_000,
        max_batch: int = 100,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl
        self._negative_ttl = negative_ttl
        self._refresh_after = refresh_after
        self._max_entries = max_entries
        self._now = now
        self._entries: dict[str, _Entry] = {}
        # Concurrent misses (a registration storm) share BatchGetItem requests of up to 100 seats.
        self._reads: BatchLoader[str, Mapping[str, str] | None] = BatchLoader(
            source.ha1s_many, None, max_batch=max_batch
        )

    def cached(self, username: str) -> tuple[Mapping[str, str] | None, bool]:
        """(HA1s, fresh): fresh is False when there is no usable entry and a load is needed."""
        entry = self._entries.get(username)
        if entry is None:
            return None, False
        age = self._now() - entry.loaded_at
        return entry.ha1s, age < (self._ttl if entry.ha1s is not None else self._negative_ttl)

    def may_refresh(self, username: str) -> bool:
        entry = self._entries.get(username)
        return entry is not None and self._now() - entry.loaded_at >= self._refresh_after

    async def get(self, username: str, *, force: bool = False) -> Mapping[str, str] | None:
        if not force:
            ha1s, fresh = self.cached(username)
            if fresh:
                return ha1s
        ha1s = await self._reads.get(username)
        self._store(username, ha1s)
        return ha1s

    @property
    def loads(self) -> int:
        """Seats read from the source (each read of a seat, however many REGISTERs waited for it)."""
        return self._reads.keys_read

    @property
    def reads(self) -> int:
        """Batch reads of credentials sent (each up to 100 seats)."""
        return self._reads.batches

    @property
    def backlog(self) -> int:
        """Seats waiting for their credentials to be read."""
        return self._reads.backlog

    def invalidate(self, username: str) -> None:
        self._entries.pop(username, None)

    def _store(self, username: str, ha1s: Mapping[str, str] | None) -> None:
        if len(self._entries) >= self._max_entries:
            # Drop the oldest eighth rather than one at a time, so a scan of random usernames costs
            # amortised O(1) per miss.
            for key in sorted(self._entries, key=lambda k: self._entries[k].loaded_at)[
                : self._max_entries // 8
            ]:
                del self._entries[key]
        self._entries[username] = _Entry(ha1s, self._now())

"""Seat SIP credentials for the registrar: HA1s from the data layer behind a short-lived cache.

The hot path must not wait for DynamoDB on every REGISTER. Entries live ``ttl`` seconds, longer
than the usual re-registration interval (2 minutes in the customer case), or every refresh would
re-read the table (measured: about 1.4 ms more edge CPU per REGISTER). A failed verification
against an entry older than ``refresh_after`` re-reads it once, so a password rotated through the
API works at once on every edge task; the old password stops working within ``ttl``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol


class CredentialSource(Protocol):
    """Where HA1s come from (the data layer in production, a dict in tests). Blocking is fine: it
    runs in a worker thread."""

    def ha1s(self, username: str) -> Mapping[str, str] | None: ...


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
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = source
        self._ttl = ttl
        self._negative_ttl = negative_ttl
        self._refresh_after = refresh_after
        self._max_entries = max_entries
        self._now = now
        self._entries: dict[str, _Entry] = {}
        self._loading: dict[str, asyncio.Future[Mapping[str, str] | None]] = {}
        self.loads = 0

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
        # One load per username at a time: a burst of REGISTERs for one seat makes one read.
        pending = self._loading.get(username)
        if pending is None:
            pending = asyncio.get_running_loop().create_future()
            self._loading[username] = pending
            try:
                ha1s = await asyncio.to_thread(self._source.ha1s, username)
            except Exception as exc:
                del self._loading[username]
                pending.set_exception(exc)
                pending.exception()  # consumed here; waiters re-raise it
                raise
            self.loads += 1
            self._store(username, ha1s)
            del self._loading[username]
            pending.set_result(ha1s)
            return ha1s
        return await pending

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

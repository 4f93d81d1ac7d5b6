"""Queued callers held on this edge task, and the one poll that finds their offers.

When an agent becomes available the router (the seat stream's handler) claims the oldest eligible
contact and marks it OFFERED, naming the edge task that holds the caller. This task learns of it
by asking ``pending_offers`` — one call for *all* its queued callers, every ``interval`` (50 ms),
and only while it holds at least one, so an idle edge costs nothing and a busy one one Lambda call
per interval however many callers wait. Every ``retry_every`` seconds the poll also asks the
router to try the queued contacts again (a safety net for a dequeue missed through index lag).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Protocol

from contact_center.services.routing.decisions import Connect

__all__ = ["OfferSource", "QueueHold"]

log = logging.getLogger("sip_edge.queue")


class OfferSource(Protocol):
    async def pending_offers(self, retry_queued: bool = False) -> list[Connect]: ...


class QueueHold:
    def __init__(
        self,
        source: OfferSource,
        *,
        interval: float = 0.05,
        retry_every: float = 3.0,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = source
        self._interval = interval
        self._retry_every = retry_every
        self._now = now
        self._held: dict[str, Callable[[Connect], None]] = {}
        self._task: asyncio.Task[None] | None = None
        self._last_retry = 0.0
        self.polls = 0

    def __len__(self) -> int:
        return len(self._held)

    def hold(self, contact_id: str, deliver: Callable[[Connect], None]) -> None:
        """Hold a caller until `deliver` is called with its offer (once) or `release`."""
        self._held[contact_id] = deliver
        if self._task is None or self._task.done():
            self._last_retry = self._now()
            self._task = asyncio.get_running_loop().create_task(self._run(), name="queue-poll")

    def release(self, contact_id: str) -> None:
        self._held.pop(contact_id, None)

    async def stop(self) -> None:
        self._held.clear()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def poll_once(self) -> int:
        """One poll; returns how many held callers got their offer."""
        retry = self._now() - self._last_retry >= self._retry_every
        if retry:
            self._last_retry = self._now()
        self.polls += 1
        offers = await self._source.pending_offers(retry_queued=retry)
        delivered = 0
        for offer in offers:
            # Offers for contacts not held here (already ringing, ended) are someone else's news.
            deliver = self._held.pop(offer.contact_id, None)
            if deliver is not None:
                delivered += 1
                deliver(offer)
        return delivered

    async def _run(self) -> None:
        # Fixed rate, not fixed delay: a poll that takes 80 ms is followed by the next one 20 ms
        # later, so an offer waits at most one interval (plus the poll itself) to be seen.
        loop = asyncio.get_running_loop()
        next_poll = loop.time() + self._interval
        while self._held:
            await asyncio.sleep(max(0.0, next_poll - loop.time()))
            next_poll = max(next_poll + self._interval, loop.time())
            if not self._held:
                break
            try:
                await self.poll_once()
            except Exception as exc:
                log.warning("polling pending offers failed: %s", exc)
                await asyncio.sleep(min(1.0, 10 * self._interval))
                next_poll = loop.time()

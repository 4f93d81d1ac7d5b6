"""Queued callers held on this edge task, and how their offers reach them: pushed, or found by a poll.

When an agent becomes available the router (the seat stream's handler, or the routing function
ending a wrap-up) claims the oldest eligible contact and marks it OFFERED, naming the edge task that
holds the caller, and pushes the offer to that task at once (`sip_edge.app.calls.offer_push`, a
signed SIP MESSAGE). A push can be lost (a datagram dropped, the router's environment frozen before
it sent), so this task also asks ``pending_offers`` every ``interval`` seconds (2 s): one call for
*all* its queued callers, and only while it holds at least one. Every ``retry_every`` seconds the
poll also asks the router to try the queued contacts again (a safety net for a dequeue missed through
index lag).

Both paths end in `deliver`, which applies an offer exactly once: it hands the offer to its caller
only while the caller is held (delivery releases it), and an offer already applied is not applied
again for ``applied_memory`` seconds, so a push and a poll that both carry it, or a push
retransmitted, ring the agent once even if the caller is held again meanwhile (a re-queue after a
missed ring). The memory is shorter than the router's re-offer cooldown, so a later, genuine offer of
the same agent to the same caller is never mistaken for a copy. A callback's offer (nobody is held
for it: this task is its runner) goes to `callbacks` under the same exactly-once rule.
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
        interval: float = 2.0,
        retry_every: float = 3.0,
        applied_memory: float = 20.0,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = source
        self._interval = interval
        self._retry_every = retry_every
        self._applied_memory = applied_memory
        self._now = now
        self._held: dict[str, Callable[[Connect], None]] = {}
        # Runs a callback offered to this task (`callback_run.CallbackRuns.run`): nobody is held for
        # it, the task calls both sides itself. None: this task runs no callbacks.
        self.callbacks: Callable[[Connect], bool] | None = None
        # (contact id, seat id) of offers applied, with when they may be applied again.
        self._applied: dict[tuple[str, str], float] = {}
        self._task: asyncio.Task[None] | None = None
        self._last_retry = 0.0
        self.polls = 0
        self.delivered_by_push = 0
        self.delivered_by_poll = 0

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

    def deliver(self, offer: Connect, *, pushed: bool = False) -> bool:
        """Apply ``offer`` to its held caller; False when nobody here waits for it (not held: already
        ringing, ended, another task's) or it was applied already."""
        now = self._now()
        if self._applied:
            self._applied = {key: until for key, until in self._applied.items() if until > now}
        key = (offer.contact_id, offer.seat_id)
        if key in self._applied:
            return False
        if offer.callback is not None and self.callbacks is not None:
            self._applied[key] = now + self._applied_memory
            return self.callbacks(offer)
        deliver = self._held.pop(offer.contact_id, None)
        if deliver is None:
            return False
        self._applied[key] = now + self._applied_memory
        if pushed:
            self.delivered_by_push += 1
        else:
            self.delivered_by_poll += 1
        deliver(offer)
        return True

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
        return sum(self.deliver(offer) for offer in offers)

    async def _run(self) -> None:
        # Fixed rate, not fixed delay: a slow poll does not push the next one back.
        loop = asyncio.get_running_loop()
        next_poll = loop.time() + self._interval
        while self._held:
            await asyncio.sleep(max(0.0, next_poll - loop.time()))
            next_poll = max(next_poll + self._interval, loop.time())
            if not self._held:
                break
            try:
                delivered = await self.poll_once()
            except Exception as exc:
                log.warning("polling pending offers failed: %s", exc)
                continue
            if delivered:
                # Pushes should have brought these: a steady count here means pushes are lost.
                log.info("the safety-net poll found %d offers no push delivered", delivered)

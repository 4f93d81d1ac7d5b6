"""A queued caller's wait: early media (or a 200) and the queue's announcements, until an offer is
found for it, the queue's deadline passes, the caller leaves, or the caller leaves a callback.

Callbacks that keep their place (`contact_center.domain.callbacks`): when the queue decision names a
callback key, the wait listens for it (`CallMedia.callback_key`: the relay's RFC 4733 reports and
SIP INFO alike, counted once the announcement has told the caller of the key). The key asks the
router to ``leave_callback``:

- left: the contact stays QUEUED at its place (its enqueue time and priority), owned by no edge
  task. The caller hears that its callback is left, and the call ends: a BYE to an answered caller,
  603 Decline to one in early media (a final that no carrier takes as a reason to try another
  route), each saying why. The end is not reported to the router: the contact is not over, and no
  abandon is counted for it.
- refused (the queue no longer takes callbacks, an offer claimed the contact meanwhile, the router
  did not answer): the caller waits on as before, still listened to, and the log says why.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from contact_center.services.routing.decisions import Queue, RoutingDecision
from sip_edge.app.calls.anchoring import CallerMedia
from sip_edge.app.calls.clock import CallClock
from sip_edge.app.calls.events import (
    CallbackKeyPressed,
    CallerCancelled,
    CallEvent,
    HoldRefreshDue,
    OfferFound,
    QueueDeadlinePassed,
)
from sip_edge.app.calls.ports import RoutingError, RoutingPort
from sip_edge.app.calls.queue_answer import QueueAnswer
from sip_edge.app.calls.queue_hold import QueueHold

__all__ = ["CALLBACK_BYE_REASON", "CallbackLeft", "QueueWait"]

log = logging.getLogger("sip_edge.calls")

# RFC 3326: why the call ended, on the BYE to an answered caller.
CALLBACK_BYE_REASON = 'SIP;cause=200;text="callback left: the caller keeps its place"'
CALLBACK_DECLINE = 603

Final = Callable[..., None]
Provisional = Callable[[int, bytes, str | None], None]


@dataclass(frozen=True, slots=True)
class CallbackLeft:
    """The wait's end when the caller left a callback: the call ends, the contact does not."""

    digit: str


class QueueWait:
    def __init__(
        self,
        contact_id: str,
        events: asyncio.Queue[CallEvent],
        *,
        clock: CallClock,
        refresh_seconds: float,
        media: CallerMedia,
        answer: QueueAnswer,
        hold: QueueHold,
        routing: RoutingPort,
        provisional: Provisional,
        cancelled: Callable[[], bool],
    ) -> None:
        self._contact_id = contact_id
        self._events = events
        self._clock = clock
        self._refresh_seconds = refresh_seconds
        self._media = media
        self._answer = answer
        self._hold = hold
        self._routing = routing
        self._provisional = provisional
        self._cancelled = cancelled

    async def wait(self, queue: Queue) -> RoutingDecision | CallbackLeft | None:
        """The offer found, the queue's verdict at the deadline, a callback left, or None: the caller
        left."""
        if self._cancelled():
            return None
        events, clock = self._events, self._clock
        early = await self._media.early_media(queue)
        if QueueAnswer.wanted(queue, early):
            self._answer.answer(early[1], self._answer.headers(early[2]))
        self._provisional(*early)
        self._hold.hold(self._contact_id, lambda offer: events.put_nowait(OfferFound(offer)))
        deadline = clock.call_at_ms(queue.deadline_ms, lambda: events.put_nowait(QueueDeadlinePassed()))
        refresh = clock.call_later(self._refresh_seconds, lambda: events.put_nowait(HoldRefreshDue()))
        listening = self._listen(queue.callback_digit)
        try:
            while True:
                event = await events.get()
                if isinstance(event, CallerCancelled):
                    return None
                if isinstance(event, OfferFound):
                    return event.offer
                if isinstance(event, QueueDeadlinePassed):
                    self._hold.release(self._contact_id)
                    return await self._routing.queue_timeout(self._contact_id)
                if isinstance(event, HoldRefreshDue):
                    self._provisional(*early)
                    refresh = clock.call_later(
                        self._refresh_seconds, lambda: events.put_nowait(HoldRefreshDue())
                    )
                if isinstance(event, CallbackKeyPressed):
                    if await self._leave(event.digit):
                        return CallbackLeft(event.digit)
                    listening = self._listen(queue.callback_digit)
                # Anything else is a late event of an agent leg that rang before: not this hold's.
        finally:
            self._hold.release(self._contact_id)
            deadline.cancel()
            refresh.cancel()
            if listening is not None:
                listening.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await listening
            if self._answer.sdp is None:  # an answered caller hears the music until the agent
                await self._media.stop_announcing()

    async def end_for_callback(self, final: Final) -> None:
        """Say the callback is left, then end the call (unless the caller hung up meanwhile)."""
        await self._media.media.confirm_callback()
        if self._cancelled():
            return
        warning = ("Warning", '399 switchboard "callback left: the caller keeps its place"')
        if not self._answer.bye(CALLBACK_BYE_REASON):
            final(CALLBACK_DECLINE, headers=(warning,))

    def _listen(self, digit: str | None) -> asyncio.Task[None] | None:
        if digit is None:
            return None
        events, media = self._events, self._media.media

        async def listen() -> None:
            await media.callback_key(digit)
            events.put_nowait(CallbackKeyPressed(digit))

        return asyncio.get_running_loop().create_task(listen(), name="callback-key")

    async def _leave(self, digit: str) -> bool:
        try:
            await self._routing.leave_callback(self._contact_id, digit)
        except RoutingError as exc:
            if exc.code == "not_found":
                log.info(
                    "call %s waits on: key %s left no callback (%s)", self._contact_id, digit, exc.message
                )
            else:
                log.warning("call %s waits on: leaving a callback failed: %s", self._contact_id, exc)
            return False
        log.info("call %s left a callback with key %s: its contact keeps its place", self._contact_id, digit)
        return True

"""A number's menu, between the router's first answer and the call's route.

The router answers ``new_contact`` for a number with a menu with `PlayMenu` (nothing is created
yet). The set-up then:

1. answers the caller, 200 OK with the relay's SDP (`QueueAnswer`: from here the call goes on as an
   answered queued caller's does, the agent bridged on the relay with no second 200);
2. plays the menu on the caller's leg and listens for its keys (`CallMedia.run_menu`: the prompt,
   RFC 4733 events the relay reports, SIP INFO passed in by `on_info`), until the menu leads to a
   queue (``domain.menus.menu_step``: a key of the menu, or the default queue after silence or
   too many invalid keys);
3. asks ``new_contact`` again with the caller's choice: the router creates the contact in that queue
   (one of the menu's, else its default) and notes the choice in the contact record; whatever it
   decides (an agent to ring, the queue, a forward) runs as for any call.

A call whose media is not anchored is not answered: no prompt could be heard, so it goes straight
to the menu's default queue (outcome ``not_played``). The caller leaving during the menu (CANCEL
before the answer, BYE after) ends the menu at once, and the set-up reports it with ``new_contact``
(outcome ``caller_left``): the router writes the contact's record, ended in the menu, and answers a
Reject the set-up never sends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from contact_center.domain.menus import LEFT, MenuChoice, MenuStep
from contact_center.services.routing.decisions import PlayMenu, Reject, RoutingDecision
from sip_edge.app.calls.anchoring import CallerMedia
from sip_edge.app.calls.events import CallerCancelled, CallEvent
from sip_edge.app.calls.ports import RoutingError, RoutingPort
from sip_edge.app.calls.queue_answer import QueueAnswer
from sip_edge.media.dtmf import DTMF_RELAY, digit_of_info
from sip_edge.sip.decisions import Reply
from sip_edge.sip.message import Request

__all__ = ["MenuStage"]

log = logging.getLogger("sip_edge.calls")


class MenuStage:
    def __init__(
        self,
        routing: RoutingPort,
        media: CallerMedia,
        answer: QueueAnswer,
        events: asyncio.Queue[CallEvent],
    ) -> None:
        self._routing = routing
        self._media = media
        self._answer = answer
        self._events = events  # the set-up's: only the caller's leaving is expected while it plays

    async def route(self, play: PlayMenu, called: str, caller: str) -> RoutingDecision:
        """The call's route once the caller has chosen. A caller who left during the menu gets a
        Reject the set-up never sends (it sees the caller gone first), once its record is written."""
        parked = await self._media.parked()
        if parked is not None:
            self._answer.answer(parked[0], self._answer.headers(parked[1]))
        step = await self._run(play)
        if step is None:
            choice = MenuChoice(play.menu.default_queue, LEFT, None, play.started_at_ms)
            try:
                await self._routing.new_contact(called, caller, play.contact_id, menu=choice)
            except RoutingError as exc:
                log.warning("call %s left its menu; its record was not written: %s", play.contact_id, exc)
            return Reject(487, "caller left the menu", contact_id=play.contact_id)
        choice = MenuChoice(str(step.queue_id), step.why, step.digit, play.started_at_ms)
        log.info("call %s left its menu: %s %s -> %s", play.contact_id, step.why, step.digit, step.queue_id)
        decision = await self._routing.new_contact(called, caller, play.contact_id, menu=choice)
        if isinstance(decision, PlayMenu):
            raise RoutingError("unexpected_answer", "the menu was answered with the menu again")
        return decision

    async def _run(self, play: PlayMenu) -> MenuStep | None:
        menu = asyncio.ensure_future(self._media.media.run_menu(play.menu))
        left = asyncio.ensure_future(self._caller_left())
        try:
            await asyncio.wait({menu, left}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (menu, left):
                task.cancel()
            for task in (menu, left):
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        return menu.result() if not menu.cancelled() else None

    async def _caller_left(self) -> None:
        while not isinstance(await self._events.get(), CallerCancelled):
            pass  # nothing else happens to a call in its menu (no agent rings yet)

    def on_info(self, request: Request) -> Reply:
        """A SIP INFO on the caller's dialog: a key (``application/dtmf-relay``) for the menu; any
        other body is not understood."""
        digit = digit_of_info(request.content_type, request.body)
        if digit is None:
            return Reply(415, headers=(("Accept", DTMF_RELAY),))
        self._media.media.pressed(digit)
        return Reply(200)

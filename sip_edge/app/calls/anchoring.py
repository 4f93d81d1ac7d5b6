"""A call's media while it is being set up: the caller's offer through the relay, the queued
caller's early media, the agent's answer back (`CallMedia` does the talking to the relay).

- The caller's offer goes through the relay once, before the first agent is rung or the caller is
  queued; agents are offered the relay's SDP. A relay that fails here leaves the call unanchored
  (audio end to end) rather than refused.
- A queued caller gets 183 with the relay's SDP and hears the queue's announcements; unanchored,
  it gets 182 Queued and hears nothing.
- An agent's early SDP (a 183 of its phone) is not passed on to an anchored caller, whose audio
  comes from the relay: it hears the relay's media or its own ringback.
- The agent's 2xx SDP goes through the relay; the caller's 200 names the relay's port, the same
  port as any 183 it got while it waited.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable

from contact_center.services.routing.decisions import Queue
from sip_edge.app.calls.media import Announcements, CallMedia, MediaError, MediaPort, Unanchored
from sip_edge.sip.errors import SipParseError
from sip_edge.sip.message import Request

__all__ = ["CallerMedia", "reanchored"]

log = logging.getLogger("sip_edge.calls")

Provisional = Callable[[int, bytes, str | None], None]


class CallerMedia:
    def __init__(self, port: MediaPort | None, request: Request, our_tag: str, source: str, contact_id: str):
        self._request = request
        self._contact_id = contact_id
        # Only an offer in the INVITE is anchored: a late offer (no SDP) passes through as before.
        self.media: CallMedia = Unanchored()
        if request.body and port is not None:
            # A From that does not parse leaves the call unanchored; its set-up refuses it anyway.
            with contextlib.suppress(SipParseError):
                self.media = port.for_call(request.call_id, request.from_.tag or "", our_tag, source)
        self.offer_sdp = request.body  # what agents are offered
        self._offered = False
        self.bridged = False

    async def anchor(self) -> bytes:
        """The SDP to offer agents."""
        if self._offered or not self.media.anchored:
            return self.offer_sdp
        try:
            self.offer_sdp = await self.media.offer(self._request.body)
            self._offered = True
        except MediaError as exc:
            log.error("call %s goes unanchored: %s", self._contact_id, exc)
            await self.media.release()
            self.media = Unanchored()
        return self.offer_sdp

    def filtered(self, provisional: Provisional) -> Provisional:
        """``provisional`` (to the caller) for an agent's provisionals: their SDP stays out when
        the call is anchored."""

        def send(status: int, body: bytes, content_type: str | None) -> None:
            if self.media.anchored:
                body, content_type = b"", None
            provisional(status, body, content_type)

        return send

    async def answer(self, body: bytes) -> bytes:
        """The agent's 2xx SDP as the caller gets it."""
        if not body or not self.media.anchored:
            return body
        try:
            return await self.media.answer(body)
        except MediaError as exc:
            # The agent already answered: the call goes on with the agent's SDP; the relays' watch
            # ends it if the relay is really gone.
            log.error("anchoring the answer of %s failed: %s", self._contact_id, exc)
            return body

    async def record(self, key: str | None) -> None:
        """Start recording an answered call when its queue records it (a ``Connect``'s key); a
        relay that refuses leaves the call unrecorded, never ended. Asked once both legs have their
        200 and the bridge holds the call, so a slow relay never delays the answer."""
        if key is None or not self.media.anchored:
            return
        try:
            await self.media.record(key)
        except MediaError as exc:
            log.error("call %s is not recorded: %s", self._contact_id, exc)

    async def parked(self) -> tuple[bytes, str] | None:
        """The relay's SDP toward the caller while nobody is bridged to it (a queue, a menu), and its
        content type; None when the call is not anchored (no audio can reach the caller)."""
        await self.anchor()
        if not self.media.anchored:
            return None
        try:
            return await self.media.hold(), self._request.content_type or "application/sdp"
        except MediaError as exc:
            log.error("no relay audio for %s: %s", self._contact_id, exc)
            return None

    async def early_media(self, queue: Queue) -> tuple[int, bytes, str | None]:
        """The provisional a held caller is sent (and sent again to keep the transaction)."""
        parked = await self.parked()
        if parked is None:
            return 182, b"", None
        media = queue.media
        self.media.announce(
            Announcements(
                media.greeting,
                queue.position,
                queue.wait_seconds,
                media.announce_every_seconds,
                queue.prompts,
                queue.callback_digit,
            )
        )
        return 183, *parked

    def bridged_media(self) -> CallMedia:
        """The media, handed over to the bridge (which releases it at the end)."""
        self.bridged = True
        return self.media

    async def stop_announcing(self) -> None:
        await self.media.stop_announcing()

    async def release_unless_bridged(self) -> None:
        if not self.bridged:
            await self.media.release()


async def reanchored(media: CallMedia, sdp: bytes, from_caller: bool, *, is_offer: bool) -> bytes:
    """A re-INVITE's offer (``from_caller``: the caller's side made it) or its answer through the
    relay; an exchange the relay fails passes through as it came."""
    if not sdp or not media.anchored:
        return sdp
    try:
        if is_offer:
            return await media.offer(sdp, from_caller=from_caller)
        return await media.answer(sdp, from_caller=from_caller)
    except MediaError as exc:
        log.error("re-INVITE media not anchored: %s", exc)
        return sdp

"""Anchoring one call's media on an rtpengine relay (`CallMedia` over the ng client).

One rtpengine call per caller leg: its Call-ID, the caller's From tag as ``from-tag`` and our tag
on the caller's leg as ``to-tag``. Our side of rtpengine is whoever we bridge the caller to: first
nobody (a queued caller: `parked_answer`), then the agent that answers. Every exchange keeps the
relay's ports toward each side (``port latching``), so the SDP the caller got in a 183 or a 200
while it waited stays valid when the agent's answer replaces the parked one: no re-INVITE toward
the carrier, no clipping beyond the packet in flight.

Flags (rtpengine's docs/ng_control_protocol.md): ``ICE=remove`` (the relay is the only candidate),
``replace: origin, session-connection`` (the SDP names the relay), ``trust address`` for the first
destination, and rtpengine's default symmetric latching: it sends each side's audio to where that
side's packets come from, so a phone behind NAT, whose SDP names its private address, is reached
at its public mapping as soon as it sends its first packet.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from contact_center.domain.callbacks import asks_for_callback
from contact_center.domain.menus import Menu, MenuStep
from sip_edge.app.calls.media import Announcements, CallMedia, MediaError, Unanchored
from sip_edge.app.media.hold import HoldPlayer
from sip_edge.app.media.menu import MenuPlayer
from sip_edge.app.media.prompts import PromptSet
from sip_edge.app.media.recorder import recording_metadata
from sip_edge.app.media.relays import Relay, RelayPool
from sip_edge.media.dtmf import DtmfListener
from sip_edge.media.ng import NgError, NgTimeoutError, SdpOptions
from sip_edge.media.sdp import parked_answer

__all__ = ["ANCHOR", "AnchoredCall", "RelayMedia"]

log = logging.getLogger("sip_edge.media")
T = TypeVar("T")

# A prompt whose length the relay did not tell is given this long.
_UNKNOWN_LENGTH = 2.0

ANCHOR = SdpOptions(
    flags=("trust address", "port latching"),
    replace=("origin", "session-connection"),
    ice="remove",
)


class AnchoredCall:
    anchored = True

    def __init__(
        self,
        pool: RelayPool,
        relay: Relay,
        call_id: str,
        caller_tag: str,
        our_tag: str,
        prompts: PromptSet,
        dtmf: DtmfListener,
    ) -> None:
        self._pool = pool
        self._dtmf = dtmf
        self._relay = relay
        self._call_id = call_id
        self._caller_tag = caller_tag
        self._our_tag = our_tag
        self._prompts = prompts
        self._offered: bytes | None = None
        self._player: HoldPlayer | None = None
        self._released = False
        self.lost: Callable[[], None] | None = None
        relay.calls.add(self._relay_lost)

    def _relay_lost(self) -> None:
        self._released = True
        if self._player is not None:
            self._player.cancel()
        if self.lost is not None:
            self.lost()

    async def _ng(self, step: str, command: Awaitable[T]) -> T:
        try:
            return await command
        except NgTimeoutError as exc:
            self._pool.failed(self._relay)
            raise MediaError(f"{step} on {self._relay.name}: {exc}") from exc
        except NgError as exc:
            raise MediaError(f"{step} on {self._relay.name}: {exc}") from exc

    def _tags(self, from_caller: bool) -> tuple[str, str]:
        return (self._caller_tag, self._our_tag) if from_caller else (self._our_tag, self._caller_tag)

    async def offer(self, sdp: bytes, from_caller: bool = True) -> bytes:
        from_tag, to_tag = self._tags(from_caller)
        first = self._offered is None
        result = await self._ng(
            "offer",
            self._relay.client.offer(
                self._call_id,
                from_tag,
                sdp,
                ANCHOR,
                to_tag=None if first else to_tag,
                # The leg's label names where its key reports go (a fleet relay's agent forwards them).
                label=self._dtmf.report_label if first else None,
            ),
        )
        if first:
            self._offered = result.sdp
        return result.sdp

    async def answer(self, sdp: bytes, from_caller: bool = True) -> bytes:
        from_tag, to_tag = self._tags(from_caller)
        result = await self._ng(
            "answer", self._relay.client.answer(self._call_id, from_tag, to_tag, sdp, ANCHOR)
        )
        return result.sdp

    async def hold(self) -> bytes:
        if self._offered is None:
            raise MediaError("hold before the caller's offer")
        return await self.answer(parked_answer(self._offered))

    def announce(self, announcements: Announcements) -> None:
        if self._player is None:
            self._player = HoldPlayer(
                self._relay.client, self._call_id, self._caller_tag, self._prompts, agent=self._relay.agent
            )
        self._player.start(announcements)

    async def stop_announcing(self) -> None:
        if self._player is not None:
            await self._player.stop()

    async def whisper(self, name: str) -> None:
        played = await self._ng(
            "play media",
            self._relay.client.play_media(self._call_id, self._caller_tag, self._prompts.path(name)),
        )
        await asyncio.sleep(played.duration_ms / 1000 if played.duration_ms else _UNKNOWN_LENGTH)

    async def record(self, key: str) -> None:
        await self._ng(
            "start recording", self._relay.client.start_recording(self._call_id, recording_metadata(key))
        )

    async def run_menu(self, menu: Menu) -> MenuStep:
        digits = self._dtmf.digits(self._call_id)
        try:
            player = MenuPlayer(self._relay.client, self._call_id, self._caller_tag, self._prompts, digits)
            return await player.run(menu)
        finally:
            self._dtmf.forget(self._call_id)

    def pressed(self, digit: str) -> None:
        self._dtmf.pressed(self._call_id, digit)

    async def callback_key(self, key: str) -> None:
        digits = self._dtmf.digits(self._call_id)
        try:
            while True:
                pressed = await digits.get()
                told = self._player is not None and self._player.callback_told.is_set()
                if asks_for_callback(key, pressed, told):
                    return
                log.info(
                    "key %s of %s left no callback (its key: %s, told: %s)", pressed, self._call_id, key, told
                )
        finally:
            self._dtmf.forget(self._call_id)

    async def confirm_callback(self) -> None:
        if self._player is not None and not self._released:
            await self._player.confirm_callback()

    async def release(self) -> None:
        self._relay.calls.discard(self._relay_lost)
        if self._player is not None:
            self._player.cancel()
        if self._released or self._offered is None:
            return  # nothing on the relay: a call refused before its offer costs no round trip
        self._released = True
        with contextlib.suppress(MediaError):
            await self._ng("delete", self._relay.client.delete(self._call_id, self._caller_tag))


class RelayMedia:
    """The `MediaPort` of an edge with relays: each new call on the live relay with fewest calls;
    with every relay dead, the call goes unanchored (audio end to end, as without a relay) rather
    than being refused."""

    def __init__(self, pool: RelayPool, prompts: PromptSet, dtmf: DtmfListener) -> None:
        self.pool = pool
        self._prompts = prompts
        self._said_none_registered = False
        # The keys callers press in menus: the relays' RFC 4733 reports (when the task listens for
        # them) and SIP INFO, one queue per call.
        self._dtmf = dtmf

    def for_call(self, call_id: str, caller_tag: str, our_tag: str, source: str) -> CallMedia:
        relay = self.pool.pick()
        if relay is None:
            if self.pool.relays:
                log.error("no live media relay: call %s goes unanchored", call_id)
            elif not self._said_none_registered:
                # A registry listing no relay (none deployed, none booted yet): said once, not per call.
                log.warning("no media relay is registered: calls go unanchored until one is")
                self._said_none_registered = True
            return Unanchored()
        self._said_none_registered = False
        return AnchoredCall(self.pool, relay, call_id, caller_tag, our_tag, self._prompts, self._dtmf)

"""The media port of a call: what the call code asks of the media relay, and the pass-through.

A call's set-up and bridge never talk to rtpengine themselves. They hand each SDP to the call's
`CallMedia`: the caller's offer (``offer``) becomes the SDP sent to agents, an agent's answer
(``answer``) the SDP sent to the caller (``from_caller=False``: a re-INVITE the agent's side
offered, answered by the caller); a queued caller gets the relay's own answer (``hold``)
and hears what `announce` plays until `stop_announcing`; a caller in a number's menu hears its
prompt and is heard pressing keys (`run_menu`; `pressed` for a key that came as SIP INFO); a queued
caller told of its queue's callback key is heard pressing it (`callback_key`) and then hears that
its callback is left (`confirm_callback`);
``release`` ends the media when the call ends. With no relay configured every SDP passes through untouched (`Unanchored`), as the edge did
before it had a media plane, and a queued caller hears nothing.

``lost``: set by the call, called when the relay anchoring its media is gone (the call cannot have
audio any more and should end).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from contact_center.domain.menus import NOT_PLAYED, Menu, MenuStep, StepKind
from contact_center.domain.prompts import QueuePrompts

__all__ = ["Announcements", "CallMedia", "MediaError", "MediaPort", "Unanchored"]


class MediaError(Exception):
    """The relay refused or did not answer; the call goes on unanchored or ends, as the caller decides."""


@dataclass(frozen=True, slots=True)
class Announcements:
    """What a queued caller hears: the greeting once, then position and expected wait every
    ``interval_seconds`` (0: once) with music between (prompt names, files of the relay's)."""

    greeting: str | None
    position: int | None
    wait_seconds: int | None
    interval_seconds: int
    # The merchant's uploaded greeting and music, played instead of the defaults when they can be had.
    uploaded: QueuePrompts = field(default_factory=QueuePrompts)
    # The key that leaves a callback, said after each announcement; None: the queue takes none.
    callback_key: str | None = None


class CallMedia(Protocol):
    anchored: bool
    lost: Callable[[], None] | None

    async def offer(self, sdp: bytes, from_caller: bool = True) -> bytes: ...

    async def answer(self, sdp: bytes, from_caller: bool = True) -> bytes: ...

    async def hold(self) -> bytes: ...

    def announce(self, announcements: Announcements) -> None: ...

    async def stop_announcing(self) -> None: ...

    async def whisper(self, name: str) -> None:
        """Play the default prompt ``name`` to the side that offered first and return once it has
        played (a callback's agent hears what the call is before the customer is dialled)."""

    async def record(self, key: str) -> None:
        """Record the call from now until it is released, stored under ``key`` once it ends."""

    async def run_menu(self, menu: Menu) -> MenuStep:
        """Play ``menu`` to the caller and listen for its keys until it leads to a queue."""
        ...

    def pressed(self, digit: str) -> None:
        """A key the caller sent another way than in its RTP (SIP INFO), for `run_menu` and
        `callback_key`."""
        ...

    async def callback_key(self, key: str) -> None:
        """Return when the queued caller, told of ``key`` by its announcement, presses it (any other
        key, or one pressed before it was told, is ignored)."""
        ...

    async def confirm_callback(self) -> None:
        """Stop the hold media and say the callback was left; return when it has been said."""
        ...

    async def release(self) -> None: ...


class MediaPort(Protocol):
    def for_call(self, call_id: str, caller_tag: str, our_tag: str, source: str) -> CallMedia:
        """The media of one call, keyed by the caller leg's Call-ID and tags; ``source``: the address
        the caller's INVITE came from."""
        ...


class Unanchored:
    """No relay: SDP passes through, nothing is played."""

    anchored = False

    def __init__(self) -> None:
        self.lost: Callable[[], None] | None = None

    async def offer(self, sdp: bytes, from_caller: bool = True) -> bytes:
        return sdp

    async def answer(self, sdp: bytes, from_caller: bool = True) -> bytes:
        return sdp

    async def hold(self) -> bytes:
        return b""

    def announce(self, announcements: Announcements) -> None:
        return None

    async def stop_announcing(self) -> None:
        return None

    async def whisper(self, name: str) -> None:
        return None

    async def record(self, key: str) -> None:
        return None  # media end to end: nothing passes the relay, nothing can be recorded

    async def run_menu(self, menu: Menu) -> MenuStep:
        # Nothing can be played or heard: the caller goes where silence would take it.
        return MenuStep(StepKind.ROUTE, menu.default_queue, 0, NOT_PLAYED)

    def pressed(self, digit: str) -> None:
        return None

    async def callback_key(self, key: str) -> None:
        # Nobody was told of the key (nothing is played): a key, even a SIP INFO one, means nothing.
        await asyncio.Event().wait()

    async def confirm_callback(self) -> None:
        return None

    async def release(self) -> None:
        return None


class NoRelay:
    """The `MediaPort` of an edge without a relay setting."""

    def for_call(self, call_id: str, caller_tag: str, our_tag: str, source: str) -> CallMedia:
        return Unanchored()

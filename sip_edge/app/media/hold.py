"""What a queued caller hears: the greeting once, then its place and expected wait, then music.

The relay plays one file at a time into the caller's leg (ng ``play media``, which answers with the
file's length); the player waits that long and plays the next. The words of one announcement (the
default greeting too, on entry) are joined into one file by the relay's agent (`joined`): each
switch between files left the caller without packets for 65-125 ms. Music runs between announcements
and is cut when the next one is due. The position is the caller's place when it was queued: it is
said on entry; later announcements give the expected wait that remains (the first estimate less
the time already waited), since the edge is not told of moves in the queue while it waits.
A queue naming the merchant's uploaded greeting or music plays those instead (``uploaded``: the
relay's agent copies them), or the defaults when they cannot be had.
A queue with callbacks names its key after each announcement (`callback_told` is set as those words
start: the key counts from then on), and `confirm_callback` says the callback is left.
`stop` (the agent answered) stops the playback at once, so the agent's audio follows without a gap
beyond the packet in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from contact_center.domain.prompts import PromptFile
from sip_edge.app.calls.media import Announcements
from sip_edge.app.media.joined import Joins
from sip_edge.app.media.prompts import (
    CALLBACK_LEFT,
    CALLBACK_OFFER,
    MUSIC,
    TRAILING_SILENCE_S,
    PromptSet,
    announcement,
)
from sip_edge.media.ng import NgClient, NgError, NgRefusedError

__all__ = ["HoldPlayer"]

log = logging.getLogger("sip_edge.media")

# How ``played`` marks a merchant's uploaded prompt played in place of a default one.
UPLOADED = "uploaded"
# A file whose length the relay could not tell is given this long before the next.
_UNKNOWN_LENGTH = 2.0
# Enough repeats of the music to outlast any announcement interval.
_MUSIC_REPEATS = 1000
# How long before the joined words end the music is started: the relay ends a file up to ~100 ms
# before its length has passed since it answered (`joined` says why), and a new ``play media``
# replaces the one playing, so this much early cuts at most the silence the last word ends with.
_MUSIC_LEAD = 0.1
assert _MUSIC_LEAD < TRAILING_SILENCE_S


class HoldPlayer:
    def __init__(
        self,
        client: NgClient,
        call_id: str,
        caller_tag: str,
        prompts: PromptSet,
        now: Callable[[], float] = time.monotonic,
        agent: Joins | None = None,
    ) -> None:
        """``agent``: the relay's agent, which joins an announcement's words (None: said one by one)."""
        self._client = client
        self._agent = agent
        self._call_id = call_id
        self._tag = caller_tag
        self._prompts = prompts
        self._now = now
        self._task: asyncio.Task[None] | None = None
        self.played: list[str] = []
        # Set once the words naming the callback key have started: a key pressed before means nothing.
        self.callback_told = asyncio.Event()

    def start(self, announcements: Announcements) -> None:
        self.cancel()
        self._task = asyncio.get_running_loop().create_task(self._run(announcements), name="hold-media")

    def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        with contextlib.suppress(NgError):  # nothing playing (between files) is fine
            await self._client.stop_media(self._call_id, self._tag)

    async def _play(self, name: str, repeat: int = 1, uploaded: PromptFile | None = None) -> float:
        """Play the default prompt ``name``, or the merchant's ``uploaded`` one when it can be had."""
        path = await self._uploaded_path(uploaded)
        if path is not None:
            played = await self._play_uploaded(path, f"{UPLOADED}:{name}", repeat)
            if played is not None:
                return played
        return await self._play_path(self._prompts.path(name), name, repeat)

    async def _play_uploaded(self, path: str, label: str, repeat: int = 1) -> float | None:
        """None when the relay cannot open the file (a media fleet relay that has not copied it yet)."""
        try:
            return await self._play_path(path, label, repeat)
        except NgRefusedError as exc:
            log.warning("uploaded prompt %s not played on %s: %s", path, self._call_id, exc)
            return None

    async def _play_path(self, path: str, label: str, repeat: int = 1) -> float:
        result = await self._client.play_media(self._call_id, self._tag, path, repeat_times=repeat)
        self.played.append(label)
        return result.duration_ms / 1000 if result.duration_ms else _UNKNOWN_LENGTH

    async def _uploaded_path(self, uploaded: PromptFile | None) -> str | None:
        if uploaded is None or self._prompts.uploaded is None:
            return None
        # The relay's agent answers once it has the file (copying a new upload at once); without an
        # answer, the path where it will be (the relay refuses it until then: the default plays).
        named = (
            None if self._agent is None else await self._agent.joined([self._prompts.uploaded.part(uploaded)])
        )
        return named or self._prompts.uploaded.path(uploaded)

    async def _say(self, names: list[str]) -> None:
        """Say the default prompts ``names`` and return when the music may start."""
        if not names:
            return
        joined = None if self._agent is None else await self._agent.joined(names)
        if joined is not None:
            try:
                length = await self._play_path(joined, "+".join(names))
            except NgRefusedError as exc:  # removed from the relay's cache since the agent answered
                log.warning("joined prompts %s not played on %s: %s", joined, self._call_id, exc)
            else:
                self._told(names)
                await asyncio.sleep(max(0.0, length - _MUSIC_LEAD))
                return
        for name in names:  # no agent, or it could not join them: one by one
            length = await self._play(name)
            self._told([name])
            await asyncio.sleep(length)

    def _told(self, names: list[str]) -> None:
        if CALLBACK_OFFER in names:
            self.callback_told.set()

    async def confirm_callback(self) -> None:
        """The hold media gives way to the words saying the callback is left, said to the end."""
        await self.stop()
        try:
            await asyncio.sleep(await self._play(CALLBACK_LEFT))
        except NgError as exc:
            log.warning("callback confirmation of %s not played: %s", self._call_id, exc)

    async def _run(self, what: Announcements) -> None:
        started = self._now()
        try:
            # The merchant's greeting; one that cannot be had falls back to the queue's default one.
            uploaded = await self._uploaded_path(what.uploaded.greeting)
            greeting: list[str] = []
            played = None if uploaded is None else await self._play_uploaded(uploaded, f"{UPLOADED}:greeting")
            if played is not None:
                await asyncio.sleep(played)
            elif what.greeting:
                greeting = [what.greeting]  # said with the first announcement, as one file
            position: int | None = what.position
            while True:
                wait = what.wait_seconds
                if wait is not None:
                    wait = max(0, wait - int(self._now() - started))
                await self._say([*greeting, *announcement(position, wait, what.callback_key)])
                greeting = []
                position = None  # said once: the edge does not learn of later moves
                await self._play(MUSIC, repeat=_MUSIC_REPEATS, uploaded=what.uploaded.music)
                if what.interval_seconds <= 0:
                    return  # announced on entry only: the music plays on
                await asyncio.sleep(what.interval_seconds)
        except NgError as exc:
            log.warning("hold media of %s stopped: %s", self._call_id, exc)

"""Running a number's menu on a caller's leg of the relay: the prompt, the caller's digit, the
queue it chooses (`contact_center.domain.menus` decides; this module plays and listens).

The prompt is played into the caller's leg (ng ``play media``); a digit pressed while it plays
stops it at once (barge-in: callers who know the menu need not hear it through). After the prompt
the caller has ``timeout_seconds`` for a digit. An invalid digit replays the prompt (up to the
menu's retries), silence routes to the default queue. Digits come from one queue per call, fed by
rtpengine's RFC 4733 reports and by SIP INFO alike (`sip_edge.media.dtmf`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from contact_center.domain.menus import Menu, MenuStep, StepKind, menu_step
from sip_edge.app.media.prompts import PromptSet
from sip_edge.media.ng import NgClient, NgError

__all__ = ["MenuPlayer"]

log = logging.getLogger("sip_edge.media")

# A prompt whose length the relay could not tell is given this long before the timeout starts.
_UNKNOWN_LENGTH = 3.0


class MenuPlayer:
    def __init__(
        self, client: NgClient, call_id: str, caller_tag: str, prompts: PromptSet, digits: asyncio.Queue[str]
    ) -> None:
        self._client = client
        self._call_id = call_id
        self._tag = caller_tag
        self._prompts = prompts
        self._digits = digits
        self.played = 0  # times the prompt was started (a replay counts)

    async def run(self, menu: Menu) -> MenuStep:
        """The caller's route out of the menu (a `StepKind.ROUTE` step)."""
        invalid = 0
        while True:
            digit = await self._prompt_and_listen(menu)
            step = menu_step(menu, invalid, digit)
            if step.kind is StepKind.ROUTE:
                return step
            invalid = step.invalid

    async def _prompt_and_listen(self, menu: Menu) -> str | None:
        loop = asyncio.get_running_loop()
        self.played += 1
        try:
            result = await self._client.play_media(self._call_id, self._tag, self._prompts.path(menu.prompt))
            length = result.duration_ms / 1000 if result.duration_ms else _UNKNOWN_LENGTH
        except NgError as exc:
            # No prompt (a relay that refuses the file): the caller still gets its chance to press.
            log.warning("menu prompt of %s not played: %s", self._call_id, exc)
            length = 0.0
        deadline = loop.time() + length + menu.timeout_seconds
        try:
            return await asyncio.wait_for(self._digits.get(), max(0.0, deadline - loop.time()))
        except TimeoutError:
            return None
        finally:
            with contextlib.suppress(NgError):  # barge-in, or the prompt already over
                await self._client.stop_media(self._call_id, self._tag)

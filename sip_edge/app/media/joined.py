"""The words of one announcement joined into one file by the relay's agent, so the relay plays them
without a switch.

Between two ``play media`` a caller heard 65-125 ms without packets: rtpengine 10.5 times a new file
from a clock reading taken before it opened it and sends what is already due at once, so a file
ends before the edge, waiting the file's length from the answer, starts the next. "You are caller
number three; your expected wait is about two minutes" was five files and four such gaps; joined it
is one, with the pauses the words were recorded with (every default prompt ends in
`TRAILING_SILENCE_S`).

The file must be on the relay's disk, which the edge does not share (a media fleet relay is an
instance of its own), so the edge names the parts and the relay's agent joins its own copies
(``media_relay.agent.PromptJoiner``, the same agent beside every rtpengine, local or in AWS) and
answers the path it wrote; the edge then plays that path. One UDP round trip per announcement; the
agent answers a known announcement from its cache. No agent, no answer in time, or an answer the
relay then refuses to play: the hold player says the words one by one, gaps and all, never silence.
"""

from __future__ import annotations

import logging
from typing import Protocol

from sip_edge.media.ng import NgClient, NgError

__all__ = ["Joins", "RelayAgent"]

log = logging.getLogger("sip_edge.media")

# An answer from the cache is one round trip; a new announcement is written first (a few MB read
# and written). Longer than this, the words are said one by one rather than keep the caller waiting.
_TIMEOUT = 1.0
_RETRANSMIT = 0.2


class Joins(Protocol):
    async def joined(self, parts: list[str]) -> str | None:
        """The relay's path of one file saying ``parts`` in turn; None when it cannot be had."""
        ...


class RelayAgent:
    """The agent beside one relay, at ``address`` (its join port)."""

    def __init__(self, address: tuple[str, int], *, timeout: float = _TIMEOUT) -> None:
        self.address = address
        self._client = NgClient(address, timeout=timeout, retransmit=_RETRANSMIT, as_json=True)

    async def joined(self, parts: list[str]) -> str | None:
        """The relay's path of one file saying ``parts`` (prompt names of the relay's prompts
        directory, without ``.wav``) in turn; None when the agent cannot make it."""
        try:
            reply = await self._client.command("join", {"parts": list(parts)})
        except NgError as exc:
            log.warning("prompts %s not joined by the relay's agent: %s", "+".join(parts), exc)
            return None
        path = reply.get("file")
        return path if isinstance(path, str) else None

    def close(self) -> None:
        self._client.close()

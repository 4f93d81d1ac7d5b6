"""Which digest algorithms to offer a client: SHA-256 then MD5, unless the client cannot cope.

RFC 8760 lets a server offer several challenges, most preferred first, and a client picks the first
it supports. Some deployed clients instead read only the FIRST challenge and give up when it is not
MD5: sipp 3.6 ("authentication must use MD5"), and baresip 1.0 / libre 1.1 ("Register: Function not
implemented"). They still register here, two ways:

- a quirks list of User-Agent prefixes known to behave so gets MD5 alone at once;
- any other client that comes back unauthenticated after a SHA-256-first challenge, instead of
  answering it, is taken to have failed on it: that client (source address + username) is offered
  MD5 alone for a day. A client that answers keeps the SHA-256-first offer.

Challenges are answered statelessly (RFC 3261 8.2.7), so a retransmission of the challenged
request (same Call-ID and CSeq: its 401 was lost) reaches the chooser too; it gets the same offer
again and does not count as coming back.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

MD5_ONLY = ("MD5",)
ClientKey = tuple[str, str]  # (source address, username)
RequestKey = tuple[str, int]  # (Call-ID, CSeq number): the same for a request's retransmissions
_Value = TypeVar("_Value")


class ChallengeChooser:
    def __init__(
        self,
        quirky_user_agents: tuple[str, ...] = ("sipp", "baresip v0.", "baresip v1."),
        *,
        retry_window: float = 600.0,
        fallback_for: float = 86_400.0,
        max_clients: int = 200_000,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self._quirky = tuple(p.lower() for p in quirky_user_agents)
        self._retry_window = retry_window
        self._fallback_for = fallback_for
        self._max_clients = max_clients
        self._now = now
        # client -> when it got a SHA-256-first challenge, and for which request
        self._unanswered: dict[ClientKey, tuple[float, RequestKey | None]] = {}
        self._md5_until: dict[ClientKey, float] = {}

    def algorithms_for(
        self, user_agent: str, client: ClientKey, request: RequestKey | None = None
    ) -> tuple[str, ...] | None:
        """The algorithms to offer (None: everything, most preferred first); records the offer."""
        if user_agent.lower().startswith(self._quirky):
            return MD5_ONLY
        now = self._now()
        until = self._md5_until.get(client)
        if until is not None and until > now:
            return MD5_ONLY
        challenged = self._unanswered.get(client)
        if challenged is not None:
            challenged_at, challenged_request = challenged
            if request is not None and request == challenged_request:
                return None  # a retransmission of the challenged request: the same offer
            if now - challenged_at < self._retry_window:
                # Challenged before and back without credentials: it could not use what came first.
                del self._unanswered[client]
                self._remember(self._md5_until, client, now + self._fallback_for)
                return MD5_ONLY
        self._remember(self._unanswered, client, (now, request))
        return None

    def answered(self, client: ClientKey) -> None:
        self._unanswered.pop(client, None)

    def _remember(self, table: dict[ClientKey, _Value], client: ClientKey, value: _Value) -> None:
        if len(table) >= self._max_clients:
            # Oldest first: dicts keep insertion order, so dropping from the front is cheap.
            for key in list(table)[: self._max_clients // 8]:
                del table[key]
        table.pop(client, None)
        table[client] = value

"""Offers pushed to this task by the router: a signed SIP MESSAGE, applied to the held caller.

The router that claims a queued contact for a freed agent sends the offer straight to the task
holding the caller (the format and its signature: ``contact_center.contracts.offer_push``). This
receiver checks the signature with the key derived from the fleet key, and hands each offer to
`QueueHold.deliver`, which applies it exactly once, whether the push, a retransmission of it or the
safety-net poll brings it first. The answer is 202 whatever was applied (an offer for a caller no
longer held is news for nobody, not an error); a push that is not signed, or signed with another
key, or too old, is refused with 403 and a Warning naming why, and the router's poll stays the way
the offer arrives.

Commands (``offer_push.COMMAND_CONTENT_TYPE``, signed alike) ask for something of a call this task
holds: a transfer from the API runs `TransferCommands.requested` and its verdict is the answer; a
region taking over asks which of some contacts this task holds (``offer_push.HELD``), answered from
the live-call table (``LiveCalls.held_contacts``) at once and without changing anything.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Collection
from typing import Protocol

from contact_center.contracts import offer_push
from contact_center.services.routing.decisions import Connect
from sip_edge.app.calls.queue_hold import QueueHold
from sip_edge.sip.decisions import Reply
from sip_edge.sip.message import Request

__all__ = ["OfferPushReceiver"]

log = logging.getLogger("sip_edge.queue")


def _warning(text: str) -> tuple[str, str]:
    return ("Warning", f'399 switchboard "{text}"')


class TransferCommands(Protocol):
    """Who carries out a transfer asked over the API (`transfers.CallTransfers`)."""

    async def requested(self, contact_id: str, target: str) -> Reply: ...


class OfferPushReceiver:
    def __init__(
        self,
        hold: QueueHold,
        fleet_key: str,
        now: Callable[[], float] = time.time,
        *,
        commands: TransferCommands | None = None,
        held: Callable[[], Collection[str]] | None = None,
    ) -> None:
        self._hold = hold
        self._commands = commands
        self._held = held
        self._key = offer_push.push_key(fleet_key)
        self._now = now
        self.received = 0
        self.refused = 0

    @staticmethod
    def wants(request: Request) -> bool:
        """A MESSAGE carrying offers or a command; any other MESSAGE is not this receiver's."""
        return request.method == "MESSAGE" and _content_type(request) in _CONTENT_TYPES

    def receive(self, request: Request) -> Reply | Awaitable[Reply]:
        header = request.headers.get(offer_push.SIGNATURE_HEADER)
        if not offer_push.verify(header, request.body, self._key, self._now()):
            self.refused += 1
            log.warning("refused an offer push with a missing, wrong or expired signature")
            return Reply(403, headers=(_warning("offer push signature missing, wrong or expired"),))
        if _content_type(request) == offer_push.COMMAND_CONTENT_TYPE:
            return self._command(request)
        try:
            offers = [Connect.from_dict(offer) for offer in offer_push.decode(request.body)]
        except (ValueError, KeyError, TypeError) as exc:
            return Reply(400, headers=(_warning(f"malformed offer push: {exc}"),))
        self.received += 1
        for offer in offers:
            self._hold.deliver(offer, pushed=True)
        return Reply(202)

    def _command(self, request: Request) -> Reply | Awaitable[Reply]:
        try:
            command = offer_push.decode_command(request.body)
        except ValueError as exc:
            return Reply(400, headers=(_warning(f"malformed command: {exc}"),))
        if command["command"] == offer_push.HELD and self._held is not None:
            return _held_of(command.get("contact_ids"), self._held)
        contact_id, target = command.get("contact_id"), command.get("target")
        if command["command"] != offer_push.TRANSFER or self._commands is None:
            return Reply(501, headers=(_warning(f"command {command['command']!r} is not carried out here"),))
        if not isinstance(contact_id, str) or not isinstance(target, str) or not contact_id or not target:
            return Reply(400, headers=(_warning("a transfer names its contact_id and target"),))
        self.received += 1
        return self._commands.requested(contact_id, target)


def _held_of(asked: object, held: Callable[[], Collection[str]]) -> Reply:
    if (
        not isinstance(asked, list)
        or not all(isinstance(contact_id, str) for contact_id in asked)
        or len(asked) > offer_push.MAX_HELD_QUERY
    ):
        return Reply(
            400, headers=(_warning(f"a held query names at most {offer_push.MAX_HELD_QUERY} contact_ids"),)
        )
    live = set(held())
    return Reply(
        200,
        headers=(("Content-Type", offer_push.HELD_CONTENT_TYPE),),
        body=offer_push.held_body([contact_id for contact_id in asked if contact_id in live]),
    )


_CONTENT_TYPES = frozenset({offer_push.CONTENT_TYPE, offer_push.COMMAND_CONTENT_TYPE})


def _content_type(request: Request) -> str:
    return (request.headers.get("Content-Type") or "").split(";")[0].strip()

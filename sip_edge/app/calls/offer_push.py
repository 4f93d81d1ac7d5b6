"""Offers pushed to this task by the router: a signed SIP MESSAGE, applied to the held caller.

The router that claims a queued contact for a freed agent sends the offer straight to the task
holding the caller (the format and its signature: ``contact_center.contracts.offer_push``). This
receiver checks the signature with the key derived from the fleet key, and hands each offer to
`QueueHold.deliver`, which applies it exactly once, whether the push, a retransmission of it or the
safety-net poll brings it first. The answer is 202 whatever was applied (an offer for a caller no
longer held is news for nobody, not an error); a push that is not signed, or signed with another
key, or too old, is refused with 403 and a Warning naming why, and the router's poll stays the way
the offer arrives.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from contact_center.contracts import offer_push
from contact_center.services.routing.decisions import Connect
from sip_edge.app.calls.queue_hold import QueueHold
from sip_edge.sip.decisions import Reply
from sip_edge.sip.message import Request

__all__ = ["OfferPushReceiver"]

log = logging.getLogger("sip_edge.queue")


def _warning(text: str) -> tuple[str, str]:
    return ("Warning", f'399 switchboard "{text}"')


class OfferPushReceiver:
    def __init__(self, hold: QueueHold, fleet_key: str, now: Callable[[], float] = time.time) -> None:
        self._hold = hold
        self._key = offer_push.push_key(fleet_key)
        self._now = now
        self.received = 0
        self.refused = 0

    @staticmethod
    def wants(request: Request) -> bool:
        """A MESSAGE carrying offers; any other MESSAGE is not this receiver's."""
        content_type = request.headers.get("Content-Type") or ""
        return request.method == "MESSAGE" and content_type.split(";")[0].strip() == offer_push.CONTENT_TYPE

    def receive(self, request: Request) -> Reply:
        header = request.headers.get(offer_push.SIGNATURE_HEADER)
        if not offer_push.verify(header, request.body, self._key, self._now()):
            self.refused += 1
            log.warning("refused an offer push with a missing, wrong or expired signature")
            return Reply(403, headers=(_warning("offer push signature missing, wrong or expired"),))
        try:
            offers = [Connect.from_dict(offer) for offer in offer_push.decode(request.body)]
        except (ValueError, KeyError, TypeError) as exc:
            return Reply(400, headers=(_warning(f"malformed offer push: {exc}"),))
        self.received += 1
        for offer in offers:
            self._hold.deliver(offer, pushed=True)
        return Reply(202)

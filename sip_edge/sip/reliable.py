"""Reliable provisional responses (RFC 3262, "100rel") sent by a UAS on one INVITE transaction.

When the INVITE says ``Require: 100rel`` every provisional above 100 is sent reliably: it carries
``Require: 100rel`` and an ``RSeq`` one above the last, is retransmitted from T1 doubling until a
PRACK with the matching ``RAck`` arrives, and only one is outstanding at a time (§3): a newer one
waits for the PRACK of the older. With ``Supported: 100rel`` only, provisionals stay unreliable,
which RFC 3262 allows. A reliable provisional never PRACKed within 64*T1 is given up on: the call
goes on, we stop insisting.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence

from .message import Request, Response
from .stack import Reply
from .timers import Clock, TimerHandle
from .transaction import ServerInviteTransaction

__all__ = ["ReliableProvisionals", "requires_100rel"]

log = logging.getLogger("sip_edge.sip.reliable")

Headers = Sequence[tuple[str, str]]


def requires_100rel(request: Request) -> bool:
    """Whether the INVITE insists on reliable provisionals (``Require: 100rel``)."""
    return any(
        token.strip().lower() == "100rel"
        for value in request.headers.get_all("Require")
        for token in value.split(",")
    )


class ReliableProvisionals:
    """The provisionals of one server INVITE transaction, reliable when its INVITE requires it."""

    def __init__(self, invite: ServerInviteTransaction, clock: Clock, t1: float) -> None:
        self._invite = invite
        self._clock = clock
        self._t1 = t1
        self.reliable = requires_100rel(invite.request)
        # §3: the first RSeq is random below 2**31; well below leaves room for many increments.
        self._rseq = secrets.randbelow(2**20) + 1
        self._unacked: Response | None = None
        self._timer: TimerHandle | None = None
        self._deferred: tuple[int, tuple[tuple[str, str], ...], bytes] | None = None

    def send(self, status: int, headers: Headers = (), body: bytes = b"") -> bool:
        """Send a provisional now, or (reliable, one unacknowledged) once the last is PRACKed.

        False when it was held back behind an unacknowledged one."""
        if self.reliable and self._unacked is not None:
            self._deferred = (status, tuple(headers), body)
            return False
        out = list(headers)
        if self.reliable:
            self._rseq += 1
            out += [("Require", "100rel"), ("RSeq", str(self._rseq))]
        response = self._invite.reply(status, headers=out, body=body)
        if self.reliable:
            self._unacked = response
            self._retransmit(self._t1)
        return True

    def _retransmit(self, interval: float) -> None:
        def again() -> None:
            response = self._unacked
            if response is None or self._invite.final_sent or self._invite.terminated:
                return
            if interval * 2 > 64 * self._t1:
                log.info("reliable %d never PRACKed (Call-ID %s)", response.status, response.call_id)
                self._unacked = None
                return
            self._invite.respond(response)
            self._retransmit(interval * 2)

        self._timer = self._clock.call_later(interval, again)

    def on_prack(self, prack: Request) -> Reply:
        """The answer to a PRACK (§7.2): 200 when its RAck names the provisional awaiting it."""
        rack = (prack.headers.get("RAck") or "").split()
        pending = self._unacked
        if (
            pending is None
            or len(rack) != 3
            or rack[0] != pending.headers.get("RSeq")
            or rack[1] != str(self._invite.request.cseq[0])
        ):
            return Reply(481, "No matching reliable provisional")
        self._cancel_timer()
        self._unacked = None
        deferred, self._deferred = self._deferred, None
        if deferred is not None and not self._invite.final_sent and not self._invite.terminated:
            self.send(*deferred)
        return Reply(200)

    def stop(self) -> None:
        """Nothing more to retransmit or to send (a final response went, or the call is over)."""
        self._cancel_timer()
        self._unacked = None
        self._deferred = None

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

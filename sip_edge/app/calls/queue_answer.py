"""A queued caller answered at once (a queue's ``media.answer`` of ``"200"``, or a number's menu,
which answers before it plays), and what that changes for the rest of its set-up.

The caller's INVITE gets 200 OK with the relay's SDP as it is queued: the carrier bills from here
and keeps the call however long the wait (many drop an INVITE unanswered after 60-180 s). The
dialog with the caller is then confirmed while nobody is on our side of it, so:

- the agent, when it answers, is bridged on the relay (its SDP goes to the relay's ``answer``, the
  caller's port does not change): the caller gets no second 200 and no re-INVITE, and its audio
  moves from the music to the agent within a packet;
- the music plays on while the agent rings (an answered caller hears no ringback of its own);
- an end that would have been a final response (the queue's reject at its deadline, a forward that
  failed) is a BYE to the caller with the status as its Reason (RFC 3326);
- a caller leaving a callback is sent a BYE saying so (`queue_wait`);
- the caller leaving is a BYE on the confirmed dialog, which ends the set-up as a CANCEL does.
Without a relay the call cannot be answered with audio: it is held with 182 as in early-media mode.
"""

from __future__ import annotations

import logging

from contact_center.domain.queueing import AnswerMode
from contact_center.services.routing.decisions import Queue
from sip_edge.app.calls.bridge import send_bye
from sip_edge.app.calls.ports import ALLOW
from sip_edge.sip.dialog import Leg
from sip_edge.sip.session_timer import Session, TooSmall, timer_headers
from sip_edge.sip.stack import SipStack
from sip_edge.sip.transaction import ServerInviteTransaction

__all__ = ["QueueAnswer"]

log = logging.getLogger("sip_edge.calls")


class QueueAnswer:
    def __init__(
        self,
        stack: SipStack,
        invite: ServerInviteTransaction,
        caller: Leg,
        session: Session | TooSmall | None,
    ) -> None:
        self._stack = stack
        self._invite = invite
        self._caller = caller
        self._session = session if isinstance(session, Session) else None  # RFC 4028, as answered
        # The SDP the caller was answered with (the relay's); None while not answered this way.
        self.sdp: bytes | None = None

    @staticmethod
    def wanted(queue: Queue, early: tuple[int, bytes, str | None]) -> bool:
        """Whether this queue answers its callers, and the relay gave the audio to answer with."""
        return queue.media.answer is AnswerMode.ANSWER and early[0] == 183 and bool(early[1])

    def headers(self, content_type: str | None) -> list[tuple[str, str]]:
        """The headers of a 200 to the caller's INVITE (whoever answers it: an agent, a queue, a menu)."""
        headers = [("Contact", f"<{self._caller.contact}>"), ("Allow", ALLOW)]
        headers += timer_headers(self._session, we_are_uac=False) or [("Supported", "timer")]
        return headers + ([("Content-Type", content_type)] if content_type else [])

    def answer(self, sdp: bytes, headers: list[tuple[str, str]]) -> None:
        if self.sdp is not None or self._invite.final_sent or self._invite.terminated:
            return
        self.sdp = sdp
        self._invite.reply(200, headers=headers, body=sdp)

    def hang_up(self, status: int, headers: tuple[tuple[str, str], ...]) -> bool:
        """End an answered caller's call where the set-up would have sent ``status``: a BYE with the
        status as its Reason; False when the caller was not answered this way."""
        if self.sdp is None or status < 300:
            return False
        warning = next((value for name, value in headers if name == "Warning"), None)
        text = warning.split('"')[1] if warning and warning.count('"') >= 2 else str(status)
        return self.bye(f'SIP;cause={status};text="{text}"')

    def bye(self, reason: str) -> bool:
        """End an answered caller's call with a BYE whose Reason (RFC 3326) is ``reason``; False when
        the caller was not answered this way."""
        if self.sdp is None:
            return False
        log.info("ending answered queued call %s: %s", self._caller.call_id, reason)
        send_bye(self._stack, self._caller, reason)
        return True

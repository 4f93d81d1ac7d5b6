"""Keeping a bridged call honest: each leg proves now and then that its far end is still there.

Two ends that vanish without a BYE (a carrier that lost its state, a phone unplugged, a NAT that
forgot the flow) would hold the seat on the call for ever. Each leg of a bridge therefore has a
guard:

- a session timer (RFC 4028, `sip_edge.sip.session_timer`) when the leg negotiated one: when we
  refresh, an UPDATE (a re-INVITE with the session description we last sent when the peer does
  not allow UPDATE) every half interval; when the peer refreshes, an expiry if it did not;
- otherwise, as Kamailio's dialog keep-alives and FreeSWITCH's do, an in-dialog OPTIONS every
  ``probe_interval`` seconds: any response but 408 or 481 proves the peer holds the dialog.

A refresh answered 408 or 481, or not answered at all, a probe answered so, or a session expired:
`ended` is called (the bridge BYEs both legs and reports a network failure, freeing the seat).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any

from sip_edge.app.calls.clock import CallClock
from sip_edge.app.calls.tasks import CallTasks
from sip_edge.sip.dialog import Leg
from sip_edge.sip.message import Request, Response
from sip_edge.sip.session_timer import Session, SessionTimer, answer_refresh, from_answer
from sip_edge.sip.stack import SipStack
from sip_edge.sip.timers import TimerHandle
from sip_edge.sip.transaction import TransactionError

__all__ = ["LegGuards", "LegTerms", "allows_update"]

log = logging.getLogger("sip_edge.bridge")

# A peer answering these to an in-dialog request no longer holds the dialog (RFC 4028 §10).
_GONE = (408, 481)


@dataclass(frozen=True, slots=True)
class LegTerms:
    """What one leg agreed on at set-up: its session timer (None: probe it) and how to refresh."""

    session: Session | None = None
    update_allowed: bool = False  # the peer's Allow lists UPDATE
    body: bytes = b""  # the session description we last sent on the leg (for a re-INVITE refresh)
    content_type: str | None = None


def allows_update(message: Request | Response) -> bool:
    return any("UPDATE" in line.upper() for line in message.headers.get_lines("Allow"))


class LegGuards:
    """The guards of the legs of one bridge."""

    def __init__(
        self,
        legs: Mapping[str, Leg],
        terms: Mapping[str, LegTerms],
        *,
        stack: SipStack,
        clock: CallClock,
        tasks: CallTasks,
        probe_interval: float,
        min_se: int,
        ended: Callable[[str], object],
    ) -> None:
        self._legs = legs
        self._terms = dict(terms)
        self._stack = stack
        self._clock = clock
        self._tasks = tasks
        self._probe_interval = probe_interval
        self._min_se = min_se
        self._ended = ended
        self._timers: dict[str, SessionTimer] = {}
        self._probes: dict[str, TimerHandle] = {}
        self._stopped = False

    def start(self) -> None:
        for side in self._legs:
            session = self._terms.get(side, LegTerms()).session
            if session is None:
                self._arm_probe(side)
            else:
                self._timers[side] = self._session_timer(side, session)
                self._timers[side].start()

    def _session_timer(self, side: str, session: Session) -> SessionTimer:
        return SessionTimer(
            self._clock,
            session,
            refresh_due=lambda: self._spawn(lambda: self._refresh(side), "session-refresh"),
            expired=lambda: self._expire(side, "no session refresh"),
        )

    def session(self, side: str) -> Session | None:
        timer = self._timers.get(side)
        return timer.session if timer is not None else None

    def refreshed(self, side: str, request: Request | None = None) -> None:
        """A refresh went through on ``side``: the session starts again from now, on the terms of
        ``request`` when the peer sent it."""
        timer = self._timers.get(side)
        if timer is not None and not self._stopped:
            timer.start(answer_refresh(request, timer.session, self._min_se) if request is not None else None)

    def sent(self, side: str, body: bytes, content_type: str | None) -> None:
        """We sent a new session description on ``side`` (a relayed re-INVITE or its answer)."""
        if body:
            terms = self._terms.get(side, LegTerms())
            self._terms[side] = LegTerms(terms.session, terms.update_allowed, body, content_type)

    def stop(self) -> None:
        self._stopped = True
        for timer in self._timers.values():
            timer.stop()
        for handle in self._probes.values():
            handle.cancel()
        self._probes.clear()

    # --- internals --------------------------------------------------------------------------------

    def _spawn(self, work: Callable[[], Coroutine[Any, Any, None]], name: str) -> None:
        if not self._stopped:
            self._tasks.spawn(work(), name=name)

    def _expire(self, side: str, why: str) -> None:
        if self._stopped:
            return
        log.info("the %s leg is gone (%s): ending the call", side, why)
        self.stop()
        self._ended(side)

    async def _refresh(self, side: str) -> None:
        timer = self._timers[side]
        session = timer.session
        terms = self._terms.get(side, LegTerms())
        leg = self._legs[side]
        headers: list[tuple[str, str]] = [
            ("Session-Expires", session.header(we_are_uac=True)),
            ("Supported", "timer"),
        ]
        if terms.update_allowed or not terms.body:
            request = leg.request("UPDATE", headers=headers)
        else:
            if terms.content_type:
                headers.append(("Content-Type", terms.content_type))
            request = leg.request("INVITE", body=terms.body, headers=headers)
        final = await self._ask(leg, request)
        if self._stopped:
            return
        if final is None or final.status in _GONE:
            self._expire(side, "the session refresh failed")
            return
        if 200 <= final.status < 300:
            if request.method == "INVITE":
                ack = leg.request("ACK", cseq=request.cseq[0])
                self._stack.send_stateless(ack, leg.destination_of())
            answered = from_answer(final)  # the peer may shorten or take over the refreshing
            timer.start(
                Session(answered.interval, answered.we_refresh, session.peer_supports)
                if answered
                else session
            )
            return
        timer.start()  # 491, 5xx...: the peer is there; try again in half an interval

    async def _ask(self, leg: Leg, request: Request) -> Response | None:
        try:
            tx = self._stack.send_request(request, leg.destination_of())
            return await tx.final_response()
        except TransactionError:
            return None
        except Exception as exc:
            log.warning("an in-dialog request on the %s leg was not sent: %s", leg.side, exc)
            return None

    def _arm_probe(self, side: str) -> None:
        if self._stopped or self._probe_interval <= 0:
            return
        self._probes[side] = self._clock.call_later(
            self._probe_interval, lambda: self._spawn(lambda: self._probe(side), "leg-probe")
        )

    async def _probe(self, side: str) -> None:
        leg = self._legs[side]
        final = await self._ask(leg, leg.request("OPTIONS"))
        if self._stopped:
            return
        if final is None or final.status in _GONE:
            self._expire(side, "no answer to an in-dialog OPTIONS")
            return
        self._arm_probe(side)

"""Ringing one agent for one offer: the agent leg's INVITE, its responses, the ring timeout, CANCEL.

The caller sees nothing of an agent that does not answer: only the agent's provisionals are passed
on (the caller's INVITE gets no final response until the call is answered, rejected or abandoned).
What the ring ends with is an `OfferOutcome` for the router (RONA rules live there), the answer, or
nothing when the caller abandoned meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from contact_center.services.routing.decisions import Connect, OfferOutcome
from sip_edge.app.calls.addresses import CallAddresses
from sip_edge.app.calls.clock import CallClock
from sip_edge.app.calls.events import (
    AgentLegFailed,
    AgentResponded,
    CallerCancelled,
    CallEvent,
    CancelGraceOver,
    RingTimedOut,
)
from sip_edge.app.calls.ports import ALLOW
from sip_edge.app.fleet.routes import AgentRoute, agent_route
from sip_edge.sip.building import generate_call_id, generate_tag
from sip_edge.sip.client_transaction import ClientTransaction
from sip_edge.sip.dialog import AGENT, Leg
from sip_edge.sip.hostport import format_hostport
from sip_edge.sip.message import Request, Response
from sip_edge.sip.stack import SipStack
from sip_edge.sip.timers import TimerHandle

__all__ = ["AgentRinger", "Rung", "outcome_for_status"]

log = logging.getLogger("sip_edge.calls")

# RFC 3326 Reason values on the requests we originate.
REASON_CALLER_CANCELLED = 'SIP;cause=487;text="Caller cancelled"'
REASON_RING_TIMEOUT = 'SIP;cause=480;text="No answer within the ring timeout"'


def outcome_for_status(status: int) -> OfferOutcome:
    """How an agent leg's final response counts for the offer (RONA rules live in the router)."""
    if 200 <= status < 300:
        return OfferOutcome.ANSWERED
    if status in (486, 600):
        return OfferOutcome.BUSY
    if status == 603:
        return OfferOutcome.REJECTED
    # 408, 480, 404, 488, 5xx...: the phone could not take this call; the next agent might.
    return OfferOutcome.UNREACHABLE


@dataclass(frozen=True, slots=True)
class Rung:
    """How one ring ended. ``outcome`` None: the caller abandoned. ANSWERED comes with the agent's
    2xx (``answer``), its confirmed leg and INVITE transaction."""

    outcome: OfferOutcome | None
    answer: Response | None = None
    leg: Leg | None = None
    transaction: ClientTransaction | None = None


_ABANDONED = Rung(None)


class AgentRinger:
    """Rings agents for one caller's INVITE, one offer at a time, reading the call's event queue."""

    def __init__(
        self,
        request: Request,
        key: str,
        contact_id: str,
        events: asyncio.Queue[CallEvent],
        *,
        stack: SipStack,
        addresses: CallAddresses,
        clock: CallClock,
        cancel_grace_seconds: float,
        cancelled: Callable[[], bool],
        provisional: Callable[[int, bytes, str | None], None],
    ) -> None:
        self._request = request
        self._key = key
        self._contact_id = contact_id
        self._events = events
        self._stack = stack
        self._addresses = addresses
        self._clock = clock
        self._cancel_grace = cancel_grace_seconds
        self._cancelled = cancelled
        self._provisional = provisional
        hops = request.max_forwards
        self._max_forwards = (70 if hops is None else hops) - 1

    def _agent_leg(self, connect: Connect, route: AgentRoute, target_uri: str) -> tuple[Leg, Request]:
        caller = self._request.from_
        display = f'"{caller.display_name}" ' if caller.display_name else ""
        transport = route.destination.transport
        leg = Leg(
            side=AGENT,
            call_id=generate_call_id(),
            local=f"{display}<{caller.uri}>;tag={generate_tag()}",
            remote=f"<{connect.aor}>",
            local_cseq=0,
            remote_cseq=0,
            remote_target=target_uri,
            transport=transport,
            destination=format_hostport(route.destination.host, route.destination.port),
            contact=self._addresses.contact(self._key, AGENT, transport),
            route_set=list(route.route),
        )
        headers = [
            # RFC 7332 §3.2: a B2BUA decrements Max-Forwards across its legs, so loops still end.
            ("Max-Forwards", str(self._max_forwards)),
            ("Allow", ALLOW),
            ("X-Switchboard-Contact-Id", self._contact_id),
        ]
        content_type = self._request.content_type
        if self._request.body and content_type:
            headers.append(("Content-Type", content_type))
        # The SDP is passed through byte for byte: the edge never touches media (audio or video).
        invite = leg.request("INVITE", body=self._request.body, headers=headers)
        return leg, invite

    async def ring(self, connect: Connect) -> Rung:
        """Ring the seat until it answers, refuses, times out, or the caller abandons."""
        if self._cancelled():
            return _ABANDONED
        if not connect.targets:
            return Rung(OfferOutcome.UNREACHABLE)
        # One device per offer: the first target (the router orders them). Forking to every device
        # of a seat is left to a later release; RONA moves on to the next agent instead.
        target = connect.targets[0]
        owner = await self._addresses.owner_address(target.flow_owner)
        route = agent_route(target, self._addresses.task_id, owner)
        leg, invite = self._agent_leg(connect, route, target.contact_uri)
        stack, events = self._stack, self._events
        try:
            tx = stack.send_request(
                invite,
                route.destination,
                on_response=lambda t, r: events.put_nowait(AgentResponded(t, r)),
                on_error=lambda t, e: events.put_nowait(AgentLegFailed(t, e)),
            )
        except Exception as exc:
            log.warning("cannot send the agent leg of %s: %s", self._contact_id, exc)
            return Rung(OfferOutcome.UNREACHABLE)
        clock = self._clock
        ring_timer = clock.call_later(
            connect.ring_timeout_seconds, lambda: events.put_nowait(RingTimedOut(tx))
        )
        give_up: TimerHandle | None = None
        stopped_by: str | None = None  # "timeout" | "cancel"
        rang = False

        def stop(why: str, reason: str) -> None:
            nonlocal stopped_by, give_up
            stopped_by = why
            ring_timer.cancel()
            stack.cancel(tx, headers=(("Reason", reason),))
            give_up = clock.call_later(self._cancel_grace, lambda: events.put_nowait(CancelGraceOver(tx)))

        try:
            if self._cancelled():
                stop("cancel", REASON_CALLER_CANCELLED)
            while True:
                event = await events.get()
                if isinstance(event, CallerCancelled):
                    if stopped_by is None:
                        stop("cancel", REASON_CALLER_CANCELLED)
                    continue
                if not isinstance(event, AgentResponded | AgentLegFailed | RingTimedOut | CancelGraceOver):
                    continue  # an offer or a hold timer while ringing: not this ring's news
                if event.leg is not tx:
                    continue  # a late event of an earlier agent leg
                if isinstance(event, AgentResponded):
                    response = event.response
                    status = response.status
                    if status < 200:
                        if status > 100:
                            rang = True
                            if stopped_by is None:
                                self._provisional(status, response.body, response.content_type)
                        continue
                    if status < 300:
                        _confirm(leg, response, route)
                        if stopped_by == "cancel":
                            # Answered as the caller hung up: take the call and end it at once.
                            self._ack_and_bye(leg, tx)
                            return _ABANDONED
                        return Rung(OfferOutcome.ANSWERED, response, leg, tx)
                    if stopped_by == "cancel":
                        return _ABANDONED
                    if stopped_by == "timeout":
                        return Rung(OfferOutcome.NO_ANSWER)
                    return Rung(outcome_for_status(status))
                if isinstance(event, AgentLegFailed):
                    if stopped_by == "cancel":
                        return _ABANDONED
                    if stopped_by == "timeout" and rang:
                        return Rung(OfferOutcome.NO_ANSWER)
                    log.info("agent leg of %s failed: %s", self._contact_id, event.error)
                    return Rung(OfferOutcome.UNREACHABLE)
                if isinstance(event, RingTimedOut):
                    if stopped_by is None:
                        stop("timeout", REASON_RING_TIMEOUT)
                    continue
                tx.terminate()  # CancelGraceOver: the phone never answered the CANCEL
                if stopped_by == "cancel":
                    return _ABANDONED
                return Rung(OfferOutcome.NO_ANSWER if rang else OfferOutcome.UNREACHABLE)
        finally:
            ring_timer.cancel()
            if give_up is not None:
                give_up.cancel()

    def _ack_and_bye(self, leg: Leg, tx: ClientTransaction) -> None:
        self._stack.send_stateless(leg.request("ACK", cseq=tx.request.cseq[0]), leg.destination_of())
        bye = leg.request("BYE", headers=(("Reason", REASON_CALLER_CANCELLED),))
        self._stack.send_request(bye, leg.destination_of())


def _confirm(leg: Leg, response: Response, route: AgentRoute) -> None:
    leg.remote = str(response.headers.get("To"))
    leg.learn_target(response)
    # §12.1.2: the UAC's route set is the 2xx's Record-Route reversed; the owner's hop stays first.
    leg.route_set = [*route.route, *reversed(response.headers.get_all("Record-Route"))]

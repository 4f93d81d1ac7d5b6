"""Attended transfer: the agent consulted another seat (``consults``), then REFERs its caller there.

agent A --REFER (Refer-To: <sip:seat?Replaces=<A's consult dialog>>)--> edge, in A's call
  the consult is unknown, ended, or about another call -> NOTIFY "481" (the INVITE with
  Replaces the transferee would send fails so, RFC 3891 §3): the call goes on with A
  else: 202, NOTIFY "100 Trying", router ``transfer(consulted)`` (A's segment closed
  "transferred", A in wrap-up, the call offered to the consulted seat):
    refused: NOTIFY with its status; the call and the consult go on
    accepted: NOTIFY "200 OK", BYE to both of A's legs, and the consulted leg joins the
      caller: an INVITE without an offer to it (its 2xx carries a fresh offer), sent to the
      caller in a re-INVITE of the caller's own dialog (Call-ID and tags unchanged); the
      caller's answer goes to the consulted phone in our ACK (RFC 3725 flow I)
    the consulted seat lost to another call meanwhile (the router queued the caller or
      chose another seat): BYE to the consulted leg, and the caller goes on as after a
      blind transfer (``transfers``)
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from contact_center.domain.contact import HangupCause, HangupSide
from contact_center.services.routing.decisions import (
    Acknowledged,
    Connect,
    OfferOutcome,
    Reject,
    RoutingDecision,
)
from sip_edge.app.calls.addresses import CallAddresses
from sip_edge.app.calls.bridge import Bridge, schedule_wrap_up, send_bye
from sip_edge.app.calls.consults import ConsultBridge, ConsultCalls
from sip_edge.app.calls.ports import ALLOW, RoutingError, RoutingPort
from sip_edge.app.calls.ring import Rung
from sip_edge.app.calls.tasks import CallTasks
from sip_edge.sip.client_transaction import ClientTransaction
from sip_edge.sip.dialog import AGENT, CALLER, Leg
from sip_edge.sip.message import Response
from sip_edge.sip.refer import Replaces
from sip_edge.sip.stack import SipStack
from sip_edge.sip.transaction import TransactionError

__all__ = ["REASON_TRANSFERRED", "AttendedTransfers", "join_caller"]

log = logging.getLogger("sip_edge.transfers")

REASON_TRANSFERRED = 'SIP;cause=200;text="Call transferred"'

Notify = Callable[[int, str | None], None]
Handover = Callable[[Bridge, RoutingDecision], Awaitable[None]]


async def join_caller(bridge: Bridge, stack: SipStack, connect: Connect, rung: Rung) -> None:
    """The new agent's leg answered with an offer: the caller gets it in a re-INVITE of its own
    dialog, and its answer goes back in our ACK to the agent."""
    answer, agent, agent_tx = rung.answer, rung.leg, rung.transaction
    assert answer is not None and agent is not None and agent_tx is not None
    caller = bridge.legs[CALLER]
    headers = [("Allow", ALLOW), ("Max-Forwards", "70")]
    if answer.content_type:
        headers.append(("Content-Type", answer.content_type))
    reinvite = caller.request("INVITE", body=answer.body, headers=headers)
    bridge.join_agent(agent, connect.seat_id)
    final: Response | None
    try:
        tx = stack.send_request(reinvite, caller.destination_of())
        final = await tx.final_response()
    except TransactionError as exc:
        log.info("the caller of %s did not take the new agent's session: %s", bridge.contact_id, exc)
        final = None
    if final is None or not 200 <= final.status < 300:
        # The caller is gone or refused the new session: the agent's 2xx is acknowledged and
        # the call ended (BYE on both legs), the agent released by the end's report.
        bridge.expect_ack(agent_tx, None)
        await bridge.answered(connect)
        await bridge.hang_up(HangupSide.SYSTEM, HangupCause.NETWORK_FAILURE)
        return
    caller.learn_target(final)
    assert isinstance(tx, ClientTransaction)
    bridge.expect_ack(tx, None)
    bridge.expect_ack(agent_tx, None, final.body, final.content_type)
    await bridge.answered(connect)


class AttendedTransfers:
    """Carries out the REFERs with Replaces of this task's bridges (`CallTransfers` hands them over)."""

    def __init__(
        self,
        *,
        stack: SipStack,
        routing: RoutingPort,
        consults: ConsultCalls,
        addresses: CallAddresses,
        tasks: CallTasks,
    ) -> None:
        self._stack = stack
        self._routing = routing
        self._consults = consults
        self._addresses = addresses
        self._tasks = tasks

    def consult_of(self, bridge: Bridge, replaces: Replaces) -> ConsultBridge | None:
        """The consult ``replaces`` names, when it is this call's: an agent can only hand its caller
        to the seat it consulted about that very call."""
        consult = self._consults.find(replaces)
        if consult is None or consult.contact_id != bridge.contact_id:
            return None
        return consult

    async def run(
        self, bridge: Bridge, agent: Leg, consult: ConsultBridge, notify: Notify, handover: Handover
    ) -> None:
        seat_id, consulted = bridge.seat_id, consult.consulted
        assert seat_id is not None
        try:
            outcome = await self._routing.transfer(
                bridge.contact_id, seat_id, consulted.seat_id, consulted=True
            )
        except RoutingError as exc:
            log.error("attended transfer of %s failed: %s", bridge.contact_id, exc)
            notify(503, None)
            return
        decision = outcome.decision
        if isinstance(decision, Reject):
            notify(decision.status, decision.reason)
            return
        if isinstance(decision, Acknowledged):  # the call ended meanwhile
            notify(487, None)
            return
        notify(200, None)
        bridge.detach_agent()
        send_bye(self._stack, agent, REASON_TRANSFERRED)
        released = Acknowledged(
            bridge.contact_id, "transferred", seat_id, outcome.merchant_id, outcome.wrap_up_deadline_ms
        )
        schedule_wrap_up(self._routing, self._tasks, released)
        consult.dissolve()
        send_bye(self._stack, consult.legs[CALLER], REASON_TRANSFERRED)
        taken = consult.legs[AGENT]
        if isinstance(decision, Connect) and decision.seat_id == consulted.seat_id:
            await self._take_over(bridge, taken, decision)
            return
        send_bye(self._stack, taken, REASON_TRANSFERRED)
        await handover(bridge, decision)

    async def _take_over(self, bridge: Bridge, taken: Leg, connect: Connect) -> None:
        """The consulted leg becomes the caller's agent leg: asked for a fresh offer (its media
        went to the consulting phone), which the caller answers (`join_caller`)."""
        taken.contact = self._addresses.contact(bridge.key, AGENT, taken.transport)
        ask = taken.request("INVITE", headers=[("Allow", ALLOW), ("Max-Forwards", "70")])
        offer: Response | None
        try:
            tx = self._stack.send_request(ask, taken.destination_of())
            offer = await tx.final_response()
        except TransactionError as exc:
            log.info("the consulted leg of %s did not answer: %s", bridge.contact_id, exc)
            offer = None
        if offer is None or not 200 <= offer.status < 300 or not offer.body:
            bridge.join_agent(taken, connect.seat_id)
            if offer is not None and 200 <= offer.status < 300:
                assert isinstance(tx, ClientTransaction)
                bridge.expect_ack(tx, None)
            await bridge.answered(connect)
            await bridge.hang_up(HangupSide.SYSTEM, HangupCause.NETWORK_FAILURE)
            return
        taken.learn_target(offer)
        assert isinstance(tx, ClientTransaction)
        await join_caller(bridge, self._stack, connect, Rung(OfferOutcome.ANSWERED, offer, taken, tx))

"""Consult calls: an agent on a call dials another seat before an attended transfer.

    agent A's phone INVITE sip:<seat id>@edge (a second call, authenticated as any call out)
      -> router ``consult``: Reject -> its status to the phone, with a Warning and a Reason
                             Connect (the seat, reserved for A's call) -> its phones ring with A's
                             offer; provisionals relayed; answered -> 200 to A and a `ConsultBridge`
                             (A's leg on the caller side, the consulted phone's on the agent side),
                             ``consult_result(answered)``; busy, no answer, A gives up -> A hears
                             why, ``consult_result(ended)`` lets the seat go
    the consult ends without a transfer (either side's BYE) -> ``consult_result(ended)``
    A's REFER with Replaces naming this dialog (``attended``) takes the consulted leg out of it.

The consult is no contact of its own: it belongs to A's call (``contact_id`` is that call's), and
its dialog is not stored (a consult does not outlive its edge task).
"""

from __future__ import annotations

import logging
from typing import Any

from contact_center.domain.contact import HangupCause, HangupSide
from contact_center.services.routing.decisions import Connect, OfferOutcome
from sip_edge.app.calls.addresses import CallAddresses
from sip_edge.app.calls.bridge import Bridge, Bridges
from sip_edge.app.calls.clock import CallClock
from sip_edge.app.calls.live import LiveCalls
from sip_edge.app.calls.liveness import LegTerms, allows_update
from sip_edge.app.calls.ports import ALLOW, CallSettings, RoutingError, RoutingPort, StaleBindings
from sip_edge.app.calls.ring import AgentRinger
from sip_edge.app.calls.setup import CallSetup
from sip_edge.sip.dialog import AGENT, CALLER, Leg
from sip_edge.sip.refer import Replaces
from sip_edge.sip.session_timer import from_answer, offer_headers
from sip_edge.sip.stack import SipStack

__all__ = ["ConsultBridge", "ConsultCalls", "matches"]

log = logging.getLogger("sip_edge.consults")

# How a consulted seat's ring ended, as the consulting phone hears it.
_REFUSAL = {
    OfferOutcome.BUSY: 486,
    OfferOutcome.REJECTED: 603,
    OfferOutcome.NO_ANSWER: 480,
    OfferOutcome.UNREACHABLE: 480,
}


def _refusal(status: int, text: str) -> tuple[tuple[str, str], ...]:
    return (("Warning", f'399 switchboard "{text}"'), ("Reason", f'SIP;cause={status};text="{text}"'))


def matches(leg: Leg, replaces: Replaces) -> bool:
    """Whether ``replaces`` names the dialog of ``leg``: its Call-ID and both its tags. The tags are
    compared as a pair, whichever way round the phone wrote them (RFC 3891 names them from the
    receiver's side; phones differ on which side that is in a REFER)."""
    tags = {leg.remote_tag, _local_tag(leg)}
    return leg.call_id == replaces.call_id and tags == {replaces.from_tag, replaces.to_tag}


def _local_tag(leg: Leg) -> str | None:
    _, _, params = leg.local.rpartition(">")
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name.lower() == "tag":
            return value
    return None


class ConsultBridge(Bridge):
    """A consult's two legs: the consulting phone (caller side) and the consulted (agent side).

    Ending it reports no contact (the call consulted about goes on) but lets the consulted seat go,
    unless an attended transfer took its leg (`dissolve`).
    """

    consulted: Connect  # the router's answer: the seat consulted and the call it is about

    def dissolve(self) -> None:
        """The consulted leg now serves another bridge: this one ends without a word to anyone."""
        self.ended = True
        self._guards.stop()
        self._live.bridge_ended(self)

    async def _finish(self, side: HangupSide, cause: HangupCause) -> None:
        self._guards.stop()
        for ended in self.on_end:
            ended()
        self._live.bridge_ended(self)
        await self.media.release()
        consulted = self.consulted
        assert consulted.merchant_id is not None
        try:
            await self._router.consult_result(
                consulted.merchant_id, consulted.seat_id, consulted.contact_id, answered=False
            )
        except RoutingError as exc:
            log.error("consult_result for seat %s failed: %s", consulted.seat_id, exc)


class ConsultCalls:
    """Places the consult calls of this edge task's seats (`OutboundCalls` hands over every call
    out whose target is no phone number)."""

    def __init__(
        self,
        *,
        stack: SipStack,
        routing: RoutingPort,
        bridges: Bridges,
        addresses: CallAddresses,
        clock: CallClock,
        live: LiveCalls[Any, Bridge],
        settings: CallSettings,
        stale: StaleBindings | None = None,
    ) -> None:
        self._stack = stack
        self._routing = routing
        self._bridges = bridges
        self._addresses = addresses
        self._clock = clock
        self._live = live
        self._settings = settings
        self._stale = stale

    def find(self, replaces: Replaces) -> ConsultBridge | None:
        """The consult of this task whose consulting leg ``replaces`` names."""
        found = self._live.call_ids.get(replaces.call_id)
        bridge = self._live.bridges.get(found[0]) if found is not None else None
        if not isinstance(bridge, ConsultBridge) or bridge.ended:
            return None
        return bridge if matches(bridge.legs[CALLER], replaces) else None

    async def place(self, setup: CallSetup, identity: str) -> None:
        try:
            decision = await self._routing.consult(identity, setup.called)
        except RoutingError as exc:
            log.error("consult for %s failed: %s", identity, exc)
            _reply(setup, 503, (("Retry-After", "5"), *_refusal(503, "routing unavailable")))
            return
        if not isinstance(decision, Connect):
            _reply(setup, decision.status, _refusal(decision.status, decision.reason))
            return
        assert decision.merchant_id is not None
        ringer = self._ringer(setup, decision)
        rung = await ringer.ring(decision)
        if rung.outcome is not OfferOutcome.ANSWERED:
            status = 487 if rung.outcome is None else _REFUSAL[rung.outcome]
            _reply(setup, status, _refusal(status, f"seat {decision.seat_id}: {status}"))
            await self._ended(decision)
            return
        answer, leg, tx = rung.answer, rung.leg, rung.transaction
        assert answer is not None and leg is not None and tx is not None
        headers = [("Contact", f"<{setup.caller.contact}>"), ("Allow", ALLOW)]
        if answer.body and answer.content_type:
            headers.append(("Content-Type", answer.content_type))
        setup.invite.reply(200, headers=tuple(headers), body=answer.body)
        request = setup.request
        bridge = self._bridges.open(
            setup.key,
            decision.contact_id,
            setup.caller,
            leg,
            seat_id=decision.seat_id,
            merchant_id=decision.merchant_id,
            terms={
                CALLER: LegTerms(None, allows_update(request), answer.body, answer.content_type),
                AGENT: LegTerms(
                    from_answer(answer), allows_update(answer), request.body, request.content_type
                ),
            },
            kind=ConsultBridge,
        )
        assert isinstance(bridge, ConsultBridge)
        bridge.consulted = decision
        bridge.expect_ack(tx, relay_from=None if request.body else CALLER)
        self._live.bridge_started(bridge)
        try:
            await self._routing.consult_result(
                decision.merchant_id, decision.seat_id, decision.contact_id, answered=True
            )
        except RoutingError as exc:
            log.error("consult_result(answered) for seat %s failed: %s", decision.seat_id, exc)

    async def _ended(self, consulted: Connect) -> None:
        assert consulted.merchant_id is not None
        try:
            await self._routing.consult_result(
                consulted.merchant_id, consulted.seat_id, consulted.contact_id, answered=False
            )
        except RoutingError as exc:
            log.error("consult_result for seat %s failed: %s", consulted.seat_id, exc)

    def _ringer(self, setup: CallSetup, consulted: Connect) -> AgentRinger:
        settings = self._settings
        return AgentRinger(
            setup.request,
            setup.key,
            consulted.contact_id,
            setup.events,
            stack=self._stack,
            addresses=self._addresses,
            clock=self._clock,
            cancel_grace_seconds=settings.cancel_grace_seconds,
            cancelled=lambda: setup.cancelled,
            provisional=setup.provisional,
            stale=self._stale,
            extra_headers=offer_headers(settings.session_interval, settings.session_min_se),
        )


def _reply(setup: CallSetup, status: int, headers: tuple[tuple[str, str], ...] = ()) -> None:
    if not setup.invite.final_sent and not setup.invite.terminated:
        setup.invite.reply(status, headers=headers)

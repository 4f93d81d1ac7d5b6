"""An agent's phone calls out: a seat's INVITE to a number leaves by its merchant's trunk.

    seat INVITE (source is no trunk) -> 407 -> INVITE with credentials (`seat_auth`)
      -> router ``dial_out`` (seat, permissions, the merchant's outbound trunk and caller ID)
           Reject -> its status to the phone, with a Warning and a Reason naming why
           Dial   -> INVITE to the trunk, From and P-Asserted-Identity the merchant's caller ID;
                     provisionals relayed; 2xx -> 200 to the phone and a `Bridge` (the phone's leg
                     on the agent side, the called party's on the caller side), ``outbound_answered``;
                     a refusal or failure -> its status to the phone, ``contact_ended``

A target that is no phone number names a seat: a consult before an attended transfer (``consults``).

The phone's CANCEL (or BYE on the early dialog) CANCELs the trunk's INVITE; a 2xx that still
arrives is acknowledged and ended with a BYE. The SDP passes through untouched, as for inbound calls.
"""

from __future__ import annotations

import logging
from typing import Any

from contact_center.domain.contact import HangupCause, HangupSide
from contact_center.services.routing.dialout import Dial, OutboundTrunk, dialled_number
from sip_edge.app.calls.addresses import CallAddresses
from sip_edge.app.calls.bridge import Bridge, Bridges, send_bye
from sip_edge.app.calls.clock import CallClock
from sip_edge.app.calls.consults import ConsultCalls
from sip_edge.app.calls.dialogs import DialogBook
from sip_edge.app.calls.events import AgentLegFailed, AgentResponded, CallerCancelled, CallEvent, RingTimedOut
from sip_edge.app.calls.live import LiveCalls
from sip_edge.app.calls.liveness import LegTerms, allows_update
from sip_edge.app.calls.ports import ALLOW, RoutingError, RoutingPort
from sip_edge.app.calls.seat_auth import SeatAuth
from sip_edge.app.calls.setup import CallSetup
from sip_edge.sip.building import generate_call_id, generate_tag
from sip_edge.sip.client_transaction import ClientTransaction
from sip_edge.sip.decisions import Reply
from sip_edge.sip.dialog import AGENT, CALLER, Leg
from sip_edge.sip.hostport import split_hostport
from sip_edge.sip.message import Request, Response
from sip_edge.sip.session_timer import from_answer
from sip_edge.sip.stack import SipStack

__all__ = ["OutboundCalls", "trunk_leg"]

log = logging.getLogger("sip_edge.outbound")

# A called party that rings for this long is given up on (a carrier may ring for ever).
NO_ANSWER_SECONDS = 120.0
REASON_CANCELLED = 'SIP;cause=487;text="Caller cancelled"'


def _refusal(status: int, text: str) -> tuple[tuple[str, str], ...]:
    return (("Warning", f'399 switchboard "{text}"'), ("Reason", f'SIP;cause={status};text="{text}"'))


class OutboundCalls:
    """Places the outbound calls of seats' phones (`CallSetup` hands over every INVITE that does
    not come from a trunk)."""

    def __init__(
        self,
        *,
        stack: SipStack,
        routing: RoutingPort,
        auth: SeatAuth,
        bridges: Bridges,
        dialogs: DialogBook,
        live: LiveCalls[Any, Bridge],
        addresses: CallAddresses,
        clock: CallClock,
        consults: ConsultCalls | None = None,
    ) -> None:
        self.stack = stack
        self._consults = consults
        self.addresses = addresses
        self.clock = clock
        self._routing = routing
        self._auth = auth
        self._bridges = bridges
        self._dialogs = dialogs
        self._live = live

    async def place(self, setup: CallSetup) -> bool:
        """Place the call of a seat's phone; True once it counts as a call (its INVITE proved a seat)."""
        identity = await self._auth.identify(setup.request, setup.flow.remote[0])
        if isinstance(identity, Reply):
            _reply(setup, identity.status, identity.reason, identity.headers)
            return False
        if setup.cancelled:
            return False
        self._live.counters.call_started()
        if self._consults is not None and dialled_number(setup.called) is None:
            await self._consults.place(setup, identity)  # no number: a seat, consulted
        else:
            await self._place(setup, identity)
        return True

    async def _place(self, setup: CallSetup, identity: str) -> None:
        try:
            dial = await self._routing.dial_out(identity, setup.called, setup.contact_id)
        except RoutingError as exc:
            log.error("dial_out for %s failed: %s", identity, exc)
            _reply(setup, 503, None, (("Retry-After", "5"), *_refusal(503, "routing unavailable")))
            return
        if not isinstance(dial, Dial):
            _reply(setup, dial.status, None, _refusal(dial.status, dial.reason))
            return
        try:
            await _Dialling(self, setup, dial).run()
        except Exception:
            log.exception("outbound call %s failed", setup.contact_id)
            _reply(setup, 500)
            await self.report_end(setup.contact_id, HangupSide.SYSTEM, HangupCause.SYSTEM_ERROR)

    async def report_end(self, contact_id: str, side: HangupSide, cause: HangupCause) -> None:
        try:
            await self._routing.contact_ended(contact_id, side, cause)
        except RoutingError as exc:
            log.error("contact_ended for %s failed: %s", contact_id, exc)

    def bridge(self, setup: CallSetup, far: Leg, seat: Leg, dial: Dial, answer: Response) -> Bridge:
        bridge = self._bridges.open(
            setup.key,
            setup.contact_id,
            far,
            seat,
            seat_id=dial.seat_id,
            merchant_id=dial.merchant_id,
            terms={
                CALLER: LegTerms(from_answer(answer), allows_update(answer), setup.request.body),
                AGENT: LegTerms(None, allows_update(setup.request), answer.body, answer.content_type),
            },
        )
        self._live.bridge_started(bridge)
        return bridge

    async def answered(self, bridge: Bridge, dial: Dial) -> None:
        try:
            await self._routing.outbound_answered(dial.contact_id, dial.seat_id)
        except RoutingError as exc:
            log.error("outbound_answered for %s failed: %s", dial.contact_id, exc)
        await self._dialogs.save(bridge.stored())


def trunk_leg(stack: SipStack, addresses: CallAddresses, key: str, trunk: OutboundTrunk, number: str) -> Leg:
    """The leg of a call to ``number`` over a merchant's outbound ``trunk``, showing its caller ID
    (our Contact on it names the dialog ``key``)."""
    transport = trunk.transport.upper()
    host, _port = split_hostport(trunk.address)
    our_host = stack.transport_for(transport).sent_by[0]
    suffix = "" if transport == "UDP" else f";transport={transport.lower()}"
    return Leg(
        side=CALLER,
        call_id=generate_call_id(),
        local=f"<sip:{trunk.caller_id}@{our_host}>;tag={generate_tag()}",
        remote=f"<sip:{number}@{host}>",
        local_cseq=0,
        remote_cseq=0,
        remote_target=f"sip:{number}@{trunk.address}{suffix}",
        transport=transport,
        destination=trunk.address,
        contact=addresses.contact(key, CALLER, transport),
    )


def _reply(
    setup: CallSetup, status: int, reason: str | None = None, headers: tuple[tuple[str, str], ...] = ()
) -> None:
    if not setup.invite.final_sent and not setup.invite.terminated:
        setup.invite.reply(status, reason, headers=headers)


class _Dialling:
    """One outbound call from the trunk INVITE to its answer or failure, on the setup's events."""

    def __init__(self, calls: OutboundCalls, setup: CallSetup, dial: Dial) -> None:
        self._calls = calls
        self._setup = setup
        self._dial = dial
        self._stack = calls.stack
        self.seat = calls.addresses.inviting_leg(setup.key, setup.invite, setup.request, setup.flow, AGENT)
        self.far = self._far_leg()
        self._relayed: set[int] = set()

    def _far_leg(self) -> Leg:
        return trunk_leg(
            self._stack, self._calls.addresses, self._setup.key, self._dial.trunk, self._dial.number
        )

    def _invite(self) -> Request:
        request, trunk = self._setup.request, self._dial.trunk
        hops = request.max_forwards
        our_host = self.far.local.split("@", 1)[1].split(">", 1)[0]
        headers = [
            ("Max-Forwards", str((70 if hops is None else hops) - 1)),
            ("Allow", ALLOW),
            ("P-Asserted-Identity", f"<sip:{trunk.caller_id}@{our_host}>"),
            ("X-Switchboard-Contact-Id", self._dial.contact_id),
        ]
        if request.body and request.content_type:
            headers.append(("Content-Type", request.content_type))
        return self.far.request("INVITE", body=request.body, headers=headers)

    async def run(self) -> None:
        setup, events = self._setup, self._setup.events
        tx = self._stack.send_request(
            self._invite(),
            self.far.destination_of(),
            on_response=lambda t, r: events.put_nowait(AgentResponded(t, r)),
            on_error=lambda t, e: events.put_nowait(AgentLegFailed(t, e)),
        )
        assert isinstance(tx, ClientTransaction)
        timer = self._calls.clock.call_later(NO_ANSWER_SECONDS, lambda: events.put_nowait(RingTimedOut(self)))
        stopped: str | None = "cancel" if setup.cancelled else None
        if stopped:
            self._stack.cancel(tx, headers=(("Reason", REASON_CANCELLED),))
        try:
            while True:
                event: CallEvent = await events.get()
                if isinstance(event, CallerCancelled | RingTimedOut) and stopped is None:
                    stopped = "cancel" if isinstance(event, CallerCancelled) else "timeout"
                    self._stack.cancel(tx, headers=(("Reason", REASON_CANCELLED),))
                elif isinstance(event, AgentLegFailed) and event.leg is tx:
                    _reply(setup, 408 if stopped is None else 487)
                    await self._ended(stopped, HangupCause.NETWORK_FAILURE)
                    return
                elif (
                    isinstance(event, AgentResponded)
                    and event.leg is tx
                    and await self._on_response(tx, event.response, stopped)
                ):
                    return
        finally:
            timer.cancel()

    async def _on_response(self, tx: ClientTransaction, response: Response, stopped: str | None) -> bool:
        """True once the call is decided (answered, refused, or given up)."""
        status, setup = response.status, self._setup
        if status < 200:
            if status > 100 and stopped is None and status not in self._relayed:
                self._relayed.add(status)
                headers = [("Contact", f"<{self.seat.contact}>")]
                if response.body and response.content_type:
                    headers.append(("Content-Type", response.content_type))
                setup.invite.reply(status, headers=tuple(headers), body=response.body)
            return False
        if status >= 300:
            _reply(setup, 487 if stopped == "cancel" else status)
            cause = (
                HangupCause.NORMAL_CLEARING if status in (486, 600, 603) else HangupCause.AGENT_UNREACHABLE
            )
            await self._ended(stopped, cause)
            return True
        self.far.remote = str(response.headers.get("To"))
        self.far.learn_target(response)
        self.far.route_set = list(reversed(response.headers.get_all("Record-Route")))
        if stopped is not None:
            # Answered as the phone gave up: take the call and end it at once.
            self._stack.send_stateless(
                self.far.request("ACK", cseq=tx.request.cseq[0]), self.far.destination_of()
            )
            send_bye(self._stack, self.far, REASON_CANCELLED)
            await self._ended(stopped, HangupCause.NORMAL_CLEARING)
            return True
        headers = [("Contact", f"<{self.seat.contact}>"), ("Allow", ALLOW)]
        if response.body and response.content_type:
            headers.append(("Content-Type", response.content_type))
        setup.invite.reply(200, headers=tuple(headers), body=response.body)
        bridge = self._calls.bridge(setup, self.far, self.seat, self._dial, response)
        # With the offer in the phone's INVITE the trunk's 2xx is acknowledged at once; with a
        # late offer the phone's ACK carries the answer (as for inbound calls).
        bridge.expect_ack(tx, relay_from=None if setup.request.body else AGENT)
        await self._calls.answered(bridge, self._dial)
        return True

    async def _ended(self, stopped: str | None, cause: HangupCause) -> None:
        side = HangupSide.AGENT if stopped == "cancel" else HangupSide.CUSTOMER
        if stopped == "timeout":
            side, cause = HangupSide.SYSTEM, HangupCause.AGENT_UNREACHABLE
        await self._calls.report_end(self._dial.contact_id, side, cause)

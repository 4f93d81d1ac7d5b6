"""Setting up one inbound call: trunk check, routing, ringing agents, holding in the queue.

One `CallSetup` per carrier INVITE, driven by one coroutine (`run`) that executes the router's
decisions one after the other until the call is answered or over:

    trunk check -> new_contact -> Connect  -> ring the agent ----------> answered: Bridge
                                  Queue    -> 182, hold, poll offers  \\-> busy/no answer/unreachable:
                                  Forward  -> 480 (no trunk address)      offer_result -> next decision
                                  Reject   -> status + Retry-After

Everything that happens to the call from outside (the agent leg's responses, the ring timer, the
caller's CANCEL, an offer found by the queue poll, the queue deadline) is an event on one queue
that only the driver reads. So there are no locks and no races between, say, a CANCEL and an
offer: the driver sees them in order. The caller sees nothing of the agents that did not answer:
no final response is sent until the call is answered, rejected or abandoned, only provisionals
(the next agent's 180, 182 while queued).

100rel (RFC 3262) toward the carrier: when its INVITE says ``Require: 100rel``, every provisional
we send is reliable (RSeq, retransmitted until PRACKed, one outstanding at a time; a newer one
waits for the PRACK). With ``Supported: 100rel`` only, provisionals stay unreliable (allowed).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import uuid
from typing import Any

from contact_center.domain.contact import HangupCause, HangupSide
from contact_center.services.routing.decisions import (
    Acknowledged,
    Connect,
    Forward,
    OfferOutcome,
    Queue,
    Reject,
    RoutingDecision,
)
from sip_edge.app.bridge import Bridge
from sip_edge.app.call_services import ALLOW, CallServices
from sip_edge.app.edge_registry import AgentRoute, agent_route
from sip_edge.app.legs import AGENT, CALLER, Leg
from sip_edge.app.routing_client import RoutingError
from sip_edge.app.trunks import TrunkListUnavailableError
from sip_edge.sip.message import Request, Response, SipParseError, generate_call_id, generate_tag
from sip_edge.sip.stack import Reply
from sip_edge.sip.timers import TimerHandle
from sip_edge.sip.transaction import (
    ClientTransaction,
    ServerInviteTransaction,
    ServerTransaction,
    TransactionError,
)
from sip_edge.sip.transport import Flow

__all__ = ["CallSetup", "format_hostport", "outcome_for_status"]

log = logging.getLogger("sip_edge.calls")

# RFC 3326 Reason values on the requests we originate.
REASON_CALLER_CANCELLED = 'SIP;cause=487;text="Caller cancelled"'
REASON_RING_TIMEOUT = 'SIP;cause=480;text="No answer within the ring timeout"'
REASON_NORMAL = 'Q.850;cause=16;text="Normal call clearing"'
REASON_NOT_CONNECTED = 'Q.850;cause=41;text="Call could not be connected"'


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


def format_hostport(host: str, port: int | None) -> str:
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"{host}:{port}" if port else host


def _user_of(uri: Any) -> str:
    user = getattr(uri, "user", None)
    if user:
        return str(user).split(";", 1)[0]
    text = str(uri)
    return text.split(":", 1)[-1].split("@", 1)[0].split(";", 1)[0]


def _tokens(request: Request, name: str) -> set[str]:
    return {token.strip().lower() for value in request.headers.get_all(name) for token in value.split(",")}


Event = tuple[str, Any, Any]


class CallSetup:
    def __init__(
        self, services: CallServices, key: str, invite: ServerInviteTransaction, request: Request, flow: Flow
    ) -> None:
        self.services = services
        self.key = key
        self.invite = invite
        self.request = request
        self.flow = flow
        self.contact_id = str(uuid.uuid4())
        self.events: asyncio.Queue[Event] = asyncio.Queue()
        self.cancelled = False
        self.contact_created = False
        self._counted = False
        self.reliable = "100rel" in _tokens(request, "Require")
        hops = request.max_forwards
        self.max_forwards = (70 if hops is None else hops) - 1
        try:
            caller_target = str(request.contacts[0].uri) if request.contacts else str(request.from_.uri)
        except SipParseError:
            caller_target = str(request.from_.uri)
        transport = flow.transport.name
        self.caller = Leg(
            side=CALLER,
            call_id=request.call_id,
            local=f"{request.headers.get('To')};tag={invite.local_tag}",
            remote=str(request.headers.get("From")),
            local_cseq=0,
            remote_cseq=request.cseq[0],
            remote_target=caller_target,
            transport=transport,
            destination=format_hostport(*flow.remote),
            contact=services.contact_uri(key, CALLER, transport),
            route_set=list(request.headers.get_all("Record-Route")),
        )
        self.agent: Leg | None = None
        self.agent_tx: ClientTransaction | None = None
        self.seat_id: str | None = None
        self.merchant_id: str | None = None
        self.last_provisional: int | None = None
        # RFC 3262 state: our RSeq, the reliable provisional awaiting PRACK, and one waiting behind it.
        self._rseq = secrets.randbelow(2**20) + 1
        self._unacked: Response | None = None
        self._unacked_timer: TimerHandle | None = None
        self._deferred: tuple[int, bytes, str | None] | None = None

    @property
    def called(self) -> str:
        try:
            return _user_of(self.request.sip_uri)
        except SipParseError:
            return _user_of(self.request.to.uri)

    @property
    def caller_number(self) -> str:
        return _user_of(self.request.from_.uri)

    # --- events from outside --------------------------------------------------------------------

    def _post(self, kind: str, source: Any = None, payload: Any = None) -> None:
        self.events.put_nowait((kind, source, payload))

    def cancel(self, request: Request | None = None) -> None:
        """The caller gave up (CANCEL, or BYE on the early dialog): 487 now, clean up in the driver."""
        if self.cancelled:
            return
        self.cancelled = True
        self._stop_reliable()
        if not self.invite.final_sent and not self.invite.terminated:
            self.invite.reply(487)
        self._post("cancel", None, request)

    def on_early_request(self, transaction: ServerTransaction, request: Request) -> Reply | None:
        """A request on the caller's early dialog (our Contact was in a provisional)."""
        method = request.method
        if method == "PRACK":
            return self._on_prack(request)
        if method == "BYE":
            self.cancel(request)
            return Reply(200)
        # A target refresh before the agent answered would have to reach an agent not chosen yet.
        return Reply(500, "Not while ringing", headers=(("Retry-After", "1"),))

    # --- the driver ------------------------------------------------------------------------------

    async def run(self) -> None:
        try:
            await self._run()
        except Exception:
            log.exception("call %s failed", self.contact_id)
            self._final(500)
            if self.contact_created:
                await self._report_end(HangupSide.SYSTEM, HangupCause.SYSTEM_ERROR)
        finally:
            self._stop_reliable()
            if self.services.setup_ended(self) and self._counted:
                self.services.counters.call_ended()

    async def _run(self) -> None:
        try:
            trunk = await self.services.trunks.trunk_for(self.flow.remote[0])
        except TrunkListUnavailableError as exc:
            log.error("refusing a call: the trunk list is unavailable (%s)", exc)
            retry = str(self.services.settings.unavailable_retry_after)
            self._final(503, headers=(("Retry-After", retry), _warning("trunk list unavailable")))
            return
        if trunk is None:
            self._final(403, headers=(_warning("source address is not a configured trunk"),))
            return
        if self.cancelled:
            return
        self.services.counters.call_started()
        self._counted = True
        try:
            self.contact_created = True
            decision = await self.services.routing.new_contact(
                self.called, self.caller_number, self.contact_id
            )
        except RoutingError as exc:
            log.error("routing a new call failed: %s", exc)
            self._final(503, headers=(("Retry-After", "5"), _warning("routing unavailable")))
            await self._report_end(HangupSide.SYSTEM, HangupCause.SYSTEM_ERROR)
            return
        await self._execute(decision)

    async def _execute(self, decision: RoutingDecision) -> None:
        routing = self.services.routing
        while True:
            if self.cancelled:
                await self._report_end(HangupSide.CUSTOMER, HangupCause.CALLER_ABANDONED)
                return
            try:
                if isinstance(decision, Connect):
                    self.seat_id, self.merchant_id = decision.seat_id, decision.merchant_id
                    outcome, answer = await self._ring(decision)
                    if outcome is None:
                        await self._report_end(HangupSide.CUSTOMER, HangupCause.CALLER_ABANDONED)
                        return
                    if outcome is OfferOutcome.ANSWERED and answer is not None:
                        await self._answered(decision, answer)
                        return
                    decision = await routing.offer_result(self.contact_id, decision.seat_id, outcome)
                elif isinstance(decision, Queue):
                    held = await self._hold(decision)
                    if held is None:
                        await self._report_end(HangupSide.CUSTOMER, HangupCause.CALLER_ABANDONED)
                        return
                    decision = held
                elif isinstance(decision, Forward):
                    # The legacy trunk has a source CIDR but no signalling address in the catalogue,
                    # so there is nowhere to send the call: say so instead of failing silently.
                    text = f"legacy trunk {decision.trunk_id} has no signalling address"
                    self._final(480, headers=(("Reason", f'SIP;cause=480;text="{text}"'), _warning(text)))
                    await self._report_end(HangupSide.SYSTEM, HangupCause.SYSTEM_ERROR)
                    return
                elif isinstance(decision, Reject):
                    headers: list[tuple[str, str]] = [_warning(decision.reason)]
                    if decision.retry_after is not None:
                        headers.append(("Retry-After", str(decision.retry_after)))
                    self._final(decision.status, headers=tuple(headers))
                    return
                else:  # Acknowledged: the contact already ended (a duplicate, a lost race)
                    self._final(480, headers=(_warning(f"contact is {decision.state}"),))
                    return
            except RoutingError as exc:
                log.error("routing contact %s failed: %s", self.contact_id, exc)
                self._final(503, headers=(("Retry-After", "5"), _warning("routing unavailable")))
                await self._report_end(HangupSide.SYSTEM, HangupCause.SYSTEM_ERROR)
                return

    async def _report_end(self, side: HangupSide, cause: HangupCause) -> Acknowledged | None:
        try:
            return await self.services.routing.contact_ended(self.contact_id, side, cause)
        except RoutingError as exc:
            # not_found: the contact was never created (routing failed first): nothing to record.
            if exc.code != "not_found":
                log.error("contact_ended for %s failed: %s", self.contact_id, exc)
            return None

    # --- responses to the caller -----------------------------------------------------------------

    def _final(
        self, status: int, reason: str | None = None, headers: tuple[tuple[str, str], ...] = ()
    ) -> None:
        self._stop_reliable()
        if self.invite.final_sent or self.invite.terminated:
            return
        self.invite.reply(status, reason, headers=headers)

    def provisional(self, status: int, body: bytes = b"", content_type: str | None = None) -> None:
        if self.invite.final_sent or self.invite.terminated or self.cancelled:
            return
        if self.reliable and self._unacked is not None:
            self._deferred = (status, body, content_type)  # RFC 3262 §3: one unacknowledged at a time
            return
        headers = [("Contact", f"<{self.caller.contact}>"), ("Allow", ALLOW)]
        if body and content_type:
            headers.append(("Content-Type", content_type))
        if self.reliable:
            self._rseq += 1
            headers += [("Require", "100rel"), ("RSeq", str(self._rseq))]
        response = self.invite.reply(status, headers=headers, body=body)
        self.last_provisional = status
        if self.reliable:
            self._unacked = response
            self._retransmit_reliable(self.services.stack.timers.t1)

    def _retransmit_reliable(self, interval: float) -> None:
        timers = self.services.stack.timers

        def again() -> None:
            response = self._unacked
            if response is None or self.invite.final_sent or self.invite.terminated:
                return
            if interval * 2 > 64 * timers.t1:
                # §3: never PRACKed within 64*T1. The call goes on; we stop insisting.
                log.info("reliable %d of contact %s never PRACKed", response.status, self.contact_id)
                self._unacked = None
                return
            self.invite.respond(response)
            self._retransmit_reliable(interval * 2)

        self._unacked_timer = self.services.stack.clock.call_later(interval, again)

    def _stop_reliable(self) -> None:
        if self._unacked_timer is not None:
            self._unacked_timer.cancel()
            self._unacked_timer = None
        self._unacked = None
        self._deferred = None

    def _on_prack(self, request: Request) -> Reply:
        rack = (request.headers.get("RAck") or "").split()
        pending = self._unacked
        if (
            pending is None
            or len(rack) != 3
            or rack[0] != pending.headers.get("RSeq")
            or rack[1] != str(self.request.cseq[0])
        ):
            return Reply(481, "No matching reliable provisional")
        if self._unacked_timer is not None:
            self._unacked_timer.cancel()
            self._unacked_timer = None
        self._unacked = None
        deferred, self._deferred = self._deferred, None
        if deferred is not None:
            self.provisional(*deferred)
        return Reply(200)

    # --- ringing an agent ------------------------------------------------------------------------

    def _agent_leg(self, connect: Connect, route: AgentRoute, target_uri: str) -> tuple[Leg, Request]:
        caller = self.request.from_
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
            contact=self.services.contact_uri(self.key, AGENT, transport),
            route_set=list(route.route),
        )
        headers = [
            # RFC 7332 §3.2: a B2BUA decrements Max-Forwards across its legs, so loops still end.
            ("Max-Forwards", str(self.max_forwards)),
            ("Allow", ALLOW),
            ("X-Switchboard-Contact-Id", self.contact_id),
        ]
        content_type = self.request.content_type
        if self.request.body and content_type:
            headers.append(("Content-Type", content_type))
        # The SDP is passed through byte for byte: the edge never touches media (audio or video).
        invite = leg.request("INVITE", body=self.request.body, headers=headers)
        return leg, invite

    async def _ring(self, connect: Connect) -> tuple[OfferOutcome | None, Response | None]:
        """Ring the seat; (None, None) when the caller abandoned meanwhile."""
        if self.cancelled:
            return None, None
        if not connect.targets:
            return OfferOutcome.UNREACHABLE, None
        # One device per offer: the first target (the router orders them). Forking to every device
        # of a seat is left to a later release; RONA moves on to the next agent instead.
        target = connect.targets[0]
        route = agent_route(
            target, self.services.task_id, await self.services.owner_address(target.flow_owner)
        )
        leg, invite = self._agent_leg(connect, route, target.contact_uri)
        stack = self.services.stack
        self.agent = leg
        try:
            tx = stack.send_request(
                invite,
                route.destination,
                on_response=lambda t, r: self._post("response", t, r),
                on_error=lambda t, e: self._post("error", t, e),
            )
        except Exception as exc:
            log.warning("cannot send the agent leg of %s: %s", self.contact_id, exc)
            return OfferOutcome.UNREACHABLE, None
        self.agent_tx = tx
        clock = stack.clock
        ring_timer = clock.call_later(connect.ring_timeout_seconds, lambda: self._post("ring_timeout", tx))
        give_up: TimerHandle | None = None
        stopped_by: str | None = None  # "timeout" | "cancel"
        rang = False

        def stop(why: str, reason: str) -> None:
            nonlocal stopped_by, give_up
            stopped_by = why
            ring_timer.cancel()
            stack.cancel(tx, headers=(("Reason", reason),))
            give_up = clock.call_later(
                self.services.settings.cancel_grace_seconds, lambda: self._post("give_up", tx)
            )

        try:
            if self.cancelled:
                stop("cancel", REASON_CALLER_CANCELLED)
            while True:
                kind, source, payload = await self.events.get()
                if kind == "cancel":
                    if stopped_by is None:
                        stop("cancel", REASON_CALLER_CANCELLED)
                    continue
                if source is not tx:
                    continue  # a late event of an earlier agent leg, or an offer while ringing
                if kind == "response":
                    status = payload.status
                    if status < 200:
                        if status > 100:
                            rang = True
                            if stopped_by is None:
                                self.provisional(status, payload.body, payload.content_type)
                        continue
                    if status < 300:
                        self._confirm_agent(leg, payload, route)
                        if stopped_by == "cancel":
                            # Answered as the caller hung up: take the call and end it at once.
                            self._ack_and_bye(leg, tx)
                            return None, None
                        return OfferOutcome.ANSWERED, payload
                    if stopped_by == "cancel":
                        return None, None
                    if stopped_by == "timeout":
                        return OfferOutcome.NO_ANSWER, None
                    return outcome_for_status(status), None
                if kind == "error":
                    if stopped_by == "cancel":
                        return None, None
                    if stopped_by == "timeout" and rang:
                        return OfferOutcome.NO_ANSWER, None
                    log.info("agent leg of %s failed: %s", self.contact_id, payload)
                    return OfferOutcome.UNREACHABLE, None
                if kind == "ring_timeout" and stopped_by is None:
                    stop("timeout", REASON_RING_TIMEOUT)
                elif kind == "give_up":
                    tx.terminate()
                    if stopped_by == "cancel":
                        return None, None
                    return (OfferOutcome.NO_ANSWER if rang else OfferOutcome.UNREACHABLE), None
        finally:
            ring_timer.cancel()
            if give_up is not None:
                give_up.cancel()

    def _confirm_agent(self, leg: Leg, response: Response, route: AgentRoute) -> None:
        leg.remote = str(response.headers.get("To"))
        leg.learn_target(response)
        # §12.1.2: the UAC's route set is the 2xx's Record-Route reversed; the owner's hop stays first.
        leg.route_set = [*route.route, *reversed(response.headers.get_all("Record-Route"))]

    def _ack_and_bye(self, leg: Leg, tx: ClientTransaction) -> None:
        stack = self.services.stack
        stack.send_stateless(leg.request("ACK", cseq=tx.request.cseq[0]), leg.destination_of())
        bye = leg.request("BYE", headers=(("Reason", REASON_CALLER_CANCELLED),))
        stack.send_request(bye, leg.destination_of())

    async def _answered(self, connect: Connect, answer: Response) -> None:
        agent = self.agent
        tx = self.agent_tx
        assert agent is not None and tx is not None
        headers = [("Contact", f"<{self.caller.contact}>"), ("Allow", ALLOW)]
        if answer.body and answer.content_type:
            headers.append(("Content-Type", answer.content_type))
        self._stop_reliable()
        self.invite.reply(200, headers=headers, body=answer.body)
        bridge = Bridge(
            self.services,
            self.key,
            self.contact_id,
            self.caller,
            agent,
            seat_id=connect.seat_id,
            merchant_id=connect.merchant_id,
        )
        # The agent's 2xx is acknowledged by us. With the offer in the INVITE the ACK has no body
        # and goes at once; with a late offer (no SDP in the INVITE) the caller's ACK carries the
        # answer, so the agent's ACK waits for it (RFC 3264 offer/answer across the two legs).
        bridge.expect_ack(tx, relay_from=None if self.request.body else CALLER)
        self.services.bridge_started(bridge)
        self.invite.on_error = lambda _t, error: self._caller_never_acked(bridge, error)
        await bridge.answered(connect)

    def _caller_never_acked(self, bridge: Bridge, error: TransactionError) -> None:
        log.info("caller never acknowledged the 200 of %s (%s): ending the call", self.contact_id, error)
        self.services.spawn(bridge.hang_up(HangupSide.SYSTEM, HangupCause.NETWORK_FAILURE), name="no-ack")

    # --- holding in a queue ----------------------------------------------------------------------

    async def _hold(self, queue: Queue) -> RoutingDecision | None:
        """182 and wait: the offer found by the poll, or the queue's verdict at the deadline."""
        if self.cancelled:
            return None
        services = self.services
        self.provisional(182)
        services.hold.hold(self.contact_id, lambda offer: self._post("offer", self, offer))
        loop = asyncio.get_running_loop()
        deadline = loop.call_later(
            max(0.0, (queue.deadline_ms - services.now_ms()) / 1000), lambda: self._post("deadline", self)
        )
        interval = services.settings.provisional_refresh_seconds
        refresh = loop.call_later(interval, lambda: self._post("refresh", self))
        try:
            while True:
                kind, source, payload = await self.events.get()
                if kind == "cancel":
                    return None
                if source is not self:
                    continue
                if kind == "offer":
                    return payload  # type: ignore[no-any-return]
                if kind == "deadline":
                    services.hold.release(self.contact_id)
                    return await services.routing.queue_timeout(self.contact_id)
                if kind == "refresh":
                    self.provisional(182)
                    refresh = loop.call_later(interval, lambda: self._post("refresh", self))
        finally:
            services.hold.release(self.contact_id)
            deadline.cancel()
            refresh.cancel()


def _warning(text: str) -> tuple[str, str]:
    return ("Warning", f'399 switchboard "{text}"')

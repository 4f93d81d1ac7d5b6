"""Setting up one inbound call: trunk check, routing, ringing agents, holding in the queue.

One `CallSetup` per carrier INVITE, driven by one coroutine (`run`) that executes the router's
decisions one after the other until the call is answered or over:

    no trunk: a seat's phone calling out (`outbound_calls`), or 403
    trunk check -> new_contact -> Connect  -> ring the agent ----------> answered: Bridge
                                  Queue    -> 182, hold, poll offers  \\-> busy/no answer/unreachable:
                                  Forward  -> ring the legacy trunk ---> answered: Bridge; failed:
                                                                          legacy_failed -> next decision
                                  Reject   -> status + Retry-After

Everything that happens to the call from outside (the agent leg's responses, the ring timer, the
caller's CANCEL, an offer found by the queue poll, the queue deadline) is a typed event
(`events`) on one queue that only the driver reads. So there are no locks and no races between,
say, a CANCEL and an offer: the driver sees them in order. Ringing a seat's devices is `ring`; the
provisionals toward the carrier are reliable when its INVITE requires it
(`sip_edge.sip.reliable`, RFC 3262).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from contact_center.domain.contact import HangupCause, HangupSide
from contact_center.services.routing.decisions import (
    Acknowledged,
    Arrival,
    Connect,
    Forward,
    OfferOutcome,
    PlayMenu,
    Queue,
    Reject,
    RoutingDecision,
)
from sip_edge.app.calls.addresses import CallAddresses
from sip_edge.app.calls.anchoring import CallerMedia
from sip_edge.app.calls.bridge import Bridge, Bridges
from sip_edge.app.calls.clock import CallClock
from sip_edge.app.calls.end_report import report_end
from sip_edge.app.calls.events import (
    CallerCancelled,
    CallEvent,
)
from sip_edge.app.calls.legacy import LegacyLeg
from sip_edge.app.calls.live import LiveCalls
from sip_edge.app.calls.liveness import LegTerms, allows_update
from sip_edge.app.calls.media import MediaPort
from sip_edge.app.calls.menu_stage import MenuStage
from sip_edge.app.calls.ports import ALLOW, CallSettings, RoutingError, RoutingPort, StaleBindings
from sip_edge.app.calls.queue_answer import QueueAnswer
from sip_edge.app.calls.queue_hold import QueueHold
from sip_edge.app.calls.queue_wait import CallbackLeft, QueueWait
from sip_edge.app.calls.ring import AgentRinger
from sip_edge.app.calls.tasks import CallTasks
from sip_edge.app.calls.trunks import TrunkDirectory, TrunkListUnavailableError
from sip_edge.sip.client_transaction import ClientTransaction
from sip_edge.sip.decisions import Reply
from sip_edge.sip.dialog import AGENT, CALLER, Leg
from sip_edge.sip.errors import SipParseError
from sip_edge.sip.message import Request, Response
from sip_edge.sip.reliable import ReliableProvisionals
from sip_edge.sip.session_timer import (
    Session,
    TooSmall,
    answer_invite,
    from_answer,
    offer_headers,
)
from sip_edge.sip.stack import SipStack
from sip_edge.sip.transaction import ServerInviteTransaction, ServerTransaction, TransactionError
from sip_edge.sip.transport import Flow

__all__ = ["CallSetup", "CallSetups"]

log = logging.getLogger("sip_edge.calls")


def _user_of(uri: Any) -> str:
    user = getattr(uri, "user", None)
    if user:
        return str(user).split(";", 1)[0]
    text = str(uri)
    return text.split(":", 1)[-1].split("@", 1)[0].split(";", 1)[0]


def _warning(text: str) -> tuple[str, str]:
    return ("Warning", f'399 switchboard "{text}"')


def _rejection_headers(decision: Reject) -> tuple[tuple[str, str], ...]:
    retry = () if decision.retry_after is None else (("Retry-After", str(decision.retry_after)),)
    return (_warning(decision.reason), *retry)


class CallSetup:
    def __init__(
        self,
        key: str,
        invite: ServerInviteTransaction,
        request: Request,
        flow: Flow,
        *,
        stack: SipStack,
        routing: RoutingPort,
        trunks: TrunkDirectory,
        hold: QueueHold,
        live: LiveCalls[CallSetup, Bridge],
        bridges: Bridges,
        tasks: CallTasks,
        addresses: CallAddresses,
        clock: CallClock,
        settings: CallSettings,
        stale: StaleBindings | None = None,
        media: MediaPort | None = None,
        dial_out: Callable[[CallSetup], Awaitable[bool]] | None = None,
    ) -> None:
        self.key = key
        self._dial_out = dial_out
        self.invite = invite
        self.request = request
        self.flow = flow
        self._routing = routing
        self._trunks = trunks
        self._live = live
        self._bridges = bridges
        self._tasks = tasks
        self._settings = settings
        self.contact_id = str(uuid.uuid4())
        self.events: asyncio.Queue[CallEvent] = asyncio.Queue()
        self.cancelled = False
        self.contact_created = False
        self._counted = False
        self.caller = addresses.inviting_leg(key, invite, request, flow)
        self._media = CallerMedia(media, request, invite.local_tag, flow.remote[0], self.contact_id)
        self._provisionals = ReliableProvisionals(invite, clock, stack.timers.t1)
        # RFC 4028 with the caller: what its INVITE asked for, decided before anything is routed.
        self._session = answer_invite(
            request, min_se=settings.session_min_se, default_interval=settings.session_interval
        )
        self._queue_answer = QueueAnswer(stack, invite, self.caller, self._session)
        self._menu = MenuStage(routing, self._media, self._queue_answer, self.events)
        self._wait = QueueWait(
            self.contact_id,
            self.events,
            clock=clock,
            refresh_seconds=settings.provisional_refresh_seconds,
            media=self._media,
            answer=self._queue_answer,
            hold=hold,
            routing=routing,
            provisional=self.provisional,
            cancelled=lambda: self.cancelled,
        )
        self._ringer = AgentRinger(
            request,
            key,
            self.contact_id,
            self.events,
            stack=stack,
            addresses=addresses,
            clock=clock,
            cancel_grace_seconds=settings.cancel_grace_seconds,
            cancelled=lambda: self.cancelled,
            provisional=self._media.filtered(self.provisional),
            stale=stale,
            # The agent leg's timer is its own: our interval, whatever the carrier chose for its leg,
            # so a vanished phone is found within our bound even under a carrier's long session.
            extra_headers=offer_headers(settings.session_interval, settings.session_min_se),
        )
        self._ringer.offer = self._media.anchor
        self.seat_id: str | None = None
        self.source_trunk: str | None = None  # the trunk the INVITE came over
        self.merchant_id: str | None = None

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

    def cancel(self, request: Request | None = None) -> None:
        """The caller gave up (CANCEL, or BYE on the early dialog): 487 now, clean up in the driver."""
        if self.cancelled:
            return
        self.cancelled = True
        self._provisionals.stop()
        if not self.invite.final_sent and not self.invite.terminated:
            self.invite.reply(487)
        self.events.put_nowait(CallerCancelled(request))

    def on_early_request(self, transaction: ServerTransaction, request: Request) -> Reply | None:
        """A request on the caller's early dialog (our Contact was in a provisional)."""
        method = request.method
        if method == "PRACK":
            return self._provisionals.on_prack(request)
        if method == "BYE":
            self.cancel(request)
            return Reply(200)
        if method == "INFO":  # a key (a menu's, a queue's callback key) sent as SIP INFO, not in the RTP
            return self._menu.on_info(request)
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
            self._provisionals.stop()
            await self._media.release_unless_bridged()
            if self._live.setup_ended(self) and self._counted:
                self._live.counters.call_ended()

    async def _run(self) -> None:
        try:
            trunk = await self._trunks.trunk_for(self.flow.remote[0])
        except TrunkListUnavailableError as exc:
            log.error("refusing a call: the trunk list is unavailable (%s)", exc)
            retry = str(self._settings.unavailable_retry_after)
            self._final(503, headers=(("Retry-After", retry), _warning("trunk list unavailable")))
            return
        if trunk is None and self._dial_out is not None:
            self._counted = await self._dial_out(self)  # a seat's phone calling out (counted once known)
            return
        if trunk is None:
            self._final(403, headers=(_warning("source address is not a configured trunk"),))
            return
        self.source_trunk = trunk
        if isinstance(self._session, TooSmall):
            self._final(422, headers=(("Min-SE", str(self._session.min_se)),))
            return
        if self.cancelled:
            return
        self._live.counters.call_started()
        self._counted = True
        try:
            self.contact_created = True
            decision = await _arrival(self, trunk)
            if isinstance(decision, PlayMenu):  # answered, played; the caller's key routes the call
                decision = await self._menu.route(decision, self.called, self.caller_number)
        except RoutingError as exc:
            log.error("routing a new call failed: %s", exc)
            self._final(503, headers=(("Retry-After", "5"), _warning("routing unavailable")))
            await self._report_end(HangupSide.SYSTEM, HangupCause.SYSTEM_ERROR, routing_failed=True)
            return
        await self._execute(decision)

    async def _execute(self, decision: RoutingDecision) -> None:
        while True:
            if self.cancelled:
                await self._report_end(HangupSide.CUSTOMER, HangupCause.CALLER_ABANDONED)
                return
            try:
                if isinstance(decision, Connect):
                    self.seat_id, self.merchant_id = decision.seat_id, decision.merchant_id
                    rung = await self._ringer.ring(decision)
                    if rung.outcome is None:
                        await self._report_end(HangupSide.CUSTOMER, HangupCause.CALLER_ABANDONED)
                        return
                    if rung.outcome is OfferOutcome.ANSWERED and rung.answer is not None:
                        assert rung.leg is not None and rung.transaction is not None
                        await self._answered(decision, rung.answer, rung.leg, rung.transaction)
                        return
                    decision = await self._routing.offer_result(
                        self.contact_id, decision.seat_id, rung.outcome
                    )
                elif isinstance(decision, Queue):
                    held = await self._wait.wait(decision)
                    if held is None:
                        await self._report_end(HangupSide.CUSTOMER, HangupCause.CALLER_ABANDONED)
                        return
                    if isinstance(held, CallbackLeft):  # the contact waits on, without this call
                        await self._wait.end_for_callback(self._final)
                        return
                    decision = held
                elif isinstance(decision, Forward):
                    forwarded = await _legacy_leg(self).forward(decision)
                    if forwarded is None:
                        return
                    decision = forwarded
                elif isinstance(decision, Reject):
                    self._final(decision.status, headers=_rejection_headers(decision))
                    return
                else:  # Acknowledged: the contact already ended (a duplicate, a lost race)
                    self._final(480, headers=(_warning(f"contact is {decision.state}"),))
                    return
            except RoutingError as exc:
                log.error("routing contact %s failed: %s", self.contact_id, exc)
                self._final(503, headers=(("Retry-After", "5"), _warning("routing unavailable")))
                await self._report_end(HangupSide.SYSTEM, HangupCause.SYSTEM_ERROR, routing_failed=True)
                return

    async def _report_end(
        self, side: HangupSide, cause: HangupCause, *, routing_failed: bool = False
    ) -> Acknowledged | None:
        report = functools.partial(self._routing.contact_ended, self.contact_id, side, cause)
        return await report_end(report, self.contact_id, self._tasks, routing_failed=routing_failed)

    # --- responses to the caller -----------------------------------------------------------------

    def _final(
        self, status: int, reason: str | None = None, headers: tuple[tuple[str, str], ...] = ()
    ) -> None:
        self._provisionals.stop()
        if self._queue_answer.hang_up(status, headers) or self.invite.final_sent or self.invite.terminated:
            return
        self.invite.reply(status, reason, headers=headers)

    def provisional(self, status: int, body: bytes = b"", content_type: str | None = None) -> None:
        if self.invite.final_sent or self.invite.terminated or self.cancelled:
            return
        headers = [("Contact", f"<{self.caller.contact}>"), ("Allow", ALLOW)]
        if body and content_type:
            headers.append(("Content-Type", content_type))
        self._provisionals.send(status, headers, body)

    async def _answered(self, connect: Connect, answer: Response, agent: Leg, tx: ClientTransaction) -> None:
        session = self._session if isinstance(self._session, Session) else None
        if self._queue_answer.sdp is not None:  # the music gives way as the relay takes the agent
            await self._media.stop_announcing()
        body = await self._media.answer(answer.body)
        self._provisionals.stop()
        if self._queue_answer.sdp is None:
            self.invite.reply(
                200,
                headers=self._queue_answer.headers(answer.content_type if answer.body else None),
                body=body,
            )
        else:  # answered while queued: the relay now carries the agent, the caller keeps its SDP
            body = self._queue_answer.sdp
        request = self.request
        bridge = self._bridges.open(
            self.key,
            self.contact_id,
            self.caller,
            agent,
            seat_id=connect.seat_id,
            merchant_id=connect.merchant_id,
            terms={
                CALLER: LegTerms(session, allows_update(request), body, answer.content_type),
                AGENT: LegTerms(
                    from_answer(answer), allows_update(answer), self._media.offer_sdp, request.content_type
                ),
            },
            media=self._media.bridged_media(),
        )
        # The agent's 2xx is acknowledged by us. With the offer in the INVITE the ACK has no body
        # and goes at once; with a late offer (no SDP in the INVITE) the caller's ACK carries the
        # answer, so the agent's ACK waits for it (RFC 3264 offer/answer across the two legs).
        bridge.expect_ack(tx, relay_from=None if self.request.body else CALLER)
        self._live.bridge_started(bridge)
        self.invite.on_error = lambda _t, error: _caller_never_acked(self._tasks, bridge, error)
        await self._media.record(connect.recording_key)
        if connect.seat_id:  # the legacy leg has no seat: its contact stays forwarded until the end
            await bridge.answered(connect)


def _caller_never_acked(tasks: CallTasks, bridge: Bridge, error: TransactionError) -> None:
    log.info("caller never acknowledged the 200 of %s (%s): ending the call", bridge.contact_id, error)
    tasks.spawn(bridge.hang_up(HangupSide.SYSTEM, HangupCause.NETWORK_FAILURE), name="no-ack")


async def _arrival(setup: CallSetup, trunk: str) -> Arrival:
    """The router's first answer; a queue address (`queue-<id>`, the legacy centre's) goes with the
    trunk it came over and that trunk's merchant, for the router to judge."""
    queue_call = await setup._trunks.queue_call(trunk, setup.called)
    return await setup._routing.new_contact(
        setup.called, setup.caller_number, setup.contact_id, queue_call=queue_call
    )


def _legacy_leg(setup: CallSetup) -> LegacyLeg:
    """The legacy leg of a forwarded call, acting on the call through its own steps."""
    return LegacyLeg(
        setup._trunks,
        setup._ringer,
        setup._routing,
        setup.contact_id,
        setup.called,
        source_trunk=setup.source_trunk,
        final=setup._final,
        report_end=setup._report_end,
        answered=setup._answered,
    )


class CallSetups:
    """Makes the `CallSetup` of each new call on this edge task, with what every call shares."""

    def __init__(
        self,
        *,
        stack: SipStack,
        routing: RoutingPort,
        trunks: TrunkDirectory,
        hold: QueueHold,
        live: LiveCalls[CallSetup, Bridge],
        bridges: Bridges,
        tasks: CallTasks,
        addresses: CallAddresses,
        clock: CallClock,
        settings: CallSettings,
        stale: StaleBindings | None = None,
        media: MediaPort | None = None,
    ) -> None:
        self._stack = stack
        self._routing = routing
        self._trunks = trunks
        # Set by the composition root once the outbound calls (which need the bridges) exist.
        self.dial_out: Callable[[CallSetup], Awaitable[bool]] | None = None
        self._hold = hold
        self._live = live
        self._bridges = bridges
        self._tasks = tasks
        self._addresses = addresses
        self._clock = clock
        self._settings = settings
        self._stale = stale
        self._media = media

    def new(self, key: str, invite: ServerInviteTransaction, request: Request, flow: Flow) -> CallSetup:
        return CallSetup(
            key,
            invite,
            request,
            flow,
            stack=self._stack,
            routing=self._routing,
            trunks=self._trunks,
            hold=self._hold,
            live=self._live,
            bridges=self._bridges,
            tasks=self._tasks,
            addresses=self._addresses,
            clock=self._clock,
            settings=self._settings,
            stale=self._stale,
            media=self._media,
            dial_out=self.dial_out,
        )

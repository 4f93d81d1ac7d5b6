"""Blind transfer of a bridged call: the agent's phone sends REFER (RFC 3515), the caller moves on.

    agent A --REFER (Refer-To: a queue, a seat, a number)--> edge: 202, NOTIFY "100 Trying"
    edge -> router ``transfer``:
      refused (404, 409, 486): NOTIFY with that status; the call goes on with A
      accepted: NOTIFY "200 OK" and BYE to A (the router put A in wrap-up), then the caller's next
      step, as for a new call:
        Connect: ring the new seat's phones with an INVITE without an offer; its 2xx carries the
                 offer, sent to the caller in a re-INVITE on the caller's own dialog (Call-ID and
                 tags unchanged); the caller's answer goes to the new agent in our ACK (RFC 3725
                 flow I). Busy, no answer: ``offer_result`` -> the next decision.
        Queue:   held by the queue poll until an offer (then Connect) or the deadline.
        Reject, Forward (the queue's verdict at its deadline): the caller is sent BYE.

A transfer asked over the API (`requested`, by a signed command, ``offer_push``) runs the same
path without a REFER: its verdict is the command's answer instead of NOTIFYs.

A's subscription ends with the router's verdict, not with the new agent's answer: once accepted,
the caller belongs to the queue (and its record to the next agent), whatever happens next. The
caller keeps the media it had until the new agent's session arrives. A caller who hangs up
meanwhile ends the bridge as always (``contact_ended``), which stops the ringing here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from contact_center.domain.contact import HangupCause, HangupSide
from contact_center.services.routing.decisions import (
    Acknowledged,
    Connect,
    OfferOutcome,
    Queue,
    Reject,
    RoutingDecision,
)
from sip_edge.app.calls.addresses import CallAddresses
from sip_edge.app.calls.attended import REASON_TRANSFERRED, AttendedTransfers, join_caller
from sip_edge.app.calls.bridge import Bridge, schedule_wrap_up, send_bye
from sip_edge.app.calls.clock import CallClock
from sip_edge.app.calls.consults import ConsultBridge
from sip_edge.app.calls.events import CallerCancelled, CallEvent, OfferFound, QueueDeadlinePassed
from sip_edge.app.calls.live import LiveCalls
from sip_edge.app.calls.ports import CallSettings, RoutingError, RoutingPort, StaleBindings
from sip_edge.app.calls.queue_hold import QueueHold
from sip_edge.app.calls.ring import AgentRinger, Rung
from sip_edge.app.calls.tasks import CallTasks
from sip_edge.sip.decisions import Reply
from sip_edge.sip.dialog import AGENT, CALLER, Leg
from sip_edge.sip.errors import SipParseError
from sip_edge.sip.headers import Headers
from sip_edge.sip.message import Request
from sip_edge.sip.refer import Replaces, notify_headers, parse_refer_to, sipfrag
from sip_edge.sip.session_timer import offer_headers
from sip_edge.sip.stack import SipStack
from sip_edge.sip.transaction import ServerTransaction

__all__ = ["CallTransfers"]

log = logging.getLogger("sip_edge.transfers")

Report = Callable[[int, str | None], None]  # a transfer's progress: the status, and why

REASON_QUEUE_GAVE_UP = 'SIP;cause=480;text="Transferred call not answered"'


def _warning(text: str) -> tuple[str, str]:
    return ("Warning", f'399 switchboard "{text}"')


class CallTransfers:
    """Carries out the REFERs of this edge task's bridges (`Bridge.on_request` hands them over)."""

    def __init__(
        self,
        *,
        stack: SipStack,
        routing: RoutingPort,
        addresses: CallAddresses,
        hold: QueueHold,
        tasks: CallTasks,
        clock: CallClock,
        settings: CallSettings,
        stale: StaleBindings | None = None,
        live: LiveCalls[Any, Bridge] | None = None,
    ) -> None:
        self._stack = stack
        self._routing = routing
        self._addresses = addresses
        self._hold = hold
        self._tasks = tasks
        self._clock = clock
        self._settings = settings
        self._stale = stale
        self._busy: set[str] = set()  # bridges with a transfer under way
        # Set by the composition root once the consult calls (which need the bridges) exist.
        self.attended: AttendedTransfers | None = None
        self.live = live  # where `requested` finds the call

    async def refer(self, bridge: Bridge, transaction: ServerTransaction, request: Request) -> Reply | None:
        try:
            target = parse_refer_to(request)
        except SipParseError as exc:
            return Reply(400, "Bad Refer-To", headers=(_warning(str(exc)),))
        if target.replaces is None and not target.user:
            return Reply(400, "Bad Refer-To", headers=(_warning("Refer-To names no queue, seat or number"),))
        if target.replaces is not None and self.attended is None:
            return Reply(501, headers=(_warning("attended transfer is not supported here"),))
        if bridge.seat_id is None or bridge.key in self._busy:
            return Reply(491, headers=(_warning("a transfer of this call is already under way"),))
        self._busy.add(bridge.key)
        transaction.reply(202)
        agent = bridge.legs[AGENT]
        refer_cseq = request.cseq[0]
        self._notify(agent, 100, refer_cseq)
        if target.replaces is None:
            assert target.user is not None
            run = self._transfer(bridge, agent, target.user, self._notifier(agent, refer_cseq))
        else:
            run = self._attended(bridge, agent, target.replaces, refer_cseq)
        self._tasks.spawn(self._run(bridge, run), name="transfer")
        return None

    async def _run(self, bridge: Bridge, transfer: Awaitable[None]) -> None:
        try:
            await transfer
        finally:
            self._busy.discard(bridge.key)

    async def _attended(self, bridge: Bridge, agent: Leg, replaces: Replaces, refer_cseq: int) -> None:
        attended = self.attended
        assert attended is not None
        consult = attended.consult_of(bridge, replaces)
        if consult is None:
            self._notify(agent, 481, refer_cseq, "Replaces names no consult of this call")
            return
        await attended.run(bridge, agent, consult, self._notifier(agent, refer_cseq), self._hand_over)

    def _notifier(self, agent: Leg, refer_cseq: int) -> Report:
        """Reports a transfer's progress to the REFERring phone (its implicit subscription)."""
        return lambda status, reason: self._notify(agent, status, refer_cseq, reason)

    async def requested(self, contact_id: str, target: str) -> Reply:
        """A transfer asked over the API (``offer_push`` commands): the blind transfer a REFER from
        the agent's phone would run, answered with the router's verdict (202 once accepted)."""
        live = self.live
        bridge = next(
            (
                b
                for b in (live.bridges.values() if live is not None else ())
                if b.contact_id == contact_id and not isinstance(b, ConsultBridge) and not b.ended
            ),
            None,
        )
        if bridge is None:
            return Reply(481, headers=(_warning(f"no call of contact {contact_id} here"),))
        if bridge.seat_id is None or bridge.key in self._busy:
            return Reply(491, headers=(_warning("a transfer of this call is already under way"),))
        self._busy.add(bridge.key)
        verdict: asyncio.Future[tuple[int, str | None]] = asyncio.get_running_loop().create_future()

        def report(status: int, reason: str | None) -> None:
            if not verdict.done():
                verdict.set_result((status, reason))

        async def carry_out() -> None:
            try:
                await self._transfer(bridge, bridge.legs[AGENT], target, report)
            finally:
                report(500, "the transfer failed")  # nothing if the verdict is known

        self._tasks.spawn(self._run(bridge, carry_out()), name="transfer")
        status, reason = await verdict
        if status == 200:
            return Reply(202)
        return Reply(status, headers=(_warning(reason or "transfer refused"),))

    async def _hand_over(self, bridge: Bridge, decision: RoutingDecision) -> None:
        """The caller's way to its next agent, as for a new call (ring, queue, or the end)."""
        events: asyncio.Queue[CallEvent] = asyncio.Queue()
        ringer = self._ringer(bridge, events)
        handover = _Handover(bridge, ringer, events, self._stack, self._routing, self._hold, self._clock)
        await handover.run(decision)

    def _notify(self, leg: Leg, status: int, refer_cseq: int, reason: str | None = None) -> None:
        notify = leg.request(
            "NOTIFY", body=sipfrag(status, reason), headers=notify_headers(status, refer_cseq)
        )
        try:
            self._stack.send_request(notify, leg.destination_of())
        except Exception as exc:
            log.info("NOTIFY of a transfer not sent on %s: %s", leg.call_id, exc)

    async def _transfer(self, bridge: Bridge, agent: Leg, target: str, report: Report) -> None:
        seat_id = bridge.seat_id
        assert seat_id is not None
        try:
            outcome = await self._routing.transfer(bridge.contact_id, seat_id, target)
        except RoutingError as exc:
            log.error("transfer of %s failed: %s", bridge.contact_id, exc)
            report(503, None)
            return
        decision = outcome.decision
        if isinstance(decision, Reject):
            report(decision.status, decision.reason)
            return
        if isinstance(decision, Acknowledged):  # the call ended meanwhile
            report(487, None)
            return
        report(200, None)
        bridge.detach_agent()
        send_bye(self._stack, agent, REASON_TRANSFERRED)
        released = Acknowledged(
            bridge.contact_id, "transferred", seat_id, outcome.merchant_id, outcome.wrap_up_deadline_ms
        )
        schedule_wrap_up(self._routing, self._tasks, released)
        await self._hand_over(bridge, decision)

    def _ringer(self, bridge: Bridge, events: asyncio.Queue[CallEvent]) -> AgentRinger:
        """Rings the next agent as for a new call: the caller's From, and no offer (the new agent's
        2xx makes it, for the caller's re-INVITE)."""
        caller = bridge.legs[CALLER]
        headers = Headers()
        headers.add("From", caller.remote)
        headers.add("Max-Forwards", "70")
        settings = self._settings
        return AgentRinger(
            Request("INVITE", caller.remote_target, "SIP/2.0", headers, b""),
            bridge.key,
            bridge.contact_id,
            events,
            stack=self._stack,
            addresses=self._addresses,
            clock=self._clock,
            cancel_grace_seconds=settings.cancel_grace_seconds,
            cancelled=lambda: bridge.ended,
            provisional=lambda _status, _body, _type: None,  # the caller's call is long answered
            stale=self._stale,
            extra_headers=offer_headers(settings.session_interval, settings.session_min_se),
        )


class _Handover:
    """The caller's way from the transferring agent to the next one, driven by one event queue."""

    def __init__(
        self,
        bridge: Bridge,
        ringer: AgentRinger,
        events: asyncio.Queue[CallEvent],
        stack: SipStack,
        routing: RoutingPort,
        hold: QueueHold,
        clock: CallClock,
    ) -> None:
        self._bridge = bridge
        self._ringer = ringer
        self._events = events
        self._stack = stack
        self._routing = routing
        self._poll = hold
        self._clock = clock
        self._gone = False
        bridge.on_end.append(self._caller_gone)

    def _caller_gone(self) -> None:
        self._gone = True
        self._events.put_nowait(CallerCancelled())

    async def run(self, decision: RoutingDecision) -> None:
        routing = self._routing
        try:
            while not self._gone:
                if isinstance(decision, Connect):
                    rung = await self._ringer.ring(decision)
                    if rung.outcome is None:
                        return  # the caller hung up: the bridge reported the end
                    if rung.outcome is OfferOutcome.ANSWERED:
                        await self._join(decision, rung)
                        return
                    decision = await routing.offer_result(
                        self._bridge.contact_id, decision.seat_id, rung.outcome
                    )
                elif isinstance(decision, Queue):
                    held = await self._hold(decision)
                    if held is None:
                        return
                    decision = held
                else:  # Reject or Forward at the queue's deadline; Acknowledged: already over
                    await self._bridge.hang_up(HangupSide.SYSTEM, HangupCause.QUEUE_TIMEOUT)
                    return
        except RoutingError as exc:
            log.error("routing the transferred contact %s failed: %s", self._bridge.contact_id, exc)
            await self._bridge.hang_up(HangupSide.SYSTEM, HangupCause.SYSTEM_ERROR)
        finally:
            self._bridge.on_end.remove(self._caller_gone)

    async def _hold(self, queue: Queue) -> RoutingDecision | None:
        events, clock, hold = self._events, self._clock, self._poll
        contact_id = self._bridge.contact_id
        hold.hold(contact_id, lambda offer: events.put_nowait(OfferFound(offer)))
        deadline = clock.call_at_ms(queue.deadline_ms, lambda: events.put_nowait(QueueDeadlinePassed()))
        try:
            while True:
                event = await events.get()
                if isinstance(event, CallerCancelled):
                    return None
                if isinstance(event, OfferFound):
                    return event.offer
                if isinstance(event, QueueDeadlinePassed):
                    hold.release(contact_id)
                    return await self._routing.queue_timeout(contact_id)
        finally:
            hold.release(contact_id)
            deadline.cancel()

    async def _join(self, connect: Connect, rung: Rung) -> None:
        await join_caller(self._bridge, self._stack, connect, rung)

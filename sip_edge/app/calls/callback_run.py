"""Running a callback on this edge task: ring the agent, whisper, dial the customer, bridge the two.

The router claims an agent for a callback nobody holds and pushes the offer (a `Connect` whose
``callback`` names the customer, the merchant's outbound trunk and its caller ID) to the task it
picked as runner (`offer_push` -> `QueueHold.deliver` -> `CallbackRuns.run`, once per offer):

    no trunk or no media relay -> callback_dialled(503): the dial failed, nobody was rung
    ring the agent's devices (`AgentRinger`, no SDP: the phone's 2xx makes the offer)
      not answered          -> offer_result(busy/no_answer/...): the usual missed offer
      answered              -> the agent's offer through the relay, our ACK with the relay's answer,
                               the whisper played to the agent (`CallMedia.whisper`), then
    INVITE the customer over the trunk (From and P-Asserted-Identity: the caller ID), the relay's
    SDP, `DIAL_SECONDS` at most
      2xx                   -> ACK, a `Bridge` (customer on the caller side), callback_dialled(200),
                               offer_result(answered) as for any offer; the end is `contact_ended`
      refused, failed, timed out -> callback_dialled(status), BYE to the agent with a Reason

Audio is always through the relay: the whisper needs it, and the agent's ACK carries the relay's
answer before the customer is even dialled. The agent hanging up during the whisper refuses the
callback (offer_result(rejected): it waits at its place, no attempt spent); during the dial it
CANCELs the customer, and that dial is reported (487, no answer).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any, Union

from contact_center.services.routing.decisions import CallbackDial, Connect, OfferOutcome
from contact_center.services.routing.dialout import OutboundTrunk
from sip_edge.app.calls.addresses import CallAddresses
from sip_edge.app.calls.bridge import Bridge, Bridges, send_bye
from sip_edge.app.calls.clock import CallClock
from sip_edge.app.calls.events import AgentLegFailed, AgentResponded, CallEvent, RingTimedOut
from sip_edge.app.calls.live import LiveCalls
from sip_edge.app.calls.liveness import LegTerms, allows_update
from sip_edge.app.calls.media import CallMedia, MediaError, MediaPort
from sip_edge.app.calls.outbound_calls import trunk_leg
from sip_edge.app.calls.ports import ALLOW, CallSettings, RoutingError, RoutingPort, StaleBindings
from sip_edge.app.calls.ring import AgentRinger
from sip_edge.app.calls.tasks import CallTasks
from sip_edge.sip.building import generate_call_id, generate_tag
from sip_edge.sip.client_transaction import ClientTransaction
from sip_edge.sip.decisions import Reply
from sip_edge.sip.dialog import AGENT, CALLER, Leg, new_dialog_key
from sip_edge.sip.headers import Headers
from sip_edge.sip.message import Request, Response
from sip_edge.sip.session_timer import from_answer, offer_headers
from sip_edge.sip.stack import SipStack
from sip_edge.sip.transaction import ServerTransaction

__all__ = ["DIAL_SECONDS", "WHISPER", "CallbackRuns"]

log = logging.getLogger("sip_edge.callbacks")

WHISPER = "callback-whisper"  # the default prompt the agent hears (`media.prompts.TEXTS`)
DIAL_SECONDS = 45.0  # a customer's phone that rings this long is not answering
NO_ROUTE = 503  # the dial could not be made: no outbound trunk, no relay
SDP = "application/sdp"
REASON_AGENT_LEFT = 'SIP;cause=487;text="Agent hung up"'
REASON_NO_ANSWER = 'SIP;cause=480;text="No answer within the dial timeout"'


@dataclass(frozen=True, slots=True)
class AgentLeft:
    """The agent's phone hung up (BYE) before the customer was bridged."""


_DialEvent = Union[AgentResponded, AgentLegFailed, RingTimedOut, AgentLeft]  # noqa: UP007


class CallbackRuns:
    """Starts the run of each callback offer pushed to this task, at most one per contact at once."""

    def __init__(
        self,
        *,
        stack: SipStack,
        routing: RoutingPort,
        media: MediaPort,
        bridges: Bridges,
        live: LiveCalls[Any, Bridge],
        addresses: CallAddresses,
        clock: CallClock,
        settings: CallSettings,
        tasks: CallTasks,
        stale: StaleBindings | None = None,
    ) -> None:
        self.stack, self.routing, self.media = stack, routing, media
        self.bridges, self.live, self.addresses, self.clock = bridges, live, addresses, clock
        self.settings, self.stale = settings, stale
        self._tasks = tasks
        self.running: set[str] = set()

    def run(self, offer: Connect) -> bool:
        """Run ``offer``'s callback; False when it is none, or already running here."""
        if offer.callback is None or offer.contact_id in self.running:
            return False
        self.running.add(offer.contact_id)
        self._tasks.spawn(self._run(offer, offer.callback), name="callback-run")
        return True

    async def _run(self, offer: Connect, dial: CallbackDial) -> None:
        try:
            await _Run(self, offer, dial).run()
        except Exception:
            log.exception("the callback of %s failed", offer.contact_id)
        finally:
            self.running.discard(offer.contact_id)


class _Run:
    """One offer of one callback, from the agent's ring to the bridge or the failed dial."""

    def __init__(self, runs: CallbackRuns, offer: Connect, dial: CallbackDial) -> None:
        self.runs = runs
        self.offer = offer
        self.dial = dial
        self.key = new_dialog_key()
        self.contact_id = offer.contact_id
        self._events: asyncio.Queue[CallEvent] = asyncio.Queue()
        self._dialling: asyncio.Queue[_DialEvent] = asyncio.Queue()
        self._left = asyncio.Event()
        self.media: CallMedia = runs.media.for_call(generate_call_id(), generate_tag(), generate_tag(), "")

    async def run(self) -> None:
        runs, offer, live = self.runs, self.offer, self.runs.live
        # Held from the offer on: this task's own lost-contact check must not take the callback back.
        live.originated_started(self)
        agent_call_id: str | None = None
        bridged = False
        try:
            if self.dial.trunk_id is None or not self.dial.address or not self.media.anchored:
                log.warning(
                    "callback %s cannot be dialled here: no outbound trunk or no relay", self.contact_id
                )
                await self.report(NO_ROUTE, runs.clock.now_ms())
                return
            rung = await self._ringer().ring(offer)
            if rung.outcome is not OfferOutcome.ANSWERED or rung.answer is None:
                await self._missed(rung.outcome or OfferOutcome.NO_ANSWER)
                return
            assert rung.leg is not None and rung.transaction is not None
            agent_call_id = rung.leg.call_id
            live.originated_started(self, agent_call_id, AGENT)  # the agent's BYE finds this run
            live.counters.call_started()
            try:
                bridged = await self._answered(rung.leg, rung.transaction, rung.answer)
            finally:
                if not bridged:
                    live.counters.call_ended()
        finally:
            live.originated_ended(self, agent_call_id)
            if not bridged:  # a bridge releases the media it was handed at its end
                await self.media.release()

    def _ringer(self) -> AgentRinger:
        """Rings the agent as an offer does, the customer's number as the caller."""
        runs, number = self.runs, self.dial.number
        host = runs.stack.transport_for("UDP").sent_by[0]
        shown = Request(
            "INVITE",
            f"sip:{number}@{host}",
            headers=Headers([("From", f'"Callback" <sip:{number}@{host}>'), ("Max-Forwards", "70")]),
        )
        settings = runs.settings
        return AgentRinger(
            shown,
            self.key,
            self.contact_id,
            self._events,
            stack=runs.stack,
            addresses=runs.addresses,
            clock=runs.clock,
            cancel_grace_seconds=settings.cancel_grace_seconds,
            cancelled=lambda: False,
            provisional=lambda status, body, content_type: None,
            stale=runs.stale,
            extra_headers=offer_headers(settings.session_interval, settings.session_min_se),
        )

    async def _answered(self, agent: Leg, tx: ClientTransaction, answer: Response) -> bool:
        """The agent answered: ACK, whisper, dial. True once the customer is bridged."""
        try:
            toward_customer = await self.media.offer(answer.body)
            toward_agent = await self.media.hold()
        except MediaError as exc:
            log.error("callback %s lost its relay: %s", self.contact_id, exc)
            self._ack(agent, tx, b"")
            send_bye(self.runs.stack, agent, f'SIP;cause={NO_ROUTE};text="No media relay"')
            await self.report(NO_ROUTE, self.runs.clock.now_ms())
            return False
        self._ack(agent, tx, toward_agent)
        if not await self._whispered():
            await self._missed(OfferOutcome.REJECTED)
            return False
        return await _CustomerDial(self, agent, answer, toward_customer, toward_agent).run()

    def _ack(self, agent: Leg, tx: ClientTransaction, sdp: bytes) -> None:
        """The agent's 2xx acknowledged with the relay's answer, and again on each retransmission."""
        ack = agent.request(
            "ACK", cseq=tx.request.cseq[0], body=sdp, headers=[("Content-Type", SDP)] if sdp else []
        )
        stack = self.runs.stack
        stack.send_stateless(ack, agent.destination_of())

        def again(_tx: ClientTransaction, response: Response) -> None:
            if 200 <= response.status < 300:
                stack.send_stateless(ack, agent.destination_of())

        tx.on_response = again

    async def _whispered(self) -> bool:
        """The whisper played to the agent; False when the agent hung up meanwhile."""
        whisper = asyncio.ensure_future(self.media.whisper(WHISPER))
        left = asyncio.ensure_future(self._left.wait())
        await asyncio.wait({whisper, left}, return_when=asyncio.FIRST_COMPLETED)
        left.cancel()
        if not whisper.done():
            whisper.cancel()
        elif whisper.exception() is not None:
            log.warning("no whisper for callback %s: %s", self.contact_id, whisper.exception())
        return not self._left.is_set()

    def on_request(self, transaction: ServerTransaction, request: Request, side: str) -> Reply:
        """A request on the agent's dialog (or the customer's early one) before the bridge."""
        if request.method == "BYE" and side == AGENT:
            self._left.set()
            self._dialling.put_nowait(AgentLeft())
            return Reply(200)
        return Reply(500, "Not while connecting", headers=(("Retry-After", "1"),))

    @property
    def left(self) -> bool:
        return self._left.is_set()

    @property
    def dialling(self) -> asyncio.Queue[_DialEvent]:
        return self._dialling

    async def _missed(self, outcome: OfferOutcome) -> None:
        try:
            await self.runs.routing.offer_result(self.contact_id, self.offer.seat_id, outcome)
        except RoutingError as exc:
            log.error("offer_result for callback %s failed: %s", self.contact_id, exc)

    async def report(self, status: int | None, started_at_ms: int) -> None:
        try:
            await self.runs.routing.callback_dialled(
                self.contact_id, self.offer.seat_id, status, started_at_ms
            )
        except RoutingError as exc:
            log.error("callback_dialled for %s failed: %s", self.contact_id, exc)


class _CustomerDial:
    """The customer's INVITE over the merchant's trunk, until answered (bridged) or given up."""

    def __init__(
        self, run: _Run, agent: Leg, agent_answer: Response, offer: bytes, toward_agent: bytes
    ) -> None:
        self._run = run
        self._runs = run.runs
        self._agent = agent
        self._agent_answer = agent_answer
        self._offer = offer
        self._toward_agent = toward_agent
        dial = run.dial
        assert dial.trunk_id is not None and dial.address is not None
        self._trunk = OutboundTrunk(
            dial.trunk_id, dial.address, dial.transport, dial.caller_id or "anonymous"
        )
        self.leg = trunk_leg(self._runs.stack, self._runs.addresses, run.key, self._trunk, dial.number)

    def _invite(self) -> Request:
        our_host = self.leg.local.split("@", 1)[1].split(">", 1)[0]
        settings = self._runs.settings
        headers = [
            ("Max-Forwards", "70"),
            ("Allow", ALLOW),
            ("P-Asserted-Identity", f"<sip:{self._trunk.caller_id}@{our_host}>"),
            ("X-Switchboard-Contact-Id", self._run.contact_id),
            ("Content-Type", SDP),
            *offer_headers(settings.session_interval, settings.session_min_se),
        ]
        return self.leg.request("INVITE", body=self._offer, headers=headers)

    async def run(self) -> bool:
        runs, run, events = self._runs, self._run, self._run.dialling
        started_at_ms = runs.clock.now_ms()
        tx = runs.stack.send_request(
            self._invite(),
            self.leg.destination_of(),
            on_response=lambda t, r: events.put_nowait(AgentResponded(t, r)),
            on_error=lambda t, e: events.put_nowait(AgentLegFailed(t, e)),
        )
        timer = runs.clock.call_later(DIAL_SECONDS, lambda: events.put_nowait(RingTimedOut(self)))
        cancelled = False
        try:
            while True:
                event = await events.get()
                if isinstance(event, AgentLeft | RingTimedOut) and not cancelled:
                    cancelled = True
                    reason = REASON_AGENT_LEFT if isinstance(event, AgentLeft) else REASON_NO_ANSWER
                    runs.stack.cancel(tx, headers=(("Reason", reason),))
                elif isinstance(event, AgentLegFailed) and event.leg is tx:
                    return await self._failed(None, started_at_ms)
                elif isinstance(event, AgentResponded) and event.leg is tx and event.response.status >= 200:
                    response = event.response
                    if response.status >= 300:
                        return await self._failed(response.status, started_at_ms)
                    if run.left:  # answered as the agent hung up: take the call and end it
                        self._confirm(response)
                        runs.stack.send_stateless(
                            self.leg.request("ACK", cseq=tx.request.cseq[0]), self.leg.destination_of()
                        )
                        send_bye(runs.stack, self.leg, REASON_AGENT_LEFT)
                        return await self._failed(487, started_at_ms)
                    assert isinstance(tx, ClientTransaction)
                    await self._bridge(tx, response, started_at_ms)
                    return True
        finally:
            timer.cancel()

    def _confirm(self, response: Response) -> None:
        self.leg.remote = str(response.headers.get("To"))
        self.leg.learn_target(response)
        self.leg.route_set = list(reversed(response.headers.get_all("Record-Route")))

    async def _failed(self, status: int | None, started_at_ms: int) -> bool:
        run = self._run
        log.info("callback %s: the customer's dial ended %s", run.contact_id, status)
        await run.report(status, started_at_ms)
        if not run.left:
            cause = status or 480
            send_bye(self._runs.stack, self._agent, f'SIP;cause={cause};text="Customer not reached"')
        return False

    async def _bridge(self, tx: ClientTransaction, answer: Response, started_at_ms: int) -> None:
        runs, run = self._runs, self._run
        self._confirm(answer)
        try:
            await run.media.answer(answer.body)
        except MediaError as exc:
            # Both have answered: the call goes on; the relays' watch ends it if the relay is gone.
            log.error("anchoring the customer's answer of %s failed: %s", run.contact_id, exc)
        agent = self._agent_answer
        bridge = runs.bridges.open(
            run.key,
            run.contact_id,
            self.leg,
            self._agent,
            seat_id=run.offer.seat_id,
            merchant_id=run.offer.merchant_id,
            terms={
                CALLER: LegTerms(from_answer(answer), allows_update(answer), self._offer, SDP),
                AGENT: LegTerms(from_answer(agent), allows_update(agent), self._toward_agent, SDP),
            },
            media=run.media,
        )
        bridge.expect_ack(tx, relay_from=None)
        runs.live.bridge_started(bridge)
        await run.report(answer.status, started_at_ms)
        await bridge.answered(run.offer)
        if run.offer.recording_key is not None:
            with contextlib.suppress(MediaError):
                await run.media.record(run.offer.recording_key)

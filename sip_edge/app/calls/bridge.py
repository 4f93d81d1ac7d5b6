"""An answered call: two confirmed dialogs, and every in-dialog request relayed from one to the other.

The bridge answers a request on one leg by sending the same request as a new transaction on the
other leg and relaying the final response back (RFC 7092's signalling-only B2BUA):

- BYE: answered 200 at once (the sender is leaving whatever happens), BYE on the other leg with
  a Reason (RFC 3326: the sender's own, else normal clearing), then ``contact_ended`` with the
  side that hung up, which also deletes the stored dialog.
- re-INVITE: relayed; its 2xx is acknowledged on the far leg by us — at once when the re-INVITE
  carried the offer, else when the requester's ACK brings the answer. UPDATE, INFO and other
  non-INVITE requests: relayed, final response relayed back.
- ACK: only consumed (each leg's 2xx is acknowledged independently), or relayed with its body
  when it completes a late-offer exchange.
- REFER from the agent's phone: a transfer (`transfers`); the agent leg it replaces is then
  "departed": its BYE is answered 200 without ending the call.

Each leg proves now and then that its far end is still there (`liveness`: its RFC 4028 session
timer, else in-dialog OPTIONS); when one is gone the bridge BYEs both legs and reports a network
failure. Session timers are per leg: ``Session-Expires`` is never relayed across, and a bodiless
UPDATE (a session refresh) is answered on its own leg.

A bridge rebuilt from the table by another edge task (`Bridges.restore`) behaves the same: its CSeqs
jump ahead (see `sip_edge.sip.dialog.RECOVERY_CSEQ_STEP`), its Contact (the fleet's public host
in a fleet) stays valid, and it probes both legs (its session terms were not stored).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from contact_center.domain.contact import HangupCause, HangupSide
from contact_center.services.routing.decisions import Acknowledged, Connect, OfferOutcome
from sip_edge.app.calls.anchoring import reanchored
from sip_edge.app.calls.clock import CallClock
from sip_edge.app.calls.dialogs import DialogBook, StoredCall, stored_keys
from sip_edge.app.calls.end_report import report_end
from sip_edge.app.calls.live import LiveCalls
from sip_edge.app.calls.liveness import LegGuards, LegTerms
from sip_edge.app.calls.media import CallMedia, Unanchored
from sip_edge.app.calls.ports import ALLOW, CallSettings, RoutingError, RoutingPort
from sip_edge.app.calls.tasks import CallTasks
from sip_edge.sip.client_transaction import ClientTransaction
from sip_edge.sip.decisions import Reply
from sip_edge.sip.dialog import AGENT, CALLER, Leg
from sip_edge.sip.message import Request, Response
from sip_edge.sip.session_timer import timer_headers
from sip_edge.sip.stack import SipStack
from sip_edge.sip.transaction import ServerTransaction, TransactionError

__all__ = ["Bridge", "Bridges", "Referrals", "schedule_wrap_up", "send_bye"]

log = logging.getLogger("sip_edge.bridge")

REASON_NORMAL = 'Q.850;cause=16;text="Normal call clearing"'
REASON_SYSTEM = 'Q.850;cause=41;text="Temporary failure"'
# Headers that travel with a relayed request or response besides the body.
# Session timers are negotiated per leg (`liveness`), never relayed across (RFC 4028 §4 for B2BUAs);
# credentials travel so a challenge from one side can be answered from the other.
_RELAYED = (
    "Content-Type",
    "Content-Disposition",
    "Info-Package",
    "Event",
    "Require",
    "Authorization",
    "Proxy-Authorization",
)
# ... and with a relayed final response: a challenge must reach the side that can answer it.
_RELAYED_BACK = ("Content-Type", "WWW-Authenticate", "Proxy-Authenticate", "Retry-After")
_HANGUP_SIDE = {CALLER: HangupSide.CUSTOMER, AGENT: HangupSide.AGENT}


def _other(side: str) -> str:
    return AGENT if side == CALLER else CALLER


def _copy(message: Request | Response, names: tuple[str, ...] = _RELAYED) -> list[tuple[str, str]]:
    copied = []
    for name in names:
        for value in message.headers.get_lines(name):
            if name == "Require":
                value = ", ".join(t.strip() for t in value.split(",") if t.strip().lower() != "timer")
            if value:
                copied.append((name, value))
    return copied


class Referrals(Protocol):
    """Who carries out a REFER from the agent's phone (`transfers.CallTransfers`)."""

    async def refer(
        self, bridge: Bridge, transaction: ServerTransaction, request: Request
    ) -> Reply | None: ...


class Bridge:
    def __init__(
        self,
        key: str,
        contact_id: str,
        caller: Leg,
        agent: Leg,
        *,
        stack: SipStack,
        routing: RoutingPort,
        dialogs: DialogBook,
        live: LiveCalls[Any, Bridge],
        tasks: CallTasks,
        task_id: str,
        clock: CallClock,
        settings: CallSettings,
        seat_id: str | None = None,
        merchant_id: str | None = None,
        terms: Mapping[str, LegTerms] | None = None,
        media: CallMedia | None = None,
        referrals: Referrals | None = None,
    ) -> None:
        self._stack = stack
        self._referrals = referrals
        self._departed: set[str] = set()  # Call-IDs of agent legs a transfer took the caller from
        self.on_end: list[Callable[[], None]] = []  # told when the call ends
        self._router = routing
        self._dialogs = dialogs
        self._live = live
        self._tasks = tasks
        self._task_id = task_id
        self.key = key
        self.contact_id = contact_id
        self.legs = {CALLER: caller, AGENT: agent}
        self.seat_id = seat_id
        self.merchant_id = merchant_id
        self.ended = False
        # contact_ended must not overtake offer_result(answered): the record would miss the answer.
        self._routing = asyncio.Lock()
        # side -> (far leg, its INVITE transaction): the 2xx on the far leg we ACK when `side` ACKs.
        self._pending_ack: dict[str, tuple[Leg, ClientTransaction]] = {}
        # The ACK sent for a client INVITE transaction, re-sent on each 2xx retransmission.
        self._acks: dict[ClientTransaction, Request] = {}
        self._clock, self._settings = clock, settings
        self._guards = self._guard(terms or {})
        # The call's media on the relay (a bridge read from the table does not know it: unanchored).
        # A dead relay leaves both ends in silence for good: end the call cleanly instead.
        self.media = media or Unanchored()
        self.media.lost = lambda: self._leg_gone("relay")

    def _guard(self, terms: Mapping[str, LegTerms]) -> LegGuards:
        """Each leg proves its far end is still there (session timer, else in-dialog OPTIONS)."""
        guards = LegGuards(
            self.legs,
            terms,
            stack=self._stack,
            clock=self._clock,
            tasks=self._tasks,
            probe_interval=self._settings.probe_interval_seconds,
            min_se=self._settings.session_min_se,
            ended=self._leg_gone,
        )
        guards.start()
        return guards

    def stored(self) -> StoredCall:
        return StoredCall(
            self.key,
            self.contact_id,
            self.legs[CALLER],
            self.legs[AGENT],
            seat_id=self.seat_id,
            merchant_id=self.merchant_id,
            owner=self._task_id,
        )

    # --- liveness ---------------------------------------------------------------------------------

    def _leg_gone(self, side: str) -> None:
        self._tasks.spawn(self.hang_up(HangupSide.SYSTEM, HangupCause.NETWORK_FAILURE), name="leg-gone")

    def _refreshed(self, side: str, request: Request) -> None:
        """A re-INVITE or UPDATE from ``side`` went through end to end: both legs' sessions start
        again, the requester's on the terms it asked for."""
        self._guards.refreshed(side, request)
        self._guards.refreshed(_other(side))

    def _timer_headers(self, side: str, we_are_uac: bool) -> list[tuple[str, str]]:
        return timer_headers(self._guards.session(side), we_are_uac=we_are_uac)

    # --- 2xx acknowledgement ----------------------------------------------------------------------

    def expect_ack(
        self,
        tx: ClientTransaction,
        relay_from: str | None,
        body: bytes = b"",
        content_type: str | None = None,
    ) -> None:
        """Acknowledge the 2xx of `tx` (an INVITE we sent on the far leg) now (with ``body``: the
        answer to an offer in that 2xx), or when `relay_from` sends its ACK (late offer: that ACK
        carries the SDP answer)."""
        far = (
            self.legs[AGENT]
            if tx.request.headers.get("Call-ID") == self.legs[AGENT].call_id
            else self.legs[CALLER]
        )
        tx.on_response = self._on_2xx_again
        if relay_from is None:
            self._send_ack(far, tx, body, content_type)
        else:
            self._pending_ack[relay_from] = (far, tx)

    def _send_ack(self, far: Leg, tx: ClientTransaction, body: bytes, content_type: str | None) -> None:
        headers = [("Content-Type", content_type)] if body and content_type else []
        ack = far.request("ACK", cseq=tx.request.cseq[0], body=body, headers=headers)
        self._acks[tx] = ack
        self._stack.send_stateless(ack, far.destination_of())

    def _on_2xx_again(self, tx: ClientTransaction, response: Response) -> None:
        # §13.2.2.4: every retransmission of the 2xx gets the same ACK again.
        ack = self._acks.get(tx)
        if ack is not None and 200 <= response.status < 300:
            far = self.legs[AGENT] if response.call_id == self.legs[AGENT].call_id else self.legs[CALLER]
            self._stack.send_stateless(ack, far.destination_of())

    def on_ack(self, request: Request, side: str) -> None:
        pending = self._pending_ack.pop(side, None)
        if pending is not None:
            far, tx = pending
            self._send_ack(far, tx, request.body, request.content_type)

    # --- set-up completion ------------------------------------------------------------------------

    async def answered(self, connect: Connect) -> None:
        """Report the answer; store the dialog; end the call if the contact is gone meanwhile."""
        async with self._routing:
            try:
                result = await self._router.offer_result(
                    self.contact_id,
                    connect.seat_id,
                    OfferOutcome.ANSWERED,
                    self._dialogs.for_router(self.stored()),
                )
            except RoutingError as exc:
                log.error("offer_result(answered) for %s failed: %s", self.contact_id, exc)
                result = None
        connected = isinstance(result, Acknowledged) and result.state == "connected"
        if not connected and not self.ended:
            log.warning(
                "contact %s is not connected after the answer (%r): ending it", self.contact_id, result
            )
            await self.hang_up(HangupSide.SYSTEM, HangupCause.SYSTEM_ERROR)

    # --- requests on either leg -------------------------------------------------------------------

    async def on_request(self, transaction: ServerTransaction, request: Request, side: str) -> Reply | None:
        if side == AGENT and request.call_id in self._departed:  # its BYE no longer ends the call
            return Reply(200) if request.method == "BYE" else Reply(481)
        leg = self.legs[side]
        method = request.method
        cseq = request.cseq[0]
        if cseq > leg.remote_cseq:
            leg.remote_cseq = cseq
        if self.ended:
            return Reply(481)
        hops = request.max_forwards
        if hops is not None and hops <= 0:
            return Reply(483)
        if method == "BYE":
            transaction.reply(200)
            await self._bye(request, side)
            return None
        if method == "INVITE":
            return await self._relay_invite(request, side)
        if method == "PRACK":
            return Reply(200)  # a late PRACK for a provisional of the set-up: nothing left to do
        if method in ("UPDATE", "INFO", "MESSAGE", "NOTIFY", "OPTIONS"):
            return await self._relay(request, side)
        if method == "REFER" and side == AGENT and self._referrals is not None:
            return await self._referrals.refer(self, transaction, request)
        return Reply(501, headers=(("Allow", ALLOW),))

    def detach_agent(self) -> Leg:
        """The agent leg leaves (a transfer); no leg is probed until `join_agent`."""
        agent = self.legs[AGENT]
        self._departed.add(agent.call_id)
        self._guards.stop()
        self._pending_ack.pop(CALLER, None)
        return agent

    def join_agent(self, agent: Leg, seat_id: str) -> None:
        """The caller's new agent leg, answered; `answered` then stores the dialog anew."""
        self._guards.stop()
        self.legs[AGENT] = agent
        self.seat_id = seat_id
        self._live.bridge_started(self)
        self._guards = self._guard({})

    def _relayed_headers(self, request: Request) -> list[tuple[str, str]]:
        hops = request.max_forwards
        return [("Max-Forwards", str((70 if hops is None else hops) - 1)), *_copy(request)]

    async def _relay_invite(self, request: Request, side: str) -> Reply:
        leg, far = self.legs[side], self.legs[_other(side)]
        leg.learn_target(request)
        relayed = [*self._relayed_headers(request), *self._timer_headers(far.side, we_are_uac=True)]
        offer = await reanchored(self.media, request.body, side == CALLER, is_offer=True)
        out = far.request("INVITE", body=offer, headers=relayed)
        tx = self._stack.send_request(out, far.destination_of())
        try:
            final = await tx.final_response()
        except TransactionError as exc:
            log.info("re-INVITE on the %s leg of %s failed: %s", far.side, self.contact_id, exc)
            return Reply(500, "Far end did not answer", headers=(("Retry-After", "1"),))
        headers = _copy(final, _RELAYED_BACK)
        body = final.body
        if 200 <= final.status < 300:
            body = await reanchored(self.media, final.body, side == CALLER, is_offer=False)
            far.learn_target(final)
            assert isinstance(tx, ClientTransaction)
            self.expect_ack(tx, relay_from=None if request.body else side)
            self._guards.sent(far.side, offer, request.content_type)
            self._guards.sent(side, body, final.content_type)
            self._refreshed(side, request)
            headers.append(("Contact", f"<{leg.contact}>"))
            headers.extend(self._timer_headers(side, we_are_uac=False))
            self._tasks.spawn(self._dialogs.save(self.stored()), name="store-dialog")
        return Reply(final.status, final.reason, headers=tuple(headers), body=body)

    async def _relay(self, request: Request, side: str) -> Reply:
        leg, far = self.legs[side], self.legs[_other(side)]
        method = request.method
        relayed = self._relayed_headers(request)
        if method == "UPDATE":
            leg.learn_target(request)
            if not request.body:
                # A session refresh (RFC 4028 §7.4 recommends a bodiless UPDATE): each leg keeps
                # its own timer, so it is answered here rather than asked of a far end that may
                # not even allow UPDATE.
                self._guards.refreshed(side, request)
                return Reply(
                    200,
                    headers=(("Contact", f"<{leg.contact}>"), *self._timer_headers(side, we_are_uac=False)),
                )
            relayed.extend(self._timer_headers(far.side, we_are_uac=True))
        out = far.request(method, body=request.body, headers=relayed)
        tx = self._stack.send_request(out, far.destination_of())
        try:
            final = await tx.final_response()
        except TransactionError as exc:
            log.info("%s on the %s leg of %s failed: %s", method, far.side, self.contact_id, exc)
            return Reply(500, "Far end did not answer", headers=(("Retry-After", "1"),))
        headers = _copy(final, _RELAYED_BACK)
        if method == "UPDATE" and 200 <= final.status < 300:
            far.learn_target(final)
            headers.append(("Contact", f"<{leg.contact}>"))
            self._refreshed(side, request)
            headers.extend(self._timer_headers(side, we_are_uac=False))
        return Reply(final.status, final.reason, headers=tuple(headers), body=final.body)

    # --- teardown ---------------------------------------------------------------------------------

    async def _bye(self, request: Request, side: str) -> None:
        self.ended = True
        far = self.legs[_other(side)]
        reason = request.headers.get("Reason") or REASON_NORMAL
        send_bye(self._stack, far, reason, self._relayed_headers(request)[:1])
        await self._finish(_HANGUP_SIDE[side], HangupCause.NORMAL_CLEARING)

    async def hang_up(self, side: HangupSide, cause: HangupCause) -> None:
        """End both legs from here (no ACK from the caller, the contact gone, shutdown)."""
        if self.ended:
            return
        self.ended = True
        for leg in self.legs.values():
            send_bye(self._stack, leg, REASON_SYSTEM)
        await self._finish(side, cause)

    async def _finish(self, side: HangupSide, cause: HangupCause) -> None:
        self._guards.stop()
        for ended in self.on_end:
            ended()
        self._live.bridge_ended(self)
        await self.media.release()
        self._pending_ack.clear()
        caller_call_id = self.legs[CALLER].call_id
        keys = stored_keys(self.key, caller_call_id)

        async def settle(result: Acknowledged | None) -> None:
            if result is None:  # the end's transaction did not run; the dialog must not outlive the call
                await self._dialogs.delete(self.key, caller_call_id)
            else:
                schedule_wrap_up(self._router, self._tasks, result)

        async with self._routing:  # a failed end is reported again until it lands (``end_report``)
            report = functools.partial(self._router.contact_ended, self.contact_id, side, cause, keys)
            await report_end(report, self.contact_id, self._tasks, settle)


def send_bye(stack: SipStack, leg: Leg, reason: str, extra: list[tuple[str, str]] | None = None) -> None:
    bye = leg.request("BYE", headers=[*(extra or []), ("Reason", reason)])
    try:
        stack.send_request(bye, leg.destination_of())
    except Exception as exc:
        log.warning("BYE on the %s leg of %s not sent: %s", leg.side, leg.call_id, exc)


def schedule_wrap_up(router: RoutingPort, tasks: CallTasks, released: Acknowledged) -> None:
    """End the wrap-up of the agent ``released`` let go at its deadline (the router's sweep is
    the safety net)."""
    contact_id, merchant_id, seat_id = released.contact_id, released.merchant_id, released.seat_id
    deadline_ms = released.wrap_up_deadline_ms
    if merchant_id is None or seat_id is None or deadline_ms is None:
        return

    async def finish() -> None:
        try:
            await router.finish_wrap_up(merchant_id, seat_id, contact_id)
        except Exception as exc:
            log.warning("finish_wrap_up for seat %s failed: %s", seat_id, exc)

    tasks.spawn_at_ms(deadline_ms, finish, name="finish-wrap-up")


class Bridges:
    """Makes the bridges of this edge task: of a call answered here, or of one read from the table."""

    def __init__(
        self,
        stack: SipStack,
        routing: RoutingPort,
        dialogs: DialogBook,
        live: LiveCalls[Any, Bridge],
        tasks: CallTasks,
        task_id: str,
        clock: CallClock,
        settings: CallSettings,
        referrals: Referrals | None = None,
    ) -> None:
        self._stack = stack
        self._routing = routing
        self._dialogs = dialogs
        self._live = live
        self._tasks = tasks
        self._task_id = task_id
        self._clock = clock
        self._settings = settings
        self.referrals = referrals

    def open(
        self,
        key: str,
        contact_id: str,
        caller: Leg,
        agent: Leg,
        *,
        seat_id: str | None = None,
        merchant_id: str | None = None,
        terms: Mapping[str, LegTerms] | None = None,
        media: CallMedia | None = None,
        kind: type[Bridge] = Bridge,
    ) -> Bridge:
        """``terms``: what each leg agreed on at set-up; without them (a dialog read from the table)
        both legs are probed. ``kind``: a Bridge with its own ending (a consult)."""
        return kind(
            key,
            contact_id,
            caller,
            agent,
            stack=self._stack,
            routing=self._routing,
            dialogs=self._dialogs,
            live=self._live,
            tasks=self._tasks,
            task_id=self._task_id,
            clock=self._clock,
            settings=self._settings,
            seat_id=seat_id,
            merchant_id=merchant_id,
            terms=terms,
            media=media,
            referrals=self.referrals,
        )

    def restore(self, stored: StoredCall) -> Bridge:
        return self.open(
            stored.key,
            stored.contact_id,
            stored.caller,
            stored.agent,
            seat_id=stored.seat_id,
            merchant_id=stored.merchant_id,
        )

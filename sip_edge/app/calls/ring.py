"""Ringing a seat for one offer: every registered device in parallel, the first answer wins.

`Connect.targets` names every device of the seat; each gets its own agent leg (an INVITE through
the task holding its flow, `sip_edge.app.fleet.routes`), as a forking proxy would (RFC 3261
§16.7, the behaviour of Kamailio's and OpenSIPS's parallel forking):

- the first 2xx wins; the other branches are CANCELled with ``Reason: SIP;cause=200;text="Call
  completed elsewhere"`` (RFC 3326), and a 2xx that still arrives on one of them is acknowledged
  and ended with a BYE (`LateBranches`);
- a 6xx from any device ends the fork at once (it speaks for every device of the seat);
- each provisional status is passed to the caller once, whichever device sent it first;
- the ring timeout CANCELs every branch still ringing.

The caller sees nothing of a device that does not answer. A device that never answered anything
(its transaction timed out, failed to send, or stayed silent until we gave up on it) holds a stale
binding, typically a softphone restarted on a new port: it is pruned (`StaleBindings`) so the next
call does not ring it. What the ring ends with is an `OfferOutcome` for the router (RONA rules
live there; UNREACHABLE only when no device answered anything), the answer, or nothing when the
caller abandoned meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from contact_center.services.routing.decisions import Connect, OfferOutcome
from contact_center.services.routing.ports import AgentTarget
from sip_edge.app.calls.addresses import CallAddresses
from sip_edge.app.calls.branches import REASON_ELSEWHERE, Branch, LateBranches
from sip_edge.app.calls.clock import CallClock
from sip_edge.app.calls.events import (
    AgentLegFailed,
    AgentResponded,
    CallerCancelled,
    CallEvent,
    CancelGraceOver,
    RingTimedOut,
)
from sip_edge.app.calls.ports import ALLOW, StaleBindings
from sip_edge.app.fleet.routes import AgentRoute, agent_route
from sip_edge.sip.building import generate_call_id, generate_tag
from sip_edge.sip.client_transaction import ClientTransaction
from sip_edge.sip.dialog import AGENT, Leg
from sip_edge.sip.headers import Headers
from sip_edge.sip.hostport import format_hostport
from sip_edge.sip.message import Request, Response
from sip_edge.sip.stack import SipStack
from sip_edge.sip.timers import TimerHandle
from sip_edge.sip.transaction import Transaction

__all__ = ["AgentRinger", "Authorize", "Rung", "fork_outcome", "outcome_for_status"]

log = logging.getLogger("sip_edge.calls")

# RFC 3326 Reason values on the requests we originate.
REASON_CALLER_CANCELLED = 'SIP;cause=487;text="Caller cancelled"'
REASON_RING_TIMEOUT = 'SIP;cause=480;text="No answer within the ring timeout"'
REASON_DECLINED = 'SIP;cause=603;text="Declined on another device"'

# A 401/407 to a leg's INVITE and that INVITE -> the header answering it, or None (not answered).
Authorize = Callable[[Response, Request], tuple[str, str] | None]
# Headers of a challenged INVITE that its retry gets afresh (§8.1.3.5: new transaction, CSeq + 1).
_NOT_RESENT = frozenset({"via", "cseq", "content-length", "authorization", "proxy-authorization"})


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


def fork_outcome(finals: Sequence[int | None]) -> OfferOutcome:
    """The offer's outcome when every device refused or failed: ``finals`` holds each device's final
    status, None for one that never answered. A busy device makes the seat busy, a refusal makes it
    rejected; only when no device could take the call is it unreachable."""
    outcomes = {outcome_for_status(status) for status in finals if status is not None}
    for outcome in (OfferOutcome.BUSY, OfferOutcome.REJECTED):
        if outcome in outcomes:
            return outcome
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


@dataclass(frozen=True, slots=True)
class _Call:
    """What every ring of one call shares: its event queue, the stack, the caller's side."""

    contact_id: str
    events: asyncio.Queue[CallEvent]
    stack: SipStack
    clock: CallClock
    cancel_grace: float
    cancelled: Callable[[], bool]
    provisional: Callable[[int, bytes, str | None], None]
    late: LateBranches


class AgentRinger:
    """Rings seats for one caller's INVITE, one offer at a time, reading the call's event queue."""

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
        stale: StaleBindings | None = None,
        extra_headers: Sequence[tuple[str, str]] = (),
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
        self._extra_headers = tuple(extra_headers)
        # The SDP offered to agents: the caller's, or the media relay's in its place (`CallMedia`),
        # asked for before the first ring.
        self.offer: Callable[[], Awaitable[bytes]] | None = None
        self.offer_sdp = request.body
        self._late = LateBranches(stack, clock, cancel_grace_seconds, stale, contact_id)
        self._call = _Call(
            contact_id, events, stack, clock, cancel_grace_seconds, cancelled, provisional, self._late
        )

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
            *self._extra_headers,
        ]
        content_type = self._request.content_type
        if self.offer_sdp and content_type:
            headers.append(("Content-Type", content_type))
        # The edge never touches media itself: the SDP is the caller's byte for byte, or the relay's.
        invite = leg.request("INVITE", body=self.offer_sdp, headers=headers)
        return leg, invite

    async def _start(self, connect: Connect, target: AgentTarget) -> Branch:
        owner = await self._addresses.owner_address(target.flow_owner)
        route = agent_route(target, self._addresses.task_id, owner)
        leg, invite = self._agent_leg(connect, route, target.contact_uri)
        branch = Branch(connect.aor, target, route, leg)
        events = self._events
        try:
            branch.tx = self._stack.send_request(
                invite,
                route.destination,
                on_response=lambda t, r: events.put_nowait(AgentResponded(t, r)),
                on_error=lambda t, e: events.put_nowait(AgentLegFailed(t, e)),
            )
        except Exception as exc:
            log.warning("cannot send an agent leg of %s to %s: %s", self._contact_id, target.contact_uri, exc)
            branch.failed = True
        return branch

    async def ring(self, connect: Connect, authorize: Authorize | None = None) -> Rung:
        """Ring every device of the seat until one answers, all refuse, the ring times out, or the
        caller abandons. ``authorize`` answers a 401/407 once per branch (a trunk's challenge)."""
        if self._cancelled():
            return _ABANDONED
        if not connect.targets:
            return Rung(OfferOutcome.UNREACHABLE)
        if self.offer is not None:
            self.offer_sdp = await self.offer()
        branches = [await self._start(connect, target) for target in connect.targets]
        by_tx: dict[Transaction, Branch] = {b.tx: b for b in branches if b.tx is not None}
        if not by_tx:
            self._late.prune(branches)
            return Rung(OfferOutcome.UNREACHABLE)
        fork = _Fork(self._call, connect, branches, authorize)
        try:
            return await fork.run(by_tx)
        finally:
            fork.close()
            self._late.adopt([branch for branch in branches if branch.pending])
            self._late.prune(branches)


class _Fork:
    """One ring of one seat: the driver's loop over the call's events while the branches ring."""

    def __init__(
        self, call: _Call, connect: Connect, branches: list[Branch], authorize: Authorize | None = None
    ) -> None:
        self._call = call
        self._branches = branches
        self._authorize = authorize
        self._by_tx: dict[Transaction, Branch] = {}
        self._challenged: set[int] = set()  # id() of the branches whose challenge was answered
        self._stopped_by: str | None = None  # "timeout" | "cancel"
        self._forwarded: set[int] = set()
        clock, events, token = call.clock, call.events, self
        self._ring_timer: TimerHandle = clock.call_later(
            connect.ring_timeout_seconds, lambda: events.put_nowait(RingTimedOut(token))
        )
        self._give_up: TimerHandle | None = None

    def close(self) -> None:
        self._ring_timer.cancel()
        if self._give_up is not None:
            self._give_up.cancel()

    def _cancel_pending(self, reason: str, but: Branch | None = None) -> None:
        stack = self._call.stack
        for branch in self._branches:
            if branch is not but and branch.pending and not branch.cancelled:
                branch.cancelled = True
                assert branch.tx is not None
                stack.cancel(branch.tx, headers=(("Reason", reason),))

    def _stop(self, why: str, reason: str) -> None:
        self._stopped_by = why
        self._ring_timer.cancel()
        self._cancel_pending(reason)
        call, token = self._call, self
        self._give_up = call.clock.call_later(
            call.cancel_grace, lambda: call.events.put_nowait(CancelGraceOver(token))
        )

    def _give_up_pending(self) -> None:
        """The grace after our CANCELs is over: a device still silent is given up on."""
        for branch in self._branches:
            if branch.pending:
                assert branch.tx is not None
                branch.tx.terminate()
                branch.failed = True

    def _concluded(self) -> Rung:
        """Every branch is over without a winner."""
        if self._stopped_by == "cancel":
            return _ABANDONED
        if self._stopped_by == "timeout":
            answered = any(branch.responded for branch in self._branches)
            return Rung(OfferOutcome.NO_ANSWER if answered else OfferOutcome.UNREACHABLE)
        return Rung(fork_outcome([branch.final for branch in self._branches]))

    async def run(self, by_tx: dict[Transaction, Branch]) -> Rung:
        self._by_tx = by_tx
        call = self._call
        if call.cancelled():
            self._stop("cancel", REASON_CALLER_CANCELLED)
        while any(branch.pending for branch in self._branches):
            event = await call.events.get()
            if isinstance(event, CallerCancelled):
                if self._stopped_by is None:
                    self._stop("cancel", REASON_CALLER_CANCELLED)
                continue
            if isinstance(event, RingTimedOut | CancelGraceOver):
                if event.ring is not self:
                    continue  # a timer of an earlier ring
                if isinstance(event, RingTimedOut):
                    if self._stopped_by is None:
                        self._stop("timeout", REASON_RING_TIMEOUT)
                    continue
                self._give_up_pending()
                break
            if not isinstance(event, AgentResponded | AgentLegFailed):
                continue  # an offer or a hold timer while ringing: not this ring's news
            branch = by_tx.get(event.leg)
            if branch is None or not branch.pending:
                continue  # a late event of an earlier agent leg
            if isinstance(event, AgentLegFailed):
                log.info("an agent leg of %s failed: %s", call.contact_id, event.error)
                branch.failed = True
                continue
            rung = self._on_response(branch, event.response)
            if rung is not None:
                return rung
        return self._concluded()

    def _retry_authorized(self, branch: Branch, challenge: Response) -> bool:
        """Send the branch's INVITE again with the answer to its challenge; False when it is not
        answered (no ``authorize``, already answered once, the ring stopped, or no credentials)."""
        if self._authorize is None or id(branch) in self._challenged or self._stopped_by is not None:
            return False
        assert branch.tx is not None
        first = branch.tx.request
        answer = self._authorize(challenge, first)
        if answer is None:
            return False
        self._challenged.add(id(branch))
        headers = [(n, v) for n, v in first.headers if n.lower() not in _NOT_RESENT]
        branch.leg.local_cseq += 1
        headers.append(("CSeq", f"{branch.leg.local_cseq} INVITE"))
        headers.append(answer)
        retry = Request("INVITE", first.uri, first.version, Headers(headers), first.body)
        events = self._call.events
        try:
            tx = self._call.stack.send_request(
                retry,
                branch.route.destination,
                on_response=lambda t, r: events.put_nowait(AgentResponded(t, r)),
                on_error=lambda t, e: events.put_nowait(AgentLegFailed(t, e)),
            )
        except Exception as exc:
            log.warning("cannot resend the INVITE of %s with credentials: %s", self._call.contact_id, exc)
            return False
        del self._by_tx[branch.tx]
        branch.tx = tx
        self._by_tx[tx] = branch
        return True

    def _on_response(self, branch: Branch, response: Response) -> Rung | None:
        status = response.status
        branch.responded = True
        if status < 200:
            if status > 100 and self._stopped_by is None and status not in self._forwarded:
                self._forwarded.add(status)
                self._call.provisional(status, response.body, response.content_type)
            return None
        if status in (401, 407) and self._retry_authorized(branch, response):
            return None
        branch.final = status
        if status >= 300:
            if status >= 600 and self._stopped_by is None:
                # §16.7: a 6xx speaks for every device of the seat; the others stop ringing.
                self._cancel_pending(REASON_DECLINED)
                return Rung(outcome_for_status(status))
            return None
        branch.confirm(response)
        if self._stopped_by == "cancel":
            # Answered as the caller hung up: take the call and end it at once.
            self._call.late.ack_and_bye(branch, REASON_CALLER_CANCELLED)
            return None
        self._cancel_pending(REASON_ELSEWHERE, but=branch)
        assert branch.tx is not None
        return Rung(OfferOutcome.ANSWERED, response, branch.leg, branch.tx)

"""The leg toward the legacy call centre: a forwarded call is rung on the legacy trunk's address.

The edge stays a B2BUA: the legacy PBX gets a new INVITE from us (the caller's From and SDP passed
through, as an agent leg gets them), its provisionals reach the caller, its answer opens a bridge,
and the call's end is reported as any call's, so the contact record is ours to write and names the
side that handled it. The leg is rung by the same ringer as an agent's device (one target: the
trunk's address), so CANCEL, timeouts and late answers behave the same.

When the trunk is down (``trunk_health``), has no address, cannot be resolved, or fails the call
(no answer at all, a 5xx, or any refusal other than busy or declined), the router is asked for the
number's Switchboard queue (``legacy_failed``) when the decision allows it. Busy (486, 600) and
declined (603) are the legacy side's own answer to this caller and are passed on.

A trunk with ``max_concurrent_calls`` takes the call only with one of its slots leased
(`trunk_limits`); at the limit the call goes to the number's queue, or is refused with 503,
Retry-After and a Reason naming the limit.

A 401/407 from the legacy side is answered once with the trunk's stored HA1 (`trunk_auth`); one
that cannot be answered (another realm, no credentials) counts as the trunk being unreachable.

A call that came over the legacy trunk itself (the legacy centre sending a caller to a number still
in legacy or split mode) is never forwarded back: it goes to the number's queue (482 without one).

Not done yet: storing the legacy call's dialog for recovery by another edge task (an in-dialog
request landing on another task is answered 481 there).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from contact_center.domain.contact import HangupCause, HangupSide
from contact_center.domain.trunks import TrunkAddress
from contact_center.services.routing.decisions import (
    Acknowledged,
    Connect,
    Forward,
    OfferOutcome,
    RoutingDecision,
)
from contact_center.services.routing.ports import AgentTarget
from sip_edge.app.calls.ports import RoutingPort
from sip_edge.app.calls.ring import AgentRinger
from sip_edge.app.calls.trunk_auth import authorizer
from sip_edge.app.calls.trunks import Trunk, TrunkDirectory
from sip_edge.sip.client_transaction import ClientTransaction
from sip_edge.sip.decisions import Destination
from sip_edge.sip.dialog import Leg
from sip_edge.sip.hostport import format_hostport
from sip_edge.sip.message import Response

__all__ = ["LEGACY_RING_SECONDS", "PASSED_ON", "LegacyLeg", "legacy_connect"]

log = logging.getLogger("sip_edge.calls")

# The legacy centre queues its own callers (with early media or after answering): we give up on
# its leg only after this long without an answer.
LEGACY_RING_SECONDS = 300
# Seconds a caller refused at a trunk's call limit is asked to wait (a call's typical length is minutes,
# but one call ending frees a slot).
AT_LIMIT_RETRY_AFTER = 10
# The legacy side's refusals that are its answer to this caller, with the status sent back.
PASSED_ON = {OfferOutcome.BUSY: 486, OfferOutcome.REJECTED: 603}


def legacy_connect(forward: Forward, address: TrunkAddress, destination: Destination, called: str) -> Connect:
    """The one-target ring of the legacy leg to one of the trunk's destinations."""
    hostport = format_hostport(destination.host, destination.port)
    uri = f"sip:{called}@{hostport};transport={address.transport.value}"
    target = AgentTarget(contact_uri=uri, received=hostport, transport=destination.transport)
    return Connect(
        contact_id=forward.contact_id,
        seat_id="",
        merchant_id="",
        aor=f"sip:{called}@{address}",
        targets=(target,),
        ring_timeout_seconds=LEGACY_RING_SECONDS,
    )


async def _destinations(trunks: TrunkDirectory, trunk: Trunk | None) -> list[Destination]:
    """Where the trunk's calls go now, in order; none when it has no address or does not resolve."""
    if trunk is None or trunk.address is None:
        return []
    try:
        return await trunks.resolver.destinations(trunk.address)
    except OSError as exc:
        log.warning("legacy trunk %s (%s) cannot be resolved: %s", trunk.trunk_id, trunk.address, exc)
        return []


class LegacyLeg:
    """One forwarded call's leg to the legacy side, acting on the call through its set-up's steps:
    ``final`` answers the caller, ``report_end`` ends the contact, ``answered`` bridges."""

    def __init__(
        self,
        trunks: TrunkDirectory,
        ringer: AgentRinger,
        routing: RoutingPort,
        contact_id: str,
        called: str,
        *,
        source_trunk: str | None = None,
        final: Callable[..., None],
        report_end: Callable[[HangupSide, HangupCause], Awaitable[Acknowledged | None]],
        answered: Callable[[Connect, Response, Leg, ClientTransaction], Awaitable[None]],
    ) -> None:
        self._trunks = trunks
        self._ringer = ringer
        self._routing = routing
        self._contact_id = contact_id
        self._called = called
        self._source_trunk = source_trunk
        self._final = final
        self._report_end = report_end
        self._answered = answered

    async def forward(self, forward: Forward) -> RoutingDecision | None:
        """Bridge the call to the legacy trunk; the router's next decision when the legacy side
        failed and the number has a queue to fall back to, None when the call is settled."""
        if forward.trunk_id == self._source_trunk:
            return await self._came_from_legacy(forward)
        trunk = await self._trunks.trunk(forward.trunk_id)
        up = trunk is not None and self._trunks.is_up(trunk.trunk_id)
        destinations = await _destinations(self._trunks, trunk) if up else []
        limits = self._trunks.limits
        if (
            destinations
            and trunk is not None
            and limits is not None
            and not await limits.acquire(trunk.trunk_id, trunk.max_concurrent_calls, self._contact_id)
        ):
            return await self._at_limit(forward, trunk)
        answered = False
        try:
            for destination in destinations:
                assert trunk is not None and trunk.address is not None
                connect = legacy_connect(forward, trunk.address, destination, self._called)
                rung = await self._ringer.ring(connect, authorizer(trunk.trunk_id, trunk.auth))
                if rung.outcome is None:
                    await self._report_end(HangupSide.CUSTOMER, HangupCause.CALLER_ABANDONED)
                    return None
                if rung.outcome is OfferOutcome.ANSWERED and rung.answer is not None:
                    assert rung.leg is not None and rung.transaction is not None
                    answered = True
                    await self._answered(connect, rung.answer, rung.leg, rung.transaction)
                    return None
                if rung.outcome in PASSED_ON:
                    self._final(PASSED_ON[rung.outcome], headers=(_warning("refused by the legacy side"),))
                    await self._report_end(HangupSide.AGENT, HangupCause.NORMAL_CLEARING)
                    return None
                # RFC 3263 §4.3: a server that timed out or failed gives way to the next one.
                log.info("legacy trunk %s: %s failed the call", trunk.trunk_id, destination)
        finally:
            if not answered and limits is not None:
                await limits.release(self._contact_id)  # the slot of a call that never reached it
        if forward.fallback:
            return await self._routing.legacy_failed(self._contact_id)
        state = "down" if trunk is not None and not up else "unreachable"
        text = f"legacy trunk {forward.trunk_id} is {state}"
        self._final(480, headers=(("Reason", f'SIP;cause=480;text="{text}"'), _warning(text)))
        await self._report_end(HangupSide.SYSTEM, HangupCause.SYSTEM_ERROR)
        return None

    async def _came_from_legacy(self, forward: Forward) -> RoutingDecision | None:
        """The legacy centre sent this call to us over the very trunk it would be forwarded to (its
        agent transferred a caller to a number still in legacy or split mode, or to a queue address
        whose queue overflows to that trunk): it is ours to take, in the number's queue; sent back
        it would loop."""
        log.info("call %s came over legacy trunk %s: kept for the queue", self._contact_id, forward.trunk_id)
        if forward.fallback:
            return await self._routing.legacy_failed(self._contact_id)
        text = f"this call would go back to legacy trunk {forward.trunk_id}, which sent it"
        self._final(482, headers=(("Reason", f'SIP;cause=482;text="{text}"'), _warning(text)))
        await self._report_end(HangupSide.SYSTEM, HangupCause.SYSTEM_ERROR)
        return None

    async def _at_limit(self, forward: Forward, trunk: Trunk) -> RoutingDecision | None:
        """Every slot of the trunk is held: the number's queue when it has one, else 503."""
        if forward.fallback:
            return await self._routing.legacy_failed(self._contact_id)
        text = f"legacy trunk {trunk.trunk_id} is at its limit of {trunk.max_concurrent_calls} calls"
        headers = (("Retry-After", str(AT_LIMIT_RETRY_AFTER)), ("Reason", f'SIP;cause=503;text="{text}"'))
        self._final(503, headers=(*headers, _warning(text)))
        await self._report_end(HangupSide.SYSTEM, HangupCause.NO_ELIGIBLE_AGENTS)
        return None


def _warning(text: str) -> tuple[str, str]:
    return ("Warning", f'399 switchboard "{text}"')

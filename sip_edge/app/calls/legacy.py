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

Not done yet: answering a legacy trunk's digest challenge with its stored HA1, and storing the
legacy call's dialog for recovery by another edge task (an in-dialog request landing on another
task is answered 481 there).
"""

from __future__ import annotations

import logging

from contact_center.services.routing.decisions import Connect, Forward, OfferOutcome
from contact_center.services.routing.ports import AgentTarget
from sip_edge.app.calls.trunk_health import destination_of
from sip_edge.app.calls.trunks import Trunk
from sip_edge.sip.hostport import format_hostport

__all__ = ["LEGACY_RING_SECONDS", "PASSED_ON", "legacy_connect"]

log = logging.getLogger("sip_edge.calls")

# The legacy centre queues its own callers (with early media or after answering): we give up on
# its leg only after this long without an answer.
LEGACY_RING_SECONDS = 300
# The legacy side's refusals that are its answer to this caller, with the status sent back.
PASSED_ON = {OfferOutcome.BUSY: 486, OfferOutcome.REJECTED: 603}


async def legacy_connect(forward: Forward, trunk: Trunk | None, called: str) -> Connect | None:
    """The one-target ring of the legacy leg, or None when the trunk cannot be dialled now."""
    if trunk is None or trunk.address is None:
        return None
    try:
        destination = await destination_of(trunk.address)
    except OSError as exc:
        log.warning("legacy trunk %s (%s) cannot be resolved: %s", trunk.trunk_id, trunk.address, exc)
        return None
    hostport = format_hostport(destination.host, destination.port)
    uri = f"sip:{called}@{hostport};transport={trunk.address.transport.value}"
    target = AgentTarget(contact_uri=uri, received=hostport, transport=destination.transport)
    return Connect(
        contact_id=forward.contact_id,
        seat_id="",
        merchant_id="",
        aor=f"sip:{called}@{trunk.address}",
        targets=(target,),
        ring_timeout_seconds=LEGACY_RING_SECONDS,
    )

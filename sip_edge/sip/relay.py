"""Stateless forwarding (RFC 3261 §16.11): how the stack executes a `Relay` decision.

An edge task that holds a phone's flow (the NAT pinhole or connection its registration opened)
forwards requests other tasks address to that phone through it. Nothing is kept: the branch of
our Via is a function of the incoming one, so a retransmission, the CANCEL and the ACK of a
non-2xx get the branch the phone matches to the INVITE, and a response is sent back up by
reading the Via below ours.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping

from .errors import SipParseError
from .hostport import format_hostport
from .message import Request, Response, Via
from .transaction import MAGIC_COOKIE
from .transport import Address, Transport, default_port

__all__ = ["RELAY_BRANCH", "forward_statelessly", "send_upstream"]

# Branches of the requests this task relays start with this, so their responses (which match no
# transaction here) are recognised and passed back rather than dropped.
RELAY_BRANCH = MAGIC_COOKIE + "sbr"
_RELAY_KEY = secrets.token_bytes(16)


def _relay_branch(upstream: Via, call_id: str) -> str:
    """Our branch for a request relayed from `upstream`, keyed (under a secret of this process) on
    the upstream's branch and on the address its responses go back to, which the stack wrote from
    the packet's source: a response naming any other address is not passed on."""
    mark = (
        f"{upstream.branch or call_id}|{upstream.received or upstream.host}|{upstream.rport}|{upstream.port}"
    )
    digest = hmac.new(_RELAY_KEY, mark.encode("utf-8", "surrogateescape"), hashlib.sha256).hexdigest()
    return RELAY_BRANCH + digest[:20]


def forward_statelessly(request: Request, transport: Transport, address: Address) -> None:
    """Pop the top Route (it names us), count the hop, add our Via and send ``request`` on."""
    hops = request.max_forwards
    request.headers.pop_first("Route")
    request.headers.set("Max-Forwards", str((70 if hops is None else hops) - 1))
    branch = _relay_branch(request.top_via, request.call_id)
    sent_by = format_hostport(*transport.sent_by)
    request.headers.add("Via", f"SIP/2.0/{transport.name} {sent_by};branch={branch};rport", first=True)
    transport.send_to(request.to_bytes(), address)


def send_upstream(response: Response, transports: Mapping[str, Transport]) -> bool:
    """A response to a request we relayed: pop our Via and send it where the Via below says
    (RFC 3581). False, untouched, for any other response."""
    try:
        vias = response.vias
    except SipParseError:
        return False
    if len(vias) < 2 or not (vias[0].branch or "").startswith(RELAY_BRANCH):
        return False
    upstream = vias[1]
    if vias[0].branch != _relay_branch(upstream, response.call_id):
        return True  # ours in form only: a forged response must not aim us at an address
    response.headers.pop_first("Via")
    host = upstream.received or upstream.host
    rport = upstream.rport
    port = int(rport) if rport else (upstream.port or default_port(upstream.transport))
    transport = transports.get(upstream.transport.upper())
    if transport is not None:
        transport.send_to(response.to_bytes(), (host.strip("[]"), port))
    return True

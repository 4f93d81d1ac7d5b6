"""Which way a call reaches an agent's phone: straight, or through the edge task holding its flow.

A call for an agent whose phone registered through another task must reach the phone through that
task: only it holds the NAT pinhole (UDP) or the connection (TCP/TLS) the phone opened. The Route
names the flow in a ``flow`` parameter; the owner's B2BUA answers such a request with a `Relay`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from contact_center.services.routing.ports import AgentTarget
from sip_edge.sip.decisions import Destination
from sip_edge.sip.errors import SipParseError
from sip_edge.sip.hostport import format_hostport, split_hostport
from sip_edge.sip.message import parse_uri

__all__ = ["AgentRoute", "agent_route", "decode_flow", "encode_flow", "use_flow_key"]


@dataclass(frozen=True, slots=True)
class AgentRoute:
    """Where the agent leg's requests go, and the Route that makes the owner task relay them."""

    destination: Destination
    route: tuple[str, ...] = ()
    via_owner: str | None = None  # the task relaying, when not this one


# Flow tokens are signed: the owner relays whatever a Route naming it carries, so an unsigned
# token would let anyone make the edge send SIP to any address it can reach. The fleet's key
# (SIP_NONCE_KEY) replaces this one at start (`use_flow_key`), so any task verifies another's.
_flow_key = secrets.token_bytes(32)


def use_flow_key(fleet_key: bytes) -> None:
    global _flow_key
    # A key of its own, derived: a flow token and a digest nonce never share a MAC key.
    _flow_key = hmac.new(fleet_key, b"switchboard flow token", hashlib.sha256).digest()


def _flow_mac(text: str) -> str:
    return hmac.new(_flow_key, text.encode("utf-8", "surrogateescape"), hashlib.sha256).hexdigest()[:20]


def encode_flow(transport: str, received: str) -> str:
    """A URI-parameter-safe token naming a flow, signed: ``udp~10.0.0.7~5062~<mac>``."""
    host, port = split_hostport(received)
    text = f"{transport.lower()}~{host}~{port or ''}"
    return f"{text}~{_flow_mac(text)}"


def decode_flow(token: str) -> Destination | None:
    """The flow a token names; None when it is malformed or not signed with the fleet's key."""
    parts = token.split("~")
    if len(parts) != 4 or not parts[2].isdigit():
        return None
    if not hmac.compare_digest(parts[3], _flow_mac("~".join(parts[:3]))):
        return None
    return Destination(parts[0].upper(), parts[1], int(parts[2]))


def _direct(target: AgentTarget) -> Destination:
    if target.received:
        host, port = split_hostport(target.received)
        return Destination(target.transport, host, port)
    # No source address recorded (a static binding): the Contact URI itself.
    try:
        uri = parse_uri(target.contact_uri)
    except SipParseError:
        return Destination(target.transport, target.contact_uri)
    return Destination(uri.transport.upper() if uri.transport else target.transport, uri.host, uri.port)


def agent_route(target: AgentTarget, own_task_id: str, owner_address: str | None) -> AgentRoute:
    """How to reach one registered device.

    - Registered through this task (or nobody recorded): straight to the ``received`` address over
      the binding's transport (the pinhole, or the phone's connection in the transport's table).
    - Registered through another live task: to that task, with a loose Route naming the flow;
      the owner pops it and relays over its own pinhole/connection (see `B2bua` relay).
    - The owner is gone (no heartbeat): straight to ``received`` anyway. Over UDP the pinhole
      often still accepts packets from the same public address (the fleet shares it behind the
      NLB); over TCP a new connection is tried. The phone re-registers within its interval.
    """
    direct = _direct(target)
    if not target.flow_owner or target.flow_owner == own_task_id or not target.received:
        return AgentRoute(direct)
    if owner_address is None:
        return AgentRoute(direct)
    host, port = split_hostport(owner_address)
    flow = encode_flow(target.transport, target.received)
    route = f"<sip:{format_hostport(host, port)};lr;flow={flow}>"
    # The hop to the owner goes to its advertised SIP port, inside the private subnet: TLS is the
    # phone's flow (named in the Route), not this hop's, which a TLS handshake to 5060 would hang.
    hop = "TCP" if target.transport.upper() == "TLS" else target.transport
    return AgentRoute(Destination(hop, host, port), (route,), target.flow_owner)

"""Which way a call reaches an agent's phone: straight, or through the edge task holding its flow.

A call for an agent whose phone registered through another task must reach the phone through that
task: only it holds the NAT pinhole (UDP) or the connection (TCP/TLS) the phone opened. The Route
names the flow in a ``flow`` parameter; the owner's B2BUA answers such a request with a `Relay`.
"""

from __future__ import annotations

from dataclasses import dataclass

from contact_center.services.routing.ports import AgentTarget
from sip_edge.sip.decisions import Destination
from sip_edge.sip.errors import SipParseError
from sip_edge.sip.hostport import format_hostport, split_hostport
from sip_edge.sip.message import parse_uri

__all__ = ["AgentRoute", "agent_route", "decode_flow", "encode_flow"]


@dataclass(frozen=True, slots=True)
class AgentRoute:
    """Where the agent leg's requests go, and the Route that makes the owner task relay them."""

    destination: Destination
    route: tuple[str, ...] = ()
    via_owner: str | None = None  # the task relaying, when not this one


def encode_flow(transport: str, received: str) -> str:
    """A URI-parameter-safe token naming a flow: ``udp~10.0.0.7~5062``."""
    host, port = split_hostport(received)
    return f"{transport.lower()}~{host}~{port or ''}"


def decode_flow(token: str) -> Destination | None:
    parts = token.split("~")
    if len(parts) != 3 or not parts[2].isdigit():
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

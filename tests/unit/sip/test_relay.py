"""A `Relay` decision: the stack forwards statelessly and passes the responses back up."""

from __future__ import annotations

from sip_edge.sip.decisions import Destination, Relay
from sip_edge.sip.message import Request, Response
from sip_edge.sip.parsing import parse_message
from sip_edge.sip.stack import SipStack
from sip_edge.sip.timers import FakeClock
from tests.unit.sip.test_transaction_stack import PEER, FakeTransport

PHONE = ("203.0.113.9", 5062)
INVITE = (
    "INVITE sip:seat@203.0.113.9:5062 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKupstream1\r\n"
    "Route: <sip:198.51.100.1:5060;lr;flow=udp~203.0.113.9~5062>\r\n"
    "Route: <sip:next.example.com;lr>\r\n"
    "Max-Forwards: 69\r\n"
    "From: <sip:carrier@example.com>;tag=f1\r\n"
    "To: <sip:seat@example.com>\r\n"
    "Call-ID: relay-1\r\n"
    "CSeq: 1 INVITE\r\n"
    "Content-Length: 0\r\n\r\n"
)


def relaying_stack() -> tuple[SipStack, FakeTransport]:
    transport = FakeTransport()
    stack = SipStack(FakeClock(), on_request=lambda tx, request: Relay(Destination("UDP", *PHONE)))
    stack.add_transport(transport)
    return stack, transport


def forwarded(transport: FakeTransport) -> list[Request]:
    return [m for a, d in transport.sent if a == PHONE and isinstance(m := parse_message(d), Request)]


def test_relayed_request_loses_our_route_counts_the_hop_and_gets_a_derived_branch() -> None:
    # Given a stack whose policy relays every request to the phone's flow,
    stack, transport = relaying_stack()
    # When an INVITE naming this task in its top Route arrives, and is retransmitted,
    transport.deliver(INVITE)
    transport.deliver(INVITE)
    # Then it is sent on twice with the same new branch (no state kept, nothing answered here),
    sent = forwarded(transport)
    assert len(sent) == 2
    first = sent[0]
    assert first.headers.get_all("Route") == ["<sip:next.example.com;lr>"]
    assert first.headers.get("Max-Forwards") == "68"
    assert len(first.vias) == 2 and first.vias[1].branch == "z9hG4bKupstream1"
    assert first.top_via.branch == sent[1].top_via.branch != "z9hG4bKupstream1"
    assert stack.server_transactions == 0  # the transaction ends with the forwarding


def test_a_response_to_a_relayed_request_goes_back_by_the_via_below_ours() -> None:
    stack, transport = relaying_stack()
    transport.deliver(INVITE)
    out = forwarded(transport)[0]
    # When the phone answers 180,
    response = (
        "SIP/2.0 180 Ringing\r\n"
        + "".join(f"Via: {line}\r\n" for line in out.headers.get_all("Via"))
        + "From: <sip:carrier@example.com>;tag=f1\r\nTo: <sip:seat@example.com>;tag=p1\r\n"
        "Call-ID: relay-1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
    )
    transport.deliver(response, PHONE)
    # Then it reaches the upstream task without our Via.
    back = [m for a, d in transport.sent if a == PEER and isinstance(m := parse_message(d), Response)]
    ringing = [r for r in back if r.status == 180]
    assert len(ringing) == 1 and [v.branch for v in ringing[0].vias] == ["z9hG4bKupstream1"]
    assert stack.stats.stray_responses == 1


def test_a_relay_over_a_transport_this_task_lacks_is_answered_500() -> None:
    # Given a policy relaying to a TLS flow on a stack that only has UDP,
    transport = FakeTransport()
    stack = SipStack(FakeClock(), on_request=lambda tx, request: Relay(Destination("TLS", *PHONE)))
    stack.add_transport(transport)
    # When a request arrives, then nothing is forwarded and the sender gets a 500.
    transport.deliver(INVITE.replace("INVITE", "OPTIONS"))
    assert forwarded(transport) == []
    assert 500 in transport.statuses()

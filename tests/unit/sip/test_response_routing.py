"""Where the stack sends responses: to the packet's source, never where the request says to.

A Via's ``received`` and ``maddr`` (and its host) are claims of whoever sent the packet; a response
sent to them is a UDP reflection an attacker aims at a third party. RFC 3261 18.2.1 has the
server write ``received`` itself.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from sip_edge.sip.message import Request
from sip_edge.sip.parsing import parse_message
from sip_edge.sip.stack import AckContext, Reply, SipStack
from sip_edge.sip.timers import FakeClock
from sip_edge.sip.transaction import ServerTransaction
from sip_edge.sip.transport import Address, Flow, MessageSink, ResponseRoute

SOURCE: Address = ("192.0.2.10", 47000)
VICTIM = "198.51.100.99"


class FakeTransport:
    def __init__(self, name: str = "UDP", reliable: bool = False) -> None:
        self.name = name
        self.reliable = reliable
        self.sink: MessageSink
        self.sent: list[tuple[Address, bytes]] = []

    @property
    def sent_by(self) -> Address:
        return ("198.51.100.1", 5060)

    def send_to(
        self, data: bytes, address: Address, on_error: Callable[[Exception], None] | None = None
    ) -> None:
        self.sent.append((address, data))

    def close(self) -> None:
        pass


def options(via_params: str, via_host: str = f"{SOURCE[0]}:{SOURCE[1]}") -> bytes:
    return (
        "OPTIONS sip:edge@198.51.100.1 SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {via_host};branch=z9hG4bKroute{abs(hash(via_params)) % 10**6}{via_params}\r\n"
        "Max-Forwards: 70\r\n"
        "From: <sip:probe@example.com>;tag=f1\r\n"
        "To: <sip:edge@198.51.100.1>\r\n"
        "Call-ID: routing-1\r\n"
        "CSeq: 1 OPTIONS\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()


def answer_ok(tx: ServerTransaction | AckContext, request: Request) -> Reply:
    return Reply(200)


def deliver(data: bytes, source: Address = SOURCE) -> tuple[Address, str | None]:
    transport = FakeTransport()
    SipStack(FakeClock(), transport, on_request=answer_ok)  # type: ignore[arg-type]
    transport.sink.on_message(data, Flow(transport, source))
    ((destination, sent),) = transport.sent
    return destination, parse_message(sent).top_via.received


@pytest.mark.parametrize(
    ("case", "via_params"),
    [
        ("received with the host equal to the source and no rport", f";received={VICTIM}"),
        ("received and rport", f";received={VICTIM};rport"),
        ("maddr", f";maddr={VICTIM}"),
        ("maddr and received", f";maddr={VICTIM};received={VICTIM}"),
    ],
)
def test_a_response_goes_to_the_packets_source_whatever_the_via_claims(case: str, via_params: str) -> None:
    # Given a request from SOURCE whose top Via names another address,
    # When it is answered,
    destination, received = deliver(options(via_params))
    # Then the answer goes to the source address and port, and the Via carries no claimed address.
    assert destination == SOURCE, case
    assert received in (None, SOURCE[0]), case


def test_a_claimed_received_is_removed_when_no_received_is_due() -> None:
    # The host equals the source and rport was not asked for: §18.2.1 adds nothing, and the
    # client's own received must not travel on in the response (or a relayed request).
    _, received = deliver(options(f";received={VICTIM}"))
    assert received is None


def test_a_claimed_received_is_overwritten_with_the_source() -> None:
    _, received = deliver(options(f";received={VICTIM}", via_host="phone.example.com:5060"))
    assert received == SOURCE[0]


def test_a_stream_whose_connection_is_gone_is_reconnected_at_the_source_address() -> None:
    # §18.2.2 for reliable transports: received (the source address, never a claimed one) at the
    # sent-by port.
    transport = FakeTransport("TCP", reliable=True)
    route = ResponseRoute(Flow(transport, ("192.0.2.10", 40123)), 5070)
    assert route.destination() == ("192.0.2.10", 5070)
    assert ResponseRoute(Flow(transport, ("192.0.2.10", 40123))).destination() == ("192.0.2.10", 5060)

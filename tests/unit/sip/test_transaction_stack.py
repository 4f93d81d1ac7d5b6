"""The stack's transaction layer over a fake transport: absorption, CANCEL, ACK, 400, Via fixes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from sip_edge.sip.client_transaction import ClientTransaction
from sip_edge.sip.message import Headers, Request, Response
from sip_edge.sip.parsing import parse_message
from sip_edge.sip.stack import AckContext, Destination, Reply, SipStack
from sip_edge.sip.timers import FakeClock
from sip_edge.sip.transaction import ServerInviteTransaction, ServerTransaction, State
from sip_edge.sip.transport import Address, Flow, MessageSink

PEER: Address = ("192.0.2.10", 5060)


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

    def deliver(self, text: str, source: Address = PEER) -> None:
        self.sink.on_message(text.encode(), Flow(self, source))

    def responses(self) -> list[Response]:
        out = []
        for _, data in self.sent:
            message = parse_message(data)
            if isinstance(message, Response):
                out.append(message)
        return out

    def statuses(self) -> list[int]:
        return [r.status for r in self.responses()]


def sip(
    method: str,
    *,
    branch: str = "z9hG4bKstack1",
    via_host: str = "192.0.2.10:5060",
    rport: bool = False,
    cseq: int = 1,
    cseq_method: str | None = None,
    to_tag: str | None = None,
) -> str:
    to = "<sip:edge@127.0.0.1>" + (f";tag={to_tag}" if to_tag else "")
    return (
        f"{method} sip:edge@127.0.0.1 SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {via_host};branch={branch}{';rport' if rport else ''}\r\n"
        "Max-Forwards: 70\r\n"
        "From: <sip:alice@example.com>;tag=a1\r\n"
        f"To: {to}\r\n"
        "Call-ID: stack-call-1\r\n"
        f"CSeq: {cseq} {cseq_method or method}\r\n"
        "Content-Length: 0\r\n\r\n"
    )


class Recorder:
    def __init__(self, reply: Reply | None = None) -> None:
        self.calls: list[tuple[ServerTransaction | AckContext, Request]] = []
        self.reply = reply if reply is not None else Reply(200)

    def __call__(self, tx: ServerTransaction | AckContext, request: Request) -> Reply | None:
        self.calls.append((tx, request))
        return None if request.method == "ACK" else self.reply

    @property
    def methods(self) -> list[str]:
        return [request.method for _, request in self.calls]


def make_stack(handler: Callable[..., object], **kwargs: object) -> tuple[SipStack, FakeTransport, FakeClock]:
    clock = FakeClock()
    transport = FakeTransport()
    stack = SipStack(clock, transport, on_request=handler, **kwargs)  # type: ignore[arg-type]
    return stack, transport, clock


def test_retransmitted_request_reaches_the_app_once_and_gets_the_same_response() -> None:
    recorder = Recorder()
    stack, transport, _ = make_stack(recorder)
    transport.deliver(sip("OPTIONS"))
    transport.deliver(sip("OPTIONS"))
    assert recorder.methods == ["OPTIONS"]
    assert transport.statuses() == [200, 200]
    assert transport.sent[0][1] == transport.sent[1][1]
    assert stack.stats.retransmissions_absorbed == 1


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The datagrams the stack parses, in order."""
    seen: list[bytes] = []

    def counting(data: bytes) -> Request | Response:
        seen.append(data)
        return parse_message(data)

    monkeypatch.setattr("sip_edge.sip.stack.parse_message", counting)
    return seen


def test_a_udp_retransmission_is_absorbed_without_being_parsed_again(parsed: list[bytes]) -> None:
    seen: list[int] = []

    def handler(tx: ServerTransaction, request: Request) -> Reply | None:
        seen.append(request.cseq[0])
        return Reply(200) if request.cseq[0] == 1 else None  # CSeq 2: answered later

    stack, transport, clock = make_stack(handler)
    answered, waiting = sip("REGISTER"), sip("REGISTER", branch="z9hG4bKstack2", cseq=2)
    # Given a REGISTER answered with 200, and one still waiting for its answer
    transport.deliver(answered)
    transport.deliver(waiting)
    # When each is retransmitted, byte for byte, twice
    for _ in range(2):
        transport.deliver(answered)
        transport.deliver(waiting)
    # Then no retransmission was parsed: the answered one got its 200 again, the other nothing
    assert len(parsed) == 2 and seen == [1, 2]
    assert transport.statuses() == [200, 200, 200]
    assert stack.stats.retransmissions_absorbed == 4 and stack.stats.requests == 6
    # and once timer J has ended the answered transaction, the same bytes are a new request
    clock.advance(33)
    transport.deliver(answered)
    assert len(parsed) == 3 and seen == [1, 2, 1]


def test_transactions_are_forgotten_after_timer_j() -> None:
    stack, transport, clock = make_stack(Recorder())
    transport.deliver(sip("OPTIONS"))
    assert stack.server_transactions == 1
    clock.advance(33)
    assert stack.server_transactions == 0


def test_invite_gets_100_before_the_app_runs_and_ack_for_non_2xx_is_absorbed() -> None:
    seen_before_app: list[list[int]] = []
    stack, transport, clock = make_stack(lambda tx, req: None)

    def handler(tx: ServerTransaction | AckContext, request: Request) -> Reply | None:
        seen_before_app.append(transport.statuses())
        return None if request.method == "ACK" else Reply(501)

    stack.on_request = handler
    transport.deliver(sip("INVITE"))
    assert seen_before_app == [[100]]
    assert transport.statuses() == [100, 501]
    to_tag = transport.responses()[1].to.tag
    transport.deliver(sip("ACK", to_tag=to_tag))
    assert len(seen_before_app) == 1  # the ACK for a 501 belongs to the transaction
    clock.advance(10)
    assert transport.statuses() == [100, 501]  # no timer G retransmission after the ACK


def test_cancel_is_its_own_transaction_linked_to_the_invite() -> None:
    calls: list[ServerTransaction | AckContext] = []

    def handler(tx: ServerTransaction | AckContext, request: Request) -> Reply | None:
        calls.append(tx)
        if request.method == "CANCEL":
            assert isinstance(tx, ServerTransaction)
            target = tx.cancel_target
            assert target is not None and target.cancelled
            target.reply(487)
            return Reply(200)
        return None

    _stack, transport, _ = make_stack(handler)
    transport.deliver(sip("INVITE"))
    transport.deliver(sip("CANCEL"))
    assert transport.statuses() == [100, 487, 200]
    assert isinstance(calls[0], ServerInviteTransaction)


def test_cancel_for_an_unknown_invite_has_no_target() -> None:
    targets: list[object] = []

    def handler(tx: ServerTransaction | AckContext, request: Request) -> Reply:
        assert isinstance(tx, ServerTransaction)
        targets.append(tx.cancel_target)
        return Reply(481)

    _, transport, _ = make_stack(handler)
    transport.deliver(sip("CANCEL"))
    assert targets == [None]
    assert transport.statuses() == [481]


def test_ack_to_2xx_stops_retransmission_and_reaches_the_app_once() -> None:
    recorder = Recorder(Reply(200))
    _, transport, clock = make_stack(recorder)
    transport.deliver(sip("INVITE"))
    clock.advance(1.6)
    assert transport.statuses() == [100, 200, 200, 200]
    to_tag = transport.responses()[1].to.tag
    ack = sip("ACK", branch="z9hG4bKack2xx", to_tag=to_tag)
    transport.deliver(ack)
    transport.deliver(ack)
    clock.advance(10)
    assert transport.statuses() == [100, 200, 200, 200]
    assert recorder.methods == ["INVITE", "ACK"]
    context = recorder.calls[1][0]
    assert isinstance(context, AckContext) and context.invite_transaction is not None


def test_stray_ack_reaches_the_app_without_a_transaction() -> None:
    recorder = Recorder()
    _, transport, _ = make_stack(recorder)
    transport.deliver(sip("ACK", to_tag="t"))
    context = recorder.calls[0][0]
    assert isinstance(context, AckContext) and context.invite_transaction is None


def test_rport_and_received_are_filled_from_the_source() -> None:
    _stack, transport, _ = make_stack(Recorder())
    transport.deliver(sip("OPTIONS", via_host="10.0.0.5:5062", rport=True), source=("203.0.113.7", 40000))
    ((destination, data),) = transport.sent
    via = parse_message(data).top_via
    assert via.received == "203.0.113.7"
    assert via.rport == "40000"
    # RFC 3581 §4: the response goes to the source address and port.
    assert destination == ("203.0.113.7", 40000)


def test_received_without_rport_is_written_and_the_response_still_goes_to_the_source_port() -> None:
    _stack, transport, _ = make_stack(Recorder())
    transport.deliver(sip("OPTIONS", via_host="10.0.0.5:5062"), source=("203.0.113.7", 40000))
    ((destination, data),) = transport.sent
    via = parse_message(data).top_via
    assert via.received == "203.0.113.7"
    assert via.rport is None
    # Symmetric response routing: the port the request came from, not one the Via names.
    assert destination == ("203.0.113.7", 40000)


def test_matching_via_host_gets_no_received() -> None:
    _stack, transport, _ = make_stack(Recorder())
    transport.deliver(sip("OPTIONS"))
    assert parse_message(transport.sent[0][1]).top_via.received is None


def test_unparsable_request_with_enough_headers_gets_400_with_a_warning() -> None:
    recorder = Recorder()
    stack, transport, _ = make_stack(recorder)
    transport.deliver(sip("OPTIONS", cseq_method="INVITE"))
    assert recorder.calls == []
    (response,) = transport.responses()
    assert response.status == 400
    warning = response.headers.get("Warning")
    assert warning is not None and warning.startswith("399 ")
    assert stack.stats.parse_errors == 1


def test_garbage_is_dropped_silently() -> None:
    stack, transport, _ = make_stack(Recorder())
    transport.deliver("HELLO WORLD\r\n\r\n")
    transport.deliver("\x16\x03\x01 garbage")
    assert transport.sent == []
    assert stack.stats.parse_errors == 2


def test_handler_exception_becomes_500() -> None:
    def broken(tx: ServerTransaction | AckContext, request: Request) -> None:
        raise RuntimeError("boom")

    stack, transport, _ = make_stack(broken)
    transport.deliver(sip("OPTIONS"))
    assert transport.statuses() == [500]
    assert stack.stats.handler_errors == 1


def test_async_handler_reply_is_executed() -> None:
    async def handler(tx: ServerTransaction | AckContext, request: Request) -> Reply:
        await asyncio.sleep(0)
        return Reply(202, headers=(("X-Test", "yes"),))

    async def scenario() -> list[Response]:
        _, transport, _ = make_stack(handler)
        transport.deliver(sip("OPTIONS"))
        for _ in range(5):
            await asyncio.sleep(0)
        return transport.responses()

    (response,) = asyncio.run(scenario())
    assert response.status == 202
    assert response.headers.get("X-Test") == "yes"
    assert response.to.tag


def test_send_request_adds_via_and_matches_responses() -> None:
    stack, transport, clock = make_stack(Recorder())
    outgoing = Request(
        "OPTIONS",
        "sip:agent@192.0.2.20",
        headers=Headers(
            [
                ("From", "<sip:edge@198.51.100.1>;tag=e1"),
                ("To", "<sip:agent@192.0.2.20>"),
                ("Call-ID", "out-1"),
                ("CSeq", "1 OPTIONS"),
            ]
        ),
    )
    got: list[int] = []
    tx = stack.send_request(
        outgoing, Destination("UDP", "192.0.2.20"), on_response=lambda _t, r: got.append(r.status)
    )
    assert isinstance(tx, ClientTransaction)
    ((destination, data),) = transport.sent
    assert destination == ("192.0.2.20", 5060)
    sent = parse_message(data)
    assert isinstance(sent, Request)
    assert sent.top_via.sent_by == "198.51.100.1:5060"
    assert sent.top_via.branch is not None and sent.top_via.branch.startswith("z9hG4bK")
    assert sent.max_forwards == 70
    reply = (
        f"SIP/2.0 200 OK\r\nVia: {sent.headers.get('Via')}\r\n"
        "From: <sip:edge@198.51.100.1>;tag=e1\r\nTo: <sip:agent@192.0.2.20>;tag=x\r\n"
        "Call-ID: out-1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    )
    transport.deliver(reply, source=("192.0.2.20", 5060))
    transport.deliver(reply, source=("192.0.2.20", 5060))
    assert got == [200]
    assert tx.state is State.COMPLETED
    clock.advance(6)
    assert stack.client_transactions == 0
    assert stack.stats.stray_responses == 0


def test_stray_response_goes_to_the_hook() -> None:
    strays: list[int] = []
    _, transport, _ = make_stack(Recorder(), on_stray_response=lambda r, flow: strays.append(r.status))
    transport.deliver(
        "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 198.51.100.1:5060;branch=z9hG4bKgone\r\n"
        "From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n"
        "Content-Length: 0\r\n\r\n"
    )
    assert strays == [200]


def outgoing(method: str = "INVITE", body: bytes = b"") -> Request:
    return Request(
        method,
        "sip:agent@192.0.2.20",
        headers=Headers(
            [
                ("From", "<sip:edge@198.51.100.1>;tag=e1"),
                ("To", "<sip:agent@192.0.2.20>"),
                ("Call-ID", "out-2"),
                ("CSeq", f"5 {method}"),
                ("Route", "<sip:proxy.example.com;lr>"),
            ]
        ),
        body=body,
    )


def answer(request_bytes: bytes, status: int, method: str) -> str:
    sent = parse_message(request_bytes)
    return (
        f"SIP/2.0 {status} Whatever\r\nVia: {sent.headers.get('Via')}\r\n"
        "From: <sip:edge@198.51.100.1>;tag=e1\r\nTo: <sip:agent@192.0.2.20>;tag=agent\r\n"
        f"Call-ID: out-2\r\nCSeq: 5 {method}\r\nContent-Length: 0\r\n\r\n"
    )


def test_cancel_waits_for_a_provisional_response_then_matches_the_invite() -> None:
    stack, transport, _ = make_stack(Recorder())
    invite_tx = stack.send_request(outgoing(), Destination("UDP", "192.0.2.20"))
    invite_bytes = transport.sent[0][1]
    # Given no provisional response yet, §9.1 forbids sending the CANCEL.
    assert stack.cancel(invite_tx) is True
    assert [data.split(b" ", 1)[0] for _, data in transport.sent] == [b"INVITE"]
    # When the 180 arrives, the CANCEL goes out with the INVITE's branch and CSeq number.
    transport.deliver(answer(invite_bytes, 180, "INVITE"), source=("192.0.2.20", 5060))
    destination, cancel_bytes = transport.sent[-1]
    cancel = parse_message(cancel_bytes)
    assert isinstance(cancel, Request) and cancel.method == "CANCEL"
    assert destination == ("192.0.2.20", 5060)
    assert cancel.top_via.branch == parse_message(invite_bytes).top_via.branch
    assert cancel.cseq == (5, "CANCEL")
    assert cancel.headers.get_all("Route") == ["<sip:proxy.example.com;lr>"]
    # Then the 200 to the CANCEL and the 487 to the INVITE each find their own transaction.
    transport.deliver(answer(invite_bytes, 200, "CANCEL"), source=("192.0.2.20", 5060))
    transport.deliver(answer(invite_bytes, 487, "INVITE"), source=("192.0.2.20", 5060))
    assert stack.stats.stray_responses == 0
    assert invite_tx.state is State.COMPLETED


def test_cancel_after_a_final_response_has_nothing_to_do() -> None:
    stack, transport, _ = make_stack(Recorder())
    invite_tx = stack.send_request(outgoing(), Destination("UDP", "192.0.2.20"))
    transport.deliver(answer(transport.sent[0][1], 486, "INVITE"), source=("192.0.2.20", 5060))
    sent_before = len(transport.sent)
    assert stack.cancel(invite_tx) is False
    assert len(transport.sent) == sent_before


def test_final_response_before_any_provisional_drops_the_pending_cancel() -> None:
    stack, transport, _ = make_stack(Recorder())
    invite_tx = stack.send_request(outgoing(), Destination("UDP", "192.0.2.20"))
    stack.cancel(invite_tx)
    transport.deliver(answer(transport.sent[0][1], 200, "INVITE"), source=("192.0.2.20", 5060))
    assert not [data for _, data in transport.sent if data.startswith(b"CANCEL")]


def test_large_request_goes_over_tcp_when_udp_was_asked() -> None:
    clock = FakeClock()
    udp, tcp = FakeTransport("UDP"), FakeTransport("TCP", reliable=True)
    stack = SipStack(clock, udp, tcp, on_request=Recorder())
    small = stack.send_request(outgoing("MESSAGE", b"x" * 100), Destination("UDP", "192.0.2.20"))
    large = stack.send_request(outgoing("MESSAGE", b"x" * 1300), Destination("UDP", "192.0.2.20"))
    assert not small.reliable and large.reliable
    assert len(udp.sent) == 1 and len(tcp.sent) == 1
    assert parse_message(tcp.sent[0][1]).top_via.transport == "TCP"


def test_a_stateless_reply_keeps_no_transaction_so_a_retransmission_is_answered_anew() -> None:
    # Given a policy that refuses statelessly (a shed REGISTER's 503),
    recorder = Recorder(Reply(503, stateless=True))
    stack, transport, _ = make_stack(recorder)
    # When a request and its retransmission arrive,
    transport.deliver(sip("REGISTER"))
    assert stack.server_transactions == 0
    transport.deliver(sip("REGISTER"))
    # Then each is answered by the policy, and nothing waits for timer J.
    assert recorder.methods == ["REGISTER", "REGISTER"]
    assert transport.statuses() == [503, 503]
    assert stack.stats.retransmissions_absorbed == 0


def test_a_stateless_challenge_is_sent_again_to_a_retransmission_for_a_few_seconds(
    parsed: list[bytes],
) -> None:
    # Given a policy that challenges statelessly (RFC 3261 8.2.7), a new nonce each time
    nonces = iter(range(100))

    def challenge(tx: ServerTransaction, request: Request) -> Reply:
        return Reply(401, headers=(("WWW-Authenticate", f'Digest nonce="n{next(nonces)}"'),), stateless=True)

    stack, transport, clock = make_stack(challenge)
    # When a REGISTER is challenged and retransmitted 0.5 s and 1.5 s later
    transport.deliver(sip("REGISTER"))
    for delay in (0.5, 1.0):
        clock.advance(delay)
        transport.deliver(sip("REGISTER"))
    # Then the retransmissions get the same challenge, byte for byte, without being parsed or
    # reaching the policy, and no transaction is kept
    assert len(parsed) == 1 and stack.server_transactions == 0
    assert [data for _, data in transport.sent] == [transport.sent[0][1]] * 3
    assert [address for address, _ in transport.sent] == [PEER] * 3
    assert stack.stats.challenges_replayed == 2 and stack.stats.requests == 3
    # The same bytes from another address are another request: challenged anew
    transport.deliver(sip("REGISTER"), source=("192.0.2.99", 5060))
    assert len(parsed) == 2 and b'nonce="n1"' in transport.sent[-1][1]
    # and past two periods the challenge is forgotten: a late retransmission is challenged anew
    clock.advance(8.0)
    transport.deliver(sip("REGISTER"))
    assert len(parsed) == 3 and b'nonce="n2"' in transport.sent[-1][1]


def test_a_stateless_reply_to_an_invite_keeps_the_transaction_for_the_ack() -> None:
    recorder = Recorder(Reply(486, stateless=True))
    stack, transport, _ = make_stack(recorder)
    transport.deliver(sip("INVITE"))
    assert stack.server_transactions == 1
    transport.deliver(sip("ACK", cseq_method="ACK"))
    assert recorder.methods == ["INVITE"]  # the ACK for the 486 was absorbed


def test_a_completed_transaction_drops_parsed_header_forms_but_they_read_back_the_same() -> None:
    recorder = Recorder()
    _, transport, _ = make_stack(recorder)
    transport.deliver(sip("OPTIONS"))
    ((transaction, request),) = recorder.calls
    assert isinstance(transaction, ServerTransaction) and transaction.state is State.COMPLETED
    # Read again after the answer: parsed anew, same values.
    assert request.to.sip_uri is not None and request.to.sip_uri.user == "edge"
    assert request.from_.tag == "a1"
    assert request.cseq == (1, "OPTIONS")


def test_a_malformed_header_is_answered_400_even_after_a_good_one_was_seen() -> None:
    recorder = Recorder()
    stack, transport, _ = make_stack(recorder)
    transport.deliver(sip("OPTIONS"))
    bad = sip("OPTIONS", branch="z9hG4bKstack2").replace(
        "To: <sip:edge@127.0.0.1>", "To: <sip:edge@127.0.0.1> x"
    )
    transport.deliver(bad)
    # (the 400 echoes the bad To, so it is read by its status line only)
    assert [data.split(b" ", 2)[1] for _, data in transport.sent] == [b"200", b"400"]
    assert recorder.methods == ["OPTIONS"]
    assert stack.stats.parse_errors == 1

"""Reliable provisionals (RFC 3262) on one INVITE transaction, on a fake clock."""

from __future__ import annotations

from sip_edge.sip.message import Request, Response
from sip_edge.sip.parsing import parse_message
from sip_edge.sip.reliable import ReliableProvisionals
from sip_edge.sip.timers import DEFAULT_TIMERS, FakeClock
from sip_edge.sip.transaction import ServerInviteTransaction
from tests.unit.sip.test_transaction_server import RecordingChannel

T1 = DEFAULT_TIMERS.t1


def invite(require: str | None = "100rel") -> Request:
    text = (
        "INVITE sip:+14155550100@edge SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKrel1\r\n"
        "Max-Forwards: 70\r\n"
        "From: <sip:carrier@example.com>;tag=c1\r\n"
        "To: <sip:+14155550100@edge>\r\n"
        "Call-ID: rel-1\r\n"
        "CSeq: 5 INVITE\r\n"
        + (f"Require: {require}\r\n" if require else "Supported: 100rel\r\n")
        + "Content-Length: 0\r\n\r\n"
    )
    message = parse_message(text.encode())
    assert isinstance(message, Request)
    return message


def prack(rseq: str, cseq: int = 5) -> Request:
    text = (
        "PRACK sip:d-1.c@edge SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKprack\r\n"
        "Max-Forwards: 70\r\nFrom: <sip:carrier@example.com>;tag=c1\r\nTo: <sip:x@edge>;tag=e1\r\n"
        f"Call-ID: rel-1\r\nCSeq: 6 PRACK\r\nRAck: {rseq} {cseq} INVITE\r\nContent-Length: 0\r\n\r\n"
    )
    message = parse_message(text.encode())
    assert isinstance(message, Request)
    return message


def setup(require: str | None = "100rel") -> tuple[ReliableProvisionals, RecordingChannel, FakeClock]:
    clock = FakeClock()
    channel = RecordingChannel(clock)
    transaction = ServerInviteTransaction(invite(require), channel, clock)
    return ReliableProvisionals(transaction, clock, T1), channel, clock


def sent(channel: RecordingChannel) -> list[Response]:
    out = [parse_message(data) for _, data in channel.sent]
    return [r for r in out if isinstance(r, Response)]


def test_a_reliable_provisional_is_retransmitted_until_its_prack_and_then_stops() -> None:
    provisionals, channel, clock = setup()
    assert provisionals.send(180)
    first = sent(channel)[0]
    assert first.headers.get("Require") == "100rel" and first.headers.get("RSeq") is not None
    clock.advance(T1 + 2 * T1)  # retransmitted at T1 and 3*T1
    assert len(channel.sent) == 3
    assert provisionals.on_prack(prack(str(first.headers.get("RSeq")))).status == 200
    clock.advance(60)
    assert len(channel.sent) == 3


def test_a_newer_provisional_waits_for_the_prack_of_the_older_and_gets_the_next_rseq() -> None:
    provisionals, channel, _ = setup()
    provisionals.send(180)
    assert not provisionals.send(182)  # §3: one unacknowledged at a time
    rseq = int(str(sent(channel)[0].headers.get("RSeq")))
    assert [r.status for r in sent(channel)] == [180]
    provisionals.on_prack(prack(str(rseq)))
    second = sent(channel)[-1]
    assert second.status == 182 and second.headers.get("RSeq") == str(rseq + 1)


def test_a_prack_naming_another_provisional_or_invite_gets_481() -> None:
    provisionals, channel, _ = setup()
    provisionals.send(180)
    rseq = str(sent(channel)[0].headers.get("RSeq"))
    assert provisionals.on_prack(prack(str(int(rseq) + 7))).status == 481
    assert provisionals.on_prack(prack(rseq, cseq=4)).status == 481


def test_with_100rel_only_supported_provisionals_stay_unreliable() -> None:
    provisionals, channel, clock = setup(require=None)
    assert provisionals.send(180) and provisionals.send(182)
    assert [r.headers.get("RSeq") for r in sent(channel)] == [None, None]
    clock.advance(60)
    assert len(channel.sent) == 2


def test_a_provisional_never_pracked_is_given_up_after_64_t1() -> None:
    provisionals, channel, clock = setup()
    provisionals.send(180)
    clock.advance(64 * T1 + 1)
    count = len(channel.sent)
    assert count <= 7  # T1, 2T1, ... doubling within 64*T1
    clock.advance(64 * T1)
    assert len(channel.sent) == count
    assert provisionals.send(183)  # nothing outstanding any more: the next goes at once

"""Calls end to end on the local stack: sipp carrier -> edge (B2BUA) -> sipp agents registered via the API.

Each test onboards its own merchant (queue, number, seats) over HTTP, registers the seats' phones
with their digest credentials, places a call from the loopback trunk and then checks the SIP
exchange on both sides AND what was stored: the seats' states and the contact record.
"""

from __future__ import annotations

import itertools
import math
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sip_edge.sip.building import make_response
from sip_edge.sip.message import Request
from sip_edge.sip.parsing import parse_message
from tests.integration.calls_support import (
    Merchant,
    add_trunk,
    agent,
    bind_table,
    caller,
    onboard,
    records,
    register,
    sdp_of,
)
from tests.support.stack import RunningStack, running_stack

_numbers = itertools.count(1)


def number() -> str:
    return f"+1415555{next(_numbers):04d}"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    # AWS's DynamoDB Local by default: moto undoes a cancelled transaction by restoring a copy of the
    # whole table, stream included, so its stream can rewind under concurrent calls and a seat change
    # can go unseen. CALLS_DYNAMODB=moto runs the same calls on moto's server.
    kind = os.environ.get("CALLS_DYNAMODB", "dynamodb-local")
    with running_stack(tmp_path_factory.mktemp("calls"), dynamodb=kind) as running:
        add_trunk(running, {"name": "Loopback", "source_cidrs": ["127.0.0.0/8"]})
        yield running


def ready(stack: RunningStack, tmp: Path, seats: int = 1, available: bool = True, **options: int) -> Merchant:
    merchant = onboard(stack, number(), seats, **options)
    for seat in merchant.seats:
        register(stack, seat, tmp)
    if available:
        merchant.make_available_in_order(merchant.seats)
    return merchant


def test_answered_call_caller_hangs_up(stack: RunningStack, tmp_path: Path) -> None:
    merchant = ready(stack, tmp_path)
    seat = merchant.seats[0]
    phone = agent(seat, "agent_answer.xml", tmp_path)
    call = caller(stack, merchant.number, "caller_bye.xml", tmp_path)
    assert call.wait() == 0, call.report() + stack.log()[-3000:]
    assert phone.wait() == 0, phone.report()
    # Reason (RFC 3326) on the BYE the edge sent the agent; Max-Forwards carried across (RFC 7332).
    received = phone.messages()
    assert "Reason: Q.850;cause=16" in received
    assert "Max-Forwards: 69" in received
    [record] = records(stack, merchant)
    assert record.called.lstrip("+") == merchant.number.lstrip("+")
    assert record.caller and record.caller.startswith("+4930555")
    assert (record.queue_id, record.seat_id) == (merchant.queue_id, seat.seat_id)
    assert (record.hangup_side, record.hangup_cause) == ("customer", "normal_clearing")
    assert record.enqueued_at and record.offered_at and record.answered_at and record.ended_at
    assert (
        record.created_at <= record.enqueued_at <= record.offered_at <= record.answered_at <= record.ended_at
    )
    assert record.rona_attempts == 0
    assert merchant.wait_state(seat, "available") == "available"


def test_agent_hangs_up(stack: RunningStack, tmp_path: Path) -> None:
    merchant = ready(stack, tmp_path)
    phone = agent(merchant.seats[0], "agent_hangup.xml", tmp_path)
    call = caller(stack, merchant.number, "caller_waits_bye.xml", tmp_path)
    assert phone.wait() == 0, phone.report() + stack.log()[-3000:]
    assert call.wait() == 0, call.report()
    assert "Reason: " in call.messages()
    [record] = records(stack, merchant)
    assert (record.hangup_side, record.hangup_cause) == ("agent", "normal_clearing")


def test_video_passes_through_the_media_relay_with_its_codecs(stack: RunningStack, tmp_path: Path) -> None:
    merchant = ready(stack, tmp_path)
    phone = agent(merchant.seats[0], "agent_answer.xml", tmp_path)
    call = caller(stack, merchant.number, "caller_video.xml", tmp_path)
    assert call.wait() == 0, call.report() + stack.log()[-3000:]
    assert phone.wait() == 0, phone.report()
    sent, received = sdp_of(call.messages()), sdp_of(phone.messages())
    assert b"m=video 6002 RTP/AVP 96" in sent
    # make run anchors media on its relay: the agent is offered the relay's ports for audio and video
    # alike, with the caller's codecs and their parameters untouched.
    video = next(line for line in received.splitlines() if line.startswith(b"m=video "))
    assert video.endswith(b" RTP/AVP 96") and video != b"m=video 6002 RTP/AVP 96"
    for line in (b"a=rtpmap:96 H264/90000", b"a=fmtp:96 profile-level-id=42e01f;packetization-mode=1"):
        assert line in received


def test_busy_agent_stays_available_and_the_second_agent_answers(stack: RunningStack, tmp_path: Path) -> None:
    merchant = ready(stack, tmp_path, seats=2)
    first, second = merchant.seats  # the first became available first: longest idle, offered first
    busy = agent(first, "agent_busy.xml", tmp_path)
    answering = agent(second, "agent_answer.xml", tmp_path)
    call = caller(stack, merchant.number, "caller_bye.xml", tmp_path)
    assert call.wait() == 0, call.report() + stack.log()[-3000:]
    assert busy.wait() == 0, busy.report()
    assert answering.wait() == 0, answering.report()
    assert "SIP/2.0 486" not in call.messages()  # the caller never saw the busy agent
    assert merchant.wait_state(first, "available") == "available"  # busy keeps the agent's place
    [record] = records(stack, merchant)
    assert record.seat_id == second.seat_id and record.hangup_side == "customer"


def test_no_answer_sets_not_responding_and_rona_reaches_the_second_agent(
    stack: RunningStack, tmp_path: Path
) -> None:
    merchant = onboard(stack, number(), 2)
    first, second = merchant.seats
    merchant.set_ring_timeout(first, 5)  # the shortest the API allows
    for seat in merchant.seats:
        register(stack, seat, tmp_path)
    merchant.make_available_in_order(merchant.seats)
    silent = agent(first, "agent_noanswer.xml", tmp_path)
    answering = agent(second, "agent_answer.xml", tmp_path)
    call = caller(stack, merchant.number, "caller_bye.xml", tmp_path)
    assert call.wait() == 0, call.report() + stack.log()[-3000:]
    assert silent.wait() == 0, silent.report()
    assert answering.wait() == 0, answering.report()
    assert "CANCEL" in silent.messages() and "Reason: SIP;cause=480" in silent.messages()
    assert merchant.wait_state(first, "not_responding") == "not_responding"
    [record] = records(stack, merchant)
    assert record.seat_id == second.seat_id and record.rona_attempts == 1
    assert next(s["outcome"] for s in record.segments if s["kind"] == "agent") == "no_answer"


def test_caller_cancels_while_ringing(stack: RunningStack, tmp_path: Path) -> None:
    merchant = ready(stack, tmp_path)
    seat = merchant.seats[0]
    phone = agent(seat, "agent_noanswer.xml", tmp_path)
    call = caller(stack, merchant.number, "caller_cancel_ringing.xml", tmp_path)
    assert call.wait() == 0, call.report() + stack.log()[-3000:]
    assert phone.wait() == 0, phone.report()
    [record] = records(stack, merchant)
    assert (record.hangup_side, record.hangup_cause) == ("customer", "caller_abandoned")
    assert record.answered_at is None
    assert merchant.wait_state(seat, "available") == "available"  # released, not punished


def test_caller_cancels_while_queued(stack: RunningStack, tmp_path: Path) -> None:
    merchant = ready(stack, tmp_path, available=False)
    call = caller(stack, merchant.number, "caller_cancel_queued.xml", tmp_path)
    assert call.wait() == 0, call.report() + stack.log()[-3000:]
    [record] = records(stack, merchant)
    assert (record.hangup_side, record.hangup_cause) == ("customer", "caller_abandoned")
    assert record.enqueued_at and record.offered_at is None


def test_reinvite_is_relayed_to_the_agent(stack: RunningStack, tmp_path: Path) -> None:
    merchant = ready(stack, tmp_path)
    phone = agent(merchant.seats[0], "agent_reinvite.xml", tmp_path)
    call = caller(stack, merchant.number, "caller_reinvite.xml", tmp_path)
    assert call.wait() == 0, call.report() + stack.log()[-3000:]
    assert phone.wait() == 0, phone.report()
    assert "a=sendonly" in phone.messages()
    [record] = records(stack, merchant)
    assert record.hangup_cause == "normal_clearing"


class UdpAgent:
    """The seat's phone as a bare socket, to time the INVITE's arrival to the millisecond."""

    def __init__(self, port: int) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", port))
        self.sock.settimeout(0.2)

    def wait_request(self, method: str, timeout: float = 10.0) -> tuple[Request, tuple[str, int]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                data, source = self.sock.recvfrom(65535)
            except TimeoutError:
                continue
            if not data.strip():
                continue  # the edge's NAT keep-alive (CRLF)
            message = parse_message(data)
            if isinstance(message, Request) and message.method == method:
                return message, source
        raise TimeoutError(f"no {method}")

    def reply(self, request: Request, source: tuple[str, int], status: int, body: bytes = b"") -> None:
        headers = [("Contact", f"<sip:agent@127.0.0.1:{self.sock.getsockname()[1]}>")]
        if body:
            headers.append(("Content-Type", "application/sdp"))
        tag = None if request.to.tag else "agent"
        self.sock.sendto(
            make_response(request, status, to_tag=tag, headers=headers, body=body).to_bytes(), source
        )

    def close(self) -> None:
        self.sock.close()


def waiting(stack: RunningStack, merchant: Merchant, timeout: float = 10.0) -> bool:
    from contact_center.data.contacts import ContactItems

    bind_table(stack)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ContactItems().waiting(merchant.queue_id):
            return True
        time.sleep(0.05)
    return False


def test_queued_caller_reaches_an_agent_soon_after_availability_p95(
    stack: RunningStack, tmp_path: Path
) -> None:
    merchant = ready(stack, tmp_path, available=False)
    seat = merchant.seats[0]
    phone = UdpAgent(seat.port)
    latencies: list[float] = []
    try:
        for index in range(21):  # the first call warms the caches up and is not counted
            call = caller(stack, merchant.number, "caller_bye.xml", tmp_path, name=f"caller{index}")
            assert waiting(stack, merchant), call.report()
            # When the agent becomes available (the clock starts before the API request)
            started = time.monotonic()
            merchant.set_state(seat, "available")
            invite, source = phone.wait_request("INVITE")
            if index:
                latencies.append(time.monotonic() - started)
            phone.reply(invite, source, 200, body=invite.body)
            phone.wait_request("ACK")
            bye, source = phone.wait_request("BYE")
            phone.reply(bye, source, 200)
            assert call.wait() == 0, call.report()
            merchant.wait_state(seat, "available")
            merchant.set_state(seat, "not_ready")
    finally:
        phone.close()
    ranked = sorted(latencies)
    p95 = ranked[math.ceil(0.95 * len(ranked)) - 1]
    print(f"available -> agent INVITE: p50 {ranked[len(ranked) // 2] * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms")
    # The path: API write -> stream poller -> agent_events -> offer -> push to the edge -> INVITE.
    assert p95 <= 0.5, [round(x * 1000) for x in latencies]

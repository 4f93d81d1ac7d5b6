"""Server transactions (RFC 3261 §17.2, RFC 6026 §7/§8.7, RFC 4320) and §17.2.3 matching."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from sip_edge.sip.building import make_response
from sip_edge.sip.message import Request
from sip_edge.sip.parsing import parse_message
from sip_edge.sip.timers import FakeClock, TimerHandle, TimerWheel
from sip_edge.sip.transaction import (
    ServerInviteTransaction,
    ServerNonInviteTransaction,
    ServerTransaction,
    State,
    Transaction,
    TransactionError,
    TransactionTimeoutError,
    cancel_target_key,
    server_key,
)


class RecordingChannel:
    def __init__(self, clock: FakeClock, reliable: bool = False) -> None:
        self.clock = clock
        self.reliable = reliable
        self.sent: list[tuple[float, bytes]] = []

    def send(self, data: bytes, on_error: Callable[[Exception], None] | None = None) -> None:
        self.sent.append((self.clock.now(), data))

    def statuses(self) -> list[int]:
        return [int(data.split(b" ", 2)[1]) for _, data in self.sent]

    def times(self) -> list[float]:
        return [when for when, _ in self.sent]


def request(
    method: str = "OPTIONS",
    branch: str = "z9hG4bKserver1",
    sent_by: str = "192.0.2.10:5060",
    cseq_method: str | None = None,
) -> Request:
    text = (
        f"{method} sip:edge@127.0.0.1 SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {sent_by};branch={branch}\r\n"
        "Max-Forwards: 70\r\n"
        "From: <sip:alice@example.com>;tag=a1\r\n"
        "To: <sip:edge@127.0.0.1>\r\n"
        "Call-ID: server-call-1\r\n"
        f"CSeq: 7 {cseq_method or method}\r\n"
        "Content-Length: 0\r\n\r\n"
    )
    message = parse_message(text.encode())
    assert isinstance(message, Request)
    return message


class Harness:
    def __init__(self, method: str = "OPTIONS", reliable: bool = False) -> None:
        self.clock = FakeClock()
        self.channel = RecordingChannel(self.clock, reliable)
        self.terminated: list[Transaction] = []
        self.errors: list[TransactionError] = []
        self.request = request(method)
        factory = ServerInviteTransaction if method == "INVITE" else ServerNonInviteTransaction
        self.tx: ServerTransaction = factory(
            self.request, self.channel, self.clock, key=("k",), on_terminated=self.terminated.append
        )
        self.tx.on_error = lambda _tx, error: self.errors.append(error)

    @property
    def invite(self) -> ServerInviteTransaction:
        assert isinstance(self.tx, ServerInviteTransaction)
        return self.tx


# --- non-INVITE ---------------------------------------------------------------------------------


def test_non_invite_final_is_replayed_for_each_retransmission_then_timer_j_ends_it() -> None:
    h = Harness()
    # Given a request still in Trying, a retransmission is absorbed silently.
    assert h.tx.receive_request(h.request) is False
    assert h.channel.sent == []
    # When the TU answers, the response goes out once and is replayed byte for byte.
    h.tx.reply(200)
    h.clock.advance(1)
    assert h.tx.receive_request(h.request) is False
    assert h.channel.statuses() == [200, 200]
    assert h.channel.sent[0][1] == h.channel.sent[1][1]
    assert h.tx.state is State.COMPLETED
    # Then timer J (64*T1 over UDP) terminates it.
    h.clock.advance(30.9)
    assert h.tx.state is State.COMPLETED
    h.clock.advance(0.2)
    assert h.tx.terminated
    assert h.errors == []


class WheelClock(FakeClock):
    """A FakeClock whose coarse timers go through a timer wheel, as AsyncioClock's do."""

    def __init__(self, tick: float) -> None:
        super().__init__()
        self.wheel = TimerWheel(self, tick)

    def call_later_coarse(self, delay: float, callback: Callable[[], object]) -> TimerHandle:
        return self.wheel.call_later(delay, callback)


def test_non_invite_on_a_wheel_absorbs_retransmissions_until_timer_j_then_ends() -> None:
    clock = WheelClock(tick=0.1)
    channel = RecordingChannel(clock)
    terminated: list[Transaction] = []
    message = request()
    tx = ServerNonInviteTransaction(message, channel, clock, key=("k",), on_terminated=terminated.append)
    clock.advance(0.05)
    tx.reply(200)
    # Until timer J (32 s over UDP) has run, a retransmission gets the response again,
    clock.advance(31.99)
    tx.receive_request(message)
    assert channel.statuses() == [200, 200] and tx.state is State.COMPLETED
    # and at most one tick after it, the transaction is gone.
    clock.advance(0.11)
    assert tx.terminated and terminated == [tx]
    assert len(clock.wheel) == 0


def test_stateless_non_invite_ends_with_its_final_response_without_a_timer() -> None:
    h = Harness()
    assert isinstance(h.tx, ServerNonInviteTransaction)
    h.tx.stateless = True
    h.tx.reply(401)
    assert h.channel.statuses() == [401]
    assert h.tx.terminated and h.terminated == [h.tx]
    assert h.clock.pending() == 0


def test_non_invite_final_over_reliable_terminates_at_once() -> None:
    h = Harness(reliable=True)
    h.tx.reply(404)
    assert h.tx.terminated
    assert h.clock.pending() == 0


def test_final_responses_carry_one_to_tag_per_transaction() -> None:
    h = Harness("INVITE")
    h.tx.reply(180)
    h.tx.reply(486)
    tags = [parse_message(data).to.tag for _, data in h.channel.sent]
    assert tags[0] is not None and tags == [tags[0], tags[0]]


@pytest.mark.parametrize(
    ("status", "reliable", "sent"),
    [
        (100, False, False),  # RFC 4320 §4.1: could race timer E on UDP
        (100, True, True),  # allowed over a reliable transport
        (180, False, False),  # no provisional other than 100 to a non-INVITE
        (183, True, False),
    ],
)
def test_rfc4320_provisional_responses_to_non_invite(status: int, reliable: bool, sent: bool) -> None:
    h = Harness(reliable=reliable)
    assert h.tx.respond(make_response(h.request, status)) is sent
    assert len(h.channel.sent) == int(sent)


def test_rfc4320_408_is_never_sent_and_retransmissions_stay_absorbed() -> None:
    h = Harness()
    assert h.tx.reply(408) is not None
    assert h.channel.sent == []
    assert h.tx.state is State.COMPLETED
    h.tx.receive_request(h.request)
    assert h.channel.sent == []


def test_non_invite_tu_silence_ends_at_64_t1_and_a_late_answer_is_dropped() -> None:
    h = Harness()
    h.clock.advance(32.1)
    assert h.tx.terminated
    assert isinstance(h.errors[0], TransactionTimeoutError)
    assert h.tx.respond(make_response(h.request, 200, to_tag="x")) is False
    assert h.channel.sent == []


def test_second_final_response_is_not_sent() -> None:
    h = Harness()
    h.tx.reply(200)
    assert h.tx.respond(make_response(h.request, 500, to_tag="x")) is False
    assert h.channel.statuses() == [200]


# --- INVITE -------------------------------------------------------------------------------------


def test_invite_100_trying_at_once_and_replayed_for_retransmissions() -> None:
    h = Harness("INVITE")
    h.invite.send_trying()
    assert h.channel.statuses() == [100]
    h.tx.receive_request(h.request)
    assert h.channel.statuses() == [100, 100]
    h.tx.reply(180)
    h.tx.receive_request(h.request)
    assert h.channel.statuses() == [100, 100, 180, 180]


def test_invite_non_2xx_timer_g_retransmits_up_to_t2_until_timer_h() -> None:
    h = Harness("INVITE")
    h.tx.reply(486)
    h.clock.advance(40)
    # G: 0.5, 1, 2, 4, 4, ... capped at T2; H gives up at 64*T1 = 32 s.
    assert h.channel.times() == [0, 0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
    assert set(h.channel.statuses()) == {486}
    assert h.tx.terminated
    assert isinstance(h.errors[0], TransactionTimeoutError) and h.errors[0].timer == "timer_h"


def test_invite_ack_confirms_stops_g_and_timer_i_terminates() -> None:
    h = Harness("INVITE")
    h.tx.reply(486)
    h.clock.advance(0.6)
    ack = request("ACK")
    assert h.tx.receive_request(ack) is False  # absorbed: the ACK for a non-2xx is ours
    assert h.tx.state is State.CONFIRMED
    h.tx.receive_request(ack)
    h.clock.advance(4.8)
    assert h.tx.state is State.CONFIRMED
    h.clock.advance(0.2)
    assert h.tx.terminated
    assert h.channel.times() == [0, 0.5]
    assert h.errors == []


def test_invite_non_2xx_over_reliable_no_retransmission_and_ack_terminates() -> None:
    h = Harness("INVITE", reliable=True)
    h.tx.reply(404)
    h.clock.advance(10)
    assert h.channel.times() == [0]
    h.tx.receive_request(request("ACK"))
    assert h.tx.terminated


def test_invite_retransmission_in_completed_gets_the_final_again() -> None:
    h = Harness("INVITE")
    h.tx.reply(503)
    h.tx.receive_request(h.request)
    assert h.channel.statuses() == [503, 503]


def test_invite_2xx_enters_accepted_retransmits_until_ack_and_timer_l_ends_it() -> None:
    h = Harness("INVITE")
    h.tx.reply(200)
    assert h.tx.state is State.ACCEPTED
    h.clock.advance(2)
    assert h.channel.times() == [0, 0.5, 1.5]
    # RFC 6026 §8.7: a retransmitted INVITE in Accepted is absorbed without a reply.
    h.tx.receive_request(h.request)
    assert len(h.channel.sent) == 3
    # The first ACK for the 2xx stops retransmission and is for the TU; repeats are not.
    assert h.tx.receive_request(request("ACK", branch="z9hG4bKack")) is True
    assert h.tx.receive_request(request("ACK", branch="z9hG4bKack")) is False
    h.clock.advance(40)
    assert len(h.channel.sent) == 3
    assert h.tx.terminated
    assert h.errors == []


def test_invite_2xx_never_acked_reports_timer_l() -> None:
    h = Harness("INVITE")
    h.tx.reply(200)
    h.clock.advance(40)
    assert h.tx.terminated
    assert isinstance(h.errors[0], TransactionTimeoutError) and h.errors[0].timer == "timer_l"


def test_invite_2xx_from_tu_in_accepted_goes_out() -> None:
    h = Harness("INVITE", reliable=True)
    h.tx.reply(200)
    assert h.tx.respond(make_response(h.request, 200, to_tag=h.tx.local_tag)) is True
    assert h.tx.respond(make_response(h.request, 486, to_tag=h.tx.local_tag)) is False
    assert h.channel.statuses() == [200, 200]


# --- matching (§17.2.3) -------------------------------------------------------------------------


def test_ack_matches_the_invite_key_cancel_does_not() -> None:
    invite_key = server_key(request("INVITE"))
    assert server_key(request("ACK")) == invite_key
    cancel_key = server_key(request("CANCEL"))
    assert cancel_key != invite_key
    assert cancel_target_key(cancel_key) == invite_key


@pytest.mark.parametrize(
    "other",
    [
        {"branch": "z9hG4bKother"},
        {"sent_by": "192.0.2.11:5060"},
        {"sent_by": "192.0.2.10:5070"},
    ],
)
def test_branch_and_sent_by_both_identify_the_transaction(other: dict[str, str]) -> None:
    assert server_key(request("OPTIONS", **other)) != server_key(request("OPTIONS"))


def test_rfc2543_requests_without_magic_cookie_match_on_request_identity() -> None:
    first = server_key(request("INVITE", branch="oldstyle1"))
    assert first[0] == ""
    assert server_key(request("INVITE", branch="oldstyle1")) == first
    assert server_key(request("ACK", branch="oldstyle1")) == first
    assert server_key(request("BYE", branch="oldstyle1")) != first

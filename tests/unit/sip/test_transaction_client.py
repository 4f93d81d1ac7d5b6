"""Client transactions (RFC 3261 §17.1, RFC 6026 §8.4) driven on a FakeClock."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from sip_edge.sip.client_transaction import (
    ClientInviteTransaction,
    ClientNonInviteTransaction,
    ClientTransaction,
)
from sip_edge.sip.message import Request, Response
from sip_edge.sip.parsing import parse_message
from sip_edge.sip.timers import FakeClock
from sip_edge.sip.transaction import (
    State,
    Transaction,
    TransactionError,
    TransactionTimeoutError,
    TransactionTransportError,
    client_key,
)

BRANCH = "z9hG4bKclient1"


class RecordingChannel:
    def __init__(self, clock: FakeClock, reliable: bool = False) -> None:
        self.clock = clock
        self.reliable = reliable
        self.sent: list[tuple[float, bytes]] = []
        self.fail_with: Exception | None = None

    def send(self, data: bytes, on_error: Callable[[Exception], None] | None = None) -> None:
        if self.fail_with is not None and on_error is not None:
            on_error(self.fail_with)
            return
        self.sent.append((self.clock.now(), data))

    def times(self, start: bytes = b"") -> list[float]:
        return [when for when, data in self.sent if data.startswith(start)]


def request(method: str = "OPTIONS") -> Request:
    text = (
        f"{method} sip:agent@127.0.0.1 SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:5070;branch={BRANCH};rport\r\n"
        "Max-Forwards: 70\r\n"
        "From: <sip:edge@127.0.0.1>;tag=from1\r\n"
        "To: <sip:agent@127.0.0.1>\r\n"
        "Call-ID: call-1@127.0.0.1\r\n"
        f"CSeq: 1 {method}\r\n"
        "Route: <sip:proxy@127.0.0.1;lr>\r\n"
        "Content-Length: 0\r\n\r\n"
    )
    message = parse_message(text.encode())
    assert isinstance(message, Request)
    return message


def response(status: int, method: str = "OPTIONS", to_tag: str | None = "callee") -> Response:
    to = "<sip:agent@127.0.0.1>" + (f";tag={to_tag}" if to_tag else "")
    text = (
        f"SIP/2.0 {status} Whatever\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:5070;branch={BRANCH};rport=5070;received=127.0.0.1\r\n"
        "From: <sip:edge@127.0.0.1>;tag=from1\r\n"
        f"To: {to}\r\n"
        "Call-ID: call-1@127.0.0.1\r\n"
        f"CSeq: 1 {method}\r\n"
        "Content-Length: 0\r\n\r\n"
    )
    message = parse_message(text.encode())
    assert isinstance(message, Response)
    return message


class Harness:
    def __init__(self, method: str = "OPTIONS", reliable: bool = False) -> None:
        self.clock = FakeClock()
        self.channel = RecordingChannel(self.clock, reliable)
        self.terminated: list[Transaction] = []
        self.errors: list[TransactionError] = []
        self.responses: list[int] = []
        factory = ClientInviteTransaction if method == "INVITE" else ClientNonInviteTransaction
        self.tx: ClientTransaction = factory(
            request(method), self.channel, self.clock, key=("k",), on_terminated=self.terminated.append
        )
        self.tx.on_error = lambda _tx, error: self.errors.append(error)
        self.tx.on_response = lambda _tx, resp: self.responses.append(resp.status)
        self.tx.start()


# --- non-INVITE ---------------------------------------------------------------------------------


def test_non_invite_timer_e_doubles_to_t2_then_timer_f_times_out() -> None:
    h = Harness()
    h.clock.advance(40)
    # Given T1=0.5, T2=4: E intervals 0.5, 1, 2, 4, 4, ... until F fires at 64*T1 = 32 s.
    assert h.channel.times() == [0, 0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
    assert h.tx.terminated
    assert [type(e) for e in h.errors] == [TransactionTimeoutError]
    assert isinstance(h.errors[0], TransactionTimeoutError) and h.errors[0].timer == "timer_f"
    assert h.terminated == [h.tx]


def test_non_invite_over_reliable_transport_sends_once_and_still_times_out() -> None:
    h = Harness(reliable=True)
    h.clock.advance(31.9)
    assert h.channel.times() == [0]
    assert h.errors == []
    h.clock.advance(0.2)
    assert h.tx.terminated
    assert len(h.errors) == 1


def test_non_invite_provisional_moves_to_proceeding_and_retransmits_every_t2() -> None:
    h = Harness()
    h.clock.advance(0.2)
    h.tx.receive_response(response(100))
    assert h.tx.state is State.PROCEEDING
    h.clock.advance(12)
    # The pending E (due at 0.5) fires, then retransmissions continue at T2.
    assert h.channel.times() == [0, 0.5, 4.5, 8.5]
    assert h.responses == [100]


def test_non_invite_final_response_completes_then_timer_k_terminates() -> None:
    h = Harness()
    h.tx.receive_response(response(200))
    assert h.tx.state is State.COMPLETED
    assert h.responses == [200]
    # Retransmissions of the final response are absorbed in Completed.
    h.tx.receive_response(response(200))
    assert h.responses == [200]
    h.clock.advance(4.9)
    assert h.tx.state is State.COMPLETED
    h.clock.advance(0.2)
    assert h.tx.terminated
    assert h.errors == []
    assert h.channel.times() == [0]


def test_non_invite_final_over_reliable_terminates_at_once() -> None:
    h = Harness(reliable=True)
    h.tx.receive_response(response(404))
    assert h.tx.terminated
    assert h.terminated == [h.tx]
    assert h.clock.pending() == 0


def test_transport_error_terminates_and_informs_the_tu() -> None:
    clock = FakeClock()
    channel = RecordingChannel(clock)
    channel.fail_with = OSError("unreachable")
    errors: list[TransactionError] = []
    tx = ClientNonInviteTransaction(request(), channel, clock)
    tx.on_error = lambda _tx, error: errors.append(error)
    tx.start()
    assert tx.terminated
    assert [type(e) for e in errors] == [TransactionTransportError]
    assert clock.pending() == 0


# --- INVITE -------------------------------------------------------------------------------------


def test_invite_timer_a_doubles_without_cap_and_timer_b_times_out() -> None:
    h = Harness("INVITE")
    h.clock.advance(40)
    # §17.1.1.2: A doubles each time (no T2 cap), B fires at 64*T1: 7 transmissions in all.
    assert h.channel.times() == [0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5]
    assert isinstance(h.errors[0], TransactionTimeoutError) and h.errors[0].timer == "timer_b"
    assert h.tx.terminated


def test_invite_provisional_stops_retransmission_and_timer_b() -> None:
    h = Harness("INVITE")
    h.tx.receive_response(response(100, "INVITE", to_tag=None))
    h.tx.receive_response(response(180, "INVITE"))
    assert h.tx.state is State.PROCEEDING
    h.clock.advance(120)
    assert h.channel.times() == [0]
    assert h.errors == []
    assert h.responses == [100, 180]


def test_invite_non_2xx_final_is_acked_by_the_transaction_and_timer_d_absorbs() -> None:
    h = Harness("INVITE")
    h.tx.receive_response(response(486, "INVITE"))
    assert h.tx.state is State.COMPLETED
    acks = [data for _, data in h.channel.sent if data.startswith(b"ACK ")]
    assert len(acks) == 1
    ack = parse_message(acks[0])
    assert isinstance(ack, Request)
    # §17.1.1.3: same Request-URI, branch, From, Call-ID, CSeq number; To from the response.
    assert ack.uri == "sip:agent@127.0.0.1"
    assert ack.top_via.branch == BRANCH
    assert len(ack.vias) == 1
    assert ack.to.tag == "callee"
    assert ack.cseq == (1, "ACK")
    assert ack.headers.get_all("Route") == ["<sip:proxy@127.0.0.1;lr>"]
    # A retransmitted final response gets the ACK again but is not passed up again.
    h.tx.receive_response(response(486, "INVITE"))
    assert len(h.channel.times(b"ACK ")) == 2
    assert h.responses == [486]
    h.clock.advance(31.9)
    assert h.tx.state is State.COMPLETED
    h.clock.advance(0.2)
    assert h.tx.terminated


def test_invite_non_2xx_over_reliable_terminates_after_ack() -> None:
    h = Harness("INVITE", reliable=True)
    h.tx.receive_response(response(603, "INVITE"))
    assert h.tx.terminated
    assert len(h.channel.times(b"ACK ")) == 1


def test_invite_2xx_enters_accepted_passes_every_2xx_up_and_timer_m_ends_it() -> None:
    h = Harness("INVITE")
    h.tx.receive_response(response(200, "INVITE"))
    assert h.tx.state is State.ACCEPTED
    # RFC 6026 §8.4: retransmitted or forked 2xx go to the TU (which ACKs each); no ACK here.
    h.tx.receive_response(response(200, "INVITE", to_tag="fork2"))
    assert h.responses == [200, 200]
    assert h.channel.times(b"ACK ") == []
    h.clock.advance(31.9)
    assert h.tx.state is State.ACCEPTED
    h.clock.advance(0.2)
    assert h.tx.terminated
    assert h.errors == []


def test_client_key_is_branch_and_cseq_method() -> None:
    assert client_key(response(200, "INVITE")) == (BRANCH, "INVITE")
    assert client_key(request("CANCEL")) == (BRANCH, "CANCEL")


@pytest.mark.parametrize("method", ["OPTIONS", "INVITE"])
def test_async_iteration_yields_until_the_final_response(method: str) -> None:
    import asyncio

    async def scenario() -> list[int]:
        h = Harness(method)
        loop = asyncio.get_running_loop()
        loop.call_soon(h.tx.receive_response, response(100, method, to_tag=None))
        loop.call_soon(h.tx.receive_response, response(200, method))
        return [r.status async for r in h.tx]

    assert asyncio.run(scenario()) == [100, 200]


def test_final_response_raises_on_timeout() -> None:
    import asyncio

    async def scenario() -> None:
        h = Harness()
        asyncio.get_running_loop().call_soon(h.clock.advance, 40)
        await h.tx.final_response()

    with pytest.raises(TransactionTimeoutError):
        asyncio.run(scenario())

"""Transfers and agents calling out, end to end on the local stack, with sipp on every side.

The stack's one trunk is the platform's carrier on 127.0.0.2: carriers' calls come from there, and
the merchant's outbound calls go to its signalling address on 127.0.0.2, where a sipp UAS plays the
carrier. Seats' phones are on 127.0.0.1, outside the trunk, so their INVITEs are agents calling out.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import secrets
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from sip_edge.sip.digest import compute_ha1, compute_response
from sip_edge.sip.digest_header import parse_authorization
from sip_edge.sip.message import Request, Response
from sip_edge.sip.parsing import parse_message
from tests.integration.calls_support import (
    SCENARIOS,
    SIPP,
    Merchant,
    Seat,
    Sipp,
    add_trunk,
    bind_table,
    call_api,
    onboard,
    records,
    register,
    sipp_args,
)
from tests.sip.b2bua_support import AGENT_SDP, AUDIO_SDP, Phone, _Protocol
from tests.support.ports import free_port
from tests.support.stack import RunningStack, running_stack

CARRIER_HOST = "127.0.0.2"
CARRIER_PORT = free_port()  # the carrier trunk's signalling address
_numbers = itertools.count(1)


def number() -> str:
    return f"+1415556{next(_numbers):04d}"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    kind = os.environ.get("CALLS_DYNAMODB", "dynamodb-local")
    with running_stack(tmp_path_factory.mktemp("transfers"), dynamodb=kind) as running:
        add_trunk(
            running,
            {
                "name": "Carrier",
                "source_cidrs": ["127.0.0.2/32"],
                "address": f"{CARRIER_HOST}:{CARRIER_PORT}",
            },
        )
        yield running


def sipp(name: str, args: Sequence[str], tmp: Path, *, host: str, port: int, calls: int | None = 1) -> Sipp:
    """sipp on host:port; ``calls=None`` runs until it is sent SIGUSR1 (then ends its calls and exits)."""
    base = sipp_args(tmp, name, port)
    base[base.index("-i") + 1] = host
    if calls is None:
        del base[base.index("-m") : base.index("-m") + 2]
    else:
        base[base.index("-m") + 1] = str(calls)
    proc = subprocess.Popen(
        [SIPP, *args, *base], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, text=True, cwd=tmp
    )
    return Sipp(name, proc, tmp)


def phone(seat: Seat, scenario: str, tmp: Path, *extra: str) -> Sipp:
    """A seat's phone answering calls on the port it registered from."""
    return sipp(
        f"phone_{seat.username}",
        ["-sf", str(SCENARIOS / scenario), *extra],
        tmp,
        host="127.0.0.1",
        port=seat.port,
    )


def carrier_call(stack: RunningStack, to: str, scenario: str, tmp: Path) -> Sipp:
    """A call from the carrier's address (the trunk)."""
    args = [f"127.0.0.1:{stack.sip_port}", "-sf", str(SCENARIOS / scenario), "-s", to]
    return sipp("caller", args, tmp, host=CARRIER_HOST, port=free_port())


def seat_dials(stack: RunningStack, seat: Seat, to: str, scenario: str, tmp: Path) -> Sipp:
    fields = tmp / f"dial_{seat.username}.csv"
    fields.write_text(f"SEQUENTIAL\n{seat.username};{seat.domain}\n")
    args = [
        f"127.0.0.1:{stack.sip_port}",
        "-sf", str(SCENARIOS / scenario),
        # sipp's digest names the host alone unless told the Request-URI, which it must name.
        "-auth_uri", f"{to}@127.0.0.1:{stack.sip_port}",  # sipp adds the "sip:"
        "-s", to,
        "-inf", str(fields),
        "-au", seat.username,
        "-ap", seat.password,
    ]  # fmt: skip
    return sipp(f"dial_{seat.username}", args, tmp, host="127.0.0.1", port=free_port())


def ready(stack: RunningStack, tmp: Path, seats: int, wrap_up: int = 30) -> Merchant:
    merchant = onboard(stack, number(), seats)
    status, queue = call_api(
        stack,
        "PATCH",
        f"/merchants/{merchant.merchant_id}/queues/{merchant.queue_id}",
        {"wrap_up_seconds": wrap_up},
        merchant.key,
    )
    assert status == 200, queue
    for seat in merchant.seats:
        register(stack, seat, tmp)
    merchant.make_available_in_order(merchant.seats)
    return merchant


def agent_segments(record: Any) -> list[tuple[str, str]]:
    return [(s["seat_id"], s["outcome"]) for s in record.segments if s["kind"] == "agent"]


def test_a_blind_transfer_keeps_the_callers_dialog_and_records_both_agents(
    stack: RunningStack, tmp_path: Path
) -> None:
    merchant = ready(stack, tmp_path, seats=2)
    first, second = merchant.seats
    transferring = phone(first, "agent_refers.xml", tmp_path, "-key", "target", second.seat_id)
    taking = phone(second, "agent_answer.xml", tmp_path)
    call = carrier_call(stack, merchant.number, "caller_transferred.xml", tmp_path)
    assert transferring.wait() == 0, transferring.report() + stack.log()[-3000:]
    # The transferring agent is let go into wrap-up at once.
    assert merchant.wait_state(first, "after_contact_work") == "after_contact_work"
    assert call.wait() == 0, call.report() + stack.log()[-3000:]
    assert taking.wait() == 0, taking.report()
    [record] = records(stack, merchant)
    assert agent_segments(record) == [(first.seat_id, "transferred"), (second.seat_id, "normal_clearing")]
    assert (record.seat_id, record.hangup_side) == (second.seat_id, "customer")


def test_a_refer_to_a_queue_without_agents_puts_the_caller_in_that_queue(
    stack: RunningStack, tmp_path: Path
) -> None:
    merchant = ready(stack, tmp_path, seats=1)
    [seat] = merchant.seats
    status, empty = call_api(
        stack, "POST", f"/merchants/{merchant.merchant_id}/queues", {"name": "Nobody here"}, merchant.key
    )
    assert status == 201, empty
    transferring = phone(seat, "agent_refers.xml", tmp_path, "-key", "target", empty["queue_id"])
    call = carrier_call(stack, merchant.number, "caller_held_after_transfer.xml", tmp_path)
    assert transferring.wait() == 0, transferring.report() + stack.log()[-3000:]
    assert call.wait() == 0, call.report()
    bind_table(stack)
    from contact_center.data.contacts import ContactItems, now_ms, utc_day

    deadline = time.monotonic() + 8
    found: list[Any] = []
    while not found and time.monotonic() < deadline:
        found = ContactItems().records_for_queue(empty["queue_id"], utc_day(now_ms()))
        time.sleep(0.2)
    [record] = found
    assert agent_segments(record) == [(seat.seat_id, "transferred")]
    assert [s["queue_id"] for s in record.segments if s["kind"] == "queue"] == [
        merchant.queue_id,
        empty["queue_id"],
    ]
    assert (record.queue_id, record.hangup_cause) == (empty["queue_id"], "caller_abandoned")


def test_a_seat_calls_out_and_the_carrier_sees_the_merchants_caller_id(
    stack: RunningStack, tmp_path: Path
) -> None:
    merchant = ready(stack, tmp_path, seats=1, wrap_up=0)
    [seat] = merchant.seats
    # The edge pings the trunk with OPTIONS at any moment, and each ping is a call to sipp: the
    # carrier answers them and takes calls until it is told to stop.
    carrier = sipp(
        "carrier",
        ["-sf", str(SCENARIOS / "carrier_uas.xml")],
        tmp_path,
        host=CARRIER_HOST,
        port=CARRIER_PORT,
        calls=None,
    )
    time.sleep(0.3)  # the carrier listens before the call leaves
    dialled = "+442079460000"
    out = seat_dials(stack, seat, dialled, "seat_calls_out.xml", tmp_path)
    assert out.wait() == 0, out.report() + carrier.report() + stack.log()[-3000:]
    carrier.proc.send_signal(signal.SIGUSR1)
    assert carrier.wait() == 0, carrier.report()
    received = carrier.messages()
    invite = received[received.find("INVITE sip:") :]
    assert (
        f"From: <sip:{merchant.number}@" in invite
        and f"sip:{merchant.number}@" in invite.split("P-Asserted-Identity:")[1]
    )
    assert f"INVITE sip:{dialled}@" in invite
    contact_id = re.search(r"X-Switchboard-Contact-Id: (\S+)", invite)
    assert contact_id is not None
    bind_table(stack)
    from contact_center.data.contacts import ContactItems

    deadline = time.monotonic() + 8
    record = None
    while record is None and time.monotonic() < deadline:
        try:
            record = ContactItems().record(contact_id.group(1))
        except Exception:
            time.sleep(0.2)
    assert record is not None
    assert (record.called, record.caller, record.seat_id) == (dialled, merchant.number, seat.seat_id)
    assert [s["kind"] for s in record.segments] == ["outbound"] and record.answered_at is not None
    assert merchant.wait_state(seat, "available") == "available"


def test_a_number_outside_the_allowed_prefixes_is_refused_with_403_and_a_reason(
    stack: RunningStack, tmp_path: Path
) -> None:
    merchant = ready(stack, tmp_path, seats=1)
    [seat] = merchant.seats
    status, changed = call_api(
        stack, "PATCH", f"/merchants/{merchant.merchant_id}", {"dial_prefixes": ["+44"]}, merchant.key
    )
    assert status == 200 and changed["dial_prefixes"] == ["+44"], changed
    refused = seat_dials(stack, seat, "+33142270000", "seat_call_refused.xml", tmp_path)
    assert refused.wait() == 0, refused.report() + stack.log()[-3000:]
    assert merchant.state(seat) == "available"  # never made busy


class ConsultingPhone:
    """The transferring agent's phone for an attended transfer, scripted in Python: it holds two
    dialogs at once (the caller's and the consult), which one sipp scenario cannot."""

    def __init__(self, phone: Phone, stack: RunningStack, seat: Seat) -> None:
        self.phone, self.seat = phone, seat
        self.edge = ("127.0.0.1", stack.sip_port)
        self.call_id = secrets.token_hex(8)
        self.cseq = 0

    def _invite(self, target: str, authorization: str | None = None) -> Request:
        self.cseq += 1
        seat, port = self.seat, self.phone.port
        lines = [
            f"INVITE sip:{target}@{self.edge[0]}:{self.edge[1]} SIP/2.0",
            f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK{secrets.token_hex(8)};rport",
            f"From: <sip:{seat.username}@{seat.domain}>;tag={self.phone.tag}",
            f"To: <sip:{target}@{seat.domain}>",
            f"Call-ID: {self.call_id}",
            f"CSeq: {self.cseq} INVITE",
            f"Contact: <sip:{seat.username}@127.0.0.1:{port}>",
            "Max-Forwards: 70",
            "Content-Type: application/sdp",
            *([f"Proxy-Authorization: {authorization}"] if authorization else []),
        ]
        data = ("\r\n".join(lines) + f"\r\nContent-Length: {len(AUDIO_SDP)}\r\n\r\n").encode() + AUDIO_SDP
        request = parse_message(data)
        assert isinstance(request, Request)
        self.phone.send(request, self.edge)
        return request

    def _ack_failure(self, invite: Request, response: Response) -> None:
        lines = [
            f"ACK {invite.uri} SIP/2.0",
            f"Via: {invite.headers.get('Via')}",
            f"From: {invite.headers.get('From')}",
            f"To: {response.headers.get('To')}",
            f"Call-ID: {invite.call_id}",
            f"CSeq: {invite.cseq[0]} ACK",
            "Max-Forwards: 70",
            "Content-Length: 0",
        ]
        self.phone.send(("\r\n".join(lines) + "\r\n\r\n").encode(), self.edge)

    async def consult(self, target: str) -> tuple[Request, Response]:
        """Dial ``target`` (a seat id) with the seat's credentials; the answered consult dialog."""
        first = self._invite(target)
        challenge = await self.phone.response("INVITE", 407)
        self._ack_failure(first, challenge)
        offered = [v for v in challenge.headers.get_lines("Proxy-Authenticate") if "MD5" in v]
        params = parse_authorization(offered[0])
        realm, uri = params.realm or "", f"sip:{target}@{self.edge[0]}:{self.edge[1]}"
        digest = compute_response(
            compute_ha1(self.seat.username, realm, self.seat.password),
            nonce=params.nonce or "",
            method="INVITE",
            uri=uri,
            nc="00000001",
            cnonce="c0ffee",
        )
        invite = self._invite(
            target,
            f'Digest username="{self.seat.username}", realm="{realm}", nonce="{params.nonce}", '
            f'uri="{uri}", response="{digest}", algorithm=MD5, qop=auth, nc=00000001, cnonce="c0ffee"',
        )
        ok = await self.phone.response("INVITE", final=True, timeout=10)
        assert ok.status == 200, ok
        self.phone.cseq = self.cseq
        self.phone.in_dialog("ACK", invite, ok, self.edge, cseq=invite.cseq[0])
        return invite, ok


async def phone_on(port: int, name: str) -> Phone:
    """A scripted phone on the port its seat registered from."""
    phone = Phone(name)
    transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
        lambda: _Protocol(phone.inbox), local_addr=("127.0.0.1", port)
    )
    phone.transport, phone.port = transport, port
    return phone


def test_an_attended_transfer_keeps_the_callers_dialog_and_records_both_agents(
    stack: RunningStack, tmp_path: Path
) -> None:
    merchant = ready(stack, tmp_path, seats=2)
    first, second = merchant.seats
    consulted = phone(second, "agent_consulted.xml", tmp_path)

    async def scenario() -> None:
        agent = await phone_on(first.port, "agent")
        call = carrier_call(stack, merchant.number, "caller_transferred.xml", tmp_path)
        try:
            ring, source = await agent.request("INVITE", timeout=10)
            agent_ok = agent.answer(ring, source, 200, body=AGENT_SDP)
            await agent.request("ACK")
            # The edge reports the answer to the router beside the ACK; a person consults seconds
            # later, a script at once: it waits until the router has the seat on the call.
            assert await asyncio.to_thread(merchant.wait_state, first, "on_contact") == "on_contact"
            # On hold while consulting is the phone's own re-INVITE, relayed as any; then the consult.
            consulting = ConsultingPhone(await Phone.open("consulting"), stack, first)
            consult_invite, consult_ok = await consulting.consult(second.seat_id)
            assert merchant.wait_state(second, "on_contact") == "on_contact"
            replaces = quote(
                f"{consult_invite.call_id};to-tag={consult_ok.to.tag};from-tag={consult_invite.from_.tag}",
                safe="",
            )
            refer_to = f"<sip:{second.seat_id}@127.0.0.1?Replaces={replaces}>"
            agent.in_dialog("REFER", ring, agent_ok, ("127.0.0.1", stack.sip_port), uas=True,
                            headers=[("Refer-To", refer_to)])  # fmt: skip
            assert (await agent.response("REFER", final=True)).status == 202
            bodies: list[bytes] = []
            while not bodies or bodies[-1].startswith(b"SIP/2.0 1"):
                notify, source = await agent.request("NOTIFY", timeout=10)
                bodies.append(notify.body)
                agent.answer(notify, source, 200)
            assert bodies[-1] == b"SIP/2.0 200 OK\r\n", bodies
            # Both of the transferring agent's legs end.
            for leg in (agent, consulting.phone):
                bye, source = await leg.request("BYE", timeout=10)
                leg.answer(bye, source, 200)
            consulting.phone.close()
        finally:
            agent.close()
        assert await asyncio.to_thread(call.wait) == 0, call.report() + stack.log()[-3000:]

    asyncio.run(asyncio.wait_for(scenario(), 60))
    assert merchant.wait_state(first, "after_contact_work") == "after_contact_work"
    assert consulted.wait() == 0, consulted.report() + stack.log()[-3000:]
    [record] = records(stack, merchant)
    assert agent_segments(record) == [(first.seat_id, "transferred"), (second.seat_id, "normal_clearing")]
    assert (record.seat_id, record.hangup_side) == (second.seat_id, "customer")


def test_a_transfer_requested_over_the_api_moves_the_caller_to_the_second_agent(
    stack: RunningStack, tmp_path: Path
) -> None:
    merchant = ready(stack, tmp_path, seats=2)
    first, second = merchant.seats
    answering = phone(first, "agent_answer.xml", tmp_path)
    taking = phone(second, "agent_answer.xml", tmp_path)
    call = carrier_call(stack, merchant.number, "caller_transferred.xml", tmp_path)
    assert merchant.wait_state(first, "on_contact", timeout=10) == "on_contact", stack.log()[-3000:]
    state_path = f"/merchants/{merchant.merchant_id}/seats/{first.seat_id}/state"
    status, state = call_api(stack, "GET", state_path, None, merchant.key)
    assert status == 200 and state["contact_id"], state
    path = f"/merchants/{merchant.merchant_id}/contacts/{state['contact_id']}/transfer"
    status, bad = call_api(stack, "POST", path, {"target": {"seat": second.seat_id}}, merchant.key)
    assert (status, bad["error"]["field"]) == (400, "target.seat"), bad
    status, accepted = call_api(stack, "POST", path, {"target": {"seat_id": second.seat_id}}, merchant.key)
    assert status == 202, accepted
    assert answering.wait() == 0, answering.report() + stack.log()[-3000:]  # its BYE came
    assert merchant.wait_state(first, "after_contact_work") == "after_contact_work"
    assert call.wait() == 0, call.report() + stack.log()[-3000:]
    assert taking.wait() == 0, taking.report()
    [record] = records(stack, merchant)
    assert agent_segments(record) == [(first.seat_id, "transferred"), (second.seat_id, "normal_clearing")]
    # The call is over: no live contact by that id any more.
    status, over = call_api(stack, "POST", path, {"target": {"seat_id": second.seat_id}}, merchant.key)
    assert status == 404, over

"""Attended transfer in-process: the agent consults another seat from its phone, then REFERs its
caller with Replaces naming the consult; the caller's dialog survives (same Call-ID and tags) and
is joined to the consulted phone, whose own dialog survives too; both of the first agent's legs end."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from urllib.parse import quote

from contact_center.services.routing.decisions import OfferOutcome, Reject
from contact_center.services.routing.transfers import TransferOutcome
from sip_edge.sip.message import Request, Response
from tests.sip.b2bua_support import (
    AGENT_SDP,
    AUDIO_SDP,
    FakeRouting,
    Phone,
    RunningEdge,
    StaticTrunks,
    _Protocol,
    connect_to,
    running_edge,
)
from tests.sip.test_b2bua_outbound import SeatCredentials, SeatPhone

CARRIER_HOST = "127.0.0.2"  # the trunk; seats' phones are on 127.0.0.1
NUMBER = "+15550001"
CONSULTED_SDP = AGENT_SDP.replace(b"42000", b"44000")
FRESH_OFFER = AGENT_SDP.replace(b"42000", b"45000")


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(scenario(), 30))


async def carrier_phone() -> Phone:
    phone = Phone("carrier")
    transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
        lambda: _Protocol(phone.inbox), local_addr=(CARRIER_HOST, 0)
    )
    phone.transport = transport
    phone.port = transport.get_extra_info("sockname")[1]
    return phone


async def inbound_call(
    edge: RunningEdge, caller: Phone, agent: Phone
) -> tuple[Request, Response, Request, Response]:
    invite = caller.invite(edge.address, NUMBER)
    agent_invite, source = await agent.request("INVITE")
    agent_ok = agent.answer(agent_invite, source, 200, body=AGENT_SDP)
    ok = await caller.response("INVITE", 200)
    caller.in_dialog("ACK", invite, ok, edge.address, cseq=1)
    await agent.request("ACK")
    return invite, ok, agent_invite, agent_ok


async def consult(
    edge: RunningEdge, phone: Phone, consulted: Phone, seat: str
) -> tuple[Request, Response, str]:
    """The agent's phone dials ``seat``; the consulted phone answers. Returns the consult dialog
    (the consulting side) and the consulted phone's Call-ID."""
    dialler = SeatPhone(phone, edge)
    dialling = asyncio.create_task(dialler.dial(seat))
    ring, source = await consulted.request("INVITE")
    assert ring.body == AUDIO_SDP  # the consulting phone's offer, untouched
    consulted.answer(ring, source, 200, body=CONSULTED_SDP)
    invite, ok = await dialling
    assert ok.status == 200 and ok.body == CONSULTED_SDP
    phone.cseq = dialler.cseq
    phone.in_dialog("ACK", invite, ok, edge.address, cseq=invite.cseq[0])
    await consulted.request("ACK")
    return invite, ok, ring.call_id


def replaces(invite: Request, ok: Response) -> str:
    value = f"{invite.call_id};to-tag={ok.to.tag};from-tag={invite.from_.tag}"
    return quote(value, safe="")


async def refer(edge: RunningEdge, agent: Phone, invite: Request, ok: Response, target: str) -> list[bytes]:
    agent.in_dialog("REFER", invite, ok, edge.address, uas=True, headers=[("Refer-To", f"<{target}>")])
    assert (await agent.response("REFER", final=True)).status == 202
    bodies: list[bytes] = []
    while not bodies or bodies[-1].startswith(b"SIP/2.0 1"):
        notify, source = await agent.request("NOTIFY")
        bodies.append(notify.body)
        agent.answer(notify, source, 200)
    return bodies


def test_an_attended_transfer_joins_the_caller_to_the_consulted_phone_on_both_dialogs() -> None:
    async def scenario() -> None:
        caller = await carrier_phone()
        first, consulting, second = await Phone.open("a1"), await Phone.open("a1c"), await Phone.open("a2")
        routing = FakeRouting()
        routing.new_contact_answer = connect_to(first, seat="seat-1")
        async with running_edge(
            routing, trunks=StaticTrunks((f"{CARRIER_HOST}/32",)), credentials=SeatCredentials()
        ) as edge:
            invite, ok, agent_invite, agent_ok = await inbound_call(edge, caller, first)
            contact_id = routing.actions("new_contact")[0][2]
            routing.consult_answer = connect_to(second, seat="seat-2", contact_id=contact_id)
            consult_invite, consult_ok, consulted_call = await consult(edge, consulting, second, "seat-2")
            assert routing.actions("consult") == [("u-a1", "seat-2")]
            assert routing.actions("consult_result") == [("m1", "seat-2", contact_id, True)]

            routing.transfer_answers = [
                TransferOutcome(connect_to(second, seat="seat-2"), "seat-1", "m1", wrap_up_deadline_ms=None)
            ]
            target = f"sip:seat-2@127.0.0.1?Replaces={replaces(consult_invite, consult_ok)}"
            notified = await refer(edge, first, agent_invite, agent_ok, target)
            assert notified == [b"SIP/2.0 100 Trying\r\n", b"SIP/2.0 200 OK\r\n"]
            assert routing.actions("transfer") == [(contact_id, "seat-1", "seat-2", True)]
            # Both of the first agent's legs end.
            for phone in (first, consulting):
                bye, source = await phone.request("BYE")
                assert "transferred" in (bye.headers.get("Reason") or "")
                phone.answer(bye, source, 200)

            # The consulted phone is asked for a fresh offer in its own dialog ...
            ask, source = await second.request("INVITE")
            assert ask.body == b""
            assert ask.call_id == consulted_call
            second.answer(ask, source, 200, body=FRESH_OFFER)
            # ... which the caller gets in a re-INVITE of its own dialog, Call-ID and tags unchanged.
            reinvite, source = await caller.request("INVITE")
            assert reinvite.call_id == invite.call_id
            assert reinvite.from_.tag == ok.to.tag and reinvite.to.tag == invite.from_.tag
            assert reinvite.body == FRESH_OFFER
            caller.answer(reinvite, source, 200, body=AUDIO_SDP)
            await caller.request("ACK")
            ack, _ = await second.request("ACK")
            assert ack.body == AUDIO_SDP and ack.call_id == ask.call_id
            for _ in range(50):
                if routing.actions("offer_result"):
                    break
                await asyncio.sleep(0.02)
            assert (contact_id, "seat-2", OfferOutcome.ANSWERED) in routing.actions("offer_result")

            # The caller now talks with the consulted agent: its BYE reaches that phone.
            caller.in_dialog("BYE", invite, ok, edge.address)
            bye, source = await second.request("BYE")
            assert bye.call_id == ask.call_id
            second.answer(bye, source, 200)
            await asyncio.wait_for(routing.ended.wait(), 5)
            # The consult was taken, not ended: the consulted seat was never let go.
            assert routing.actions("consult_result") == [("m1", "seat-2", contact_id, True)]
        for phone in (caller, first, consulting, second):
            phone.close()

    run(scenario)


def test_replaces_naming_no_consult_of_this_call_is_481_in_the_notify_and_the_call_goes_on() -> None:
    async def scenario() -> None:
        caller = await carrier_phone()
        first = await Phone.open("a1")
        routing = FakeRouting()
        routing.new_contact_answer = connect_to(first, seat="seat-1")
        async with running_edge(
            routing, trunks=StaticTrunks((f"{CARRIER_HOST}/32",)), credentials=SeatCredentials()
        ) as edge:
            invite, ok, agent_invite, agent_ok = await inbound_call(edge, caller, first)
            # Its own call's dialog is no consult; an unknown Call-ID is none either.
            for named in (
                quote(f"{invite.call_id};to-tag={ok.to.tag};from-tag={invite.from_.tag}", safe=""),
                quote("nobody;to-tag=a;from-tag=b", safe=""),
            ):
                target = f"sip:seat-2@127.0.0.1?Replaces={named}"
                notified = await refer(edge, first, agent_invite, agent_ok, target)
                assert notified[-1].startswith(b"SIP/2.0 481 ")
            assert routing.actions("transfer") == []
            caller.in_dialog("BYE", invite, ok, edge.address)
            bye, source = await first.request("BYE")
            first.answer(bye, source, 200)
            await asyncio.wait_for(routing.ended.wait(), 5)
        caller.close()
        first.close()

    run(scenario)


def test_a_consult_of_another_call_is_foreign_and_a_consult_hung_up_lets_the_seat_go() -> None:
    async def scenario() -> None:
        caller = await carrier_phone()
        first, consulting, second = await Phone.open("a1"), await Phone.open("a1c"), await Phone.open("a2")
        routing = FakeRouting()
        routing.new_contact_answer = connect_to(first, seat="seat-1")
        async with running_edge(
            routing, trunks=StaticTrunks((f"{CARRIER_HOST}/32",)), credentials=SeatCredentials()
        ) as edge:
            _, _, agent_invite, agent_ok = await inbound_call(edge, caller, first)
            # The router reserved seat-2 about another contact: this call cannot be handed there.
            routing.consult_answer = connect_to(second, seat="seat-2", contact_id="another-contact")
            consult_invite, consult_ok, _ = await consult(edge, consulting, second, "seat-2")
            target = f"sip:seat-2@127.0.0.1?Replaces={replaces(consult_invite, consult_ok)}"
            notified = await refer(edge, first, agent_invite, agent_ok, target)
            assert notified[-1].startswith(b"SIP/2.0 481 ")
            assert routing.actions("transfer") == []
            # The consulting phone hangs up: the consulted phone is sent BYE and its seat let go.
            consulting.in_dialog("BYE", consult_invite, consult_ok, edge.address)
            assert (await consulting.response("BYE", final=True)).status == 200
            bye, source = await second.request("BYE")
            second.answer(bye, source, 200)
            for _ in range(50):
                if len(routing.actions("consult_result")) == 2:
                    break
                await asyncio.sleep(0.02)
            assert routing.actions("consult_result")[-1] == ("m1", "seat-2", "another-contact", False)
            assert routing.actions("contact_ended") == []  # the call consulted about goes on
        for phone in (caller, first, consulting, second):
            phone.close()

    run(scenario)


def test_a_consult_the_router_refuses_reaches_the_phone_with_its_status_and_reason() -> None:
    async def scenario() -> None:
        phone = await Phone.open("a1c")
        routing = FakeRouting()
        routing.consult_answer = Reject(486, "seat seat-2 is not available")
        async with running_edge(
            routing, trunks=StaticTrunks((f"{CARRIER_HOST}/32",)), credentials=SeatCredentials()
        ) as edge:
            _invite, refused = await SeatPhone(phone, edge).dial("seat-2")
            assert refused.status == 486
            assert "not available" in (refused.headers.get("Warning") or "")
            assert routing.actions("dial_out") == []
        phone.close()

    run(scenario)

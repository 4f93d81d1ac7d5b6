"""Blind transfer in-process: the agent's phone REFERs the caller to a queue or a seat; the caller's
dialog survives (same Call-ID and tags), the new agent is joined by a re-INVITE of the caller's leg,
and the transferring agent hears the progress (RFC 3515 NOTIFY) and is let go."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from contact_center.services.routing.decisions import OfferOutcome, Queue, Reject
from contact_center.services.routing.transfers import TransferOutcome
from sip_edge.sip.message import Request, Response
from tests.sip.b2bua_support import (
    AGENT_SDP,
    AUDIO_SDP,
    FakeRouting,
    Phone,
    RunningEdge,
    connect_to,
    running_edge,
)
from tests.sip.test_b2bua_calls import answered_call

NEW_AGENT_SDP = AGENT_SDP.replace(b"42000", b"43000")


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(scenario(), 30))


async def refer(edge: RunningEdge, agent: Phone, invite: Request, ok: Response, target: str) -> list[bytes]:
    """The agent REFERs its caller to ``target``: 202, then the NOTIFY bodies until a final one."""
    agent.in_dialog("REFER", invite, ok, edge.address, uas=True, headers=[("Refer-To", f"<{target}>")])
    assert (await agent.response("REFER", final=True)).status == 202
    bodies: list[bytes] = []
    while not bodies or bodies[-1].startswith(b"SIP/2.0 1"):
        notify, source = await agent.request("NOTIFY")
        assert (notify.headers.get("Event") or "").startswith("refer")
        bodies.append(notify.body)
        agent.answer(notify, source, 200)
    return bodies


async def joined(caller: Phone, invite: Request, ok: Response, new_agent: Phone) -> None:
    """The new agent answers with an offer; the caller gets it in a re-INVITE of its own dialog."""
    agent_invite, source = await new_agent.request("INVITE")
    assert agent_invite.body == b""  # no offer: the new agent's 2xx makes it
    new_agent.answer(agent_invite, source, 200, body=NEW_AGENT_SDP)
    reinvite, source = await caller.request("INVITE")
    assert reinvite.call_id == invite.call_id
    assert reinvite.from_.tag == ok.to.tag and reinvite.to.tag == invite.from_.tag
    assert reinvite.body == NEW_AGENT_SDP
    caller.answer(reinvite, source, 200, body=AUDIO_SDP)
    await caller.request("ACK")
    ack, _ = await new_agent.request("ACK")
    assert ack.body == AUDIO_SDP  # the caller's answer reaches the new agent


async def first_agent_let_go(agent: Phone) -> None:
    bye, source = await agent.request("BYE")
    assert "transferred" in (bye.headers.get("Reason") or "")
    agent.answer(bye, source, 200)


def test_a_blind_transfer_to_a_queue_joins_the_next_agent_on_the_callers_own_dialog() -> None:
    async def scenario() -> None:
        caller, first, second = await Phone.open("carrier"), await Phone.open("a1"), await Phone.open("a2")
        routing = FakeRouting()
        routing.new_contact_answer = connect_to(first, seat="seat-1")
        routing.transfer_answers = [
            TransferOutcome(connect_to(second, seat="seat-2"), "seat-1", "m1", wrap_up_deadline_ms=None)
        ]
        async with running_edge(routing) as edge:
            invite, ok, agent_invite, agent_ok = await answered_call(edge, caller, first)
            contact_id = routing.actions("new_contact")[0][2]
            notified = await refer(edge, first, agent_invite, agent_ok, "sip:sales@127.0.0.1")
            assert notified == [b"SIP/2.0 100 Trying\r\n", b"SIP/2.0 200 OK\r\n"]
            assert routing.actions("transfer") == [(contact_id, "seat-1", "sales")]
            await first_agent_let_go(first)
            await joined(caller, invite, ok, second)
            for _ in range(50):
                if len(routing.actions("offer_result")) == 2:
                    break
                await asyncio.sleep(0.02)
            assert routing.actions("offer_result")[1] == (contact_id, "seat-2", OfferOutcome.ANSWERED)
            assert routing.actions("contact_ended") == []  # the caller never left

            # The caller's dialog goes on with the new agent: its BYE reaches the second phone.
            caller.cseq = 10
            caller.in_dialog("BYE", invite, ok, edge.address)
            assert (await caller.response("BYE", final=True)).status == 200
            bye, source = await second.request("BYE")
            second.answer(bye, source, 200)
            await asyncio.wait_for(routing.ended.wait(), 5)
        for phone in (caller, first, second):
            phone.close()

    run(scenario)


def test_a_refer_to_a_queue_without_agents_holds_the_caller_until_an_offer() -> None:
    async def scenario() -> None:
        caller, first, second = await Phone.open("carrier"), await Phone.open("a1"), await Phone.open("a2")
        routing = FakeRouting()
        routing.new_contact_answer = connect_to(first, seat="seat-1")
        queued = Queue("?", "q-empty", 60, 2**62)
        routing.transfer_answers = [TransferOutcome(queued, "seat-1", "m1")]
        async with running_edge(routing) as edge:
            invite, ok, agent_invite, agent_ok = await answered_call(edge, caller, first)
            contact_id = routing.actions("new_contact")[0][2]
            assert (await refer(edge, first, agent_invite, agent_ok, "sip:q-empty@127.0.0.1"))[-1] == (
                b"SIP/2.0 200 OK\r\n"
            )
            await first_agent_let_go(first)
            for _ in range(200):  # held: the safety-net poll (every 2 s) runs for it
                if routing.actions("pending_offers"):
                    break
                await asyncio.sleep(0.02)
            assert routing.actions("pending_offers")
            routing.pending = [connect_to(second, seat="seat-2", contact_id=contact_id)]
            await joined(caller, invite, ok, second)
        for phone in (caller, first, second):
            phone.close()

    run(scenario)


def test_a_refused_transfer_is_notified_and_the_call_goes_on_with_the_agent() -> None:
    async def scenario() -> None:
        caller, first = await Phone.open("carrier"), await Phone.open("a1")
        routing = FakeRouting()
        routing.new_contact_answer = connect_to(first, seat="seat-1")
        routing.transfer_answers = [TransferOutcome(Reject(486, "seat a2 is not available"), "seat-1", "m1")]
        async with running_edge(routing) as edge:
            invite, ok, agent_invite, agent_ok = await answered_call(edge, caller, first)
            notified = await refer(edge, first, agent_invite, agent_ok, "sip:a2@127.0.0.1")
            assert notified[-1] == b"SIP/2.0 486 seat a2 is not available\r\n"
            caller.in_dialog("BYE", invite, ok, edge.address)
            bye, source = await first.request("BYE")  # still bridged to the first agent
            first.answer(bye, source, 200)
            await asyncio.wait_for(routing.ended.wait(), 5)
        caller.close()
        first.close()

    run(scenario)


def test_a_refer_without_a_usable_refer_to_is_refused_with_a_warning() -> None:
    async def scenario() -> None:
        caller, first = await Phone.open("carrier"), await Phone.open("a1")
        routing = FakeRouting()
        routing.new_contact_answer = connect_to(first, seat="seat-1")
        async with running_edge(routing) as edge:
            _invite, _ok, agent_invite, agent_ok = await answered_call(edge, caller, first)
            first.in_dialog("REFER", agent_invite, agent_ok, edge.address, uas=True)
            refused = await first.response("REFER", final=True)
            assert refused.status == 400 and "Refer-To" in (refused.headers.get("Warning") or "")
            assert routing.actions("transfer") == []
        caller.close()
        first.close()

    run(scenario)

"""The B2BUA call flows in-process: a real edge on loopback UDP, scripted phones, a fake router.

Each test is one call: the carrier phone INVITEs the edge, the router's scripted decisions send
the call to agent phones or a queue, and the test checks what each side saw and what the edge
told the router.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from contact_center.domain.contact import HangupCause, HangupSide
from contact_center.services.routing.decisions import OfferOutcome, Queue, Reject
from sip_edge.app.calls.dialogs import MemoryDialogStore
from sip_edge.sip.client_transaction import build_cancel
from sip_edge.sip.dialog import parse_contact_user
from sip_edge.sip.message import Request, Response
from tests.sip.b2bua_support import (
    AGENT_SDP,
    AUDIO_SDP,
    FakeRouting,
    Phone,
    RunningEdge,
    StaticTrunks,
    connect_to,
    running_edge,
)

NUMBER = "+14155550100"


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(scenario(), 30))


async def stored(dialogs: MemoryDialogStore) -> None:
    """Until the answered call's dialog is written (after the router confirmed the answer)."""
    for _ in range(100):
        if len(dialogs.items) == 2:
            return
        await asyncio.sleep(0.02)


async def answered_call(
    edge: RunningEdge, caller: Phone, agent: Phone, *, body: bytes = AUDIO_SDP
) -> tuple[Request, Response, Request, Response]:
    """Carrier INVITE -> agent rings and answers -> both 2xx acknowledged. Returns both dialogs."""
    invite = caller.invite(edge.address, NUMBER, body=body)
    agent_invite, source = await agent.request("INVITE")
    agent.answer(agent_invite, source, 180)
    await caller.response("INVITE", 180)
    agent_ok = agent.answer(agent_invite, source, 200, body=AGENT_SDP)
    ok = await caller.response("INVITE", 200)
    caller.in_dialog("ACK", invite, ok, edge.address, cseq=1)
    if body:
        await agent.request("ACK")
    return invite, ok, agent_invite, agent_ok


def test_answer_relays_sdp_untouched_and_caller_bye_ends_both_legs() -> None:
    async def scenario() -> None:
        caller, agent = await Phone.open("carrier"), await Phone.open("agent")
        routing = FakeRouting()
        routing.new_contact_answer = connect_to(agent)
        async with running_edge(routing) as edge:
            invite, ok, agent_invite, _ = await answered_call(edge, caller, agent)
            # SDP both ways byte for byte; Max-Forwards decremented across the legs (RFC 7332).
            assert agent_invite.body == AUDIO_SDP and ok.body == AGENT_SDP
            assert agent_invite.headers.get("Max-Forwards") == "69"
            assert agent_invite.call_id != invite.call_id
            assert parse_contact_user(agent_invite.contacts[0].uri.user) is not None  # type: ignore[union-attr]
            assert ("offer_result" in [a for a, _ in routing.log]) and routing.actions("offer_result")[0][
                2
            ] is (OfferOutcome.ANSWERED)
            await stored(edge.dialogs)
            assert len(edge.dialogs.items) == 2  # by dialog key and by the caller's Call-ID
            live = edge.task.calls.live  # type: ignore[union-attr]
            assert live.held_contacts() == [routing.actions("offer_result")[0][0]]

            caller.in_dialog("BYE", invite, ok, edge.address)
            assert (await caller.response("BYE", final=True)).status == 200
            bye, source = await agent.request("BYE")
            assert (bye.headers.get("Reason") or "").startswith("Q.850;cause=16")
            agent.answer(bye, source, 200)
            await asyncio.wait_for(routing.ended.wait(), 5)
            assert routing.actions("contact_ended")[0][1:] == (
                HangupSide.CUSTOMER,
                HangupCause.NORMAL_CLEARING,
            )
            for _ in range(50):
                if not edge.dialogs.items:
                    break
                await asyncio.sleep(0.02)
            assert edge.dialogs.items == {} and edge.task.counters.active == 0
            assert live.held_contacts() == []
        caller.close()
        agent.close()

    run(scenario)


def test_agent_hangs_up_and_a_bye_to_the_number_uri_still_finds_the_call() -> None:
    async def scenario() -> None:
        caller, agent = await Phone.open("carrier"), await Phone.open("agent")
        routing = FakeRouting()
        routing.new_contact_answer = connect_to(agent)
        async with running_edge(routing) as edge:
            _invite, _ok, agent_invite, agent_ok = await answered_call(edge, caller, agent)
            agent.in_dialog("BYE", agent_invite, agent_ok, edge.address, uas=True)
            assert (await agent.response("BYE", final=True)).status == 200
            bye, source = await caller.request("BYE")
            caller.answer(bye, source, 200)
            await asyncio.wait_for(routing.ended.wait(), 5)
            assert routing.actions("contact_ended")[0][1] is HangupSide.AGENT
        caller.close()
        agent.close()

    run(scenario)


def test_busy_agent_is_reported_and_the_next_agent_answers_without_the_caller_noticing() -> None:
    async def scenario() -> None:
        caller, busy, second = (
            await Phone.open("carrier"),
            await Phone.open("busy"),
            await Phone.open("second"),
        )
        routing = FakeRouting()
        routing.new_contact_answer = connect_to(busy, seat="seat-1")
        routing.offer_answers = [connect_to(second, seat="seat-2")]
        async with running_edge(routing) as edge:
            caller.invite(edge.address, NUMBER)
            first, source = await busy.request("INVITE")
            busy.answer(first, source, 486)
            await busy.request("ACK")  # the transaction layer's ACK for the 486
            offer, source2 = await second.request("INVITE")
            assert offer.body == AUDIO_SDP
            second.answer(offer, source2, 200, body=AGENT_SDP)
            ok = await caller.response("INVITE", final=True)
            assert ok.status == 200
            statuses = [m.status for m in caller.seen if isinstance(m, Response)]
            assert 486 not in statuses
            outcomes = [args[2] for args in routing.actions("offer_result")]
            assert outcomes == [OfferOutcome.BUSY, OfferOutcome.ANSWERED]
        for phone in (caller, busy, second):
            phone.close()

    run(scenario)


def test_no_answer_cancels_the_agent_leg_after_the_ring_timeout_and_reoffers() -> None:
    async def scenario() -> None:
        caller, slow, second = (
            await Phone.open("carrier"),
            await Phone.open("slow"),
            await Phone.open("second"),
        )
        routing = FakeRouting()
        routing.new_contact_answer = connect_to(slow, ring=1)
        routing.offer_answers = [connect_to(second, seat="seat-2")]
        async with running_edge(routing) as edge:
            caller.invite(edge.address, NUMBER)
            first, source = await slow.request("INVITE")
            slow.answer(first, source, 180)
            cancel, cancel_source = await slow.request("CANCEL", timeout=3)
            assert "480" in (cancel.headers.get("Reason") or "")
            slow.answer(cancel, cancel_source, 200)
            slow.answer(first, source, 487)
            offer, source2 = await second.request("INVITE")
            second.answer(offer, source2, 200, body=AGENT_SDP)
            assert (await caller.response("INVITE", final=True)).status == 200
            assert [a[2] for a in routing.actions("offer_result")] == [
                OfferOutcome.NO_ANSWER,
                OfferOutcome.ANSWERED,
            ]
        for phone in (caller, slow, second):
            phone.close()

    run(scenario)


def test_caller_cancel_while_ringing_cancels_the_agent_and_ends_the_contact() -> None:
    async def scenario() -> None:
        caller, agent = await Phone.open("carrier"), await Phone.open("agent")
        routing = FakeRouting()
        routing.new_contact_answer = connect_to(agent)
        async with running_edge(routing) as edge:
            invite = caller.invite(edge.address, NUMBER)
            offer, source = await agent.request("INVITE")
            agent.answer(offer, source, 180)
            await caller.response("INVITE", 180)
            caller.send(build_cancel(invite), edge.address)
            assert (await caller.response("CANCEL", final=True)).status == 200
            assert (await caller.response("INVITE", final=True)).status == 487
            agent_cancel, cancel_source = await agent.request("CANCEL")
            agent.answer(agent_cancel, cancel_source, 200)
            agent.answer(offer, source, 487)
            await asyncio.wait_for(routing.ended.wait(), 5)
            assert routing.actions("contact_ended")[0][1:] == (
                HangupSide.CUSTOMER,
                HangupCause.CALLER_ABANDONED,
            )
            assert routing.actions("offer_result") == []
        caller.close()
        agent.close()

    run(scenario)


def test_queued_caller_gets_182_then_is_connected_when_an_offer_appears() -> None:
    async def scenario() -> None:
        caller, agent = await Phone.open("carrier"), await Phone.open("agent")
        routing = FakeRouting()
        routing.new_contact_answer = Queue("?", "q1", 60, deadline_ms=2**42)
        async with running_edge(routing) as edge:
            caller.invite(edge.address, NUMBER)
            queued = await caller.response("INVITE", 182)
            contact_id = routing.actions("new_contact")[0][2]
            routing.pending = [connect_to(agent, contact_id=contact_id)]
            offer, source = await agent.request("INVITE", timeout=3)
            routing.pending = []
            agent.answer(offer, source, 200, body=AGENT_SDP)
            assert (await caller.response("INVITE", final=True)).status == 200
            assert queued.headers.get("Contact")
        caller.close()
        agent.close()

    run(scenario)


def test_queue_deadline_rejects_with_retry_after_and_cancel_while_queued_ends_the_contact() -> None:
    async def scenario() -> None:
        caller, second = await Phone.open("carrier"), await Phone.open("carrier2")
        routing = FakeRouting()
        async with running_edge(routing) as edge:
            routing.new_contact_answer = Queue("?", "q1", 0, deadline_ms=0)
            routing.queue_timeout_answer = Reject(480, "no agent available", 60)
            caller.invite(edge.address, NUMBER)
            final = await caller.response("INVITE", final=True)
            assert (final.status, final.headers.get("Retry-After")) == (480, "60")

            routing.new_contact_answer = Queue("?", "q1", 60, deadline_ms=2**42)
            invite = second.invite(edge.address, NUMBER)
            await second.response("INVITE", 182)
            second.send(build_cancel(invite), edge.address)
            assert (await second.response("INVITE", final=True)).status == 487
            await asyncio.wait_for(routing.ended.wait(), 5)
            assert routing.actions("contact_ended")[-1][2] is HangupCause.CALLER_ABANDONED
        caller.close()
        second.close()

    run(scenario)


def test_reinvite_from_the_caller_is_relayed_to_the_agent_and_answered_back() -> None:
    async def scenario() -> None:
        caller, agent = await Phone.open("carrier"), await Phone.open("agent")
        routing = FakeRouting()
        routing.new_contact_answer = connect_to(agent)
        async with running_edge(routing) as edge:
            invite, ok, _, _ = await answered_call(edge, caller, agent)
            hold_sdp = AUDIO_SDP.replace(b"a=rtpmap", b"a=sendonly\r\na=rtpmap")
            caller.in_dialog("INVITE", invite, ok, edge.address, body=hold_sdp)
            reinvite, source = await agent.request("INVITE")
            assert reinvite.body == hold_sdp and reinvite.to.tag is not None
            agent.answer(reinvite, source, 200, body=AGENT_SDP)
            answer = await caller.response("INVITE", 200)
            assert answer.body == AGENT_SDP and answer.cseq[0] == 2
            await agent.request("ACK")  # the edge acknowledges the agent's 2xx itself
            caller.in_dialog("UPDATE", invite, ok, edge.address, body=AUDIO_SDP)
            update, source = await agent.request("UPDATE")
            agent.answer(update, source, 200, body=AGENT_SDP)
            assert (await caller.response("UPDATE", final=True)).status == 200
        caller.close()
        agent.close()

    run(scenario)


def test_a_second_edge_ends_a_call_from_the_stored_dialog() -> None:
    async def scenario() -> None:
        caller, agent = await Phone.open("carrier"), await Phone.open("agent")
        shared = MemoryDialogStore()
        routing = FakeRouting()
        routing.new_contact_answer = connect_to(agent)
        async with (
            running_edge(routing, dialogs=shared) as first,
            running_edge(routing, task_id="edge-b", dialogs=shared) as second,
        ):
            invite, ok, _, _ = await answered_call(first, caller, agent)
            await stored(shared)
            # The BYE reaches the other task (the first one is gone, or the balancer chose so).
            caller.in_dialog("BYE", invite, ok, second.address)
            assert (await caller.response("BYE", final=True)).status == 200
            bye, source = await agent.request("BYE")
            assert bye.cseq[0] > 1000  # a recovered leg's CSeq jumps ahead of the stored one
            agent.answer(bye, source, 200)
            await asyncio.wait_for(routing.ended.wait(), 5)
            for _ in range(50):  # the dialog is deleted after the contact is ended
                if not shared.items:
                    break
                await asyncio.sleep(0.02)
            assert shared.items == {}
        caller.close()
        agent.close()

    run(scenario)


def test_invite_from_outside_the_trunks_must_prove_a_seat_and_max_forwards_zero_gets_483() -> None:
    async def scenario() -> None:
        caller = await Phone.open("stranger")
        routing = FakeRouting()
        async with running_edge(routing, trunks=StaticTrunks(("10.0.0.0/8",))) as edge:
            caller.invite(edge.address, NUMBER)
            final = await caller.response("INVITE", final=True)
            # Only a seat's phone may call from outside the trunks (`outbound_calls`): prove it.
            assert final.status == 407 and final.headers.get("Proxy-Authenticate")
        assert routing.log == []
        async with running_edge(routing) as edge:
            caller.invite(edge.address, NUMBER, max_forwards=0)
            assert (await caller.response("INVITE", final=True)).status == 483
        assert routing.log == []
        caller.close()

    run(scenario)


def test_reliable_provisionals_when_the_carrier_requires_100rel() -> None:
    async def scenario() -> None:
        caller, agent = await Phone.open("carrier"), await Phone.open("agent")
        routing = FakeRouting()
        routing.new_contact_answer = connect_to(agent)
        async with running_edge(routing) as edge:
            invite = caller.invite(edge.address, NUMBER, headers=(("Require", "100rel"),))
            offer, source = await agent.request("INVITE")
            assert "100rel" not in (offer.headers.get("Require") or "")
            agent.answer(offer, source, 180)
            ringing = await caller.response("INVITE", 180)
            rseq = ringing.headers.get("RSeq")
            assert rseq and ringing.headers.get("Require") == "100rel"
            again = await caller.response("INVITE", 180, timeout=2)  # retransmitted until PRACKed
            assert again.headers.get("RSeq") == rseq
            caller.in_dialog("PRACK", invite, ringing, edge.address, headers=(("RAck", f"{rseq} 1 INVITE"),))
            assert (await caller.response("PRACK", final=True)).status == 200
            agent.answer(offer, source, 200, body=AGENT_SDP)
            assert (await caller.response("INVITE", final=True)).status == 200
        caller.close()
        agent.close()

    run(scenario)

"""Parallel forking: a seat with several registered devices rings them all, the first answer wins.

A real edge on loopback UDP, scripted phones, a fake router whose `Connect` names every device.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from contact_center.services.routing.decisions import OfferOutcome, Reject
from sip_edge.sip.message import Request
from tests.sip.b2bua_support import (
    AGENT_SDP,
    FakeRouting,
    MemoryBindings,
    Phone,
    connect_to,
    running_edge,
)

NUMBER = "+14155550100"
ELSEWHERE = 'SIP;cause=200;text="Call completed elsewhere"'


def run(scenario: Callable[[], Awaitable[None]], timeout: float = 30) -> None:
    asyncio.run(asyncio.wait_for(scenario(), timeout))


def test_a_dead_device_of_the_seat_costs_the_caller_nothing_and_its_binding_is_pruned() -> None:
    async def scenario() -> None:
        caller, live, dead = await Phone.open("carrier"), await Phone.open("live"), await Phone.open("dead")
        dead.close()  # a softphone restarted on another port: its old binding points at nothing
        routing = FakeRouting()
        connect = connect_to(dead, live)  # the dead one first, as the table's order may put it
        routing.new_contact_answer = connect
        bindings = MemoryBindings()
        bindings.register(connect)
        async with running_edge(routing, bindings=bindings) as edge:
            started = time.monotonic()
            invite = caller.invite(edge.address, NUMBER)
            agent_invite, source = await live.request("INVITE")
            live.answer(agent_invite, source, 180)
            await caller.response("INVITE", 180)
            # The caller hears the live phone ring at once, not after the dead one's timeout.
            assert time.monotonic() - started < 1.0
            live.answer(agent_invite, source, 200, body=AGENT_SDP)
            ok = await caller.response("INVITE", 200)
            caller.in_dialog("ACK", invite, ok, edge.address, cseq=1)
            await live.request("ACK")
            assert routing.actions("offer_result")[0][2] is OfferOutcome.ANSWERED
            # The dead device's binding is gone once the edge gave up on it; the live one stays.
            for _ in range(150):
                if len(bindings.items) == 1:
                    break
                await asyncio.sleep(0.05)
            assert bindings.contacts(connect.aor) == {connect.targets[1].contact_uri}
        caller.close()
        live.close()

    run(scenario)


def test_with_two_live_devices_the_first_answer_wins_and_the_other_is_cancelled() -> None:
    async def scenario() -> None:
        caller, first, second = await Phone.open("carrier"), await Phone.open("a1"), await Phone.open("a2")
        routing = FakeRouting()
        connect = connect_to(first, second)
        routing.new_contact_answer = connect
        bindings = MemoryBindings()
        bindings.register(connect)
        async with running_edge(routing, bindings=bindings) as edge:
            invite = caller.invite(edge.address, NUMBER)
            invite_1, source_1 = await first.request("INVITE")
            invite_2, source_2 = await second.request("INVITE")
            first.answer(invite_1, source_1, 180)
            second.answer(invite_2, source_2, 180)
            await caller.response("INVITE", 180)
            second.answer(invite_2, source_2, 200, body=AGENT_SDP)
            ok = await caller.response("INVITE", 200)
            assert ok.body == AGENT_SDP
            caller.in_dialog("ACK", invite, ok, edge.address, cseq=1)
            await second.request("ACK")
            cancel, cancel_source = await first.request("CANCEL")
            assert cancel.headers.get("Reason") == ELSEWHERE
            first.answer(cancel, cancel_source, 200)
            first.answer(invite_1, source_1, 487)
            await first.request("ACK")  # the 487's ACK
            # One 180 reached the caller although both devices rang.
            ringing = [m for m in caller.seen if getattr(m, "status", None) == 180]
            assert len(ringing) == 1
            assert [a[2] for a in routing.actions("offer_result")] == [OfferOutcome.ANSWERED]
            await asyncio.sleep(0.3)
            assert len(bindings.items) == 2  # both answered: neither is stale
        caller.close()
        first.close()
        second.close()

    run(scenario)


def test_a_second_answer_after_the_winner_is_acknowledged_and_hung_up() -> None:
    async def scenario() -> None:
        caller, first, second = await Phone.open("carrier"), await Phone.open("a1"), await Phone.open("a2")
        routing = FakeRouting()
        routing.new_contact_answer = connect_to(first, second)
        async with running_edge(routing) as edge:
            invite = caller.invite(edge.address, NUMBER)
            invite_1, source_1 = await first.request("INVITE")
            invite_2, source_2 = await second.request("INVITE")
            first.answer(invite_1, source_1, 200, body=AGENT_SDP)
            ok = await caller.response("INVITE", 200)
            caller.in_dialog("ACK", invite, ok, edge.address, cseq=1)
            await first.request("ACK")
            # The second device answers too, its 2xx crossing our CANCEL (it never sent a 1xx).
            second.answer(invite_2, source_2, 200, body=AGENT_SDP)
            ack, _ = await second.request("ACK")
            bye, bye_source = await second.request("BYE")
            assert ack.call_id == bye.call_id == invite_2.call_id
            assert bye.headers.get("Reason") == ELSEWHERE
            second.answer(bye, bye_source, 200)
            # The winner's call is untouched.
            assert not [m for m in first.seen if getattr(m, "method", None) == "BYE"]
            assert edge.task.counters.active == 1
        caller.close()
        first.close()
        second.close()

    run(scenario)


def test_a_decline_from_one_device_ends_the_fork_and_stops_the_others() -> None:
    async def scenario() -> None:
        caller, first, second = await Phone.open("carrier"), await Phone.open("a1"), await Phone.open("a2")
        routing = FakeRouting()
        routing.new_contact_answer = connect_to(first, second)
        routing.offer_answers = [Reject(480, "no agent available")]
        async with running_edge(routing) as edge:
            caller.invite(edge.address, NUMBER)
            invite_1, source_1 = await first.request("INVITE")
            invite_2, source_2 = await second.request("INVITE")
            second.answer(invite_2, source_2, 180)
            first.answer(invite_1, source_1, 603)
            cancel, cancel_source = await second.request("CANCEL")
            assert (cancel.headers.get("Reason") or "").startswith("SIP;cause=603")
            second.answer(cancel, cancel_source, 200)
            second.answer(invite_2, source_2, 487)
            for _ in range(50):
                if routing.actions("offer_result"):
                    break
                await asyncio.sleep(0.02)
            assert [a[2] for a in routing.actions("offer_result")] == [OfferOutcome.REJECTED]
            assert (await caller.response("INVITE", final=True)).status == 480
        caller.close()
        first.close()
        second.close()

    run(scenario)


def test_the_ring_timeout_cancels_every_device_and_counts_as_no_answer() -> None:
    async def scenario() -> None:
        caller, first, second = await Phone.open("carrier"), await Phone.open("a1"), await Phone.open("a2")
        routing = FakeRouting()
        routing.new_contact_answer = connect_to(first, second, ring=1)
        routing.offer_answers = [Reject(480, "no agent available")]
        async with running_edge(routing) as edge:
            caller.invite(edge.address, NUMBER)
            for phone in (first, second):
                invite, source = await phone.request("INVITE")
                phone.answer(invite, source, 180)
            for phone in (first, second):
                cancel, source = await phone.request("CANCEL", timeout=3)
                assert (cancel.headers.get("Reason") or "").startswith("SIP;cause=480")
                phone.answer(cancel, source, 200)
                invite = next(m for m in phone.seen if getattr(m, "method", None) == "INVITE")
                assert isinstance(invite, Request)
                phone.answer(invite, source, 487)
            assert (await caller.response("INVITE", final=True)).status == 480
            assert [a[2] for a in routing.actions("offer_result")] == [OfferOutcome.NO_ANSWER]
        caller.close()
        first.close()
        second.close()

    run(scenario)

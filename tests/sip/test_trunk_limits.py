"""``max_concurrent_calls`` on a legacy trunk, in-process: a real edge on loopback UDP, a scripted
legacy PBX, a fake router and the in-memory slot store. A call over the limit goes to the number's
queue, or is refused with 503, Retry-After and a Reason; a call ending frees its slot."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from contact_center.domain.trunks import parse_address
from contact_center.services.routing.decisions import Forward
from sip_edge.app.calls.trunks import Trunk
from tests.sip.b2bua_support import (
    AGENT_SDP,
    HOST,
    FakeRouting,
    Phone,
    StaticTrunks,
    connect_to,
    running_edge,
)
from tests.support.trunk_slots import MemoryTrunkSlots

NUMBER = "+14155550100"


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(scenario(), 30))


def limited_trunk(port: int, limit: int = 1) -> StaticTrunks:
    address = parse_address(f"{HOST}:{port}", None)
    return StaticTrunks(extra=[Trunk("legacy", (), address, None, max_concurrent_calls=limit)])


def test_a_call_over_the_limit_goes_to_the_queue_and_a_call_ending_frees_its_slot() -> None:
    async def scenario() -> None:
        first, second, third = [await Phone.open(f"carrier{i}") for i in range(3)]
        pbx, agent = await Phone.open("pbx"), await Phone.open("agent")
        routing = FakeRouting()
        routing.new_contact_answer = Forward("?", "legacy", fallback=True)
        routing.legacy_failed_answer = connect_to(agent)
        slots = MemoryTrunkSlots()
        async with running_edge(routing, trunks=limited_trunk(pbx.port), trunk_slots=slots) as edge:
            invite = first.invite(edge.address, NUMBER)
            leg, source = await pbx.request("INVITE")
            pbx_ok = pbx.answer(leg, source, 200, body=AGENT_SDP)
            ok = await first.response("INVITE", 200)
            first.in_dialog("ACK", invite, ok, edge.address, cseq=1)
            await pbx.request("ACK")
            assert len(slots.items) == 1
            # The trunk's one slot is held: the next call is the queue's, never the PBX's.
            second.invite(edge.address, NUMBER)
            agent_invite, at = await agent.request("INVITE")
            agent.answer(agent_invite, at, 200, body=AGENT_SDP)
            await second.response("INVITE", 200)
            assert len(routing.actions("legacy_failed")) == 1
            # The legacy call ends: its slot is free within the lease check (1 s), and the PBX
            # takes the next call.
            pbx.in_dialog("BYE", leg, pbx_ok, source, uas=True)
            bye, at_first = await first.request("BYE")
            first.answer(bye, at_first, 200)
            for _ in range(40):
                if not slots.items:
                    break
                await asyncio.sleep(0.1)
            assert not slots.items
            third.invite(edge.address, NUMBER)
            await pbx.request("INVITE")
        for phone in (first, second, third, pbx, agent):
            phone.close()

    run(scenario)


def test_without_a_queue_a_call_over_the_limit_is_refused_with_503_retry_after_and_a_reason() -> None:
    async def scenario() -> None:
        first, second, pbx = (
            await Phone.open("carrier1"),
            await Phone.open("carrier2"),
            await Phone.open("pbx"),
        )
        routing = FakeRouting()
        routing.new_contact_answer = Forward("?", "legacy", fallback=False)
        async with running_edge(
            routing, trunks=limited_trunk(pbx.port), trunk_slots=MemoryTrunkSlots()
        ) as edge:
            first.invite(edge.address, NUMBER)
            await pbx.request("INVITE")  # ringing: the slot is held while the PBX rings too
            second.invite(edge.address, NUMBER)
            refused = await second.response("INVITE", final=True)
            assert refused.status == 503
            assert refused.headers.get("Retry-After") == "10"
            assert "at its limit of 1 calls" in (refused.headers.get("Reason") or "")
        for phone in (first, second, pbx):
            phone.close()

    run(scenario)

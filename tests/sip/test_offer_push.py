"""A queued caller connected by the router's push: the real sender (`contact_center.edge_push`)
against an edge task on loopback, its poll slowed to a safety net."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from contact_center.edge_push import EdgeOfferPush, TaskAddress
from contact_center.services.routing.decisions import Connect, Queue
from tests.sip.b2bua_support import AGENT_SDP, FakeRouting, Phone, RunningEdge, connect_to, running_edge

NUMBER = "+14155550100"
FLEET_KEY = "k" * 16  # the nonce key `running_edge` configures


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(scenario(), 30))


def sender(edge: RunningEdge, fleet_key: str = FLEET_KEY) -> EdgeOfferPush:
    address = f"{edge.address[0]}:{edge.address[1]}"
    return EdgeOfferPush(
        fleet_key, lambda task_id, now: TaskAddress(address, None) if task_id == "edge-a" else None
    )


async def queued_call(edge: RunningEdge, caller: Phone, routing: FakeRouting) -> str:
    routing.new_contact_answer = Queue("?", "q1", 60, deadline_ms=2**42)
    caller.invite(edge.address, NUMBER)
    await caller.response("INVITE", 182)
    return str(routing.actions("new_contact")[0][2])


async def invites(agent: Phone, within: float) -> int:
    count = 0
    deadline = time.monotonic() + within
    while (left := deadline - time.monotonic()) > 0:
        try:
            await agent.request("INVITE", timeout=left)
        except (TimeoutError, AssertionError):
            break
        count += 1
    return count


def test_a_pushed_offer_rings_the_agent_at_once_and_the_poll_does_not_ring_it_again() -> None:
    async def scenario() -> None:
        caller, agent = await Phone.open("carrier"), await Phone.open("agent")
        waiting = await Phone.open("carrier2")
        routing = FakeRouting()
        async with running_edge(routing) as edge:
            contact_id = await queued_call(edge, caller, routing)
            # Another caller keeps waiting, so the task keeps its safety-net poll running.
            routing.new_contact_answer = Queue("?", "q1", 60, deadline_ms=2**42)
            waiting.invite(edge.address, NUMBER)
            await waiting.response("INVITE", 182)
            offer = connect_to(agent, contact_id=contact_id)
            pushed_at = time.monotonic()
            assert await asyncio.to_thread(sender(edge).offered, "edge-a", offer) is True
            invite, source = await agent.request("INVITE", timeout=1)
            assert time.monotonic() - pushed_at < 0.5  # no poll interval (2 s) in between
            assert routing.actions("pending_offers") == []
            agent.answer(invite, source, 180)  # ringing: the edge stops resending the INVITE
            # The router's state lists the offer too: the next safety-net poll and a resent push
            # bring it again, and neither rings the agent a second time.
            routing.pending = [offer]
            assert await asyncio.to_thread(sender(edge).offered, "edge-a", offer) is True
            assert await invites(agent, within=2.5) == 0
            assert routing.actions("pending_offers")
            agent.answer(invite, source, 200, body=AGENT_SDP)
            assert (await caller.response("INVITE", final=True)).status == 200
            assert edge.task.calls is not None
            assert (edge.task.calls.hold.delivered_by_push, edge.task.calls.hold.delivered_by_poll) == (1, 0)
        caller.close()
        waiting.close()
        agent.close()

    run(scenario)


def test_a_push_not_signed_with_the_fleet_key_is_refused_and_the_poll_still_connects_the_caller() -> None:
    async def scenario() -> None:
        caller, agent = await Phone.open("carrier"), await Phone.open("agent")
        routing = FakeRouting()
        async with running_edge(routing) as edge:
            contact_id = await queued_call(edge, caller, routing)
            offer = connect_to(agent, contact_id=contact_id)
            forged = sender(edge, fleet_key="not-the-fleet-key")
            assert await asyncio.to_thread(forged.offered, "edge-a", offer) is False
            assert await invites(agent, within=0.3) == 0
            # The offer stands in the router: the safety-net poll finds it (a lost push, the same).
            routing.pending = [offer]
            invite, source = await agent.request("INVITE", timeout=3)
            agent.answer(invite, source, 200, body=AGENT_SDP)
            assert (await caller.response("INVITE", final=True)).status == 200
        caller.close()
        agent.close()

    run(scenario)


def test_a_push_to_a_task_that_is_gone_gives_up_quickly() -> None:
    async def scenario() -> None:
        routing = FakeRouting()
        async with running_edge(routing) as edge:
            push = sender(edge)
        started = time.monotonic()
        offer = Connect("c1", "s1", "m1", "sip:s1@d", (), 20)
        assert await asyncio.to_thread(push.offered, "edge-a", offer) is False
        assert time.monotonic() - started < 0.5
        assert await asyncio.to_thread(push.offered, "edge-unknown", offer) is False

    run(scenario)

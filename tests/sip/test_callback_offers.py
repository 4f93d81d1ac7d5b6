"""A callback offer pushed to an edge task without a media relay (nothing can play the whisper or
anchor both sides): the dial is reported failed at once and nobody is rung, so the router puts the
callback back at its place and lets the agent go."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from contact_center.services.routing.decisions import CallbackDial
from tests.sip.b2bua_support import HOST, FakeRouting, Phone, connect_to, push_offer, running_edge


def test_without_a_media_relay_the_dial_fails_503_and_the_agent_is_not_rung() -> None:
    async def scenario() -> tuple[list[tuple[object, ...]], int]:
        agent, router = await Phone.open("agent"), await Phone.open("router")
        routing = FakeRouting()
        try:
            async with running_edge(routing) as edge:  # no media relay
                dial = CallbackDial("+4915550001", "t1", f"{HOST}:5099")
                await push_offer(router, edge, replace(connect_to(agent, contact_id="cb-1"), callback=dial))
                await asyncio.wait_for(routing.dialled.wait(), 5)
                await asyncio.sleep(0.2)
                return routing.actions("callback_dialled"), agent.inbox.qsize()
        finally:
            agent.close()
            router.close()

    dials, agent_heard = asyncio.run(scenario())
    assert [(c, s, status) for c, s, status, _ in dials] == [("cb-1", "seat-1", 503)]
    assert agent_heard == 0

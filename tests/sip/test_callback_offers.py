"""A callback offer pushed to an edge task without a media relay (nothing can play the whisper or
anchor both sides): the dial is reported failed at once and nobody is rung, so the router puts the
callback back at its place and lets the agent go."""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import replace

from contact_center.contracts import offer_push
from contact_center.services.routing.decisions import CallbackDial
from tests.sip.b2bua_support import HOST, FakeRouting, Phone, connect_to, running_edge


def _dial_reported_without_a_ring(dial: CallbackDial) -> tuple[list[tuple[object, ...]], int]:
    async def scenario() -> tuple[list[tuple[object, ...]], int]:
        agent, router = await Phone.open("agent"), await Phone.open("router")
        routing = FakeRouting()
        try:
            async with running_edge(routing) as edge:  # no media relay
                offer = replace(connect_to(agent, contact_id="cb-1"), callback=dial)
                data = offer_push.message(
                    [offer.to_dict()],
                    offer_push.push_key("k" * 16),
                    int(time.time()),
                    task_address=f"{HOST}:{edge.port}",
                    sender=f"{HOST}:{router.port}",
                    branch=secrets.token_hex(8),
                )
                router.send(data, edge.address)
                assert (await router.response("MESSAGE", final=True)).status == 202
                await asyncio.wait_for(routing.dialled.wait(), 5)
                await asyncio.sleep(0.2)
                return routing.actions("callback_dialled"), agent.inbox.qsize()
        finally:
            agent.close()
            router.close()

    return asyncio.run(scenario())


def test_without_a_media_relay_the_dial_fails_503_and_the_agent_is_not_rung() -> None:
    dials, agent_heard = _dial_reported_without_a_ring(CallbackDial("+4915550001", "t1", f"{HOST}:5099"))
    assert [(c, s, status) for c, s, status, _ in dials] == [("cb-1", "seat-1", 503)]
    assert agent_heard == 0

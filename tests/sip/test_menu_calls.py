"""A number's menu on an edge without a media relay: nothing can be played or heard, so the caller
is not answered for it and goes straight to the menu's default queue (as ``not_played``)."""

from __future__ import annotations

import asyncio
import time

from contact_center.domain.menus import Menu, MenuChoice
from contact_center.services.routing.decisions import PlayMenu, Queue
from sip_edge.sip.client_transaction import build_cancel
from tests.sip.b2bua_support import FakeRouting, Phone, running_edge

NUMBER = "+14155550100"
MENU = Menu("menu", "general", {"1": "sales"})


def test_without_a_relay_the_menu_caller_goes_to_the_default_queue_unanswered() -> None:
    async def scenario() -> list[tuple[object, ...]]:
        caller = await Phone.open("carrier")
        routing = FakeRouting()
        started = int(time.time() * 1000)
        routing.new_contact_answer = PlayMenu("?", MENU, started)
        routing.menu_answers = {"general": Queue("?", "general", 60, deadline_ms=2**42)}
        try:
            async with running_edge(routing) as edge:
                invite = caller.invite(edge.address, NUMBER)
                await caller.response("INVITE", 182)  # held as any queued caller, not answered
                caller.send(build_cancel(invite), edge.address)
                assert (await caller.response("INVITE", final=True)).status == 487
                await asyncio.wait_for(routing.ended.wait(), 5)
                return routing.actions("new_contact")
        finally:
            caller.close()

    first, second = asyncio.run(asyncio.wait_for(scenario(), 30))
    assert len(first) == 3  # the call as it arrived
    assert second[3] == MenuChoice("general", "not_played", None, second[3].started_at_ms)
    assert second[2] == first[2]  # the same contact id both times

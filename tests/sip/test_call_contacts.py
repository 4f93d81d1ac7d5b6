"""The Contact the edge gives outside parties: the fleet's public host, never a task's own address."""

from __future__ import annotations

import asyncio

from sip_edge.config import EdgeConfig
from sip_edge.sip.message import Request, Response
from tests.sip.b2bua_support import AGENT_SDP, HOST, FakeRouting, Phone, connect_to, running_edge
from tests.sip.test_composition import Fleet

NUMBER = "+14155550100"
DOMAIN = EdgeConfig().sip_domain


async def _answered(fleet: Fleet | None) -> tuple[Response, Request, int]:
    caller, agent = await Phone.open("carrier"), await Phone.open("agent")
    routing = FakeRouting()
    routing.new_contact_answer = connect_to(agent)
    try:
        async with running_edge(routing, fleet=fleet) as edge:
            invite = caller.invite(edge.address, NUMBER)
            agent_invite, source = await agent.request("INVITE")
            agent.answer(agent_invite, source, 200, body=AGENT_SDP)
            ok = await caller.response("INVITE", 200)
            caller.in_dialog("ACK", invite, ok, edge.address, cseq=1)
            # The carrier's BYE, sent where the balancer would send it, still ends the call.
            caller.in_dialog("BYE", invite, ok, edge.address)
            assert (await caller.response("BYE", final=True)).status == 200
            return ok, agent_invite, edge.port
    finally:
        caller.close()
        agent.close()


def _contact_hostport(message: Request | Response) -> tuple[str, int | None]:
    uri = message.contacts[0].uri
    return uri.host, uri.port  # type: ignore[union-attr]


def test_a_fleet_member_names_the_sip_domain_in_both_legs_contacts_and_itself_in_its_via() -> None:
    ok, agent_invite, port = asyncio.run(asyncio.wait_for(_answered(Fleet()), 20))
    assert _contact_hostport(ok) == (DOMAIN, port)
    assert _contact_hostport(agent_invite) == (DOMAIN, port)
    # Responses to our requests must come back to this very task: the Via keeps its own address.
    assert agent_invite.top_via.host == HOST


def test_a_lone_edge_names_its_own_address() -> None:
    ok, agent_invite, port = asyncio.run(asyncio.wait_for(_answered(None), 20))
    assert _contact_hostport(ok) == (HOST, port)
    assert _contact_hostport(agent_invite) == (HOST, port)

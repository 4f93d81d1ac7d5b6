"""Calls forwarded to the legacy call centre, in-process: a real edge on loopback UDP, a scripted
legacy PBX, a fake router. The edge bridges the legacy leg (B2BUA), passes the legacy side's own
refusals on, and falls back to the number's queue when the legacy side is down or fails."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from contact_center.domain.contact import HangupCause, HangupSide
from contact_center.domain.queue_address import QueueCall
from contact_center.domain.trunks import parse_address
from contact_center.services.routing.decisions import Forward, OfferOutcome, Reject
from sip_edge.app.calls.ports import CallSettings
from sip_edge.app.calls.trunks import Trunk
from tests.sip.b2bua_support import (
    AGENT_SDP,
    AUDIO_SDP,
    HOST,
    FakeRouting,
    Phone,
    StaticTrunks,
    connect_to,
    running_edge,
)

NUMBER = "+14155550100"


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(scenario(), 30))


async def never_sent_back(legacy_centre: Phone) -> None:
    with contextlib.suppress(asyncio.TimeoutError):
        looped, _ = await legacy_centre.request("INVITE", timeout=0.3)
        raise AssertionError(f"the call was sent back to the legacy centre: {looped}")


def legacy_trunk(port: int) -> StaticTrunks:
    return StaticTrunks(extra=[Trunk("legacy", (), parse_address(f"{HOST}:{port}", None))])


def test_a_legacy_call_is_bridged_with_the_edge_in_the_dialog_and_ended_as_any_call() -> None:
    async def scenario() -> None:
        caller, pbx = await Phone.open("carrier"), await Phone.open("pbx")
        routing = FakeRouting()
        routing.new_contact_answer = Forward("?", "legacy", fallback=True)
        async with running_edge(routing, trunks=legacy_trunk(pbx.port)) as edge:
            invite = caller.invite(edge.address, NUMBER)
            leg, source = await pbx.request("INVITE")
            # A new INVITE from the edge (B2BUA), to the dialled number at the trunk's address.
            assert leg.uri.startswith(f"sip:{NUMBER}@{HOST}:{pbx.port}") and leg.call_id != invite.call_id
            assert leg.body == AUDIO_SDP
            pbx.answer(leg, source, 180)
            await caller.response("INVITE", 180)
            pbx_ok = pbx.answer(leg, source, 200, body=AGENT_SDP)
            ok = await caller.response("INVITE", 200)
            assert ok.body == AGENT_SDP
            caller.in_dialog("ACK", invite, ok, edge.address, cseq=1)
            await pbx.request("ACK")
            # The legacy side hangs up: the caller gets the BYE from the edge, the router the end.
            bye = pbx.in_dialog("BYE", leg, pbx_ok, source, uas=True)
            await pbx.response("BYE", 200)
            caller_bye, at = await caller.request("BYE")
            caller.answer(caller_bye, at, 200)
            await asyncio.wait_for(routing.ended.wait(), 5)
            assert bye.method == "BYE"
            assert routing.actions("offer_result") == []  # no seat was ever involved
            assert routing.actions("legacy_failed") == []
            assert routing.actions("contact_ended")[0][1] is HangupSide.AGENT
        caller.close()
        pbx.close()

    run(scenario)


def test_a_legacy_5xx_falls_back_to_the_numbers_queue_and_an_agent_answers() -> None:
    async def scenario() -> None:
        caller, pbx, agent = await Phone.open("carrier"), await Phone.open("pbx"), await Phone.open("agent")
        routing = FakeRouting()
        routing.new_contact_answer = Forward("?", "legacy", fallback=True)
        routing.legacy_failed_answer = connect_to(agent)
        async with running_edge(routing, trunks=legacy_trunk(pbx.port)) as edge:
            caller.invite(edge.address, NUMBER)
            leg, source = await pbx.request("INVITE")
            pbx.answer(leg, source, 503)
            agent_invite, at = await agent.request("INVITE")
            agent.answer(agent_invite, at, 200, body=AGENT_SDP)
            ok = await caller.response("INVITE", 200)
            assert ok.body == AGENT_SDP
            assert len(routing.actions("legacy_failed")) == 1
            assert routing.actions("offer_result")[0][2] is OfferOutcome.ANSWERED
        for phone in (caller, pbx, agent):
            phone.close()

    run(scenario)


def test_busy_from_the_legacy_side_is_its_answer_and_is_passed_on() -> None:
    async def scenario() -> None:
        caller, pbx = await Phone.open("carrier"), await Phone.open("pbx")
        routing = FakeRouting()
        routing.new_contact_answer = Forward("?", "legacy", fallback=True)
        async with running_edge(routing, trunks=legacy_trunk(pbx.port)) as edge:
            caller.invite(edge.address, NUMBER)
            leg, source = await pbx.request("INVITE")
            pbx.answer(leg, source, 486)
            final = await caller.response("INVITE", final=True)
            assert final.status == 486
            assert routing.actions("legacy_failed") == []
        caller.close()
        pbx.close()

    run(scenario)


def test_a_trunk_down_by_its_pings_is_skipped_for_the_queue_within_one_interval() -> None:
    async def scenario() -> None:
        caller, pbx, agent = await Phone.open("carrier"), await Phone.open("pbx"), await Phone.open("agent")
        silent_port = pbx.port
        pbx.close()  # nothing answers the trunk's OPTIONS any more
        routing = FakeRouting()
        routing.new_contact_answer = Forward("?", "legacy", fallback=True)
        routing.legacy_failed_answer = connect_to(agent)
        settings = CallSettings(trunk_ping_seconds=0.2, trunk_down_after=2, trunk_up_after=1)
        async with running_edge(routing, trunks=legacy_trunk(silent_port), settings=settings) as edge:
            directory = edge.task.calls.pinger._trunks  # type: ignore[union-attr]
            loop = asyncio.get_running_loop()
            started = loop.time()
            while directory.is_up("legacy"):
                await asyncio.sleep(0.05)
            # Two failed pings of 0.2 s each, plus at most one interval of slack.
            assert loop.time() - started < 3 * 0.2 + 0.5
            caller.invite(edge.address, NUMBER)
            agent_invite, at = await agent.request("INVITE")  # no INVITE was sent to the dead PBX
            agent.answer(agent_invite, at, 200, body=AGENT_SDP)
            await caller.response("INVITE", 200)
            assert len(routing.actions("legacy_failed")) == 1
        caller.close()
        agent.close()

    run(scenario)


def test_a_queue_address_from_a_merchants_trunk_is_routed_to_that_queue_never_sent_back() -> None:
    async def scenario() -> None:
        legacy_centre, agent = await Phone.open("pbx"), await Phone.open("agent")
        routing = FakeRouting()
        routing.new_contact_answer = connect_to(agent)
        address = parse_address(f"{HOST}:{legacy_centre.port}", None)
        merchants = Trunk("legacy", ("127.0.0.0/8",), address, merchant_id="m1")
        async with running_edge(
            routing, trunks=StaticTrunks(cidrs=("192.0.2.0/24",), extra=[merchants])
        ) as edge:
            legacy_centre.invite(edge.address, "queue-q7")
            agent_invite, at = await agent.request("INVITE")
            agent.answer(agent_invite, at, 200, body=AGENT_SDP)
            ok = await legacy_centre.response("INVITE", 200)
            assert ok.body == AGENT_SDP
            # The edge parsed the address; the router was asked for that queue, naming the trunk.
            [(called, _, _)] = routing.actions("new_contact")
            assert (called, routing.queue_calls) == ("queue-q7", [QueueCall("q7", "legacy", "m1")])
            await never_sent_back(legacy_centre)
        legacy_centre.close()
        agent.close()

    run(scenario)


def test_a_queue_address_the_router_refuses_is_answered_with_its_status_and_why() -> None:
    async def scenario() -> None:
        carrier = await Phone.open("carrier")
        routing = FakeRouting()
        why = "trunk carrier is a platform carrier: queue addresses need a merchant's trunk"
        routing.new_contact_answer = Reject(403, why)
        async with running_edge(routing) as edge:
            carrier.invite(edge.address, "queue-q7")
            final = await carrier.response("INVITE", final=True)
            assert final.status == 403 and why in (final.headers.get("Warning") or "")
            # A platform carrier's trunk has no merchant: the router is told so, and decides.
            assert routing.queue_calls == [QueueCall("q7", "carrier", None)]
            routing.new_contact_answer = Reject(404, "no queue q7 of the trunk's merchant")
            carrier.invite(edge.address, "queue-q7")
            final = await carrier.response("INVITE", 404, final=True)
            assert "no queue q7" in (final.headers.get("Warning") or "")
        carrier.close()

    run(scenario)


def test_without_a_queue_to_fall_back_to_an_unreachable_legacy_side_is_480_and_recorded() -> None:
    async def scenario() -> None:
        caller = await Phone.open("carrier")
        routing = FakeRouting()
        routing.new_contact_answer = Forward("?", "missing-trunk", fallback=False)
        async with running_edge(routing) as edge:
            caller.invite(edge.address, NUMBER)
            final = await caller.response("INVITE", final=True)
            assert final.status == 480
            assert "missing-trunk" in (final.headers.get("Warning") or "")
            await asyncio.wait_for(routing.ended.wait(), 5)
            assert routing.actions("contact_ended")[0][2] is HangupCause.SYSTEM_ERROR
        caller.close()

    run(scenario)


def test_a_call_the_legacy_centre_sends_over_its_trunk_is_queued_here_never_sent_back() -> None:
    async def scenario() -> None:
        legacy_centre, agent = await Phone.open("pbx"), await Phone.open("agent")
        routing = FakeRouting()
        # The number is still in legacy mode; the INVITE comes from the legacy trunk's own network.
        routing.new_contact_answer = Forward("?", "legacy", fallback=True)
        routing.legacy_failed_answer = connect_to(agent)
        address = parse_address(f"{HOST}:{legacy_centre.port}", None)
        trunks = StaticTrunks(cidrs=("192.0.2.0/24",), extra=[Trunk("legacy", ("127.0.0.0/8",), address)])
        async with running_edge(routing, trunks=trunks) as edge:
            legacy_centre.invite(edge.address, NUMBER)
            agent_invite, at = await agent.request("INVITE")
            agent.answer(agent_invite, at, 200, body=AGENT_SDP)
            ok = await legacy_centre.response("INVITE", 200)
            assert ok.body == AGENT_SDP
            assert len(routing.actions("legacy_failed")) == 1
            await never_sent_back(legacy_centre)
        legacy_centre.close()
        agent.close()

    run(scenario)


def test_a_call_from_the_legacy_trunk_that_would_go_back_to_it_with_no_queue_is_482_saying_why() -> None:
    async def scenario() -> None:
        legacy_centre = await Phone.open("pbx")
        routing = FakeRouting()
        # A number in legacy mode with no queue (or a queue address whose queue overflows there).
        routing.new_contact_answer = Forward("?", "legacy", fallback=False)
        address = parse_address(f"{HOST}:{legacy_centre.port}", None)
        trunks = StaticTrunks(cidrs=("192.0.2.0/24",), extra=[Trunk("legacy", ("127.0.0.0/8",), address)])
        async with running_edge(routing, trunks=trunks) as edge:
            legacy_centre.invite(edge.address, NUMBER)
            final = await legacy_centre.response("INVITE", final=True)
            assert final.status == 482
            assert "would go back to legacy trunk legacy" in (final.headers.get("Warning") or "")
            await asyncio.wait_for(routing.ended.wait(), 5)
            assert routing.actions("contact_ended")[0][2] is HangupCause.SYSTEM_ERROR
            await never_sent_back(legacy_centre)
        legacy_centre.close()

    run(scenario)

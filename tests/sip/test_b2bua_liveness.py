"""Calls whose ends vanish: session timers (RFC 4028) on both legs and the in-dialog OPTIONS probe.

A real edge on loopback UDP with shortened timers; scripted phones that answer, then fall silent.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from contact_center.domain.contact import HangupCause, HangupSide
from sip_edge.app.calls.ports import CallSettings
from tests.sip.b2bua_support import AGENT_SDP, FakeRouting, Phone, connect_to, running_edge

NUMBER = "+14155550100"
TIMER = (("Supported", "timer"),)


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(scenario(), 30))


def test_a_session_interval_below_our_minimum_is_refused_with_422_and_our_min_se() -> None:
    async def scenario() -> None:
        caller = await Phone.open("carrier")
        routing = FakeRouting()
        async with running_edge(routing) as edge:
            caller.invite(edge.address, NUMBER, headers=(*TIMER, ("Session-Expires", "30")))
            final = await caller.response("INVITE", final=True)
            assert final.status == 422
            assert final.headers.get("Min-SE") == "90"
            assert routing.actions("new_contact") == []  # refused before anything was routed
        caller.close()

    run(scenario)


def test_the_callers_session_timer_is_honoured_and_the_agent_leg_negotiates_its_own() -> None:
    async def scenario() -> None:
        caller, agent = await Phone.open("carrier"), await Phone.open("agent")
        routing = FakeRouting()
        routing.new_contact_answer = connect_to(agent)
        async with running_edge(routing) as edge:
            caller.invite(edge.address, NUMBER, headers=(*TIMER, ("Session-Expires", "1200;refresher=uac")))
            agent_invite, source = await agent.request("INVITE")
            assert "timer" in (agent_invite.headers.get("Supported") or "")
            assert agent_invite.headers.get("Session-Expires") == "600"  # the agent leg's own interval
            assert agent_invite.headers.get("Min-SE") == "90"
            agent.answer(
                agent_invite, source, 200, body=AGENT_SDP,
                headers=(("Session-Expires", "600;refresher=uac"), ("Require", "timer")),
            )  # fmt: skip
            ok = await caller.response("INVITE", 200)
            assert ok.headers.get("Session-Expires") == "1200;refresher=uac"
            assert ok.headers.get("Require") == "timer"
        caller.close()
        agent.close()

    run(scenario)


def test_a_call_whose_two_ends_fall_silent_is_ended_and_the_seat_freed_when_the_session_expires() -> None:
    async def scenario() -> None:
        caller, agent = await Phone.open("carrier"), await Phone.open("agent")
        routing = FakeRouting()
        routing.new_contact_answer = connect_to(agent)
        settings = CallSettings(session_min_se=2, probe_interval_seconds=60)
        async with running_edge(routing, settings=settings) as edge:
            # The carrier asks for a 3 s session and refreshes it itself; the phone has no timer.
            invite = caller.invite(
                edge.address, NUMBER, headers=(*TIMER, ("Session-Expires", "3;refresher=uac"))
            )
            agent_invite, source = await agent.request("INVITE")
            agent.answer(agent_invite, source, 200, body=AGENT_SDP)
            ok = await caller.response("INVITE", 200)
            caller.in_dialog("ACK", invite, ok, edge.address, cseq=1)
            answered = time.monotonic()
            # Both ends vanish without a BYE: no refresh comes.
            await asyncio.wait_for(routing.ended.wait(), 10)
            # §10: the session expires at interval - min(32, interval / 3) = 2 s without a refresh.
            assert 1.5 < time.monotonic() - answered < 4
            assert routing.actions("contact_ended")[0][1:] == (
                HangupSide.SYSTEM,
                HangupCause.NETWORK_FAILURE,
            )
            bye_to_caller, _ = await caller.request("BYE")
            bye_to_agent, _ = await agent.request("BYE")
            assert bye_to_caller.call_id == invite.call_id and bye_to_agent.call_id == agent_invite.call_id
            assert edge.task.counters.active == 0
        caller.close()
        agent.close()

    run(scenario)


def test_a_refresh_keeps_the_call_up_past_the_session_interval() -> None:
    async def scenario() -> None:
        caller, agent = await Phone.open("carrier"), await Phone.open("agent")
        routing = FakeRouting()
        routing.new_contact_answer = connect_to(agent)
        settings = CallSettings(session_min_se=2, probe_interval_seconds=60)
        async with running_edge(routing, settings=settings) as edge:
            invite = caller.invite(
                edge.address, NUMBER, headers=(*TIMER, ("Session-Expires", "3;refresher=uac"))
            )
            agent_invite, source = await agent.request("INVITE")
            agent.answer(agent_invite, source, 200, body=AGENT_SDP)
            ok = await caller.response("INVITE", 200)
            caller.in_dialog("ACK", invite, ok, edge.address, cseq=1)
            for _ in range(2):
                await asyncio.sleep(1.2)
                refresh = (("Session-Expires", "3;refresher=uac"),)
                caller.in_dialog("UPDATE", invite, ok, edge.address, headers=refresh)
                refreshed = await caller.response("UPDATE", final=True)
                assert refreshed.status == 200
                assert refreshed.headers.get("Session-Expires") == "3;refresher=uac"
            await asyncio.sleep(1.2)
            assert not routing.ended.is_set()  # 3.6 s after the answer, well past the 2 s expiry
            # The bodiless refresh is this leg's business: the phone was not asked.
            assert not [m for m in agent.seen if getattr(m, "method", None) == "UPDATE"]
        caller.close()
        agent.close()

    run(scenario)


def test_a_leg_without_timers_is_probed_and_a_481_to_the_probe_ends_the_call() -> None:
    async def scenario() -> None:
        caller, agent = await Phone.open("carrier"), await Phone.open("agent")
        routing = FakeRouting()
        routing.new_contact_answer = connect_to(agent)
        settings = CallSettings(probe_interval_seconds=0.5)
        async with running_edge(routing, settings=settings) as edge:
            invite = caller.invite(edge.address, NUMBER)  # no timer support on either side
            agent_invite, source = await agent.request("INVITE")
            agent.answer(agent_invite, source, 200, body=AGENT_SDP)
            ok = await caller.response("INVITE", 200)
            caller.in_dialog("ACK", invite, ok, edge.address, cseq=1)
            # The carrier answers its probe; the phone lost the dialog (rebooted) and says 481.
            probe, probe_source = await caller.request("OPTIONS")
            assert probe.call_id == invite.call_id
            caller.answer(probe, probe_source, 200)
            agent_probe, agent_source = await agent.request("OPTIONS")
            assert agent_probe.call_id == agent_invite.call_id
            agent.answer(agent_probe, agent_source, 481)
            await asyncio.wait_for(routing.ended.wait(), 5)
            assert routing.actions("contact_ended")[0][2] is HangupCause.NETWORK_FAILURE
            await caller.request("BYE")
        caller.close()
        agent.close()

    run(scenario)


def test_where_we_refresh_the_phones_session_we_do_and_a_481_to_the_refresh_ends_the_call() -> None:
    async def scenario() -> None:
        caller, agent = await Phone.open("carrier"), await Phone.open("agent")
        routing = FakeRouting()
        routing.new_contact_answer = connect_to(agent)
        settings = CallSettings(session_interval=2, session_min_se=2, probe_interval_seconds=60)
        async with running_edge(routing, settings=settings) as edge:
            invite = caller.invite(edge.address, NUMBER)
            agent_invite, source = await agent.request("INVITE")
            # The phone takes the timer and leaves the refreshing to us (the UAC of its dialog).
            agent.answer(
                agent_invite, source, 200, body=AGENT_SDP, headers=(("Session-Expires", "2;refresher=uac"),)
            )
            ok = await caller.response("INVITE", 200)
            caller.in_dialog("ACK", invite, ok, edge.address, cseq=1)
            await agent.request("ACK")
            # The phone does not allow UPDATE: the refresh is a re-INVITE with the session's SDP.
            refresh, refresh_source = await agent.request("INVITE", timeout=3)
            assert refresh.call_id == agent_invite.call_id and refresh.body == agent_invite.body
            assert refresh.headers.get("Session-Expires") == "2;refresher=uac"
            agent.answer(refresh, refresh_source, 200, body=AGENT_SDP, headers=(("Session-Expires", "2"),))
            await agent.request("ACK")
            # The phone rebooted meanwhile: the next refresh finds no dialog.
            again, again_source = await agent.request("INVITE", timeout=3)
            agent.answer(again, again_source, 481)
            await asyncio.wait_for(routing.ended.wait(), 5)
            assert routing.actions("contact_ended")[0][2] is HangupCause.NETWORK_FAILURE
            bye, _ = await caller.request("BYE")
            assert bye.call_id == invite.call_id
        caller.close()
        agent.close()

    run(scenario)

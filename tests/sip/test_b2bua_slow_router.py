"""The edge when the router is slow or failing (its table timing out): a call's end is reported until
it lands, since that report alone frees the agent's seat."""

from __future__ import annotations

import asyncio

import pytest

from contact_center.domain.contact import HangupCause
from contact_center.services.routing.decisions import Queue
from sip_edge.app.calls import end_report
from sip_edge.app.calls.ports import RoutingError
from sip_edge.sip.client_transaction import build_cancel
from tests.sip.b2bua_support import FakeRouting, Phone, connect_to, running_edge
from tests.sip.test_b2bua_calls import NUMBER, answered_call, run, stored

TIMEOUT = RoutingError("timeout", "contact_ended took longer than 5.0 s", retryable=True)


def test_a_talking_call_s_end_that_failed_is_reported_again_until_it_lands() -> None:
    async def scenario() -> None:
        caller, agent = await Phone.open("carrier"), await Phone.open("agent")
        routing = FakeRouting()
        routing.new_contact_answer = connect_to(agent)
        async with running_edge(routing) as edge:
            invite, ok, _, _ = await answered_call(edge, caller, agent)
            await stored(edge.dialogs)
            # Given the router fails the end twice (after the routing client's own retries),
            routing.end_errors = [TIMEOUT, TIMEOUT]
            # when the caller hangs up,
            caller.in_dialog("BYE", invite, ok, edge.address)
            assert (await caller.response("BYE", final=True)).status == 200
            bye, source = await agent.request("BYE")
            agent.answer(bye, source, 200)
            # then the edge reports the end again until the router records it (freeing the seat),
            await asyncio.wait_for(routing.ended.wait(), 10)
            assert [args[2] for args in routing.actions("contact_ended")] == [HangupCause.NORMAL_CLEARING] * 3
            # and the stored dialog goes with that end, not before it.
            assert edge.dialogs.items == {}
        caller.close()
        agent.close()

    run(scenario)


def test_a_queued_caller_s_end_that_failed_is_reported_again_so_no_agent_is_offered_a_ghost() -> None:
    async def scenario() -> None:
        caller = await Phone.open("carrier")
        routing = FakeRouting()
        routing.new_contact_answer = Queue("?", "q1", 60, deadline_ms=2**42)
        async with running_edge(routing) as edge:
            invite = caller.invite(edge.address, NUMBER)
            await caller.response("INVITE", 182)
            routing.end_errors = [TIMEOUT]
            caller.send(build_cancel(invite), edge.address)
            assert (await caller.response("INVITE", final=True)).status == 487
            await asyncio.wait_for(routing.ended.wait(), 10)
            assert [args[2] for args in routing.actions("contact_ended")] == [
                HangupCause.CALLER_ABANDONED
            ] * 2
        caller.close()

    run(scenario)


def test_a_call_whose_routing_failed_is_ended_again_once_a_late_routing_has_created_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(end_report, "LATE_CREATE_DELAYS", (0.2, 0.2))

    async def scenario() -> None:
        caller = await Phone.open("carrier")
        routing = FakeRouting()
        # Given the routing of a call times out (its invocation still running on a slow table),
        routing.new_contact_error = TIMEOUT
        # and the contact is not there yet when the edge ends it, but is a moment later,
        routing.end_errors = [RoutingError("not_found", "contact c not found")]
        async with running_edge(routing) as edge:
            caller.invite(edge.address, NUMBER)
            assert (await caller.response("INVITE", final=True)).status == 503
            # then the edge asks for the end again and ends the contact created too late.
            await asyncio.wait_for(routing.ended.wait(), 10)
            assert [args[2] for args in routing.actions("contact_ended")] == [HangupCause.SYSTEM_ERROR] * 2
        caller.close()

    run(scenario)

"""A transfer asked over the API: the API's sender (`contact_center.edge_commands`) against an edge
task on loopback; the task runs the blind transfer a REFER would and answers with the verdict."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from contact_center.edge_commands import EdgeCommands
from contact_center.edge_push import TaskAddress
from contact_center.services.routing.decisions import Reject
from contact_center.services.routing.transfers import TransferOutcome
from tests.sip.b2bua_support import FakeRouting, Phone, RunningEdge, connect_to, running_edge
from tests.sip.test_b2bua_calls import answered_call
from tests.sip.test_b2bua_transfers import first_agent_let_go, joined

FLEET_KEY = "k" * 16  # the nonce key `running_edge` configures


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(scenario(), 30))


def sender(edge: RunningEdge, fleet_key: str = FLEET_KEY) -> EdgeCommands:
    address = f"{edge.address[0]}:{edge.address[1]}"
    return EdgeCommands(
        fleet_key,
        lambda task_id, now: TaskAddress(address, None) if task_id == "edge-a" else None,
        give_up_after=2.0,
    )


def test_a_transfer_command_moves_the_caller_to_the_next_agent_and_answers_202() -> None:
    async def scenario() -> None:
        caller, first, second = await Phone.open("carrier"), await Phone.open("a1"), await Phone.open("a2")
        routing = FakeRouting()
        routing.new_contact_answer = connect_to(first, seat="seat-1")
        routing.transfer_answers = [
            TransferOutcome(connect_to(second, seat="seat-2"), "seat-1", "m1", wrap_up_deadline_ms=None)
        ]
        async with running_edge(routing) as edge:
            invite, ok, _, _ = await answered_call(edge, caller, first)
            contact_id = routing.actions("new_contact")[0][2]
            answer = await asyncio.to_thread(sender(edge).transfer, "edge-a", contact_id, "sales")
            assert answer is not None and answer.status == 202
            assert routing.actions("transfer") == [(contact_id, "seat-1", "sales")]
            await first_agent_let_go(first)
            await joined(caller, invite, ok, second)
        for phone in (caller, first, second):
            phone.close()

    run(scenario)


def test_a_refused_transfer_answers_the_routers_status_and_the_call_goes_on() -> None:
    async def scenario() -> None:
        caller, first = await Phone.open("carrier"), await Phone.open("a1")
        routing = FakeRouting()
        routing.new_contact_answer = connect_to(first, seat="seat-1")
        routing.transfer_answers = [
            TransferOutcome(Reject(404, "no queue, seat or number named 'nowhere'"), "seat-1", "m1")
        ]
        async with running_edge(routing) as edge:
            invite, ok, _, _ = await answered_call(edge, caller, first)
            contact_id = routing.actions("new_contact")[0][2]
            commands = sender(edge)
            answer = await asyncio.to_thread(commands.transfer, "edge-a", contact_id, "nowhere")
            assert answer is not None and answer.status == 404
            assert answer.warning == "no queue, seat or number named 'nowhere'"
            # A contact this task does not hold, and a task nobody knows.
            other = await asyncio.to_thread(commands.transfer, "edge-a", "not-here", "sales")
            assert other is not None and other.status == 481
            assert await asyncio.to_thread(commands.transfer, "edge-gone", contact_id, "sales") is None
            # The call goes on with its agent: the caller's BYE reaches it.
            caller.in_dialog("BYE", invite, ok, edge.address)
            bye, source = await first.request("BYE")
            first.answer(bye, source, 200)
        caller.close()
        first.close()

    run(scenario)


def test_a_command_signed_with_another_key_is_refused_with_403() -> None:
    async def scenario() -> None:
        routing = FakeRouting()
        async with running_edge(routing) as edge:
            forged = await asyncio.to_thread(sender(edge, "x" * 16).transfer, "edge-a", "c1", "sales")
            assert forged is not None and forged.status == 403
            assert routing.actions("transfer") == []

    run(scenario)

"""A region taking over asks its live edge tasks which calls they hold (`contact_center.edge_commands`
`EdgeHeldCalls`) before freeing a seat whose contact it lacks: an edge task on loopback answers from
its live-call table; a task that does not answer makes the answer incomplete."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable, Callable

from contact_center.edge_commands import EdgeHeldCalls
from contact_center.edge_push import TaskAddress
from tests.sip.b2bua_support import FakeRouting, Phone, RunningEdge, connect_to, running_edge
from tests.sip.test_b2bua_calls import answered_call

FLEET_KEY = "k" * 16  # the nonce key `running_edge` configures


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(scenario(), 30))


def asker(*tasks: tuple[str, str, str | None], fleet_key: str = FLEET_KEY) -> EdgeHeldCalls:
    return EdgeHeldCalls(
        fleet_key,
        lambda now_s: [(task, TaskAddress(address, region)) for task, address, region in tasks],
        region="west",
        give_up_after=0.5,
    )


def address_of(edge: RunningEdge) -> str:
    return f"{edge.address[0]}:{edge.address[1]}"


def test_a_task_names_the_asked_calls_it_holds_and_asking_again_changes_nothing() -> None:
    async def scenario() -> None:
        caller, agent = await Phone.open("carrier"), await Phone.open("a1")
        routing = FakeRouting()
        routing.new_contact_answer = connect_to(agent, seat="seat-1")
        async with running_edge(routing) as edge:
            await answered_call(edge, caller, agent)
            contact_id = routing.actions("new_contact")[0][2]
            held_calls = asker(("edge-a", address_of(edge), "west"))
            for _ in range(2):
                answer = await asyncio.to_thread(
                    held_calls.held, [contact_id, "not-here"], int(time.time() * 1000)
                )
                assert answer.complete
                assert answer.held == frozenset({contact_id})
            assert routing.actions("contact_ended") == []
        caller.close()
        agent.close()

    run(scenario)


def test_a_silent_task_makes_the_answer_incomplete_and_another_regions_task_is_not_asked() -> None:
    async def scenario() -> None:
        routing = FakeRouting()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
            silent.bind(("127.0.0.1", 0))
            mute = f"127.0.0.1:{silent.getsockname()[1]}"
            async with running_edge(routing) as edge:
                started = time.monotonic()
                answer = await asyncio.to_thread(
                    asker(("edge-a", address_of(edge), "west"), ("edge-b", mute, "west")).held,
                    ["c1"],
                    int(time.time() * 1000),
                )
                assert not answer.complete and answer.held == frozenset()
                assert time.monotonic() - started < 2.0  # bounded by give_up_after, tasks asked at once
                # The dead region's task is not asked: the answer is complete without it
                other = await asyncio.to_thread(
                    asker(("edge-a", address_of(edge), "west"), ("edge-east", mute, "east")).held,
                    ["c1"],
                    int(time.time() * 1000),
                )
                assert other.complete and other.held == frozenset()

    run(scenario)


def test_a_query_signed_with_another_key_gets_no_answer_it_could_use() -> None:
    async def scenario() -> None:
        routing = FakeRouting()
        async with running_edge(routing) as edge:
            answer = await asyncio.to_thread(
                asker(("edge-a", address_of(edge), "west"), fleet_key="x" * 16).held,
                ["c1"],
                int(time.time() * 1000),
            )
            assert not answer.complete

    run(scenario)

"""Finding a queue's best free agent does not depend on other queues' free agents (issue 16).

With many agents of queue B idle longer than queue A's only free agent, a call to A is offered to
that agent at once; and what the router reads per call is the same with 10 or thousands of free
agents spread over other queues.
"""

from __future__ import annotations

from contact_center.domain.agent_state import AgentState
from contact_center.domain.queueing import RoutingStrategy
from contact_center.services.routing import RoutingPolicy
from contact_center.services.routing.decisions import Connect, Queue
from tests.support.routing_centre import NOW, FakeCentre


def busy_other_queue(centre: FakeCentre, agents: int, queues: int = 1) -> None:
    """``agents`` free agents of other queues, all idle longer than anyone of queue A."""
    for index in range(queues):
        centre.queue(f"b{index}")
    for index in range(agents):
        centre.seat(
            f"b-agent-{index:04d}", queues={f"b{index % queues}": 1}, available_at=NOW - 600_000 + index
        )


def test_a_call_reaches_its_queues_only_free_agent_behind_150_idler_agents_of_another_queue(
    centre: FakeCentre,
) -> None:
    centre.queue("a")
    centre.number(queue_id="a")
    busy_other_queue(centre, 150)
    centre.seat("a-agent", queues={"a": 1}, available_at=NOW - 1000)  # idle for less than all of them

    decision = centre.call()

    assert isinstance(decision, Connect) and decision.seat_id == "a-agent"
    assert centre.agent("a-agent").state is AgentState.RESERVED


def test_agents_of_several_queues_are_found_from_each_of_them(centre: FakeCentre) -> None:
    centre.queue("a")
    centre.queue("b0")
    centre.number(queue_id="a")
    centre.number("+15550101", queue_id="b0")
    busy_other_queue(centre, 120)
    centre.seat("both", queues={"a": 1, "b0": 1}, available_at=NOW - 1000)

    decision = centre.call()

    assert isinstance(decision, Connect) and decision.seat_id == "both"
    # Reserved, it is no longer a candidate of the other queue it serves.
    other = centre.call("c2", number="+15550101")
    assert isinstance(other, Connect) and other.seat_id != "both"


def seats_read_per_call(other_agents: int, queues: int) -> int:
    centre = FakeCentre()
    centre.queue("a")
    centre.number(queue_id="a")
    busy_other_queue(centre, other_agents, queues)
    for index in range(12):
        centre.seat(f"a-agent-{index}", queues={"a": 1}, available_at=NOW - 1000 + index)
    reads = centre.ports.table.availability_reads
    reads.clear()
    decision = centre.call()
    assert isinstance(decision, Connect) and decision.seat_id.startswith("a-agent-")
    return sum(count for _, count in reads)


def test_a_routed_call_reads_as_many_seats_with_10_or_7000_free_agents_over_50_queues() -> None:
    few = seats_read_per_call(10, 10)
    many = seats_read_per_call(7000, 50)

    assert few == many == RoutingPolicy().longest_idle_page


def test_a_queue_whose_first_page_cannot_take_the_call_reads_on_and_finds_the_agent_who_can(
    centre: FakeCentre,
) -> None:
    centre.service = centre.build(
        RoutingPolicy(sip_domain="sip.test", longest_idle_page=2, candidate_limit=3)
    )
    centre.queue("a", skills=(("billing", 1),))
    centre.number(queue_id="a")
    # Serving the queue without its required skill: in its index, never eligible.
    for index in range(5):
        centre.seat(f"x{index}", queues={"a": 1}, skills={"english": 3}, available_at=NOW - 90_000 + index)
    centre.seat("billing", queues={"a": 1}, skills={"billing": 2}, available_at=NOW - 1000)
    reads = centre.ports.table.availability_reads
    reads.clear()

    decision = centre.call()

    assert isinstance(decision, Connect) and decision.seat_id == "billing"
    assert [count for _, count in reads] == [2, 3, 6]  # a page, the candidate limit, then all


def test_a_queue_with_nobody_free_queues_the_call_after_one_read(centre: FakeCentre) -> None:
    centre.queue("a")
    centre.number(queue_id="a")
    busy_other_queue(centre, 40)
    reads = centre.ports.table.availability_reads
    reads.clear()

    assert isinstance(centre.call(), Queue)
    # Nobody free: one read, then one more look once the call is listed in its queue.
    assert [(queue, count) for queue, count in reads] == [("a", 0), ("a", 0)]


def first_choice(contact_id: str, idle_gaps_ms: int) -> str:
    centre = FakeCentre()
    centre.queue("a")
    centre.number(queue_id="a")
    for index in range(6):
        centre.seat(f"a{index}", queues={"a": 1}, available_at=NOW - 60_000 + index * idle_gaps_ms)
    decision = centre.call(contact_id)
    assert isinstance(decision, Connect)
    return decision.seat_id


def test_concurrent_calls_start_at_different_agents_among_near_ties() -> None:
    # Six agents freed within the tie window: different calls start at different ones of them.
    assert len({first_choice(f"c{index}", idle_gaps_ms=100) for index in range(30)}) >= 4
    # Freed far apart: every call goes to the longest idle.
    assert {first_choice(f"c{index}", idle_gaps_ms=10_000) for index in range(30)} == {"a0"}


def test_most_skilled_reads_every_free_agent_of_its_queue_only(centre: FakeCentre) -> None:
    centre.queue("a", strategy=RoutingStrategy.MOST_SKILLED, skills=(("billing", 1),))
    centre.number(queue_id="a")
    busy_other_queue(centre, 50)
    centre.seat("good", queues={"a": 1}, skills={"billing": 2}, available_at=NOW - 90_000)
    centre.seat("best", queues={"a": 1}, skills={"billing": 5}, available_at=NOW - 1000)
    reads = centre.ports.table.availability_reads
    reads.clear()

    decision = centre.call()

    assert isinstance(decision, Connect) and decision.seat_id == "best"
    assert reads == [("a", 2)]

"""After a takeover, the survivor lets go at once of the seats the dead home had reserved: the results
of those rings are lost with the region, and waiting for the stale-reservation sweep would leave the
agents out of reach for most of a minute and then park them as if they had missed the offer."""

from __future__ import annotations

from dataclasses import replace

from contact_center.domain.agent_state import AgentState, SystemReason
from contact_center.domain.contact import ContactState, HangupCause
from contact_center.services.routing.decisions import Connect
from tests.support.routing_centre import MERCHANT, NOW, FakeCentre

DEAD_EDGE = "edge-east-1"
TAKEN_AT = NOW + 10_000


def _centre(*seats: str) -> FakeCentre:
    centre = FakeCentre()
    centre.queue(max_wait=600)
    centre.number()
    for seat in seats:
        centre.seat(seat)
    return centre


def test_a_ring_whose_result_went_to_the_dead_home_ends_as_unreachable_and_the_agent_comes_back() -> None:
    centre = _centre("a1")
    # The dead home offered c1 (its caller on a live edge task here) to a1; the report never came.
    assert isinstance(centre.call("c1"), Connect)
    assert centre.agent("a1").state is AgentState.RESERVED

    # The stale-reservation sweep alone would wait out the grace (and then park a1 as a missed offer)
    centre.service.sweep(TAKEN_AT + 21_000, [MERCHANT])
    assert centre.agent("a1").state is AgentState.RESERVED

    released = centre.service.release_lost_region([MERCHANT], [DEAD_EDGE], TAKEN_AT, TAKEN_AT + 21_000)

    assert released == ["a1"]
    agent = centre.agent("a1")
    assert (agent.state, agent.reason) == (AgentState.NOT_RESPONDING, SystemReason.UNREACHABLE.value)
    contact = centre.contact("c1")
    assert contact is not None and contact.snapshot.state is ContactState.QUEUED
    assert [segment.outcome for segment in contact.segments if segment.kind == "agent"] == ["unreachable"]
    # a1's phone is registered here: the next sweep brings a1 back (c1 is not bounced straight back)
    report = centre.service.sweep(TAKEN_AT + 24_000, [MERCHANT])
    assert report.agents_reachable_again == ["a1"]
    assert centre.agent("a1").state is AgentState.AVAILABLE


def test_a_ring_still_within_its_timeout_is_left_to_its_edge_task() -> None:
    centre = _centre("a1")
    centre.call("c1")

    assert centre.service.release_lost_region([MERCHANT], [DEAD_EDGE], TAKEN_AT, NOW + 5_000) == []
    assert centre.agent("a1").state is AgentState.RESERVED


def test_a_seat_reserved_for_a_contact_this_replica_has_as_queued_takes_the_next_caller() -> None:
    centre = _centre("a1")
    centre.call("c1")
    # The seat's write replicated, the contact's offer did not: here c1 still waits in the queue.
    table = centre.ports.table
    offered = table.contacts["c1"]
    table.contacts["c1"] = replace(
        offered, snapshot=replace(offered.snapshot, state=ContactState.QUEUED, seat_id=None)
    )
    centre.service.end_lost_region([DEAD_EDGE], TAKEN_AT)  # not that edge's contact: nothing to end
    assert centre.agent("a1").state is AgentState.RESERVED

    released = centre.service.release_lost_region([MERCHANT], [DEAD_EDGE], TAKEN_AT, TAKEN_AT + 1_000)

    assert released == ["a1"]
    agent = centre.agent("a1")
    # Let go, and offered at once the caller waiting in line here: c1 itself, now offered by this home
    assert (agent.state, agent.contact_id, agent.state_since_ms) == (
        AgentState.RESERVED,
        "c1",
        TAKEN_AT + 1_000,
    )
    contact = centre.contact("c1")
    assert contact is not None and contact.snapshot.state is ContactState.OFFERED


def test_an_offer_to_a_caller_on_a_dead_edge_task_ends_with_a_record() -> None:
    centre = _centre("a1")
    centre.service.new_contact("+15550100", "+4930123", DEAD_EDGE, "c1", NOW)
    # It reached this replica after the takeover's region_lost had run.

    released = centre.service.release_lost_region([MERCHANT], [DEAD_EDGE], TAKEN_AT, TAKEN_AT + 1_000)

    assert released == ["a1"]
    assert centre.contact("c1") is None
    assert centre.record("c1").hangup_cause == HangupCause.SYSTEM_ERROR.value
    assert centre.agent("a1").state is AgentState.AVAILABLE


def test_reservations_made_here_after_the_takeover_are_left_alone() -> None:
    centre = _centre("a1")
    centre.call("c1", at=TAKEN_AT + 500)

    assert centre.service.release_lost_region([MERCHANT], [DEAD_EDGE], TAKEN_AT, TAKEN_AT + 60_000) == []
    assert centre.agent("a1").state is AgentState.RESERVED

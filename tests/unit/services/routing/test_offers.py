"""Who is offered a new contact: longest idle, skills, strategies, phones that are not registered."""

from __future__ import annotations

from contact_center.domain.agent_state import AgentState
from contact_center.domain.contact import ContactState
from contact_center.domain.queueing import RoutingStrategy
from contact_center.services.routing.decisions import Connect, Queue
from tests.support.routing_centre import DOMAIN, EDGE, NOW, FakeCentre


def test_an_available_agent_is_reserved_and_the_edge_told_where_to_ring_it(centre: FakeCentre) -> None:
    centre.queue()
    centre.number()
    centre.seat("a1", ring_timeout=25)
    decision = centre.call()
    assert isinstance(decision, Connect)
    assert (decision.contact_id, decision.seat_id, decision.aor) == ("c1", "a1", f"sip:u-a1@{DOMAIN}")
    assert decision.ring_timeout_seconds == 25 and decision.queue_id == "q1"
    assert [t.flow_owner for t in decision.targets] == [EDGE]
    assert centre.agent("a1").state is AgentState.RESERVED
    contact = centre.contact("c1")
    assert contact is not None and contact.snapshot.state is ContactState.OFFERED


def test_the_longest_idle_agent_is_offered_the_contact_first(centre: FakeCentre) -> None:
    centre.queue()
    centre.number()
    centre.seat("recent", available_at=NOW - 10_000)
    centre.seat("longest", available_at=NOW - 90_000)
    centre.seat("middle", available_at=NOW - 50_000)
    decision = centre.call()
    assert isinstance(decision, Connect) and decision.seat_id == "longest"


def test_agents_below_the_queues_minimum_proficiency_are_never_offered_its_calls(centre: FakeCentre) -> None:
    centre.queue(strategy=RoutingStrategy.MOST_SKILLED, skills=(("english", 2), ("billing", 2)))
    centre.number()
    centre.seat("novice", skills={"english": 5, "billing": 1}, available_at=NOW - 90_000)
    centre.seat("good", skills={"english": 2, "billing": 3}, available_at=NOW - 60_000)
    centre.seat("best", skills={"english": 5, "billing": 4}, available_at=NOW - 1000)
    assert [getattr(centre.call(c), "seat_id", None) for c in ("c1", "c2")] == ["best", "good"]
    assert isinstance(centre.call("c3"), Queue)


def test_round_robin_starts_after_the_last_agent_served(centre: FakeCentre) -> None:
    centre.queue(strategy=RoutingStrategy.ROUND_ROBIN)
    centre.number()
    for seat_id, idle in (("a", 1000), ("b", 2000), ("c", 3000)):
        centre.seat(seat_id, available_at=NOW - idle)
    first = centre.call("k1")
    assert isinstance(first, Connect) and first.seat_id == "a"
    second = centre.call("k2", at=NOW + 200)
    assert isinstance(second, Connect) and second.seat_id == "b"


def test_an_agent_without_a_registered_phone_is_parked_and_the_caller_not_charged(centre: FakeCentre) -> None:
    centre.queue()
    centre.number()
    centre.seat("a1", available_at=NOW - 90_000, registered=False)
    centre.seat("a2", available_at=NOW - 30_000)
    decision = centre.call()
    assert isinstance(decision, Connect) and decision.seat_id == "a2"
    assert centre.agent("a1").state is AgentState.NOT_RESPONDING
    contact = centre.contact("c1")
    assert contact is not None and contact.snapshot.rona_attempts == 0


def test_an_expired_registration_counts_as_no_phone(centre: FakeCentre) -> None:
    centre.queue()
    centre.number()
    centre.seat("a1", registered=False)
    centre.register("a1", expires_at_s=NOW // 1000)  # expired at the call's second
    assert isinstance(centre.call(), Queue)
    assert centre.agent("a1").state is AgentState.NOT_RESPONDING


def test_a_caller_with_nobody_free_is_listed_in_the_queue_with_its_deadline(centre: FakeCentre) -> None:
    centre.queue(max_wait=90)
    centre.number()
    centre.seat("a1", available_at=None)
    assert centre.call() == Queue("c1", "q1", 90, NOW + 90_000, position=1)
    assert [c.contact_id for c in centre.ports.contacts.queue_heads("q1", 5)] == ["c1"]
    # A retried request returns the same answer and counts the caller once.
    assert centre.call(at=NOW + 500) == Queue("c1", "q1", 90, NOW + 90_000, position=1)
    assert centre.stats()["offered"] == 1


def test_a_contact_is_not_offered_twice_nor_an_agent_two_contacts(centre: FakeCentre) -> None:
    centre.queue()
    centre.number()
    centre.seat("a1")
    first, second = centre.call("c1"), centre.call("c2")
    assert isinstance(first, Connect) and first.seat_id == "a1"
    assert isinstance(second, Queue)
    assert centre.agent("a1").contact_id == "c1"

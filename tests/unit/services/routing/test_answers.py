"""The agent leg's result: an answer connects both sides; ring-no-answer (RONA), busy and reject
release or park the agent and offer the caller again, up to the RONA limit."""

from __future__ import annotations

from contact_center.domain.agent_state import AgentState
from contact_center.domain.contact import ContactState, HangupCause, HangupSide
from contact_center.services.routing import RoutingPolicy
from contact_center.services.routing.decisions import Acknowledged, Connect, OfferOutcome, Queue, Reject
from tests.support.routing_centre import DOMAIN, NOW, FakeCentre

ANSWERED, NO_ANSWER = OfferOutcome.ANSWERED, OfferOutcome.NO_ANSWER
BUSY, REJECTED = OfferOutcome.BUSY, OfferOutcome.REJECTED


def two_agents(centre: FakeCentre) -> None:
    centre.queue(max_wait=600)
    centre.number()
    centre.seat("a1", available_at=NOW - 90_000)  # longest idle: rung first
    centre.seat("a2", available_at=NOW - 30_000)


def test_an_answer_connects_the_contact_and_puts_the_agent_on_it(centre: FakeCentre) -> None:
    two_agents(centre)
    centre.call()
    ack = centre.service.offer_result("c1", "a1", ANSWERED, NOW + 4000)
    assert ack == Acknowledged("c1", "connected", "a1", "m1")
    assert centre.agent("a1").state is AgentState.ON_CONTACT
    contact = centre.contact("c1")
    assert contact is not None and contact.snapshot.state is ContactState.CONNECTED
    assert contact.snapshot.connected_at_ms == NOW + 4000


def test_ring_no_answer_parks_the_agent_not_responding_and_re_offers_the_contact(centre: FakeCentre) -> None:
    two_agents(centre)
    centre.call()
    decision = centre.service.offer_result("c1", "a1", NO_ANSWER, NOW + 20_000)
    assert isinstance(decision, Connect) and decision.seat_id == "a2"
    first = centre.agent("a1")
    assert (first.state, first.reason) == (AgentState.NOT_RESPONDING, "missed_offer")
    contact = centre.contact("c1")
    assert contact is not None
    assert contact.snapshot.rona_attempts == 1 and contact.snapshot.enqueued_at_ms == NOW  # keeps its place
    segment = contact.segments[0]
    assert (segment.kind, segment.seat_id, segment.outcome) == ("agent", "a1", "no_answer")


def test_ring_no_answer_with_nobody_else_free_puts_the_caller_back_in_the_queue(centre: FakeCentre) -> None:
    centre.queue(max_wait=60)
    centre.number()
    centre.seat("a1")
    centre.call()
    decision = centre.service.offer_result("c1", "a1", NO_ANSWER, NOW + 20_000)
    assert decision == Queue("c1", "q1", 40, NOW + 60_000, position=1)
    assert [c.contact_id for c in centre.ports.contacts.queue_heads("q1", 5)] == ["c1"]


def test_a_late_duplicate_report_of_a_missed_offer_changes_nothing(centre: FakeCentre) -> None:
    two_agents(centre)
    centre.call()
    centre.service.offer_result("c1", "a1", NO_ANSWER, NOW + 20_000)
    stale = centre.service.offer_result("c1", "a1", NO_ANSWER, NOW + 20_500)
    assert isinstance(stale, Acknowledged) and stale.stale
    assert centre.agent("a2").state is AgentState.RESERVED


def test_busy_leaves_the_agent_available_in_its_place_and_rings_the_next(centre: FakeCentre) -> None:
    two_agents(centre)
    centre.call()
    decision = centre.service.offer_result("c1", "a1", BUSY, NOW + 2000)
    assert isinstance(decision, Connect) and decision.seat_id == "a2"  # not bounced back to a1
    agent = centre.agent("a1")
    assert agent.state is AgentState.AVAILABLE and agent.idle_since_ms == NOW - 90_000


def test_busy_parks_the_agent_when_the_policy_says_so() -> None:
    centre = FakeCentre(
        RoutingPolicy(sip_domain=DOMAIN, busy_leaves_agent_available=False, spread_candidates=1)
    )
    two_agents(centre)
    centre.call()
    centre.service.offer_result("c1", "a1", BUSY, NOW + 2000)
    agent = centre.agent("a1")
    assert (agent.state, agent.reason) == (AgentState.NOT_RESPONDING, "rejected_busy")


def test_a_rejected_offer_parks_the_agent_whatever_the_busy_policy(centre: FakeCentre) -> None:
    two_agents(centre)
    centre.call()
    decision = centre.service.offer_result("c1", "a1", REJECTED, NOW + 2000)
    assert isinstance(decision, Connect) and decision.seat_id == "a2"
    assert centre.agent("a1").state is AgentState.NOT_RESPONDING


def test_a_seat_that_just_missed_a_contact_is_not_offered_it_again_within_the_cooldown(
    centre: FakeCentre,
) -> None:
    centre.queue(max_wait=600)
    centre.number()
    centre.seat("a1")
    centre.call()
    assert isinstance(centre.service.offer_result("c1", "a1", BUSY, NOW + 1000), Queue)
    assert centre.agent("a1").state is AgentState.AVAILABLE
    assert centre.service.agent_available("m1", "a1", NOW + 2000) is None  # cooling down
    offer = centre.service.agent_available("m1", "a1", NOW + 1000 + 30_000)
    assert offer is not None and offer.contact_id == "c1"


def test_the_rona_limit_stops_re_offering_and_rejects_the_caller(centre: FakeCentre) -> None:
    centre.queue(max_wait=600)
    centre.number()
    for index in range(4):
        centre.seat(f"a{index}", available_at=NOW - 100_000 + index * 10_000)
    decision = centre.call()
    for _ in range(3):
        assert isinstance(decision, Connect)
        decision = centre.service.offer_result("c1", decision.seat_id, NO_ANSWER, NOW + 30_000)
    assert decision == Reject(480, "rona limit reached", 60, "c1")
    assert centre.record("c1").rona_attempts == 3
    assert centre.agent("a3").state is AgentState.AVAILABLE  # the fourth agent was never rung


def test_an_answer_after_the_caller_hung_up_connects_nothing(centre: FakeCentre) -> None:
    centre.queue(wrap_up=30)
    centre.number()
    centre.seat("a1", available_at=NOW - 90_000)
    centre.call()
    centre.service.contact_ended("c1", HangupSide.CUSTOMER, HangupCause.CALLER_ABANDONED, NOW + 5000)
    agent = centre.agent("a1")
    assert agent.state is AgentState.AVAILABLE and agent.idle_since_ms == NOW - 90_000  # no wrap-up
    late = centre.service.offer_result("c1", "a1", ANSWERED, NOW + 5100)
    assert isinstance(late, Acknowledged) and late.stale
    assert centre.agent("a1").state is AgentState.AVAILABLE

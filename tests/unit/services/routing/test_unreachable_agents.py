"""An agent whose phone could not be reached (a dead region's edge task held its flow, or it has no
registration) is parked NOT_RESPONDING as unreachable, not as a missed offer; the sweep makes them
available again once their phone is registered, and they take the caller waiting for them."""

from __future__ import annotations

from contact_center.domain.agent_state import AgentState, SystemReason
from contact_center.services.routing import RoutingPolicy, RoutingService
from contact_center.services.routing.decisions import Connect, OfferOutcome
from tests.support.routing_centre import DOMAIN, NOW, FakeCentre


def test_a_ring_that_could_not_reach_the_phone_parks_the_agent_as_unreachable(centre: FakeCentre) -> None:
    centre.queue(max_wait=600)
    centre.number()
    centre.seat("a1")
    centre.call("c1")

    centre.service.offer_result("c1", "a1", OfferOutcome.UNREACHABLE, NOW + 2000)

    agent = centre.agent("a1")
    assert (agent.state, agent.reason) == (AgentState.NOT_RESPONDING, SystemReason.UNREACHABLE.value)


def test_a_ring_nobody_answered_is_still_a_missed_offer_the_sweep_leaves_alone(centre: FakeCentre) -> None:
    centre.queue(max_wait=600)
    centre.number()
    centre.seat("a1")
    centre.call("c1")
    centre.service.offer_result("c1", "a1", OfferOutcome.NO_ANSWER, NOW + 20_000)

    centre.service.sweep(NOW + 60_000)

    agent = centre.agent("a1")
    assert (agent.state, agent.reason) == (AgentState.NOT_RESPONDING, SystemReason.MISSED_OFFER.value)


def test_an_unregistered_agent_comes_back_when_the_phone_registers_and_takes_the_waiting_caller(
    centre: FakeCentre,
) -> None:
    centre.queue(max_wait=600)
    centre.number()
    centre.seat("a1", registered=False)
    queued = centre.call("c1")
    assert not isinstance(queued, Connect)
    assert centre.agent("a1").reason == SystemReason.UNREACHABLE.value

    # Not registered yet: the sweep leaves the agent parked
    assert centre.service.sweep(NOW + 30_000).agents_reachable_again == []
    centre.register("a1")
    report = centre.service.sweep(NOW + 60_000)

    assert report.agents_reachable_again == ["a1"]
    assert [offer.contact_id for offer in report.offers] == ["c1"]
    assert centre.agent("a1").state is AgentState.RESERVED


def test_the_sweep_leaves_the_seats_of_merchants_another_region_decides() -> None:
    centre = FakeCentre()
    ports = centre.ports
    centre.service = RoutingService(
        ports.catalog,
        ports.seats,
        ports.contacts,
        ports.registrations,
        ports.events,
        RoutingPolicy(sip_domain=DOMAIN),
        decides=lambda merchant: False,
    )
    centre.queue(max_wait=600)
    centre.number()
    centre.seat("a1", registered=False)
    centre.call("c1")
    centre.register("a1")

    assert centre.service.sweep(NOW + 60_000).agents_reachable_again == []
    assert centre.agent("a1").state is AgentState.NOT_RESPONDING

"""A region died: the surviving region (now home) ends every contact the dead region's edge tasks
held — queued, ringing and talking — with a record, and their agents are free again."""

from __future__ import annotations

from contact_center.domain.agent_state import AgentState
from contact_center.domain.contact import HangupCause
from contact_center.services.routing import RoutingPolicy, RoutingService
from contact_center.services.routing.decisions import OfferOutcome
from tests.support.routing_centre import DOMAIN, EDGE, NOW, FakeCentre


def test_every_contact_of_a_lost_regions_edge_ends_with_a_record_and_frees_its_agent(
    centre: FakeCentre,
) -> None:
    centre.queue(max_wait=600)
    centre.number()
    centre.seat("a1")
    centre.seat("a2")
    centre.call("talking")
    centre.service.offer_result("talking", "a1", OfferOutcome.ANSWERED, NOW + 1000)
    centre.call("ringing")
    centre.call("queued")
    other = centre.service.new_contact("+15550100", "+4930999", "edge-elsewhere", "kept", NOW + 2000)

    ended = centre.service.region_lost(EDGE, NOW + 5000)

    assert sorted(ended) == ["queued", "ringing", "talking"]
    for contact_id in ended:
        assert centre.contact(contact_id) is None
    assert centre.record("talking").hangup_cause == HangupCause.NETWORK_FAILURE.value
    assert centre.contact("kept") is not None and other is not None
    # a1 was released from the talking call and a2 from the ringing one; the contact of the other
    # edge, still queued, took one of them
    states = sorted(centre.agent(seat).state.value for seat in ("a1", "a2"))
    assert states == sorted([AgentState.AVAILABLE.value, AgentState.RESERVED.value])


def test_agents_held_by_contacts_this_region_never_received_are_freed(centre: FakeCentre) -> None:
    centre.queue(max_wait=600)
    centre.number()
    centre.seat("a1")
    centre.seat("a2")
    centre.call("talking")
    centre.service.offer_result("talking", "a1", OfferOutcome.ANSWERED, NOW + 1000)
    centre.call("ringing")
    # Given: the replica got the seats' writes but not the contacts' (replication is item by item)
    del centre.ports.table.contacts["talking"], centre.ports.table.contacts["ringing"]

    freed = centre.service.release_orphaned_agents("m1", NOW + 5000)

    assert sorted(freed) == ["a1", "a2"]
    assert {centre.agent(s).state for s in ("a1", "a2")} == {AgentState.AVAILABLE}


def test_agents_on_contacts_this_region_has_are_left_alone(centre: FakeCentre) -> None:
    centre.queue(max_wait=600)
    centre.number()
    centre.seat("a1")
    centre.call("talking")
    centre.service.offer_result("talking", "a1", OfferOutcome.ANSWERED, NOW + 1000)
    assert centre.service.release_orphaned_agents("m1", NOW + 5000) == []
    assert centre.agent("a1").state is AgentState.ON_CONTACT


def test_an_edge_is_given_only_the_offers_of_merchants_this_region_decides() -> None:
    decided = {"m1": False}
    centre = FakeCentre()
    ports = centre.ports
    centre.service = RoutingService(
        ports.catalog,
        ports.seats,
        ports.contacts,
        ports.registrations,
        ports.events,
        RoutingPolicy(sip_domain=DOMAIN),
        decides=lambda merchant: decided[merchant],
    )
    centre.queue(max_wait=600)
    centre.number()
    centre.seat("a1")
    centre.call("c1")  # offered to a1 at once
    assert centre.service.pending_offers(EDGE, NOW + 1000) == []
    decided["m1"] = True
    assert [offer.contact_id for offer in centre.service.pending_offers(EDGE, NOW + 1000)] == ["c1"]

"""A region died: the surviving region (now home) ends every contact the dead region's edge tasks
held — queued, ringing and talking — with a record, and their agents are free again."""

from __future__ import annotations

from contact_center.domain.agent_state import AgentState
from contact_center.domain.contact import HangupCause
from contact_center.services.routing import RoutingPolicy, RoutingService
from contact_center.services.routing.decisions import OfferOutcome
from contact_center.services.routing.region_loss import RegionLossPage
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

    page = centre.service.end_lost_region([EDGE, "edge-lost-2"], NOW + 5000)

    assert sorted(page.ended) == ["queued", "ringing", "talking"] and not page.more
    for contact_id in page.ended:
        assert centre.contact(contact_id) is None
        record = centre.record(contact_id)
        assert (record.hangup_side, record.hangup_cause) == ("system", HangupCause.NETWORK_FAILURE.value)
    assert centre.contact("kept") is not None and other is not None
    # a1 was released from the talking call and a2 from the ringing one; the contact of the other
    # edge, still queued, took one of them
    states = sorted(centre.agent(seat).state.value for seat in ("a1", "a2"))
    assert states == sorted([AgentState.AVAILABLE.value, AgentState.RESERVED.value])
    # A second request (the controller's next run) finds nothing left
    assert centre.service.end_lost_region([EDGE], NOW + 6000).to_dict() == {"ended": [], "more": False}


def test_a_region_loss_is_ended_a_bounded_page_at_a_time(centre: FakeCentre) -> None:
    centre.queue(max_wait=600)
    centre.number()
    centre.seat("a1")
    centre.call("talking")
    centre.service.offer_result("talking", "a1", OfferOutcome.ANSWERED, NOW + 1000)
    for index in range(4):
        centre.call(f"queued-{index}")

    pages: list[RegionLossPage] = []
    while not pages or pages[-1].more:
        pages.append(centre.service.end_lost_region([EDGE], NOW + 5000, limit=2))
        assert len(pages) <= 4

    assert [len(page.ended) for page in pages] == [2, 2, 1]
    assert [page.more for page in pages] == [True, True, False]
    # the queued callers went first, the talking call in the last page; none twice
    assert pages[-1].ended == ("talking",)
    assert len({c for page in pages for c in page.ended}) == 5
    assert centre.agent("a1").state in (AgentState.AVAILABLE, AgentState.AFTER_CONTACT_WORK)


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

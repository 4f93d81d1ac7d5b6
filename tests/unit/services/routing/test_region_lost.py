"""A region died: the surviving region (now home) ends every contact the dead region's edge tasks
held — queued, ringing and talking — with a record, and their agents are free again."""

from __future__ import annotations

from contact_center.domain.agent_state import AgentState
from contact_center.domain.contact import HangupCause
from contact_center.services.routing.decisions import OfferOutcome
from tests.support.routing_centre import EDGE, NOW, FakeCentre


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

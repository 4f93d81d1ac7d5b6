"""The edge fleet: pending offers an edge task must ring, and the contacts of a lost task."""

from __future__ import annotations

from contact_center.domain.agent_state import AgentState, GoAvailable
from contact_center.domain.contact import HangupCause, HangupSide
from contact_center.services.routing.decisions import Acknowledged, Connect, OfferOutcome, Queue
from contact_center.services.routing.dequeue import AgentOffer
from tests.support.routing_centre import EDGE, NOW, FakeCentre


def test_a_lost_edge_task_ends_its_queued_and_ringing_contacts_and_frees_their_agents(
    centre: FakeCentre,
) -> None:
    centre.queue()
    centre.number()
    centre.seat("a1")
    assert isinstance(centre.call("ringing"), Connect)
    assert isinstance(centre.call("waiting", at=NOW + 1), Queue)
    ended = centre.service.edge_lost(EDGE, NOW + 5000)
    # Queued first, so the agent released by the ringing one is not handed the other lost caller.
    assert ended == ["waiting", "ringing"]
    assert centre.contact("waiting") is None and centre.contact("ringing") is None
    assert centre.record("ringing").hangup_cause == "system_error"
    agent = centre.agent("a1")
    assert agent.state is AgentState.AVAILABLE and agent.contact_id is None


def test_a_lost_edge_task_leaves_connected_calls_alone(centre: FakeCentre) -> None:
    centre.queue()
    centre.number()
    centre.seat("a1")
    centre.call()
    centre.service.offer_result("c1", "a1", OfferOutcome.ANSWERED, NOW + 1000)
    assert centre.service.edge_lost(EDGE, NOW + 5000) == []
    assert centre.agent("a1").state is AgentState.ON_CONTACT


def test_a_live_edge_task_keeps_the_contacts_it_holds_and_those_it_is_starting(centre: FakeCentre) -> None:
    centre.queue()
    centre.number()
    centre.call("held")
    centre.call("given-up", at=NOW + 1)
    centre.call("starting", at=NOW + 10_000)
    ended = centre.service.edge_lost(EDGE, NOW + 10_500, held={"held"}, initiated_before_ms=NOW + 10_000)
    assert ended == ["given-up"]
    assert centre.contact("held") is not None and centre.contact("starting") is not None


def test_an_offer_made_by_a_freed_agent_is_pending_for_the_edge_holding_the_caller(
    centre: FakeCentre,
) -> None:
    centre.queue(wrap_up=30)
    centre.number()
    centre.seat("a1")
    centre.call()
    centre.service.offer_result("c1", "a1", OfferOutcome.ANSWERED, NOW + 3000)
    assert isinstance(centre.call("c2", at=NOW + 10_000), Queue)
    ended = centre.service.contact_ended("c1", HangupSide.CUSTOMER, HangupCause.NORMAL_CLEARING, NOW + 60_000)
    assert ended.wrap_up_deadline_ms == NOW + 90_000
    assert centre.service.finish_wrap_up("m1", "a1", NOW + 80_000) is None  # too early
    assert centre.service.finish_wrap_up("m1", "a1", NOW + 90_000, "c1") == AgentOffer("c2", "a1", "m1", EDGE)
    (pending,) = centre.service.pending_offers(EDGE, NOW + 90_100)
    assert (pending.contact_id, pending.seat_id, pending.queue_id) == ("c2", "a1", "q1")
    assert centre.service.pending_offers("edge-2", NOW + 90_100) == []


def test_retrying_queued_contacts_offers_them_to_an_agent_whose_dequeue_was_missed(
    centre: FakeCentre,
) -> None:
    centre.queue()
    centre.number()
    centre.seat("a1", available_at=None)
    centre.call()
    centre.command("a1", GoAvailable(), NOW + 1000)  # no agent_available: the stream event was lost
    assert centre.service.pending_offers(EDGE, NOW + 2000) == []
    (retried,) = centre.service.pending_offers(EDGE, NOW + 2000, retry_queued=True)
    assert (retried.contact_id, retried.seat_id) == ("c1", "a1")


def test_an_ended_contact_acknowledges_again_and_releases_an_agent_left_holding_it(
    centre: FakeCentre,
) -> None:
    centre.queue()
    centre.number()
    centre.seat("a1")
    centre.call()
    centre.service.contact_ended("c1", HangupSide.CUSTOMER, HangupCause.CALLER_ABANDONED, NOW + 1000)
    again = centre.service.contact_ended("c1", HangupSide.CUSTOMER, HangupCause.CALLER_ABANDONED, NOW + 2000)
    assert again == Acknowledged("c1", "ended", "a1", "m1", stale=True)
    assert centre.agent("a1").state is AgentState.AVAILABLE

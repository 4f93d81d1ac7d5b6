"""The router pushes every offer it claims for a queued caller to the edge task holding the caller."""

from __future__ import annotations

from contact_center.domain.agent_state import GoAvailable
from contact_center.domain.contact import HangupCause, HangupSide
from contact_center.services.routing import RoutingPolicy, RoutingService
from contact_center.services.routing.decisions import Connect, Queue
from tests.support.routing_centre import DOMAIN, EDGE, NOW, FakeCentre, RecordedPushes


def _pushing_centre() -> tuple[FakeCentre, RecordedPushes]:
    centre = FakeCentre()
    pushes = RecordedPushes()
    ports = centre.ports
    centre.service = RoutingService(
        ports.catalog,
        ports.seats,
        ports.contacts,
        ports.registrations,
        ports.events,
        RoutingPolicy(sip_domain=DOMAIN, spread_candidates=1),
        push=pushes,
    )
    centre.queue()
    centre.number()
    return centre, pushes


def test_a_freed_agent_s_offer_is_pushed_to_the_holding_task_as_its_poll_would_read_it() -> None:
    centre, pushes = _pushing_centre()
    centre.seat("a1", available_at=None)
    assert isinstance(centre.call("c1"), Queue)
    assert pushes.sent == []
    centre.command("a1", GoAvailable(), NOW + 1000)
    assert centre.service.agent_available("m1", "a1", NOW + 1000) is not None
    # One source of truth: the pushed offer is the one the task's safety-net poll finds.
    assert pushes.sent == [(EDGE, centre.service.pending_offers(EDGE, NOW + 1000)[0])]
    assert pushes.sent[0][1].contact_id == "c1" and pushes.sent[0][1].targets


def test_the_next_caller_is_pushed_when_a_call_ends_and_frees_its_agent() -> None:
    centre, pushes = _pushing_centre()
    centre.seat("a1", available_at=None)
    centre.call("first")
    centre.call("second", at=NOW + 500)
    centre.command("a1", GoAvailable(), NOW + 1000)
    centre.service.agent_available("m1", "a1", NOW + 1000)
    centre.service.contact_ended("first", HangupSide.CUSTOMER, HangupCause.CALLER_ABANDONED, NOW + 2000)
    assert [offer.contact_id for _, offer in pushes.sent] == ["first", "second"]


def test_nothing_is_pushed_for_a_caller_routed_at_once_or_an_agent_without_a_phone() -> None:
    centre, pushes = _pushing_centre()
    centre.seat("a1")  # available: the new contact's own router connects it in its answer
    assert isinstance(centre.call("c1"), Connect)
    centre.seat("a2", available_at=None, registered=False)
    centre.call("c2", at=NOW + 100)
    centre.command("a2", GoAvailable(), NOW + 1000)
    assert centre.service.agent_available("m1", "a2", NOW + 1000) is None
    assert pushes.sent == []

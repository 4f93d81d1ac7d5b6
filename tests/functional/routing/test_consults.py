"""Consults and attended transfers over the table (moto): the consulted seat is held for the call
while it rings and talks, let go when the consult ends, and an attended transfer hands the call to
it with one agent segment per agent."""

from __future__ import annotations

from contact_center.data.repositories.catalog import RoutingCatalogRepository
from contact_center.data.repositories.dialout import SeatDialers
from contact_center.data.repositories.sessions import RegistrationRepository
from contact_center.domain.agent_state import AgentState
from contact_center.domain.contact import ContactState, HangupCause, HangupSide
from contact_center.services.routing import RoutingPolicy, RoutingService
from contact_center.services.routing.decisions import Connect, OfferOutcome, Reject

from .conftest import DOMAIN, EDGE, NOW, World

ANSWERED = OfferOutcome.ANSWERED


def service(world: World) -> RoutingService:
    return RoutingService(
        RoutingCatalogRepository(),
        world.seats,
        world.contacts,
        RegistrationRepository(),
        world.events,
        RoutingPolicy(sip_domain=DOMAIN, spread_candidates=1),
        dialers=SeatDialers(),
    )


def talking(world: World) -> RoutingService:
    """a1 talks with the caller of c1; a2 is free (it serves another queue: no offer reaches it)."""
    world.queue("q1", wrap_up=30)
    world.queue("q2")
    world.number()
    world.seat("a1", queues={"q1": 1})
    world.seat("a2", queues={"q2": 1})
    routing = service(world)
    routing.new_contact("+15550100", "+4930123", EDGE, "c1", NOW)
    routing.offer_result("c1", "a1", ANSWERED, NOW + 2000)
    return routing


def test_a_consult_reserves_the_seat_for_the_call_and_rings_its_phone(world: World) -> None:
    routing = talking(world)
    ring = routing.consult("u-a1", "a2", NOW + 10_000)
    assert isinstance(ring, Connect)
    assert (ring.contact_id, ring.seat_id, ring.merchant_id, ring.queue_id) == ("c1", "a2", "m1", "q1")
    assert [target.contact_uri for target in ring.targets] == ["sip:u-a2@10.0.0.9:5062;transport=tcp"]
    assert (world.agent("a2").state, world.agent("a2").contact_id) == (AgentState.RESERVED, "c1")
    # Answered: on the call (a reservation would be let go by the sweep after a ring).
    routing.consult_result("m1", "a2", "c1", True, NOW + 12_000)
    assert (world.agent("a2").state, world.agent("a2").contact_id) == (AgentState.ON_CONTACT, "c1")
    assert world.contact("c1").snapshot.seat_id == "a1"  # the call is still a1's


def test_a_consult_ended_without_a_transfer_lets_the_seat_go(world: World) -> None:
    routing = talking(world)
    routing.consult("u-a1", "a2", NOW + 10_000)
    routing.consult_result("m1", "a2", "c1", False, NOW + 11_000)  # not answered
    assert world.agent("a2").state is AgentState.AVAILABLE
    routing.consult("u-a1", "a2", NOW + 20_000)
    routing.consult_result("m1", "a2", "c1", True, NOW + 21_000)
    routing.consult_result("m1", "a2", "c1", False, NOW + 40_000)  # talked, then hung up
    assert world.agent("a2").state is AgentState.AVAILABLE
    assert world.agent("a1").state is AgentState.ON_CONTACT


def test_an_attended_transfer_hands_the_call_to_the_consulted_seat_with_a_segment_per_agent(
    world: World,
) -> None:
    routing = talking(world)
    routing.consult("u-a1", "a2", NOW + 10_000)
    routing.consult_result("m1", "a2", "c1", True, NOW + 12_000)
    outcome = routing.transfer("c1", "a1", "a2", NOW + 30_000, consulted=True)
    assert isinstance(outcome.decision, Connect) and outcome.decision.seat_id == "a2"
    assert world.agent("a1").state is AgentState.AFTER_CONTACT_WORK
    routing.offer_result("c1", "a2", ANSWERED, NOW + 30_500)
    assert world.contact("c1").snapshot.state is ContactState.CONNECTED
    assert (world.agent("a2").state, world.agent("a2").contact_id) == (AgentState.ON_CONTACT, "c1")
    routing.contact_ended("c1", HangupSide.CUSTOMER, HangupCause.NORMAL_CLEARING, NOW + 90_000)
    record = world.record("c1")
    assert [(s.seat_id, s.outcome) for s in record.segments if s.kind == "agent"] == [
        ("a1", "transferred"),
        ("a2", "normal_clearing"),
    ]


def test_consults_the_router_refuses(world: World) -> None:
    routing = talking(world)
    world.seat("a3", queues={"q2": 1}, registered=False)
    world.seat("a4", queues={"q2": 1}, available_at=None)  # logged in, not ready
    world.seat("a5", queues={"q2": 1})
    refusals = {
        "nobody": routing.consult("u-a1", "nobody", NOW + 10_000),
        "a1": routing.consult("u-a1", "a1", NOW + 10_000),
        "a3": routing.consult("u-a1", "a3", NOW + 10_000),
        "a4": routing.consult("u-a1", "a4", NOW + 10_000),
        # A seat on no call has nothing to consult about.
        "idle": routing.consult("u-a5", "a2", NOW + 10_000),
        "stranger": routing.consult("u-nobody", "a2", NOW + 10_000),
    }
    statuses = {name: r.status for name, r in refusals.items() if isinstance(r, Reject)}
    assert statuses == {"nobody": 404, "a1": 409, "a3": 480, "a4": 486, "idle": 409, "stranger": 403}
    assert world.agent("a2").state is AgentState.AVAILABLE

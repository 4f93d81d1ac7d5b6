"""Routing at the customer's scale over the real adapters (moto): a queue's free agent is found
however many other queues' agents are free, and the sweep frees what a dead edge left behind."""

from __future__ import annotations

from typing import Any

from contact_center.data import availability
from contact_center.data.models import SeatQueueItem
from contact_center.data.seat_state import SeatState
from contact_center.data.seats import new_seat
from contact_center.domain.agent_state import AgentState, ReleaseReservation, Reserve
from contact_center.domain.contact import ContactState, HangupCause, HangupSide
from contact_center.services.routing import RoutingPolicy
from contact_center.services.routing.decisions import Connect, OfferOutcome, Queue

from .conftest import NOW, World, on_every_table_request


def call(world: World, contact_id: str = "c1", number: str = "+15550100", at: int = NOW) -> Any:
    return world.service.new_contact(number, "+4930123", "edge-1", contact_id, at)


def free_seats(seat_ids: list[str], queue_id: str, idle_since: int) -> None:
    """Seats available since ``idle_since`` (one ms apart), listed in ``queue_id``'s index, written
    as items in batches: moto copies the whole table for every transaction, so 150 seats through the
    state-change transactions would take minutes here (the transactions have their own tests)."""
    with SeatQueueItem.batch_write() as batch:
        for index, seat_id in enumerate(seat_ids):
            seat = new_seat("m1", seat_id, seat_id, f"u-{seat_id}", {}, {queue_id: 1}, NOW - 3_600_000)
            state = SeatState("available", 3, idle_since + index, idle_since=idle_since + index)
            seat.state, seat.version = state.state, state.version
            seat.state_since, seat.idle_since = state.state_since, state.idle_since
            batch.save(seat)
            for entry in availability.entries(seat, state):
                batch.save(entry)


def test_a_call_to_a_queue_reaches_its_only_free_agent_behind_150_idler_agents_of_another(
    world: World,
) -> None:
    # Given 150 agents of queue B, all idle longer than queue A's only free agent,
    world.queue("qa", max_wait=60)
    world.queue("qb")
    world.number(queue_id="qa")
    free_seats([f"b{index:03d}" for index in range(150)], "qb", NOW - 600_000)
    world.seat("a1", queues={"qa": 1}, available_at=NOW - 1000)
    items_read: list[int] = []

    def on_request(operation: str, params: dict[str, Any]) -> None:
        if operation == "Query" and params.get("IndexName") == "gsi1":
            items_read.append(params.get("Limit") or -1)

    on_every_table_request(on_request)

    # when a call for queue A arrives,
    decision = call(world)

    # it is offered to A's agent at once, reading one page of A's index, none of B's agents.
    assert isinstance(decision, Connect) and decision.seat_id == "a1"
    assert world.agent("a1").state is AgentState.RESERVED
    assert items_read == [RoutingPolicy().longest_idle_page]
    assert all(world.agent(f"b{index:03d}").state is AgentState.AVAILABLE for index in (0, 75, 149))


def test_a_seat_left_in_wrap_up_by_a_dead_edge_is_available_after_the_sweep(world: World) -> None:
    world.queue(wrap_up=10)
    world.number()
    world.seat("a1")
    assert isinstance(call(world), Connect)
    world.service.offer_result("c1", "a1", OfferOutcome.ANSWERED, NOW + 1000)
    world.service.contact_ended("c1", HangupSide.AGENT, HangupCause.NORMAL_CLEARING, NOW + 2000)
    # The edge whose timer would end the wrap-up (at NOW + 12 s) died: nobody calls finish_wrap_up.
    assert world.agent("a1").state is AgentState.AFTER_CONTACT_WORK
    assert isinstance(call(world, "c2", at=NOW + 20_000), Queue)  # a caller waits meanwhile

    report = world.service.sweep(NOW + 60_000)

    assert report.wrap_ups_ended == ["a1"]
    # Free again, the agent takes the waiting caller straight away.
    assert [offer.contact_id for offer in report.offers] == ["c2"]
    assert world.agent("a1").state is AgentState.RESERVED and world.agent("a1").contact_id == "c2"


def test_the_sweep_leaves_a_wrap_up_before_its_deadline_alone(world: World) -> None:
    world.queue(wrap_up=30)
    world.number()
    world.seat("a1")
    call(world)
    world.service.offer_result("c1", "a1", OfferOutcome.ANSWERED, NOW + 1000)
    world.service.contact_ended("c1", HangupSide.AGENT, HangupCause.NORMAL_CLEARING, NOW + 2000)

    assert world.service.sweep(NOW + 20_000).wrap_ups_ended == []
    assert world.agent("a1").state is AgentState.AFTER_CONTACT_WORK


def test_a_reservation_whose_ring_nobody_reports_becomes_a_missed_offer_after_the_sweep(world: World) -> None:
    world.queue(max_wait=3600)
    world.number()
    world.seat("a1", ring_timeout=20)
    world.seat("a2", available_at=NOW - 30_000)
    assert isinstance(call(world), Connect)  # a1 rings; then the edge ringing it dies

    assert world.service.sweep(NOW + 25_000).reservations_released == []  # still within its ring
    report = world.service.sweep(NOW + 60_000)

    # No answer, as the edge would have reported: a1 is not responding, the caller offered to a2.
    assert report.reservations_released == ["a1"]
    assert world.agent("a1").state is AgentState.NOT_RESPONDING
    contact = world.contact("c1")
    assert contact.snapshot.state is ContactState.OFFERED and contact.snapshot.seat_id == "a2"


def test_a_seat_reserved_for_a_contact_that_is_gone_goes_back_to_available(world: World) -> None:
    world.queue()
    world.seat("a1")
    # Reserved for a contact that no longer exists (its end and its seat's release were lost).
    world.command("a1", Reserve("gone"), NOW)

    assert world.service.sweep(NOW + 30_000).reservations_released == []  # it might still ring
    report = world.service.sweep(NOW + 120_000)

    assert report.reservations_released == ["a1"]
    assert world.agent("a1").state is AgentState.AVAILABLE
    assert [s.seat_id for s in world.seats.available_for_queue("m1", "q1", None)] == ["a1"]


def test_a_released_reservation_is_not_released_twice(world: World) -> None:
    world.queue()
    world.number()
    world.seat("a1")
    world.command("a1", Reserve("gone"), NOW)
    world.command("a1", ReleaseReservation("gone"), NOW + 1)

    assert world.service.sweep(NOW + 120_000).reservations_released == []


def test_a_seat_available_since_before_the_queue_index_is_listed_by_the_sweep_and_takes_the_caller(
    world: World,
) -> None:
    world.queue(max_wait=3600)
    world.number()
    # Written while the router read one index per merchant: AVAILABLE, keyed there, no entries.
    seat = new_seat("m1", "old", "old", "u-old", {}, {"q1": 1}, NOW - 3_600_000)
    seat.state, seat.version, seat.state_since, seat.idle_since = "available", 3, NOW - 60_000, NOW - 60_000
    seat.gsi1pk, seat.gsi1sk = "AVAILABLE#m1", f"{NOW - 60_000:015d}#old"
    seat.save()
    world.register("old")
    assert isinstance(call(world), Queue)  # not in its queue's index: not found

    report = world.service.sweep(NOW + 60_000)

    assert report.seats_relisted == ["old"]
    assert [offer.contact_id for offer in report.offers] == ["c1"]
    assert world.agent("old").state is AgentState.RESERVED
    assert world.service.sweep(NOW + 120_000).seats_relisted == []  # once

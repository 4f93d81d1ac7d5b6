"""Transfers over the table (moto): the hand-over is one conditional transaction of the contact and
the transferring seat; the queue index and the record follow."""

from __future__ import annotations

from contact_center.data.contacts import ContactItems
from contact_center.domain.agent_state import AgentState
from contact_center.domain.contact import ContactState, HangupCause, HangupSide
from contact_center.services.routing.decisions import Connect, OfferOutcome, Queue, Reject

from .conftest import EDGE, NOW, World

ANSWERED = OfferOutcome.ANSWERED


def talking(world: World) -> None:
    world.queue("q1", wrap_up=30)
    world.queue("q2", max_wait=120)
    world.number()
    world.seat("a1", queues={"q1": 1})
    world.service.new_contact("+15550100", "+4930123", EDGE, "c1", NOW)
    world.service.offer_result("c1", "a1", ANSWERED, NOW + 2000)


def test_a_transfer_to_an_empty_queue_lists_the_caller_there_and_wraps_the_agent_up(world: World) -> None:
    talking(world)
    outcome = world.service.transfer("c1", "a1", "q2", NOW + 60_000)
    assert isinstance(outcome.decision, Queue) and outcome.decision.queue_id == "q2"
    assert world.agent("a1").state is AgentState.AFTER_CONTACT_WORK
    assert [item.contact_id for item in ContactItems().queue_heads("q2", 5)] == ["c1"]
    assert world.contact("c1").snapshot.state is ContactState.QUEUED


def test_the_next_agent_of_a_transfer_and_the_record_with_both_agents(world: World) -> None:
    talking(world)
    world.seat("a2", queues={"q2": 1})
    outcome = world.service.transfer("c1", "a1", "q2", NOW + 60_000)
    assert isinstance(outcome.decision, Connect) and outcome.decision.seat_id == "a2"
    world.service.offer_result("c1", "a2", ANSWERED, NOW + 62_000)
    world.service.contact_ended("c1", HangupSide.CUSTOMER, HangupCause.NORMAL_CLEARING, NOW + 90_000)
    record = world.record("c1")
    assert [(s.kind, s.seat_id, s.outcome) for s in record.segments if s.kind == "agent"] == [
        ("agent", "a1", "transferred"),
        ("agent", "a2", "normal_clearing"),
    ]
    assert world.agent("a2").state is AgentState.AVAILABLE


def test_a_second_transfer_of_the_same_call_by_the_same_agent_changes_nothing(world: World) -> None:
    talking(world)
    world.service.transfer("c1", "a1", "q2", NOW + 60_000)
    again = world.service.transfer("c1", "a1", "q2", NOW + 60_500)
    assert isinstance(again.decision, Reject) and again.decision.status == 409
    assert [item.contact_id for item in ContactItems().queue_heads("q2", 5)] == ["c1"]

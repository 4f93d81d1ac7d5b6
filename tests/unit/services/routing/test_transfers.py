"""A connected agent hands the caller on: to a queue, to a seat, or to a number of the merchant. The
contact gains a segment per agent, the transferring agent goes to wrap-up, and refusals change nothing."""

from __future__ import annotations

from contact_center.domain.agent_state import AgentState
from contact_center.domain.contact import ContactState, HangupCause, HangupSide
from contact_center.services.routing.commands import TransferContact, execute, parse_routing_command
from contact_center.services.routing.decisions import Connect, OfferOutcome, Queue, Reject
from contact_center.services.routing.transfers import TransferOutcome
from tests.support.routing_centre import NOW, FakeCentre

ANSWERED = OfferOutcome.ANSWERED


def talking(centre: FakeCentre, *, wrap_up: int = 30) -> None:
    """a1 answered c1 from q1; q2 is another queue served by a2 only."""
    centre.queue("q1", wrap_up=wrap_up)
    centre.queue("q2", max_wait=120)
    centre.number()
    centre.seat("a1", queues={"q1": 1}, available_at=NOW - 90_000)
    centre.call()
    centre.service.offer_result("c1", "a1", ANSWERED, NOW + 2000)


def test_a_transfer_to_a_queue_rings_its_agent_and_puts_the_transferring_agent_in_wrap_up(
    centre: FakeCentre,
) -> None:
    talking(centre)
    centre.seat("a2", queues={"q2": 1})
    outcome = centre.service.transfer("c1", "a1", "q2", NOW + 60_000)
    assert isinstance(outcome.decision, Connect)
    assert (outcome.decision.seat_id, outcome.decision.queue_id) == ("a2", "q2")
    first = centre.agent("a1")
    assert first.state is AgentState.AFTER_CONTACT_WORK
    assert outcome.wrap_up_deadline_ms == NOW + 90_000 == first.wrap_up_deadline_ms
    assert centre.agent("a2").state is AgentState.RESERVED


def test_the_record_holds_a_segment_per_agent_and_the_first_answer(centre: FakeCentre) -> None:
    talking(centre)
    centre.seat("a2", queues={"q2": 1})
    centre.service.transfer("c1", "a1", "q2", NOW + 60_000)
    centre.service.offer_result("c1", "a2", ANSWERED, NOW + 63_000)
    centre.service.contact_ended("c1", HangupSide.CUSTOMER, HangupCause.NORMAL_CLEARING, NOW + 90_000)
    record = centre.record("c1")
    agents = [(s.seat_id, s.queue_id, s.outcome) for s in record.segments if s.kind == "agent"]
    assert agents == [("a1", "q1", "transferred"), ("a2", "q2", "normal_clearing")]
    assert record.answered_at_ms == NOW + 2000
    assert (record.queue_id, record.seat_id) == ("q2", "a2")


def test_a_transfer_to_a_queue_without_free_agents_queues_the_caller_there(centre: FakeCentre) -> None:
    talking(centre)
    outcome = centre.service.transfer("c1", "a1", "q2", NOW + 60_000)
    assert outcome.decision == Queue("c1", "q2", 120, NOW + 180_000, position=1)
    assert [c.contact_id for c in centre.ports.contacts.queue_heads("q2", 5)] == ["c1"]
    assert centre.agent("a1").state is AgentState.AFTER_CONTACT_WORK


def test_a_transfer_to_a_free_seat_offers_the_caller_to_that_seat(centre: FakeCentre) -> None:
    talking(centre)
    centre.seat("a2", queues={"q1": 1}, available_at=NOW - 10_000)
    centre.seat("a3", queues={"q1": 1}, available_at=NOW - 80_000)  # idler, but not the one asked for
    outcome = centre.service.transfer("c1", "a1", "a2", NOW + 60_000)
    assert isinstance(outcome.decision, Connect) and outcome.decision.seat_id == "a2"


def test_a_transfer_to_a_busy_seat_is_refused_and_the_call_goes_on(centre: FakeCentre) -> None:
    talking(centre)
    centre.seat("a2", queues={"q1": 1}, available_at=None)  # logged in, not ready
    outcome = centre.service.transfer("c1", "a1", "a2", NOW + 60_000)
    assert isinstance(outcome.decision, Reject) and outcome.decision.status == 486
    assert not outcome.transferred
    assert centre.agent("a1").state is AgentState.ON_CONTACT
    contact = centre.contact("c1")
    assert contact is not None and contact.snapshot.state is ContactState.CONNECTED


def test_a_number_of_the_merchant_transfers_to_its_queue(centre: FakeCentre) -> None:
    talking(centre)
    centre.number("+15550199", queue_id="q2")
    outcome = centre.service.transfer("c1", "a1", "+15550199", NOW + 60_000)
    assert isinstance(outcome.decision, Queue) and outcome.decision.queue_id == "q2"


def test_an_unknown_target_or_a_seat_not_on_the_call_is_refused(centre: FakeCentre) -> None:
    talking(centre)
    unknown = centre.service.transfer("c1", "a1", "nowhere", NOW + 60_000)
    assert isinstance(unknown.decision, Reject) and unknown.decision.status == 404
    wrong_seat = centre.service.transfer("c1", "a9", "q2", NOW + 60_000)
    assert isinstance(wrong_seat.decision, Reject) and wrong_seat.decision.status == 409
    assert centre.agent("a1").state is AgentState.ON_CONTACT


def test_the_routing_function_takes_a_transfer_command_and_answers_its_json(centre: FakeCentre) -> None:
    talking(centre)
    command = parse_routing_command(
        {"action": "transfer", "contact_id": "c1", "seat_id": "a1", "target": "q2"}
    )
    assert command == TransferContact("c1", "a1", "q2")
    answer = execute(centre.service, command, NOW + 60_000)
    outcome = TransferOutcome.from_dict(answer)
    assert isinstance(outcome.decision, Queue) and outcome.seat_id == "a1"
    assert outcome.wrap_up_deadline_ms == NOW + 90_000


def test_a_caller_leaving_the_queue_it_was_transferred_to_abandons_that_queue(centre: FakeCentre) -> None:
    talking(centre)
    centre.service.transfer("c1", "a1", "q2", NOW + 60_000)
    centre.service.contact_ended("c1", HangupSide.CUSTOMER, HangupCause.NORMAL_CLEARING, NOW + 70_000)
    record = centre.record("c1")
    assert (record.queue_id, record.hangup_cause) == ("q2", "caller_abandoned")
    stats = centre.stats("q2")
    assert (stats.get("abandoned", 0), stats.get("answered", 0)) == (1, 0)

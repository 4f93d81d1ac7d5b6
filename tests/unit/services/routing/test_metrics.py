"""The figures the router reports for the operators' dashboard: how long queued callers waited
(until an agent answered, or until they gave up) and how many seats are in each state."""

from __future__ import annotations

from contact_center.contracts.metrics import AGENT_STATES
from contact_center.domain.contact import HangupCause, HangupSide
from contact_center.services.routing.decisions import Connect, OfferOutcome, Reject
from tests.support.routing_centre import MERCHANT, NOW, FakeCentre
from tests.support.routing_fakes import QueueWait


def test_an_answer_reports_the_wait_from_enqueue_including_missed_rings(centre: FakeCentre) -> None:
    # Given a caller whose first agent lets it ring out,
    centre.queue(max_wait=600)
    centre.number()
    centre.seat("a1", available_at=NOW - 90_000)
    centre.seat("a2", available_at=NOW - 30_000)
    decision = centre.call()
    assert isinstance(decision, Connect) and decision.seat_id == "a1"
    second = centre.service.offer_result("c1", "a1", OfferOutcome.NO_ANSWER, NOW + 20_000)
    assert isinstance(second, Connect) and second.seat_id == "a2"
    assert centre.ports.metrics.waits == []  # a missed ring ends no wait
    # when the second agent answers,
    centre.service.offer_result("c1", "a2", OfferOutcome.ANSWERED, NOW + 26_500)
    # then the whole wait, missed ring included, is reported once as answered.
    assert centre.ports.metrics.waits == [QueueWait("answered", 26_500, MERCHANT, "q1", "c1", NOW + 26_500)]


def test_a_caller_who_hangs_up_while_queued_reports_an_abandoned_wait(centre: FakeCentre) -> None:
    centre.queue(max_wait=600)
    centre.number()
    centre.seat("a1", available_at=None)  # nobody free: the caller waits
    centre.call()
    centre.service.contact_ended("c1", HangupSide.CUSTOMER, HangupCause.CALLER_ABANDONED, NOW + 41_000)
    assert centre.ports.metrics.waits == [QueueWait("abandoned", 41_000, MERCHANT, "q1", "c1", NOW + 41_000)]


def test_the_end_of_an_answered_call_reports_no_second_wait(centre: FakeCentre) -> None:
    centre.queue(max_wait=600)
    centre.number()
    centre.seat("a1")
    centre.call()
    centre.service.offer_result("c1", "a1", OfferOutcome.ANSWERED, NOW + 3000)
    centre.service.contact_ended("c1", HangupSide.CUSTOMER, HangupCause.NORMAL_CLEARING, NOW + 90_000)
    assert [wait.outcome for wait in centre.ports.metrics.waits] == ["answered"]


def test_a_caller_the_queue_gives_up_on_is_not_counted_as_abandoning(centre: FakeCentre) -> None:
    # Timed out is the queue's decision, kept apart from abandons as the queue counters keep it.
    centre.queue(max_wait=10)
    centre.number()
    centre.seat("a1", available_at=None)
    centre.call()
    assert isinstance(centre.service.queue_timeout("c1", NOW + 10_000), Reject)
    assert centre.ports.metrics.waits == []


def test_a_full_sweep_counts_every_seat_by_state_naming_every_state(centre: FakeCentre) -> None:
    centre.queue()
    centre.seat("a1")
    centre.seat("a2")
    centre.seat("a3", available_at=None)  # logged in, never available: not ready
    centre.not_ready("a2")
    centre.service.sweep(NOW + 1000)
    ((counts, at),) = centre.ports.metrics.agent_counts
    assert at == NOW + 1000
    assert set(counts) == set(AGENT_STATES)
    assert sum(counts.values()) == 3
    assert counts["available"] == 1 and counts["offline"] == 0
    assert counts["not_ready"] + counts["available"] == 3


def test_a_sweep_of_some_merchants_reports_no_counts(centre: FakeCentre) -> None:
    # Partial counts would read as a fleet that lost seats.
    centre.queue()
    centre.seat("a1")
    centre.service.sweep(NOW + 1000, [MERCHANT])
    assert centre.ports.metrics.agent_counts == []

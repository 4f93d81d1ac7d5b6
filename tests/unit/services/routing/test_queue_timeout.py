"""Max wait: a last look for an agent, then the queue's overflow (another queue, the legacy trunk)
or a reject with Retry-After; and how each is counted in the queue's statistics."""

from __future__ import annotations

from contact_center.domain.contact import HangupCause, HangupSide
from contact_center.domain.queueing import Overflow, OverflowKind
from contact_center.services.routing.decisions import Connect, Forward, Queue, Reject
from tests.support.routing_centre import NOW, FakeCentre

TO_Q2 = Overflow(OverflowKind.QUEUE, "q2")


def test_an_early_timer_keeps_the_caller_waiting_with_what_is_left(centre: FakeCentre) -> None:
    centre.queue(max_wait=10)
    centre.number()
    centre.call()
    assert centre.service.queue_timeout("c1", NOW + 9000) == Queue("c1", "q1", 1, NOW + 10_000, position=1)


def test_at_max_wait_an_agent_free_by_then_still_takes_the_caller(centre: FakeCentre) -> None:
    centre.queue(max_wait=10)
    centre.number()
    centre.seat("a1", available_at=None)
    centre.call()
    # The agent became available but its dequeue was missed (index lag): the timer's last look finds it.
    centre.seat("a2", available_at=NOW + 5000)
    decision = centre.service.queue_timeout("c1", NOW + 10_000)
    assert isinstance(decision, Connect) and decision.seat_id == "a2"


def test_at_max_wait_the_caller_overflows_to_the_target_queue_where_an_agent_is_free(
    centre: FakeCentre,
) -> None:
    centre.queue("q2", max_wait=120)
    centre.queue("q1", max_wait=10, overflow=TO_Q2)
    centre.number()
    centre.seat("a2", queues={"q2": 1})
    assert isinstance(centre.call(), Queue)
    decision = centre.service.queue_timeout("c1", NOW + 10_000)
    assert isinstance(decision, Connect) and (decision.seat_id, decision.queue_id) == ("a2", "q2")
    assert centre.stats("q2")["offered"] == 1


def test_an_overflow_into_a_queue_with_nobody_restarts_the_wait_there(centre: FakeCentre) -> None:
    centre.queue("q2", max_wait=120)
    centre.queue("q1", max_wait=10, overflow=TO_Q2)
    centre.number()
    centre.call()
    assert centre.service.queue_timeout("c1", NOW + 10_000) == Queue(
        "c1", "q2", 120, NOW + 130_000, position=1
    )
    centre.service.contact_ended("c1", HangupSide.CUSTOMER, HangupCause.CALLER_ABANDONED, NOW + 20_000)
    record = centre.record("c1")
    assert [(s.kind, s.queue_id, s.outcome) for s in record.segments] == [
        ("queue", "q1", "overflow"),
        ("queue", "q2", "caller_abandoned"),
    ]


def test_overflows_stop_after_the_hop_limit_so_a_cycle_of_queues_ends(centre: FakeCentre) -> None:
    centre.queue("q1", max_wait=10, overflow=TO_Q2)
    centre.queue("q2", max_wait=10, overflow=Overflow(OverflowKind.QUEUE, "q1"))
    centre.number()
    centre.call()
    at = NOW
    decision = None
    for _ in range(4):
        at += 10_000
        decision = centre.service.queue_timeout("c1", at)
        if isinstance(decision, Reject):
            break
    assert decision == Reject(480, "no agent available", 60, "c1")
    assert [s.queue_id for s in centre.record("c1").segments] == ["q1", "q2", "q1", "q2"]


def test_at_max_wait_the_caller_is_forwarded_to_the_legacy_trunk(centre: FakeCentre) -> None:
    centre.queue(max_wait=10, overflow=Overflow(OverflowKind.LEGACY_TRUNK, "legacy-pbx"))
    centre.number()
    centre.call()
    assert centre.service.queue_timeout("c1", NOW + 10_000) == Forward("c1", "legacy-pbx")
    assert centre.ports.contacts.queue_heads("q1", 5) == []


def test_at_max_wait_without_overflow_the_caller_is_rejected_with_retry_after(centre: FakeCentre) -> None:
    centre.queue(max_wait=10)
    centre.number()
    centre.call()
    assert centre.service.queue_timeout("c1", NOW + 10_000) == Reject(480, "no agent available", 60, "c1")
    record = centre.record("c1")
    assert (record.hangup_side, record.hangup_cause) == ("system", "queue_timeout")
    assert centre.contact("c1") is None


def test_a_caller_rejected_at_max_wait_is_counted_timed_out_not_abandoned(centre: FakeCentre) -> None:
    centre.queue(max_wait=10)
    centre.number()
    centre.call()
    centre.service.queue_timeout("c1", NOW + 10_000)
    assert centre.stats() == {"offered": 1, "answered": 0, "abandoned": 0, "timed_out": 1}


def test_a_caller_abandoning_in_the_queue_is_counted_abandoned_once(centre: FakeCentre) -> None:
    centre.queue()
    centre.number()
    centre.call()
    centre.service.contact_ended("c1", HangupSide.CUSTOMER, HangupCause.CALLER_ABANDONED, NOW + 7000)
    again = centre.service.contact_ended("c1", HangupSide.CUSTOMER, HangupCause.CALLER_ABANDONED, NOW + 7100)
    assert again.stale and again.state == "ended"
    assert centre.stats() == {"offered": 1, "answered": 0, "abandoned": 1, "timed_out": 0}


def test_a_caller_forwarded_at_max_wait_is_counted_timed_out_when_the_forwarded_call_ends(
    centre: FakeCentre,
) -> None:
    centre.queue(max_wait=10, overflow=Overflow(OverflowKind.LEGACY_TRUNK, "legacy-pbx"))
    centre.number()
    centre.call()
    centre.service.queue_timeout("c1", NOW + 10_000)
    centre.service.contact_ended("c1", HangupSide.CUSTOMER, HangupCause.NORMAL_CLEARING, NOW + 70_000)
    assert centre.stats() == {"offered": 1, "answered": 0, "abandoned": 0, "timed_out": 1}


def test_a_number_forwarded_straight_to_the_legacy_trunk_counts_in_no_queue(centre: FakeCentre) -> None:
    centre.queue()
    centre.number("+15550199", queue_id=None, legacy_trunk="legacy-pbx")
    assert centre.call(number="+15550199") == Forward("c1", "legacy-pbx")
    centre.service.contact_ended("c1", HangupSide.CUSTOMER, HangupCause.NORMAL_CLEARING, NOW + 9000)
    assert centre.record("c1").queue_id is None
    assert centre.ports.table.counters == {}

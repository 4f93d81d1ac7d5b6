"""Routing scenarios through the RoutingService over moto: connect, queue, RONA, abandon, wrap-up, overflow."""

from __future__ import annotations

from typing import Any

import pytest

from contact_center.data.contacts import ContactItems, utc_day
from contact_center.domain.agent_state import AgentState, GoAvailable
from contact_center.domain.contact import (
    DEFAULT_CONTACT_PRIORITY,
    Channel,
    ContactSnapshot,
    ContactState,
    Enqueue,
    HangupCause,
    HangupSide,
    apply_contact,
)
from contact_center.domain.events import AgentStateChanged
from contact_center.services.routing import AgentOffer, RoutingPolicy
from contact_center.services.routing.decisions import (
    Acknowledged,
    Connect,
    Forward,
    OfferOutcome,
    Queue,
    Reject,
    decision_from_dict,
)
from contact_center.services.routing.ports import LiveContact

from .conftest import DOMAIN, EDGE, NOW, World, on_every_table_request

ANSWERED, NO_ANSWER, BUSY = OfferOutcome.ANSWERED, OfferOutcome.NO_ANSWER, OfferOutcome.BUSY


def call(world: World, contact_id: str = "c1", number: str = "+15550100", at: int = NOW) -> object:
    return world.service.new_contact(number, "+4930123", EDGE, contact_id, at)


def test_an_available_agent_is_rung_at_once_then_talks_then_is_released(world: World) -> None:
    world.queue()
    world.number()
    world.seat("a1")
    # When a call arrives for the queue's number,
    decision = call(world)
    # then the agent is reserved and the edge is told where to ring it.
    assert isinstance(decision, Connect)
    assert (decision.contact_id, decision.seat_id, decision.merchant_id) == ("c1", "a1", "m1")
    assert decision.aor == f"sip:u-a1@{DOMAIN}" and decision.ring_timeout_seconds == 20
    (target,) = decision.targets
    assert target.received == "198.51.100.7:40000" and target.transport == "TCP" and target.flow_owner == EDGE
    assert target.path == ("<sip:edge-1.internal;lr>",)
    assert decision_from_dict(decision.to_dict()) == decision
    assert world.agent("a1").state is AgentState.RESERVED
    assert world.contact("c1").snapshot.state is ContactState.OFFERED
    # When the agent answers and later hangs up,
    assert world.service.offer_result("c1", "a1", ANSWERED, NOW + 4000) == Acknowledged(
        "c1", "connected", "a1", "m1"
    )
    assert world.agent("a1").state is AgentState.ON_CONTACT
    ended = world.service.contact_ended("c1", HangupSide.AGENT, HangupCause.NORMAL_CLEARING, NOW + 64_000)
    # then the agent is available again (no wrap-up in this queue) and the record tells the story.
    assert ended.state == "ended" and ended.wrap_up_deadline_ms is None
    assert world.agent("a1").state is AgentState.AVAILABLE
    record = world.record("c1")
    assert (record.called, record.caller, record.queue_id, record.seat_id) == (
        "+15550100",
        "+4930123",
        "q1",
        "a1",
    )
    assert (record.enqueued_at_ms, record.offered_at_ms, record.answered_at_ms, record.ended_at_ms) == (
        NOW,
        NOW,
        NOW + 4000,
        NOW + 64_000,
    )
    assert (record.hangup_side, record.hangup_cause, record.rona_attempts) == ("agent", "normal_clearing", 0)
    assert [(s.kind, s.outcome) for s in record.segments] == [
        ("queue", "offered"),
        ("agent", "normal_clearing"),
    ]
    assert world.contact("c1") is None
    stats = ContactItems().stats("q1", utc_day(NOW))
    assert stats is not None and (stats.offered, stats.answered, stats.abandoned) == (1, 1, 0)
    # Every agent transition was published as an event with its time.
    agent_events = [e for e in world.events.events if isinstance(e, AgentStateChanged)]
    assert [(e.to_state, e.occurred_at_ms) for e in agent_events][-3:] == [
        (AgentState.RESERVED, NOW),
        (AgentState.ON_CONTACT, NOW + 4000),
        (AgentState.AVAILABLE, NOW + 64_000),
    ]


def test_unknown_number_is_rejected_and_a_legacy_number_is_forwarded(world: World) -> None:
    world.queue()
    world.number("+15550199", queue_id=None, legacy_trunk="legacy-pbx")
    assert call(world, number="+15550000") == Reject(404, "number not in service")
    assert call(world, "c2", number="+15550199") == Forward("c2", "legacy-pbx")
    # The number may arrive without its "+" (a Request-URI user part).
    assert call(world, "c3", number="15550199") == Forward("c3", "legacy-pbx")
    world.service.contact_ended("c2", HangupSide.CUSTOMER, HangupCause.NORMAL_CLEARING, NOW + 9000)
    record = world.record("c2")
    assert (record.trunk_id, record.queue_id, record.seat_id) == ("legacy-pbx", None, None)
    assert [(s.kind, s.trunk_id) for s in record.segments] == [("trunk", "legacy-pbx")]


def test_a_call_with_nobody_free_waits_in_the_queue(world: World) -> None:
    world.queue(max_wait=90)
    world.number()
    world.seat("a1", available_at=None)  # logged in, not ready
    decision = call(world)
    assert decision == Queue("c1", "q1", 90, NOW + 90_000, position=1)
    assert decision_from_dict(decision.to_dict()) == decision
    assert [c.contact_id for c in world.contacts.queue_heads("q1", 5)] == ["c1"]
    # A retried request (the edge timed out) returns the same answer and creates nothing new.
    assert call(world, at=NOW + 500) == Queue("c1", "q1", 90, NOW + 90_000, position=1)
    assert ContactItems().stats("q1", utc_day(NOW)).offered == 1  # type: ignore[union-attr]


def test_a_queued_caller_is_told_its_place_and_the_wait_the_queue_s_recent_answers_give(world: World) -> None:
    world.queue(max_wait=600)
    world.number()
    world.seat("a1")
    # Two answers give no estimate yet (fewer than three: nothing rather than a guess).
    for index, at in enumerate((NOW, NOW + 60_000)):
        assert isinstance(call(world, f"done{index}", at=at), Connect)
        world.service.offer_result(f"done{index}", "a1", ANSWERED, at + 1000)
        world.service.contact_ended(
            f"done{index}", HangupSide.CUSTOMER, HangupCause.NORMAL_CLEARING, at + 30_000
        )
    world.not_ready("a1", at=NOW + 100_000)
    early = call(world, "early", at=NOW + 110_000)
    assert isinstance(early, Queue) and (early.position, early.wait_seconds) == (1, None)
    world.service.contact_ended("early", HangupSide.CUSTOMER, HangupCause.NORMAL_CLEARING, NOW + 111_000)
    world.command("a1", GoAvailable(), NOW + 115_000)
    assert isinstance(call(world, "done2", at=NOW + 120_000), Connect)
    world.service.offer_result("done2", "a1", ANSWERED, NOW + 121_000)
    world.service.contact_ended("done2", HangupSide.CUSTOMER, HangupCause.NORMAL_CLEARING, NOW + 150_000)
    world.not_ready("a1", at=NOW + 160_000)
    # Three answers over the 180 s from the oldest (NOW + 1 s) to now: one a minute, so the second
    # caller in line waits about two minutes.
    first = call(world, "c1", at=NOW + 180_000)
    second = call(world, "c2", at=NOW + 181_000)
    assert isinstance(first, Queue) and isinstance(second, Queue)
    assert (first.position, first.wait_seconds) == (1, 60)
    assert (second.position, second.wait_seconds) == (2, 120)
    assert decision_from_dict(second.to_dict()) == second
    # Answers older than the window (15 minutes) no longer count.
    later = call(world, "c2", at=NOW + 1_000_000)
    assert isinstance(later, Queue) and (later.position, later.wait_seconds) == (2, None)


def test_a_new_contact_stays_out_of_the_queue_index_while_its_router_finds_an_agent(world: World) -> None:
    world.queue()
    world.number()
    world.seat("a1")
    heads_during_offer: list[list[str]] = []
    create_offered = world.contacts.create_offered

    def watching_offer(*args: Any, **kwargs: Any) -> None:
        heads_during_offer.append([c.contact_id for c in world.contacts.queue_heads("q1", 5)])
        create_offered(*args, **kwargs)

    world.contacts.create_offered = watching_offer  # type: ignore[method-assign]
    assert isinstance(call(world), Connect)
    # Routers of agents turning available never see it, so they do not race this router for it:
    # it is written once, already offered.
    assert heads_during_offer == [[]]
    assert world.contacts.get("c1").snapshot.state is ContactState.OFFERED  # type: ignore[union-attr]
    assert ContactItems().stats("q1", utc_day(NOW)).offered == 1  # type: ignore[union-attr]


def test_an_agent_freed_while_a_new_contact_is_being_listed_is_found_by_the_second_look(world: World) -> None:
    world.queue(max_wait=90)
    world.number()
    world.seat("a1", available_at=None)
    looks: list[int] = []
    available = world.seats.available_for_queue

    def agent_frees_after_the_first_look(merchant_id: str, queue_id: str, limit: int | None) -> Any:
        found = available(merchant_id, queue_id, limit)
        looks.append(len(found))
        if len(looks) == 1:
            # The agent turns available before the contact is listed: its own dequeue finds nothing.
            world.command("a1", GoAvailable(), NOW + 1)
            assert world.service.agent_available("m1", "a1", NOW + 2) is None
        return found

    world.seats.available_for_queue = agent_frees_after_the_first_look  # type: ignore[method-assign]
    decision = call(world, at=NOW + 3)
    assert isinstance(decision, Connect) and decision.seat_id == "a1"
    assert looks == [0, 1]


def test_a_router_that_died_before_its_write_leaves_nothing_and_the_retry_queues_the_caller(
    world: World,
) -> None:
    world.queue(max_wait=90)
    world.number()
    world.seat("a1", available_at=None)
    real_try_offer = world.service._offers.try_offer

    def router_dies(*args: Any, **kwargs: Any) -> Any:
        raise TimeoutError("the function timed out")

    world.service._offers.try_offer = router_dies  # type: ignore[method-assign]
    with pytest.raises(TimeoutError):
        call(world)
    assert world.contacts.get("c1") is None
    world.service._offers.try_offer = real_try_offer  # type: ignore[method-assign]
    # The edge retries new_contact: nobody is free, and the caller waits (from the retry, the first
    # try having written nothing) where agents find it.
    assert call(world, at=NOW + 500) == Queue("c1", "q1", 90, NOW + 90_500, position=1)
    assert [c.contact_id for c in world.contacts.queue_heads("q1", 5)] == ["c1"]


def test_a_contact_left_unlisted_by_a_router_that_died_is_listed_by_the_retry(world: World) -> None:
    # A contact written unlisted (by the release before contacts were created with their offer,
    # whose router died before listing it).
    world.queue(max_wait=90)
    world.number()
    world.seat("a1", available_at=None)
    enqueued = apply_contact(
        ContactSnapshot.new("c1", Channel.VOICE, NOW), Enqueue("q1", DEFAULT_CONTACT_PRIORITY), NOW
    )
    world.contacts.create(LiveContact(enqueued.contact, "+15550100", "+4930123", "m1", EDGE, unlisted=True))
    assert world.contacts.get("c1").unlisted  # type: ignore[union-attr]
    assert world.contacts.queue_heads("q1", 5) == []
    # The edge retries new_contact: nobody is free, and the caller waits where agents find it.
    assert call(world, at=NOW + 500) == Queue("c1", "q1", 90, NOW + 90_000, position=1)
    assert [c.contact_id for c in world.contacts.queue_heads("q1", 5)] == ["c1"]
    world.command("a1", GoAvailable(), NOW + 1000)
    offer = world.service.agent_available("m1", "a1", NOW + 1000)
    assert offer is not None and offer.contact_id == "c1"


def test_ring_no_answer_re_offers_to_the_next_agent_and_parks_the_first(world: World) -> None:
    world.queue()
    world.number()
    world.seat("a1", available_at=NOW - 90_000)  # longest idle
    world.seat("a2", available_at=NOW - 30_000)
    first = call(world)
    assert isinstance(first, Connect) and first.seat_id == "a1"
    second = world.service.offer_result("c1", "a1", NO_ANSWER, NOW + 20_000)
    assert isinstance(second, Connect) and second.seat_id == "a2"
    assert world.agent("a1").state is AgentState.NOT_RESPONDING
    assert world.agent("a1").reason == "missed_offer"
    contact = world.contact("c1")
    assert contact.snapshot.rona_attempts == 1 and contact.snapshot.enqueued_at_ms == NOW  # keeps its place
    # A late duplicate report for the first offer changes nothing.
    stale = world.service.offer_result("c1", "a1", NO_ANSWER, NOW + 20_500)
    assert isinstance(stale, Acknowledged) and stale.stale
    assert world.agent("a2").state is AgentState.RESERVED
    world.service.offer_result("c1", "a2", ANSWERED, NOW + 25_000)
    world.service.contact_ended("c1", HangupSide.CUSTOMER, HangupCause.NORMAL_CLEARING, NOW + 90_000)
    record = world.record("c1")
    assert record.rona_attempts == 1 and record.seat_id == "a2"
    first = record.segments[0]
    assert (first.kind, first.seat_id, first.outcome) == ("agent", "a1", "no_answer")


def test_busy_leaves_the_agent_available_by_default_and_not_responding_by_policy(world: World) -> None:
    world.queue()
    world.number()
    world.seat("a1", available_at=NOW - 90_000)
    world.seat("a2", available_at=NOW - 30_000)
    call(world)
    decision = world.service.offer_result("c1", "a1", BUSY, NOW + 2000)
    assert isinstance(decision, Connect) and decision.seat_id == "a2"  # not bounced back to a1
    assert world.agent("a1").state is AgentState.AVAILABLE
    assert world.agent("a1").idle_since_ms == NOW - 90_000  # keeps its place in line

    strict = world.build(RoutingPolicy(sip_domain=DOMAIN, busy_leaves_agent_available=False))
    world.seat("a3", available_at=NOW - 80_000)
    strict.new_contact(
        "+15550100", "+4930999", EDGE, "c2", NOW + 3000
    )  # -> a3 (a1 is cooling down? no: c2 is new)
    offered = world.contact("c2").snapshot.seat_id
    assert strict.offer_result("c2", offered, BUSY, NOW + 4000) is not None
    assert world.agent(offered).state is AgentState.NOT_RESPONDING
    assert world.agent(offered).reason == "rejected_busy"


def test_an_agent_without_a_registered_phone_is_skipped_and_parked_without_charging_the_caller(
    world: World,
) -> None:
    world.queue()
    world.number()
    world.seat("a1", available_at=NOW - 90_000, registered=False)
    world.seat("a2", available_at=NOW - 30_000)
    decision = call(world)
    assert isinstance(decision, Connect) and decision.seat_id == "a2"
    assert world.agent("a1").state is AgentState.NOT_RESPONDING
    assert world.contact("c1").snapshot.rona_attempts == 0


def test_caller_abandoning_in_the_queue_removes_the_contact_once(world: World) -> None:
    world.queue()
    world.number()
    call(world)
    ack = world.service.contact_ended("c1", HangupSide.CUSTOMER, HangupCause.CALLER_ABANDONED, NOW + 7000)
    assert ack == Acknowledged("c1", "ended", None, "m1")
    assert world.contacts.queue_heads("q1", 5) == []
    record = world.record("c1")
    assert (record.hangup_cause, record.seat_id, record.answered_at_ms) == ("caller_abandoned", None, None)
    # A second report of the same hang-up is a no-op.
    again = world.service.contact_ended("c1", HangupSide.CUSTOMER, HangupCause.CALLER_ABANDONED, NOW + 7100)
    assert again.stale and again.state == "ended"
    stats = ContactItems().stats("q1", utc_day(NOW))
    assert stats is not None and (stats.offered, stats.answered, stats.abandoned) == (1, 0, 1)


def test_caller_abandoning_while_the_agent_rings_releases_the_agent_in_its_place(world: World) -> None:
    world.queue(wrap_up=30)
    world.number()
    world.seat("a1", available_at=NOW - 90_000)
    call(world)
    world.service.contact_ended("c1", HangupSide.CUSTOMER, HangupCause.CALLER_ABANDONED, NOW + 5000)
    agent = world.agent("a1")
    assert agent.state is AgentState.AVAILABLE and agent.idle_since_ms == NOW - 90_000  # no wrap-up
    record = world.record("c1")
    assert (record.seat_id, record.offered_at_ms, record.answered_at_ms) == ("a1", NOW, None)
    # A late "answered" for the abandoned offer does not connect anything.
    late = world.service.offer_result("c1", "a1", ANSWERED, NOW + 5100)
    assert isinstance(late, Acknowledged) and late.stale
    assert world.agent("a1").state is AgentState.AVAILABLE


def test_wrap_up_then_available_then_the_waiting_contact_is_offered(world: World) -> None:
    world.queue(wrap_up=30)
    world.number()
    world.seat("a1")
    call(world)
    world.service.offer_result("c1", "a1", ANSWERED, NOW + 3000)
    # Given a second caller waits while a1 talks,
    assert isinstance(call(world, "c2", at=NOW + 10_000), Queue)
    ended = world.service.contact_ended("c1", HangupSide.CUSTOMER, HangupCause.NORMAL_CLEARING, NOW + 60_000)
    # then a1 wraps up for the queue's 30 s, and the edge is told when it ends;
    assert ended.wrap_up_deadline_ms == NOW + 90_000 and ended.seat_id == "a1"
    assert world.agent("a1").state is AgentState.AFTER_CONTACT_WORK
    assert world.service.finish_wrap_up("m1", "a1", NOW + 80_000) is None  # too early: nothing
    assert world.agent("a1").state is AgentState.AFTER_CONTACT_WORK
    # when the wrap-up ends, a1 becomes available and is offered the waiting caller,
    offer = world.service.finish_wrap_up("m1", "a1", NOW + 90_000, contact_id="c1")
    assert offer == AgentOffer("c2", "a1", "m1", EDGE)
    # and the edge holding c2 learns it on its next poll, with everything needed to ring a1.
    (pending,) = world.service.pending_offers(EDGE, NOW + 90_100)
    assert (pending.contact_id, pending.seat_id, pending.queue_id) == ("c2", "a1", "q1")
    assert pending.targets and pending.targets[0].flow_owner == EDGE


def test_the_sweep_ends_expired_wrap_ups(world: World) -> None:
    world.queue(wrap_up=10)
    world.number()
    world.seat("a1")
    call(world)
    world.service.offer_result("c1", "a1", ANSWERED, NOW + 1000)
    world.service.contact_ended("c1", HangupSide.AGENT, HangupCause.NORMAL_CLEARING, NOW + 2000)
    assert world.service.sweep(NOW + 5000).wrap_ups_ended == []
    report = world.service.sweep(NOW + 12_000)
    assert (report.wrap_ups_ended, report.offers) == (["a1"], [])  # nothing waiting to offer
    assert world.agent("a1").state is AgentState.AVAILABLE


def test_an_agent_becoming_available_takes_the_right_contact_across_its_queues(world: World) -> None:
    world.queue("q1", priority=5)
    world.queue("q2", priority=5)
    world.queue("q3", priority=1)
    for number, queue_id in (("+1001", "q1"), ("+1002", "q2"), ("+1003", "q3")):
        world.number(number, queue_id)
    world.seat("a1", available_at=None, queues={"q1": 1, "q2": 1, "q3": 2})
    world.service.new_contact("+1002", "x", EDGE, "old-q2", NOW)
    world.service.new_contact("+1001", "x", EDGE, "new-q1", NOW + 1000)
    world.service.new_contact("+1003", "x", EDGE, "q3-low-agent-priority", NOW - 5000)
    world.service.new_contact("+1001", "x", EDGE, "urgent", NOW + 2000, priority=1)
    world.command("a1", GoAvailable(), NOW + 10_000)
    offer = world.service.agent_available("m1", "a1", NOW + 10_000)
    assert offer is not None
    order = [offer.contact_id]
    for step in range(3):
        # Each caller hangs up while a1 rings; released, a1 is offered the next one straight away.
        at = NOW + 11_000 + step * 1000
        world.service.contact_ended(order[-1], HangupSide.CUSTOMER, HangupCause.CALLER_ABANDONED, at)
        assert world.agent("a1").state is AgentState.RESERVED
        order.append(str(world.agent("a1").contact_id))
    # Contact priority first; then the agent's own priority for the queue; then the oldest.
    assert order == ["urgent", "old-q2", "new-q1", "q3-low-agent-priority"]


def test_queue_timeout_overflows_to_another_queue_where_an_agent_is_free(world: World) -> None:
    world.queue("q2", max_wait=120)
    world.queue("q1", max_wait=10, overflow={"type": "queue", "target": "q2"})
    world.number()
    world.seat("a2", queues={"q2": 1})
    assert isinstance(call(world), Queue)
    # Early timer (clock skew): still waiting, with what is left of the wait.
    assert world.service.queue_timeout("c1", NOW + 9000) == Queue("c1", "q1", 1, NOW + 10_000, position=1)
    decision = world.service.queue_timeout("c1", NOW + 10_000)
    assert isinstance(decision, Connect) and (decision.seat_id, decision.queue_id) == ("a2", "q2")


def test_queue_timeout_overflows_into_a_queue_with_nobody_and_the_wait_restarts(world: World) -> None:
    world.queue("q2", max_wait=120)
    world.queue("q1", max_wait=10, overflow={"type": "queue", "target": "q2"})
    world.number()
    call(world)
    assert world.service.queue_timeout("c1", NOW + 10_000) == Queue(
        "c1", "q2", 120, NOW + 130_000, position=1
    )
    world.service.contact_ended("c1", HangupSide.CUSTOMER, HangupCause.CALLER_ABANDONED, NOW + 20_000)
    record = world.record("c1")
    assert record.queue_id == "q2"
    assert [(s.kind, s.queue_id, s.outcome) for s in record.segments] == [
        ("queue", "q1", "overflow"),
        ("queue", "q2", "caller_abandoned"),
    ]


def test_queue_timeout_forwards_to_the_legacy_trunk_or_rejects_with_retry_after(world: World) -> None:
    world.queue("q1", max_wait=10, overflow={"type": "legacy_trunk", "target": "legacy-pbx"})
    world.queue("q9", max_wait=10)
    world.number()
    world.number("+15550109", "q9")
    call(world)
    call(world, "c2", number="+15550109")
    assert world.service.queue_timeout("c1", NOW + 10_000) == Forward("c1", "legacy-pbx")
    assert world.contacts.queue_heads("q1", 5) == []
    assert world.service.queue_timeout("c2", NOW + 10_000) == Reject(480, "no agent available", 60, "c2")
    record = world.record("c2")
    assert (record.hangup_side, record.hangup_cause) == ("system", "queue_timeout")
    assert ContactItems().stats("q9", utc_day(NOW)).timed_out == 1  # type: ignore[union-attr]


def test_the_rona_limit_stops_re_offering(world: World) -> None:
    world.queue(max_wait=600)
    world.number()
    for index in range(4):
        world.seat(
            f"a{index}", available_at=NOW - 100_000 + index * 10_000
        )  # no near ties (idle_tie_window_ms)
    decision = call(world)
    for _ in range(3):
        assert isinstance(decision, Connect)
        decision = world.service.offer_result("c1", decision.seat_id, NO_ANSWER, NOW + 30_000)
    assert decision == Reject(480, "rona limit reached", 60, "c1")
    assert world.record("c1").rona_attempts == 3
    assert world.agent("a3").state is AgentState.AVAILABLE  # the fourth agent was never rung


def test_round_robin_starts_after_the_last_agent_served(world: World) -> None:
    world.queue(strategy="round_robin")
    world.number()
    # Longest idle would pick "c" first; round robin goes by seat id from the cursor.
    world.seat("a", available_at=NOW - 1000)
    world.seat("b", available_at=NOW - 2000)
    world.seat("c", available_at=NOW - 3000)
    first = call(world, "k1")
    assert isinstance(first, Connect) and first.seat_id == "a"
    world.service.contact_ended("k1", HangupSide.CUSTOMER, HangupCause.CALLER_ABANDONED, NOW + 100)
    second = call(world, "k2", at=NOW + 200)
    assert isinstance(second, Connect) and second.seat_id == "b"  # a is free again, but had its turn


def test_most_skilled_prefers_proficiency_and_min_proficiency_excludes(world: World) -> None:
    world.queue(strategy="most_skilled", skills=(("english", 2), ("billing", 2)))
    world.number()
    world.seat("novice", skills={"english": 5, "billing": 1}, available_at=NOW - 90_000)  # below minimum
    world.seat("good", skills={"english": 2, "billing": 3}, available_at=NOW - 60_000)
    world.seat("best", skills={"english": 5, "billing": 4}, available_at=NOW - 1000)
    decision = call(world)
    assert isinstance(decision, Connect) and decision.seat_id == "best"
    decision = call(world, "c2")
    assert isinstance(decision, Connect) and decision.seat_id == "good"
    assert isinstance(call(world, "c3"), Queue)  # the novice never gets this queue's calls


def available_index_reads(world: World) -> list[int | None]:
    """The Limit of each read of the available-seats index from now on (None: no limit)."""
    limits: list[int | None] = []

    def on_request(operation: str, params: dict[str, Any]) -> None:
        values = str(params.get("ExpressionAttributeValues", {}))
        if operation == "Query" and params.get("IndexName") == "gsi1" and "AVAILABLE#" in values:
            limits.append(params.get("Limit"))

    on_every_table_request(on_request)
    return limits


def small_pages(world: World) -> None:
    """A first page of 2 seats out of at most 10, so a handful of seats shows the paging."""
    world.service = world.build(
        RoutingPolicy(sip_domain=DOMAIN, longest_idle_page=2, candidate_limit=10, spread_candidates=1)
    )


def test_longest_idle_reads_a_first_page_and_the_rest_only_when_nobody_there_can_take_it(
    world: World,
) -> None:
    small_pages(world)
    world.queue(skills=(("billing", 1),))
    world.number()
    # The two longest-idle agents cannot take the queue's calls; the third and fourth can.
    world.seat("x1", skills={"english": 3}, available_at=NOW - 90_000)
    world.seat("x2", skills={"english": 3}, available_at=NOW - 80_000)
    world.seat("b1", skills={"billing": 2}, available_at=NOW - 70_000)
    world.seat("b2", skills={"billing": 2}, available_at=NOW - 10_000)
    reads = available_index_reads(world)
    # When a call arrives, the first page has nobody for it: the rest is read, the best of it rung.
    decision = call(world)
    assert isinstance(decision, Connect) and decision.seat_id == "b1"
    assert reads == [2, 10]
    # With b1 busy and x1 gone, the first page (x2, b2) has b2: one read.
    world.not_ready("x1")
    reads.clear()
    decision = call(world, "c2")
    assert isinstance(decision, Connect) and decision.seat_id == "b2"
    assert reads == [2]


def test_strategies_that_rank_on_more_than_idle_time_read_every_candidate(world: World) -> None:
    small_pages(world)
    world.queue(strategy="most_skilled", skills=(("billing", 1),))
    world.number()
    world.seat("x1", skills={"billing": 1}, available_at=NOW - 90_000)
    world.seat("x2", skills={"billing": 1}, available_at=NOW - 80_000)
    world.seat("best", skills={"billing": 5}, available_at=NOW - 1000)
    reads = available_index_reads(world)
    decision = call(world)
    assert isinstance(decision, Connect) and decision.seat_id == "best"
    assert reads == [None]  # every free agent of the queue, and no other queue's

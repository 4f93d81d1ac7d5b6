"""Callbacks that keep their place: the caller leaves one, an agent takes it at its place, a live edge
task runs it, and every dial of the customer is in the contact's record."""

from __future__ import annotations

import pytest

from contact_center.domain.agent_state import AgentState, GoAvailable
from contact_center.domain.callbacks import CallbackPolicy
from contact_center.domain.contact import ContactState, HangupCause, HangupSide
from contact_center.services.routing.callbacks import CallbackRefusedError
from contact_center.services.routing.commands import (
    InvalidRoutingRequestError,
    execute,
    parse_routing_command,
)
from contact_center.services.routing.decisions import CallbackDial, Connect, OfferOutcome, Queue
from contact_center.services.routing.dialout import OutboundTrunk
from tests.support.routing_centre import EDGE, NOW, FakeCentre, RecordedPushes

RUNNER = "edge-2"
TWO_DIALS = CallbackPolicy("1", max_attempts=2, retry_seconds=60)


class OneRunner:
    def __init__(self, task: str | None = RUNNER) -> None:
        self.task = task

    def pick(self, contact_id: str, now_ms: int) -> str | None:
        return self.task


def _centre(
    policy: CallbackPolicy | None = TWO_DIALS,
    runner: str | None = RUNNER,
) -> tuple[FakeCentre, RecordedPushes]:
    centre, pushes = FakeCentre(), RecordedPushes()
    centre.service = centre.build(push=pushes, runners=OneRunner(runner))
    centre.queue(max_wait=600, callback=policy)
    centre.number()
    centre.seat("a1", available_at=None)
    return centre, pushes


def _three_queued(centre: FakeCentre) -> None:
    for offset, contact_id in enumerate(("c1", "c2", "c3")):
        assert isinstance(centre.call(contact_id, at=NOW + offset * 100), Queue)


def _talk_and_end(centre: FakeCentre, contact_id: str, at: int) -> None:
    centre.service.offer_result(contact_id, "a1", OfferOutcome.ANSWERED, at)
    centre.service.contact_ended(contact_id, HangupSide.CUSTOMER, HangupCause.NORMAL_CLEARING, at + 1000)


def test_a_callback_keeps_its_place_and_is_served_second_of_three_by_a_task_that_runs_it() -> None:
    centre, pushes = _centre()
    _three_queued(centre)
    # Given the second caller leaves a callback
    centre.service.leave_callback("c2", EDGE, "1", NOW + 1000)
    left = centre.contact("c2")
    assert left is not None and left.snapshot.state is ContactState.QUEUED
    assert (left.edge_task_id, left.snapshot.enqueued_at_ms) == (None, NOW + 100)
    # When an agent frees up and takes each call in turn
    centre.command("a1", GoAvailable(), NOW + 2000)
    centre.service.agent_available("m1", "a1", NOW + 2000)
    _talk_and_end(centre, "c1", NOW + 3000)
    # Then the callback comes second, pushed to the task that runs it, which the claim names
    assert [(task, offer.contact_id) for task, offer in pushes.sent] == [(EDGE, "c1"), (RUNNER, "c2")]
    assert centre.service.pending_offers(RUNNER, NOW + 4000) == [pushes.sent[1][1]]
    centre.service.callback_dialled("c2", "a1", 200, NOW + 5000, NOW + 9000)
    _talk_and_end(centre, "c2", NOW + 9000)
    assert [offer.contact_id for _, offer in pushes.sent] == ["c1", "c2", "c3"]
    record = centre.record("c2")
    assert record.answered_at_ms == NOW + 9000 and record.enqueued_at_ms == NOW + 100
    dials = [segment for segment in record.segments if segment.kind == "dial"]
    assert [(dial.outcome, dial.status, dial.started_at_ms) for dial in dials] == [
        ("answered", 200, NOW + 5000)
    ]
    assert [segment.kind for segment in record.segments].count("callback") == 1
    # One contact, counted once in its queue
    assert centre.stats()["offered"] == 3 and centre.stats().get("answered") == 2


def test_a_failed_dial_is_retried_at_its_place_after_retry_seconds_and_ends_after_max_attempts() -> None:
    centre, pushes = _centre()
    _three_queued(centre)
    centre.service.leave_callback("c2", EDGE, "1", NOW + 1000)
    centre.command("a1", GoAvailable(), NOW + 2000)
    centre.service.agent_available("m1", "a1", NOW + 2000)
    _talk_and_end(centre, "c1", NOW + 3000)
    # When the customer is busy
    centre.service.callback_dialled("c2", "a1", 486, NOW + 5000, NOW + 6000)
    # Then the callback waits at its place, owned by no task, and the agent, back in line, takes c3
    waiting = centre.contact("c2")
    assert waiting is not None and waiting.snapshot.state is ContactState.QUEUED
    assert (waiting.edge_task_id, waiting.snapshot.enqueued_at_ms, waiting.snapshot.rona_attempts) == (
        None,
        NOW + 100,
        0,
    )
    assert pushes.sent[-1][1].contact_id == "c3"
    _talk_and_end(centre, "c3", NOW + 7000)
    # Not due yet 1 s after the talk: the agent stays free; due after retry_seconds
    assert centre.agent("a1").state is AgentState.AVAILABLE
    assert centre.service.agent_available("m1", "a1", NOW + 60_000) is None
    offer = centre.service.agent_available("m1", "a1", NOW + 66_000)
    assert offer is not None and (offer.contact_id, offer.edge_task_id) == ("c2", RUNNER)
    # The second failure spends the last attempt: the contact ends, the agent is free
    centre.service.callback_dialled("c2", "a1", None, NOW + 67_000, NOW + 97_000)
    assert centre.contact("c2") is None
    assert centre.agent("a1").state is AgentState.AVAILABLE
    record = centre.record("c2")
    assert record.hangup_cause == HangupCause.CALLBACK_FAILED.value
    dials = [(s.started_at_ms, s.outcome, s.status) for s in record.segments if s.kind == "dial"]
    assert dials == [(NOW + 5000, "busy", 486), (NOW + 67_000, "no_answer", None)]
    assert centre.stats()["offered"] == 3


def test_the_queue_decision_names_the_key_the_edge_listens_for_and_none_without_a_policy() -> None:
    centre, _ = _centre(policy=CallbackPolicy("#"))
    queued = centre.call("c1")
    assert isinstance(queued, Queue) and queued.callback_digit == "#"
    assert Queue.from_dict(queued.to_dict()).callback_digit == "#"
    plain, _ = _centre(policy=None)
    unset = plain.call("c1")
    assert isinstance(unset, Queue) and unset.callback_digit is None


def test_the_key_is_refused_when_the_queue_takes_no_callback_or_another_key() -> None:
    centre, _ = _centre(policy=None)
    centre.call("c1")
    with pytest.raises(CallbackRefusedError) as refused:
        centre.service.leave_callback("c1", EDGE, "1", NOW + 1000)
    assert refused.value.field == "digit"
    centre2, _ = _centre()
    centre2.call("c1")
    with pytest.raises(CallbackRefusedError):
        centre2.service.leave_callback("c1", EDGE, "2", NOW + 1000)
    with pytest.raises(CallbackRefusedError) as wrong_task:
        centre2.service.leave_callback("c1", "edge-9", "1", NOW + 1000)
    assert wrong_task.value.field == "contact_id"
    assert centre2.contact("c1") is not None and centre2.contact("c1").edge_task_id == EDGE  # type: ignore[union-attr]


class MerchantTrunk:
    def __init__(self, trunk: OutboundTrunk | None) -> None:
        self.trunk = trunk
        self.asked: list[tuple[str, str]] = []

    def outbound_trunk(self, merchant_id: str, dialled: str) -> OutboundTrunk | None:
        self.asked.append((merchant_id, dialled))
        return self.trunk


def test_a_callback_s_offer_names_the_customer_the_merchant_s_trunk_and_its_caller_id() -> None:
    trunks = MerchantTrunk(OutboundTrunk("t1", "192.0.2.7:5060", "udp", "+4930999"))
    centre, pushes = _centre()
    centre.service = centre.build(push=pushes, runners=OneRunner(), outbound_trunks=trunks)
    _three_queued(centre)
    centre.service.leave_callback("c2", EDGE, "1", NOW + 1000)
    centre.command("a1", GoAvailable(), NOW + 2000)
    centre.service.agent_available("m1", "a1", NOW + 2000)
    _talk_and_end(centre, "c1", NOW + 3000)
    # The first caller's offer is an ordinary one; the callback's names whom to dial and how
    first, callback = pushes.sent[0][1], pushes.sent[1][1]
    assert first.callback is None
    dial = CallbackDial("+4930123", "t1", "192.0.2.7:5060", "udp", "+4930999")
    assert callback.callback == dial and trunks.asked == [("m1", "+4930123")]
    # The poll reads back the same offer, and the JSON form carries it to the edge
    assert centre.service.pending_offers(RUNNER, NOW + 4000) == [callback]
    assert Connect.from_dict(callback.to_dict()) == callback


def test_a_callback_of_a_merchant_without_an_outbound_trunk_names_only_the_customer() -> None:
    centre, pushes = _centre()
    centre.service = centre.build(push=pushes, runners=OneRunner(), outbound_trunks=MerchantTrunk(None))
    centre.call("c1")
    centre.service.leave_callback("c1", EDGE, "1", NOW + 1000)
    centre.command("a1", GoAvailable(), NOW + 2000)
    centre.service.agent_available("m1", "a1", NOW + 2000)
    assert pushes.sent[-1][1].callback == CallbackDial("+4930123")


def test_the_caller_s_task_ending_does_not_end_the_callback() -> None:
    centre, _ = _centre()
    centre.call("c1")
    centre.service.leave_callback("c1", EDGE, "1", NOW + 1000)
    assert centre.service.edge_lost(EDGE, NOW + 2000) == []
    assert centre.contact("c1") is not None


def test_a_lost_runner_gives_the_callback_back_its_place_and_another_task_runs_it() -> None:
    runner = OneRunner()
    centre, pushes = _centre()
    centre.service = centre.build(push=pushes, runners=runner)
    centre.call("c1")
    centre.service.leave_callback("c1", EDGE, "1", NOW + 1000)
    centre.command("a1", GoAvailable(), NOW + 2000)
    assert centre.service.agent_available("m1", "a1", NOW + 2000) is not None
    assert centre.agent("a1").state is AgentState.RESERVED
    # When the task running it dies (its heartbeat gone, so it is no longer picked)
    runner.task = "edge-3"
    assert centre.service.edge_lost(RUNNER, NOW + 3000) == []
    # Then the seat was let go and took the callback again, at its place, on a live task
    again = centre.contact("c1")
    assert again is not None and again.snapshot.state is ContactState.OFFERED
    assert (again.edge_task_id, again.snapshot.enqueued_at_ms) == ("edge-3", NOW)
    assert pushes.sent[-1][0] == "edge-3"


def test_an_agent_that_misses_a_callback_leaves_it_at_its_place_for_the_next() -> None:
    centre, _ = _centre()
    centre.call("c1")
    centre.service.leave_callback("c1", EDGE, "1", NOW + 1000)
    centre.command("a1", GoAvailable(), NOW + 2000)
    centre.service.agent_available("m1", "a1", NOW + 2000)
    decision = centre.service.offer_result("c1", "a1", OfferOutcome.NO_ANSWER, NOW + 22_000)
    assert decision.state == ContactState.QUEUED.value  # type: ignore[union-attr]
    back = centre.contact("c1")
    assert back is not None and back.edge_task_id is None and back.snapshot.enqueued_at_ms == NOW
    assert centre.agent("a1").state is AgentState.NOT_RESPONDING


def test_no_live_task_leaves_the_callback_waiting_and_the_agent_free() -> None:
    centre, pushes = _centre(runner=None)
    centre.call("c1")
    centre.service.leave_callback("c1", EDGE, "1", NOW + 1000)
    centre.command("a1", GoAvailable(), NOW + 2000)
    assert centre.service.agent_available("m1", "a1", NOW + 2000) is None
    assert pushes.sent == [] and centre.agent("a1").state is AgentState.AVAILABLE


def test_the_sweep_offers_a_callback_whose_retry_fell_due_while_the_agent_was_free() -> None:
    centre, pushes = _centre()
    centre.call("c1")
    centre.service.leave_callback("c1", EDGE, "1", NOW + 1000)
    centre.command("a1", GoAvailable(), NOW + 2000)
    centre.service.agent_available("m1", "a1", NOW + 2000)
    centre.service.callback_dialled("c1", "a1", 480, NOW + 5000, NOW + 30_000)
    assert centre.agent("a1").state is AgentState.AVAILABLE
    # Before the retry is due the sweep leaves it; after, it offers it
    assert centre.service.sweep(NOW + 60_000).offers == []
    offers = centre.service.sweep(NOW + 91_000).offers
    assert [(offer.contact_id, offer.edge_task_id) for offer in offers] == [("c1", RUNNER)]
    assert pushes.sent[-1][0] == RUNNER and len(pushes.sent) == 2


def test_the_routing_function_takes_the_key_and_each_dial_as_requests() -> None:
    centre, _ = _centre()
    centre.call("c1")
    leave = {"action": "leave_callback", "contact_id": "c1", "edge_task_id": EDGE, "digit": "1"}
    assert execute(centre.service, parse_routing_command(leave), NOW + 1000)["state"] == "queued"
    centre.command("a1", GoAvailable(), NOW + 2000)
    centre.service.agent_available("m1", "a1", NOW + 2000)
    dial = {"action": "callback_dialled", "contact_id": "c1", "seat_id": "a1", "status": 486}
    with pytest.raises(InvalidRoutingRequestError) as missing:
        parse_routing_command(dial)
    assert missing.value.field == "started_at_ms"
    with pytest.raises(InvalidRoutingRequestError) as bad:
        parse_routing_command({**dial, "status": 99, "started_at_ms": NOW})
    assert bad.value.field == "status"
    answer = execute(centre.service, parse_routing_command({**dial, "started_at_ms": NOW + 3000}), NOW + 9000)
    assert answer["state"] == "queued"
    contact = centre.contact("c1")
    assert contact is not None and [s.status for s in contact.segments if s.kind == "dial"] == [486]

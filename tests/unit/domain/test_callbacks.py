"""A queue's callback policy, the result of a dial, and when a callback may dial again."""

from __future__ import annotations

import pytest

from contact_center.domain.callbacks import (
    CallbackAttempt,
    CallbackPolicy,
    CallbackVerdict,
    DialResult,
    asks_for_callback,
    callback_state,
    dial_result_of,
)
from contact_center.domain.contact import (
    Channel,
    ContactSnapshot,
    ContactState,
    Enqueue,
    LeaveCallback,
    Offer,
    RetryCallback,
    apply_contact,
)
from contact_center.domain.errors import SeatMismatchError, ValidationError
from contact_center.domain.queueing import QueueConfig


def test_a_queue_offers_no_callback_unless_configured() -> None:
    assert QueueConfig("q1").callback is None
    assert CallbackPolicy.from_value(None) is None


def test_left_out_fields_take_their_defaults() -> None:
    assert CallbackPolicy.from_value({"digit": "#"}) == CallbackPolicy("#", 3, 120)
    assert CallbackPolicy("2", 4, 30).as_dict() == {"digit": "2", "max_attempts": 4, "retry_seconds": 30}


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({"digit": "12"}, "callback.digit"),
        ({"digit": "a"}, "callback.digit"),
        ({"digit": 1}, "callback.digit"),
        ({"max_attempts": 0}, "callback.max_attempts"),
        ({"max_attempts": 11}, "callback.max_attempts"),
        ({"max_attempts": True}, "callback.max_attempts"),
        ({"retry_seconds": 9}, "callback.retry_seconds"),
        ({"retry_seconds": 3601}, "callback.retry_seconds"),
        ({"retry": 30}, "callback.retry"),
        ("1", "callback"),
    ],
)
def test_a_bad_policy_is_refused_naming_its_field(value: object, field: str) -> None:
    with pytest.raises(ValidationError) as raised:
        CallbackPolicy.from_value(value)
    assert raised.value.field == field


@pytest.mark.parametrize(
    ("status", "result"),
    [
        (200, DialResult.ANSWERED),
        (486, DialResult.BUSY),
        (600, DialResult.BUSY),
        (480, DialResult.NO_ANSWER),
        (487, DialResult.NO_ANSWER),
        (None, DialResult.NO_ANSWER),
        (404, DialResult.FAILED),
        (503, DialResult.FAILED),
    ],
)
def test_a_dial_s_result_follows_its_final_status(status: int | None, result: DialResult) -> None:
    assert dial_result_of(status) is result


def test_a_failed_dial_is_retried_after_retry_seconds_until_the_attempts_are_spent() -> None:
    policy = CallbackPolicy("1", max_attempts=2, retry_seconds=60)
    assert callback_state(policy, [], 0).verdict is CallbackVerdict.DIAL
    busy = [CallbackAttempt(1_000, 5_000, DialResult.BUSY, 486)]
    waiting = callback_state(policy, busy, 64_999)
    assert (waiting.verdict, waiting.due_at_ms) == (CallbackVerdict.WAIT, 65_000)
    assert callback_state(policy, busy, 65_000).verdict is CallbackVerdict.DIAL
    twice = [*busy, CallbackAttempt(70_000, 90_000, DialResult.NO_ANSWER, 480)]
    assert callback_state(policy, twice, 10**9).verdict is CallbackVerdict.GIVE_UP
    answered = [CallbackAttempt(1_000, 2_000, DialResult.ANSWERED, 200)]
    assert callback_state(policy, answered, 3_000).verdict is CallbackVerdict.DONE


def _queued() -> ContactSnapshot:
    contact = ContactSnapshot.new("c1", Channel.VOICE, 1_000)
    return apply_contact(contact, Enqueue("q1", priority=3), 1_000).contact


def test_leaving_a_callback_keeps_the_place_in_the_queue() -> None:
    queued = _queued()
    left = apply_contact(queued, LeaveCallback(), 9_000).contact
    assert left.state is ContactState.QUEUED
    assert (left.enqueued_at_ms, left.priority, left.queue_id) == (1_000, 3, "q1")


def test_a_failed_dial_puts_the_callback_back_at_its_place_without_a_missed_offer() -> None:
    offered = apply_contact(_queued(), Offer("a1"), 5_000).contact
    back = apply_contact(offered, RetryCallback("a1"), 30_000).contact
    assert back.state is ContactState.QUEUED
    assert (back.enqueued_at_ms, back.seat_id, back.rona_attempts) == (1_000, None, 0)
    with pytest.raises(SeatMismatchError):
        apply_contact(offered, RetryCallback("a2"), 30_000)


@pytest.mark.parametrize(
    ("queue_key", "pressed", "told", "asks"),
    [
        ("1", "1", True, True),
        ("#", "#", True, True),
        ("1", "1", False, False),  # pressed before the announcement named it: a stray menu key
        ("1", "2", True, False),  # another key
        (None, "1", True, False),  # the queue takes no callbacks
    ],
)
def test_only_the_queues_key_pressed_once_told_asks_for_a_callback(
    queue_key: str | None, pressed: str, told: bool, asks: bool
) -> None:
    assert asks_for_callback(queue_key, pressed, told) is asks

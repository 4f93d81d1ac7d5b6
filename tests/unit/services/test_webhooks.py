"""Webhook events read from the stream, signatures and backoff."""

from __future__ import annotations

import hashlib
import hmac

from contact_center.services.webhook_events import webhook_events_in
from contact_center.services.webhooks import (
    FIRST_RETRY_SECONDS,
    MAX_BACKOFF_SECONDS,
    EventType,
    backoff_seconds,
    signature,
)


def _image(**values: object) -> dict[str, dict[str, str]]:
    return {k: {"N": str(v)} if isinstance(v, int) else {"S": str(v)} for k, v in values.items()}


def _record(name: str, new: dict[str, object], old: dict[str, object] | None = None) -> dict[str, object]:
    dynamodb: dict[str, object] = {"NewImage": _image(**new), "SequenceNumber": "7"}
    if old is not None:
        dynamodb["OldImage"] = _image(**old)
    return {"eventName": name, "dynamodb": dynamodb}


CONTACT = {"entity": "contact", "merchant_id": "m1", "contact_id": "c1", "queue_id": "q1", "version": 3,
           "caller": "+14155550123", "enqueued_at": 1000, "offered_at": 2000, "answered_at": 3000}  # fmt: skip


def test_contact_progress_becomes_queued_offered_answered_once_each() -> None:
    records = [
        _record("INSERT", {**CONTACT, "state": "queued"}),
        _record(
            "MODIFY", {**CONTACT, "state": "offered", "offered_seat": "s1"}, {**CONTACT, "state": "queued"}
        ),
        _record(
            "MODIFY", {**CONTACT, "state": "offered", "rona_attempts": 1}, {**CONTACT, "state": "offered"}
        ),
        _record(
            "MODIFY", {**CONTACT, "state": "connected", "offered_seat": "s1"}, {**CONTACT, "state": "offered"}
        ),
    ]
    events = [e.event for e in webhook_events_in({"Records": records})]
    assert [(e.type, e.occurred_at) for e in events] == [
        (EventType.CONTACT_QUEUED, 1000),
        (EventType.CONTACT_OFFERED, 2000),
        (EventType.CONTACT_ANSWERED, 3000),
    ]
    assert events[1].data["seat_id"] == "s1" and events[0].data["seat_id"] is None


def test_a_seat_state_change_is_told_but_a_profile_edit_is_not() -> None:
    seat = {"entity": "seat", "merchant_id": "m1", "seat_id": "s1", "state_since": 5000}
    changed = _record("MODIFY", {**seat, "state": "offline", "version": 9}, {**seat, "state": "available"})
    edited = _record(
        "MODIFY", {**seat, "state": "available", "display_name": "B"}, {**seat, "state": "available"}
    )
    changed["dynamodb"]["NewImage"]["queues"] = {"M": {"q2": {"N": "1"}, "q1": {"N": "3"}}}  # type: ignore[index]
    (event,) = [e.event for e in webhook_events_in({"Records": [changed, edited]})]
    assert event.type is EventType.AGENT_STATE_CHANGED and event.event_id == "s1.9"
    assert (event.data["from_state"], event.data["to_state"]) == ("available", "offline")
    assert event.data["queue_ids"] == ["q1", "q2"]  # the queues it serves: their supervisors hear it


def test_removals_and_other_entities_tell_nothing() -> None:
    records = [
        {"eventName": "REMOVE", "dynamodb": {"OldImage": _image(**{**CONTACT, "state": "connected"})}},
        _record("INSERT", {"entity": "binding", "aor": "x"}),
    ]
    assert list(webhook_events_in({"Records": records})) == []


def test_the_signature_is_hmac_sha256_of_timestamp_and_body() -> None:
    expected = hmac.new(b"whsec_k", b"1700000000.{}", hashlib.sha256).hexdigest()
    assert signature("whsec_k", 1_700_000_000, b"{}") == f"t=1700000000,v1={expected}"


def test_backoff_doubles_from_thirty_seconds_to_an_hour() -> None:
    pauses = [backoff_seconds(n) for n in range(1, 12)]
    assert pauses[:4] == [FIRST_RETRY_SECONDS, 60, 120, 240]
    assert pauses == sorted(pauses) and pauses[-1] == MAX_BACKOFF_SECONDS


def test_a_contact_created_already_offered_is_told_queued_then_offered() -> None:
    # One write created it offered to a free agent: the same two events as the two writes made.
    created = _record("INSERT", {**CONTACT, "state": "offered", "offered_seat": "s1", "version": 2})
    events = [e.event for e in webhook_events_in({"Records": [created]})]
    assert [(e.type, e.event_id, e.occurred_at) for e in events] == [
        (EventType.CONTACT_QUEUED, "c1.queued.1", 1000),
        (EventType.CONTACT_OFFERED, "c1.offered.2", 2000),
    ]
    assert events[0].data["seat_id"] is None and events[1].data["seat_id"] == "s1"

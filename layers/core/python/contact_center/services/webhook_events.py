"""Reading the table's stream for webhooks: which facts a merchant is told of.

- a contact's item entering QUEUED, OFFERED or CONNECTED: ``contact.queued`` / ``offered`` /
  ``answered``;
- a contact record written: ``contact.ended`` (with its outcome, by the reports' rule);
- a seat's state (or not-ready reason) changing: ``agent.state_changed``.

Each event's id is derived from the fact (the contact and its version, the seat and its version),
so a stream record delivered twice makes the same event, which receivers de-duplicate.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .reports import RecordRow
from .webhooks import Event, EventType

CONTACT_EVENTS = {
    "queued": EventType.CONTACT_QUEUED,
    "offered": EventType.CONTACT_OFFERED,
    "connected": EventType.CONTACT_ANSWERED,
}


@dataclass(frozen=True)
class StreamEvent:
    event: Event
    sequence_number: str
    home_region: str | None  # the region that wrote it as the merchant's home (None: not stamped)


def _s(image: Mapping[str, Any], name: str) -> str | None:
    value = image.get(name)
    text = value.get("S") if isinstance(value, Mapping) else None
    return text if isinstance(text, str) else None


def _n(image: Mapping[str, Any], name: str) -> int | None:
    value = image.get(name)
    number = value.get("N") if isinstance(value, Mapping) else None
    try:
        return int(float(number)) if isinstance(number, str) else None
    except ValueError:
        return None


def _keys(image: Mapping[str, Any], name: str) -> list[str]:
    value = image.get(name)
    entries = value.get("M") if isinstance(value, Mapping) else None
    return sorted(entries) if isinstance(entries, Mapping) else []


def _contacts(new: Mapping[str, Any], old: Mapping[str, Any], inserted: bool) -> list[Event]:
    """The contact's events: a contact created already offered to a free agent (one write for
    both) was queued first, at the version before, as if written twice."""
    offered = _contact(new, old)
    if not inserted or offered is None or offered.type is not EventType.CONTACT_OFFERED:
        return [offered] if offered is not None else []
    if _n(new, "enqueued_at") is None:
        return [offered]
    version = (_n(new, "version") or 1) - 1
    queued = _contact({**new, "state": {"S": "queued"}, "version": {"N": str(version)}}, old)
    return [queued, offered] if queued is not None else [offered]


def _contact(new: Mapping[str, Any], old: Mapping[str, Any]) -> Event | None:
    state = (_s(new, "state") or "").lower()
    kind = CONTACT_EVENTS.get(state)
    merchant_id, contact_id = _s(new, "merchant_id"), _s(new, "contact_id")
    if kind is None or not merchant_id or not contact_id or (_s(old, "state") or "").lower() == state:
        return None
    at = {"queued": "enqueued_at", "offered": "offered_at", "connected": "answered_at"}[state]
    occurred = _n(new, at) or _n(new, "created_at") or 0
    return Event(
        event_id=f"{contact_id}.{state}.{_n(new, 'version') or 0}",
        type=kind,
        merchant_id=merchant_id,
        occurred_at=occurred,
        data={
            "contact_id": contact_id,
            "queue_id": _s(new, "queue_id"),
            "seat_id": _s(new, "offered_seat") if state != "queued" else None,
            "caller": _s(new, "caller"),
            "called": _s(new, "called"),
            "channel": _s(new, "channel") or "voice",
            "enqueued_at": _n(new, "enqueued_at"),
        },
    )


def _record(new: Mapping[str, Any]) -> Event | None:
    merchant_id, contact_id, ended = _s(new, "merchant_id"), _s(new, "contact_id"), _n(new, "ended_at")
    if not merchant_id or not contact_id or ended is None:
        return None
    row = RecordRow(
        contact_id=contact_id,
        merchant_id=merchant_id,
        queue_id=_s(new, "queue_id"),
        seat_id=_s(new, "seat_id"),
        caller=_s(new, "caller") or "",
        called=_s(new, "called") or "",
        channel=_s(new, "channel") or "voice",
        enqueued_at=_n(new, "enqueued_at"),
        answered_at=_n(new, "answered_at"),
        ended_at=ended,
        hangup_side=_s(new, "hangup_side"),
        hangup_cause=_s(new, "hangup_cause"),
        trunk_id=_s(new, "trunk_id"),
    )
    return Event(
        event_id=f"{contact_id}.ended",
        type=EventType.CONTACT_ENDED,
        merchant_id=merchant_id,
        occurred_at=ended,
        data={
            "contact_id": contact_id,
            "queue_id": row.queue_id,
            "seat_id": row.seat_id,
            "caller": row.caller,
            "called": row.called,
            "channel": row.channel,
            "outcome": row.outcome.value,
            "enqueued_at": row.enqueued_at,
            "answered_at": row.answered_at,
            "ended_at": row.ended_at,
            "hangup_side": row.hangup_side,
            "hangup_cause": row.hangup_cause,
        },
    )


def _seat(new: Mapping[str, Any], old: Mapping[str, Any]) -> Event | None:
    merchant_id, seat_id = _s(new, "merchant_id"), _s(new, "seat_id")
    state, before = (_s(new, "state") or "").lower(), (_s(old, "state") or "").lower()
    reason = _s(new, "state_reason")
    if not merchant_id or not seat_id or not old or (state == before and reason == _s(old, "state_reason")):
        return None
    version = _n(new, "version") or 0
    return Event(
        event_id=f"{seat_id}.{version}",
        type=EventType.AGENT_STATE_CHANGED,
        merchant_id=merchant_id,
        occurred_at=_n(new, "state_since") or 0,
        data={
            "seat_id": seat_id,
            "from_state": before,
            "to_state": state,
            "reason": reason,
            "contact_id": _s(new, "contact_id"),
            "version": version,
            # The queues the seat serves, so their supervisors hear of it (``event_socket``).
            "queue_ids": _keys(new, "queues"),
        },
    )


def webhook_events_in(event: Any) -> Iterator[StreamEvent]:
    records = event.get("Records", []) if isinstance(event, Mapping) else []
    for record in records:
        if record.get("eventName") not in ("INSERT", "MODIFY"):
            continue
        dynamodb = record.get("dynamodb") or {}
        new = dynamodb.get("NewImage") or {}
        old = dynamodb.get("OldImage") or {}
        entity = _s(new, "entity")
        inserted = record.get("eventName") == "INSERT"
        found = (
            _contacts(new, old, inserted)
            if entity == "contact"
            else [_record(new)]
            if entity == "record" and inserted
            else [_seat(new, old)]
            if entity == "seat"
            else []
        )
        for each in found:
            if each is not None:
                yield StreamEvent(each, str(dynamodb.get("SequenceNumber", "")), _s(new, "home_region"))

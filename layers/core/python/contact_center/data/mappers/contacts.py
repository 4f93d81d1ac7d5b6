"""Live contact items, contact records (CDRs) and the dialogs stored with an answered call."""

from __future__ import annotations

from typing import Any

from contact_center.data import keys
from contact_center.data.mappers.common import as_dict, optional_int
from contact_center.data.models import ContactItem, DialogItem, RecordItem
from contact_center.data.sessions import dialog_item
from contact_center.domain.contact import Channel, ContactSnapshot, ContactState
from contact_center.domain.queueing import queue_sort_key
from contact_center.services.routing.ports import (
    CallDialog,
    ContactRecord,
    LiveContact,
    SeatProfile,
    Segment,
)


def segments_from(value: Any) -> tuple[Segment, ...]:
    return tuple(Segment.from_dict(as_dict(segment)) for segment in (value or []))


def live_contact_from_item(item: ContactItem) -> LiveContact:
    created = int(item.created_at)
    snapshot = ContactSnapshot(
        contact_id=item.contact_id,
        channel=Channel(item.channel or Channel.VOICE.value),
        state=ContactState(item.state),
        version=int(item.version),
        initiated_at_ms=created,
        state_since_ms=created,
        queue_id=item.queue_id,
        priority=int(item.priority),
        enqueued_at_ms=optional_int(item.enqueued_at),
        seat_id=item.offered_seat,
        trunk_id=item.trunk_id,
        rona_attempts=int(item.rona_attempts or 0),
        connected_at_ms=optional_int(item.answered_at),
    )
    return LiveContact(
        snapshot=snapshot,
        called=item.called or "",
        caller=item.caller or "",
        merchant_id=item.merchant_id,
        edge_task_id=item.owning_edge,
        offered_at_ms=optional_int(item.offered_at),
        segments=segments_from(item.segments),
        seat_version=optional_int(item.seat_version),
        unlisted=snapshot.state is ContactState.QUEUED and item.gsi1pk is None,
        recording_key=item.recording_key,
        seat_profile=seat_profile_from(item.seat_profile) if item.offered_seat else None,
    )


def seat_profile_map(profile: SeatProfile) -> dict[str, Any]:
    return {
        "skills": dict(profile.skills),
        "queues": dict(profile.queues),
        "sip_username": profile.sip_username,
        "ring_timeout_seconds": profile.ring_timeout_seconds,
    }


def seat_profile_from(stored: Any) -> SeatProfile | None:
    """The stored profile, or None when there is none or it does not read (the seat is read instead)."""
    profile = as_dict(stored)
    try:
        return SeatProfile(
            {str(name): int(level) for name, level in as_dict(profile["skills"]).items()},
            {str(queue_id): int(priority) for queue_id, priority in as_dict(profile["queues"]).items()},
            str(profile["sip_username"]),
            int(profile["ring_timeout_seconds"]),
        )
    except (KeyError, TypeError, ValueError):
        return None


def contact_item(contact: LiveContact) -> ContactItem:
    """A new live contact (``ContactItems.create`` sets its keys and queue index entry)."""
    snapshot = contact.snapshot
    return ContactItem(
        contact_id=contact.contact_id,
        channel=snapshot.channel.value,
        state=snapshot.state.value,
        merchant_id=contact.merchant_id,
        queue_id=snapshot.queue_id,
        priority=snapshot.priority,
        enqueued_at=snapshot.enqueued_at_ms,
        caller=contact.caller,
        called=contact.called,
        owning_edge=contact.edge_task_id,
        trunk_id=snapshot.trunk_id,
        rona_attempts=snapshot.rona_attempts,
        segments=[segment.to_dict() for segment in contact.segments],
        created_at=snapshot.initiated_at_ms,
        version=snapshot.version,
        # An agent's outbound call is created on its agent (None for a call that arrives).
        offered_seat=snapshot.seat_id,
        seat_version=contact.seat_version if snapshot.seat_id else None,
        offered_at=contact.offered_at_ms,
        seat_profile=seat_profile_map(contact.seat_profile) if contact.seat_profile is not None else None,
    )


def contact_fields(contact: LiveContact) -> dict[str, Any]:
    """Every attribute a state change can touch; None removes it (see ContactItems.update)."""
    snapshot = contact.snapshot
    queued = (
        snapshot.state is ContactState.QUEUED and snapshot.queue_id and snapshot.enqueued_at_ms is not None
    )
    fields: dict[str, Any] = {
        "state": snapshot.state.value,
        "queue_id": snapshot.queue_id,
        "priority": snapshot.priority,
        "enqueued_at": snapshot.enqueued_at_ms,
        "offered_seat": snapshot.seat_id,
        "seat_version": contact.seat_version if snapshot.seat_id else None,
        "offered_at": contact.offered_at_ms,
        "answered_at": snapshot.connected_at_ms,
        "trunk_id": snapshot.trunk_id,
        "rona_attempts": snapshot.rona_attempts,
        "segments": [segment.to_dict() for segment in contact.segments],
        "recording_key": contact.recording_key,
        "seat_profile": (
            seat_profile_map(contact.seat_profile)
            if snapshot.seat_id and contact.seat_profile is not None
            else None
        ),
        # Queue index membership follows the state: only QUEUED contacts are in it.
        "gsi1pk": keys.queued_index_pk(snapshot.queue_id) if queued and snapshot.queue_id else None,
        "gsi1sk": None,
    }
    if queued and snapshot.queue_id and snapshot.enqueued_at_ms is not None:
        fields["gsi1sk"] = queue_sort_key(snapshot.priority, snapshot.enqueued_at_ms, contact.contact_id)
    # The task holding the call (none for a callback waiting at its place: no lost task may end it).
    edge = contact.edge_task_id
    fields["owning_edge"] = edge
    fields["gsi2pk"] = keys.edge_contacts_index_pk(edge, contact.contact_id) if edge else None
    fields["gsi2sk"] = keys.edge_contacts_index_sk(snapshot.state.value, contact.contact_id) if edge else None
    return fields


def contact_ref(contact: LiveContact) -> ContactItem:
    """The contact's key, owner and the version it was read at: what a conditional write needs."""
    return ContactItem(
        pk=keys.contact_pk(contact.contact_id),
        sk=keys.CONTACT_SK,
        contact_id=contact.contact_id,
        merchant_id=contact.merchant_id,
        owning_edge=contact.edge_task_id,
        version=contact.version,
    )


def record_from_item(item: RecordItem) -> ContactRecord:
    return ContactRecord(
        contact_id=item.contact_id,
        channel=item.channel,
        called=item.called or "",
        caller=item.caller or "",
        merchant_id=item.merchant_id,
        queue_id=item.queue_id,
        seat_id=item.seat_id,
        trunk_id=item.trunk_id,
        created_at_ms=int(item.created_at),
        enqueued_at_ms=optional_int(item.enqueued_at),
        offered_at_ms=optional_int(item.offered_at),
        answered_at_ms=optional_int(item.answered_at),
        ended_at_ms=int(item.ended_at),
        hangup_side=item.hangup_side,
        hangup_cause=item.hangup_cause,
        rona_attempts=int(item.rona_attempts or 0),
        segments=segments_from(item.segments),
        side=item.side or "switchboard",
        recording_key=item.recording_key,
    )


def record_item(record: ContactRecord, retention_days: int | None = None) -> RecordItem:
    """The record's item; with ``retention_days``, the table's TTL removes it that long after the end."""
    expires_at = None if retention_days is None else record.ended_at_ms // 1000 + retention_days * 86_400
    return RecordItem(
        expires_at=expires_at,
        contact_id=record.contact_id,
        channel=record.channel,
        merchant_id=record.merchant_id,
        queue_id=record.queue_id,
        caller=record.caller,
        called=record.called,
        seat_id=record.seat_id,
        trunk_id=record.trunk_id,
        created_at=record.created_at_ms,
        enqueued_at=record.enqueued_at_ms,
        offered_at=record.offered_at_ms,
        answered_at=record.answered_at_ms,
        ended_at=record.ended_at_ms,
        hangup_side=record.hangup_side,
        hangup_cause=record.hangup_cause,
        rona_attempts=record.rona_attempts,
        segments=[segment.to_dict() for segment in record.segments],
        side=record.side,
        recording_key=record.recording_key,
    )


def dialog_items(contact_id: str, dialog: CallDialog, now: int) -> list[DialogItem]:
    """The answered call's dialog under each of its keys (``now`` in epoch seconds, the TTL's unit)."""
    return [
        dialog_item(
            key,
            contact_id=contact_id,
            owner=dialog.owner,
            state="confirmed",
            legs=dict(dialog.legs),
            now=now,
            ttl_seconds=dialog.ttl_seconds,
        )
        for key in dialog.keys
    ]

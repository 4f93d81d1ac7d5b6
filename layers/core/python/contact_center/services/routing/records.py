"""Pure reckoning over a live contact: its record (CDR), its queue statistics outcome, its segments,
and the seat as its offer or connection left it. No port is called here."""

from __future__ import annotations

from collections.abc import Sequence

from contact_center.domain.agent_state import AgentSnapshot, AgentState
from contact_center.domain.callbacks import (
    CallbackAttempt,
    CallbackPolicy,
    CallbackVerdict,
    DialResult,
    callback_state,
)
from contact_center.domain.contact import ContactSnapshot, ContactState, HangupCause, HangupSide
from contact_center.domain.migration import Side
from contact_center.domain.queueing import QueuedContact

from ..errors import NotFoundError
from .decisions import Acknowledged
from .ports import ContactRecord, LiveContact, Segment


def merchant_of(contact: LiveContact) -> str:
    if contact.merchant_id is None:
        raise NotFoundError("merchant of contact", contact.contact_id)
    return contact.merchant_id


def queued(contact: LiveContact) -> QueuedContact:
    snapshot = contact.snapshot
    return QueuedContact(
        contact_id=contact.contact_id,
        queue_id=snapshot.queue_id or "",
        enqueued_at_ms=snapshot.enqueued_at_ms or 0,
        priority=snapshot.priority,
        channel=snapshot.channel,
    )


def hops(contact: LiveContact) -> int:
    """Queues the contact has already left (each left a "queue" segment)."""
    return sum(1 for segment in contact.segments if segment.kind == "queue")


def is_callback(contact: LiveContact) -> bool:
    """The caller left a callback: nobody holds its call, an edge task dials it back."""
    return any(segment.kind == "callback" for segment in contact.segments)


def callback_attempts(contact: LiveContact) -> list[CallbackAttempt]:
    """The dials of a callback's customer so far, oldest first (each a "dial" segment)."""
    return [
        CallbackAttempt(
            segment.started_at_ms, segment.ended_at_ms, DialResult(segment.outcome), segment.status
        )
        for segment in contact.segments
        if segment.kind == "dial"
    ]


def callback_waits(contact: LiveContact, policy: CallbackPolicy | None, now_ms: int) -> bool:
    """A callback whose last dial failed too recently to dial again (it keeps its place meanwhile)."""
    if policy is None or not is_callback(contact):
        return False
    return callback_state(policy, callback_attempts(contact), now_ms).verdict is CallbackVerdict.WAIT


def misses_in_current_queue(contact: LiveContact) -> int:
    since = contact.snapshot.enqueued_at_ms or 0
    return sum(1 for s in contact.segments if s.kind == "agent" and s.started_at_ms >= since)


def outcome_of(snapshot: ContactSnapshot) -> str | None:
    """The queue counter an ended contact bumps: "answered", "abandoned" (the caller left while
    waiting) or "timed_out" (the queue gave up on it), as Amazon Connect keeps a contact transferred
    out of its queue apart from its abandons. None when it was in no queue."""
    if snapshot.queue_id is None:
        return None  # a number routed straight to the legacy trunk: the legacy centre counts it
    if snapshot.connected_at_ms is not None and snapshot.state is ContactState.CONNECTED:
        return "answered"  # (a transferred contact keeps its first answer: it must be talking here)
    if snapshot.state is ContactState.FORWARDED:
        return "timed_out"  # overflowed to the legacy trunk at max wait (or the RONA limit)
    return "abandoned"


def waiting_hung_up(contact: LiveContact, side: HangupSide, cause: HangupCause) -> bool:
    """A caller whose call was answered, then transferred, hung up while waiting for the next
    agent: for the queue it waits in, that is an abandon, whatever the BYE said."""
    waiting = contact.snapshot.state in (ContactState.QUEUED, ContactState.OFFERED)
    return waiting and side is HangupSide.CUSTOMER and cause is HangupCause.NORMAL_CLEARING


def seat_as_left(contact: LiveContact) -> AgentSnapshot | None:
    """The offered or connected seat as this contact's offer or connection left it, without a read.

    While the contact is OFFERED the seat is RESERVED for it, while CONNECTED it is ON_CONTACT
    for it, at the version the contact recorded: nothing but the router's transitions out of
    those states moves such a seat (the table has no agent command from them), and each of
    those also changes the contact. A missed offer writes the seat just before the contact; in
    that window the guess is wrong, the condition fails and the caller reads the seat.

    The snapshot holds the state, the contact and the version: all that Connect and EndContact
    read (they set every other field from the command and the clock). ReleaseReservation also
    hands back the agent's place in line, so it is computed from a seat read. None when the
    seat must be read.
    """
    snapshot = contact.snapshot
    if snapshot.seat_id is None or contact.seat_version is None:
        return None  # written before the contact recorded it: read the seat
    state = {
        ContactState.OFFERED: AgentState.RESERVED,
        ContactState.CONNECTED: AgentState.ON_CONTACT,
        ContactState.DIALING: AgentState.ON_CONTACT,
    }
    if snapshot.state not in state:
        return None
    return AgentSnapshot(
        seat_id=snapshot.seat_id,
        state=state[snapshot.state],
        version=contact.seat_version,
        contact_id=contact.contact_id,
    )


def record_for(contact: LiveContact, ended: ContactSnapshot, now_ms: int) -> ContactRecord:
    snapshot = contact.snapshot
    return ContactRecord(
        contact_id=contact.contact_id,
        channel=snapshot.channel.value,
        called=contact.called,
        caller=contact.caller,
        merchant_id=contact.merchant_id,
        queue_id=snapshot.queue_id,
        seat_id=snapshot.seat_id,
        trunk_id=snapshot.trunk_id,
        created_at_ms=snapshot.initiated_at_ms,
        enqueued_at_ms=snapshot.enqueued_at_ms,
        offered_at_ms=contact.offered_at_ms,
        answered_at_ms=snapshot.connected_at_ms,
        ended_at_ms=now_ms,
        hangup_side=ended.hangup_side.value if ended.hangup_side else None,
        hangup_cause=ended.hangup_cause.value if ended.hangup_cause else None,
        rona_attempts=snapshot.rona_attempts,
        segments=(*contact.segments, *final_segments(contact, ended, now_ms)),
        side=side_of(contact.snapshot).value,
        recording_key=contact.recording_key,
    )


def side_of(snapshot: ContactSnapshot) -> Side:
    """A contact that ends forwarded was the legacy centre's to handle (a number in legacy mode,
    its caller's share of a split, or a queue's overflow); any other, ours (a fallback from an
    unreachable legacy side included: it ends queued or connected here)."""
    return Side.LEGACY if snapshot.state is ContactState.FORWARDED else Side.SWITCHBOARD


def final_segments(contact: LiveContact, ended: ContactSnapshot, now_ms: int) -> Sequence[Segment]:
    """The legs still open when the contact ends, closed at ``now_ms``."""
    snapshot = contact.snapshot
    cause = ended.hangup_cause.value if ended.hangup_cause else "ended"
    if snapshot.state is ContactState.FORWARDED:
        since = contact.segments[-1].ended_at_ms if contact.segments else snapshot.initiated_at_ms
        return [Segment("trunk", since, now_ms, cause, trunk_id=snapshot.trunk_id)]
    if snapshot.queue_id is None and snapshot.trunk_id is not None and snapshot.seat_id is not None:
        # An agent's outbound call: one leg, from the dial, on its agent and trunk.
        return [
            Segment(
                "outbound",
                snapshot.initiated_at_ms,
                now_ms,
                cause,
                seat_id=snapshot.seat_id,
                trunk_id=snapshot.trunk_id,
            )
        ]
    if snapshot.queue_id is None or snapshot.enqueued_at_ms is None:
        return []
    if snapshot.state is ContactState.QUEUED:
        return [Segment("queue", snapshot.enqueued_at_ms, now_ms, cause, queue_id=snapshot.queue_id)]
    offered_at = contact.offered_at_ms or now_ms
    queue_leg = Segment("queue", snapshot.enqueued_at_ms, offered_at, "offered", queue_id=snapshot.queue_id)
    return [
        queue_leg,
        Segment("agent", offered_at, now_ms, cause, queue_id=snapshot.queue_id, seat_id=snapshot.seat_id),
    ]


def ended_ack(record: ContactRecord, stale: bool = False) -> Acknowledged:
    """The answer for a contact that is over, from its record."""
    return Acknowledged(
        record.contact_id, ContactState.ENDED.value, record.seat_id, record.merchant_id, stale=stale
    )

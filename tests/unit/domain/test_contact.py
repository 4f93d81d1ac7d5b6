"""The contact lifecycle: table rows, illegal pairs, RONA and hang-up records."""

from __future__ import annotations

from dataclasses import replace

import pytest

from contact_center.domain.contact import (
    MAX_RONA_ATTEMPTS,
    TRANSITIONS,
    Channel,
    ConnectAgent,
    ContactCommand,
    ContactSnapshot,
    ContactState,
    ContactTrigger,
    DialOut,
    Enqueue,
    ForwardToLegacy,
    HangUp,
    HangupCause,
    HangupSide,
    LeaveCallback,
    MissContactOffer,
    Offer,
    RetryCallback,
    Transfer,
    apply_contact,
)
from contact_center.domain.errors import IllegalTransitionError, SeatMismatchError, ValidationError

S = ContactState
T = ContactTrigger
T0 = 1_700_000_000_000


def contact_in(state: ContactState) -> ContactSnapshot:
    queued = state in (S.QUEUED, S.OFFERED, S.CONNECTED, S.ENDED)
    return ContactSnapshot(
        contact_id="c-1",
        state=state,
        version=3,
        initiated_at_ms=T0,
        state_since_ms=T0,
        queue_id="sales" if queued else None,
        enqueued_at_ms=T0 + 100 if queued else None,
        seat_id="seat-1" if state in (S.OFFERED, S.CONNECTED, S.DIALING) else None,
    )


COMMANDS: dict[ContactTrigger, ContactCommand] = {
    T.ENQUEUE: Enqueue("support", priority=2),
    T.OFFER: Offer("seat-1"),
    T.CONNECT: ConnectAgent("seat-1"),
    T.MISS_OFFER: MissContactOffer("seat-1"),
    T.FORWARD_TO_LEGACY: ForwardToLegacy("legacy-1"),
    T.TRANSFER: Transfer("billing"),
    T.DIAL_OUT: DialOut("seat-1", "trunk-1"),
    T.LEAVE_CALLBACK: LeaveCallback(),
    T.RETRY_CALLBACK: RetryCallback("seat-1"),
    T.HANG_UP: HangUp(HangupCause.CALLER_ABANDONED, HangupSide.CUSTOMER),
}

LEGAL = sorted(TRANSITIONS.items(), key=str)
ILLEGAL = sorted(((s, t) for s in ContactState for t in ContactTrigger if (s, t) not in TRANSITIONS), key=str)


@pytest.mark.parametrize(("pair", "target"), LEGAL, ids=[f"{s}-{t}" for (s, t), _ in LEGAL])
def test_legal_transition(pair: tuple[ContactState, ContactTrigger], target: ContactState) -> None:
    source, trigger = pair

    result = apply_contact(contact_in(source), COMMANDS[trigger], T0 + 5_000)

    assert result.contact.state is target
    assert result.contact.version == 4
    assert result.contact.state_since_ms == T0 + 5_000
    assert (result.event.from_state, result.event.to_state, result.event.trigger) == (source, target, trigger)
    assert (result.event.occurred_at_ms, result.event.version) == (T0 + 5_000, 4)


def test_the_table_rows_are_the_lifecycle() -> None:
    assert dict(TRANSITIONS) == {
        (S.INITIATED, T.ENQUEUE): S.QUEUED,
        (S.INITIATED, T.FORWARD_TO_LEGACY): S.FORWARDED,
        (S.INITIATED, T.HANG_UP): S.ENDED,
        (S.INITIATED, T.DIAL_OUT): S.DIALING,
        (S.DIALING, T.CONNECT): S.CONNECTED,
        (S.DIALING, T.HANG_UP): S.ENDED,
        (S.QUEUED, T.ENQUEUE): S.QUEUED,
        (S.QUEUED, T.OFFER): S.OFFERED,
        (S.QUEUED, T.FORWARD_TO_LEGACY): S.FORWARDED,
        (S.QUEUED, T.HANG_UP): S.ENDED,
        (S.QUEUED, T.LEAVE_CALLBACK): S.QUEUED,
        (S.OFFERED, T.RETRY_CALLBACK): S.QUEUED,
        (S.OFFERED, T.CONNECT): S.CONNECTED,
        (S.OFFERED, T.MISS_OFFER): S.QUEUED,
        (S.OFFERED, T.HANG_UP): S.ENDED,
        (S.CONNECTED, T.TRANSFER): S.QUEUED,
        (S.CONNECTED, T.HANG_UP): S.ENDED,
        (S.FORWARDED, T.HANG_UP): S.ENDED,
        (S.FORWARDED, T.ENQUEUE): S.QUEUED,
    }


@pytest.mark.parametrize(("source", "trigger"), ILLEGAL, ids=[f"{s}-{t}" for s, t in ILLEGAL])
def test_every_pair_outside_the_table_is_illegal(source: ContactState, trigger: ContactTrigger) -> None:
    with pytest.raises(IllegalTransitionError, match=f"^contact 'c-1' cannot '{trigger}' while '{source}'$"):
        apply_contact(contact_in(source), COMMANDS[trigger], T0)


def test_a_missed_offer_requeues_with_the_original_age_and_counts_the_attempt() -> None:
    contact = contact_in(S.QUEUED)
    for attempt in range(1, MAX_RONA_ATTEMPTS + 1):
        assert not contact.rona_limit_reached()
        offered = apply_contact(contact, Offer(f"seat-{attempt}"), T0 + attempt * 1_000).contact
        result = apply_contact(offered, MissContactOffer(f"seat-{attempt}"), T0 + attempt * 1_000 + 500)
        contact = result.contact
        assert contact.state is S.QUEUED
        assert contact.rona_attempts == attempt
        assert contact.enqueued_at_ms == T0 + 100
        assert contact.seat_id is None
        assert result.event.seat_id == f"seat-{attempt}"
        assert result.event.rona_attempts == attempt
    assert contact.rona_limit_reached()


def test_overflow_moves_the_contact_and_restarts_its_wait() -> None:
    result = apply_contact(contact_in(S.QUEUED), Enqueue("overflow-q", priority=1), T0 + 9_000)

    assert (result.contact.queue_id, result.contact.priority) == ("overflow-q", 1)
    assert result.contact.enqueued_at_ms == T0 + 9_000


def test_hang_up_records_cause_side_and_time() -> None:
    connected = apply_contact(contact_in(S.OFFERED), ConnectAgent("seat-1"), T0 + 1_000).contact
    result = apply_contact(connected, HangUp(HangupCause.NORMAL_CLEARING, HangupSide.AGENT), T0 + 61_000)

    assert result.contact.is_final
    assert result.contact.connected_at_ms == T0 + 1_000
    assert result.contact.ended_at_ms == T0 + 61_000
    assert (result.event.hangup_cause, result.event.hangup_side) == (
        HangupCause.NORMAL_CLEARING,
        HangupSide.AGENT,
    )


def test_a_second_hang_up_is_refused() -> None:
    ended = apply_contact(contact_in(S.CONNECTED), HangUp(), T0).contact
    with pytest.raises(IllegalTransitionError):
        apply_contact(ended, HangUp(), T0 + 1)


@pytest.mark.parametrize("command", [ConnectAgent("seat-2"), MissContactOffer("seat-2")])
def test_events_from_an_agent_not_offered_are_refused(command: ContactCommand) -> None:
    with pytest.raises(SeatMismatchError, match="offered to 'seat-1', not 'seat-2'"):
        apply_contact(contact_in(S.OFFERED), command, T0)


@pytest.mark.parametrize("channel", list(Channel))
def test_every_channel_has_the_same_lifecycle(channel: Channel) -> None:
    contact = ContactSnapshot.new("c-9", channel, now_ms=T0)
    for command in (Enqueue("q"), Offer("seat-1"), ConnectAgent("seat-1"), HangUp()):
        contact = apply_contact(contact, command, T0).contact
    assert (contact.channel, contact.state, contact.version) == (channel, S.ENDED, 4)


@pytest.mark.parametrize("priority", [0, 11, True])
def test_enqueue_priority_limits(priority: int) -> None:
    with pytest.raises(ValidationError, match="priority"):
        Enqueue("q", priority)


def test_channel_values() -> None:
    assert [c.value for c in Channel] == ["voice", "video", "chat", "email"]


def test_a_transfer_queues_the_contact_afresh_in_the_target_queue_and_keeps_the_first_answer() -> None:
    connected = replace(contact_in(S.CONNECTED), connected_at_ms=T0 + 2_000)
    moved = apply_contact(connected, Transfer("billing"), T0 + 60_000).contact
    assert (moved.state, moved.queue_id, moved.enqueued_at_ms, moved.seat_id) == (
        S.QUEUED,
        "billing",
        T0 + 60_000,
        None,
    )
    offered = apply_contact(
        apply_contact(moved, Offer("seat-2"), T0 + 61_000).contact, ConnectAgent("seat-2"), T0 + 63_000
    )
    assert offered.contact.connected_at_ms == T0 + 2_000

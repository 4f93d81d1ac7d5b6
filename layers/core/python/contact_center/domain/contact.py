"""The contact (interaction) lifecycle: channels, one transition table, hang-up cause and side.

A contact is one customer interaction on one channel. Voice comes first; video passes through the
same way; chat and e-mail are modelled so the ACD can route them with no change of shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from types import MappingProxyType
from typing import ClassVar

from .errors import IllegalTransitionError, SeatMismatchError, ValidationError

PRIORITY_MOST_URGENT = 1
PRIORITY_LEAST_URGENT = 10
DEFAULT_CONTACT_PRIORITY = 5
# After this many missed offers the router stops re-offering and ends or overflows the contact,
# so one caller cannot cycle through every unattended softphone in the centre.
MAX_RONA_ATTEMPTS = 3


class Channel(StrEnum):
    VOICE = "voice"
    VIDEO = "video"
    CHAT = "chat"
    EMAIL = "email"


class ContactState(StrEnum):
    INITIATED = "initiated"  # arrived, not yet routed
    QUEUED = "queued"
    OFFERED = "offered"  # an agent is reserved and ringing
    DIALING = "dialing"  # an agent's outbound call, the far end not answered yet
    CONNECTED = "connected"
    FORWARDED = "forwarded"  # handed to the legacy trunk during cut-over; we only await its end
    ENDED = "ended"


class ContactTrigger(StrEnum):
    ENQUEUE = "enqueue"
    OFFER = "offer"
    CONNECT = "connect"
    MISS_OFFER = "miss_offer"
    FORWARD_TO_LEGACY = "forward_to_legacy"
    TRANSFER = "transfer"
    DIAL_OUT = "dial_out"
    LEAVE_CALLBACK = "leave_callback"
    RETRY_CALLBACK = "retry_callback"
    HANG_UP = "hang_up"


class HangupSide(StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"
    SYSTEM = "system"


class HangupCause(StrEnum):
    NORMAL_CLEARING = "normal_clearing"
    CALLER_ABANDONED = "caller_abandoned"  # customer left before any agent answered
    QUEUE_TIMEOUT = "queue_timeout"  # max wait reached and the queue has no overflow
    NO_ELIGIBLE_AGENTS = "no_eligible_agents"
    RONA_LIMIT_REACHED = "rona_limit_reached"
    AGENT_UNREACHABLE = "agent_unreachable"
    NETWORK_FAILURE = "network_failure"
    SYSTEM_ERROR = "system_error"
    FORCED_RELEASE = "forced_release"  # an admin freed the seat stuck on it (both ends gone silent)
    CALLBACK_FAILED = "callback_failed"  # every dial of a callback's customer failed


@dataclass(frozen=True, slots=True)
class ContactStateChanged:
    """A contact moved through its lifecycle; the ENDED one carries the hang-up cause and side."""

    event_type: ClassVar[str] = "ContactStateChanged"

    contact_id: str
    channel: Channel
    from_state: ContactState
    to_state: ContactState
    trigger: ContactTrigger
    occurred_at_ms: int
    version: int
    queue_id: str | None = None
    seat_id: str | None = None
    rona_attempts: int = 0
    hangup_cause: HangupCause | None = None
    hangup_side: HangupSide | None = None


_S = ContactState
_T = ContactTrigger

# A contact is always enqueued before it is offered, even when an agent is free at once: the
# queue entry is what a missed offer (RONA) returns the contact to. ENQUEUE from QUEUED moves the
# contact to another queue (overflow). ENDED is final: a second BYE is a stale event, not a change.
TRANSITIONS: Mapping[tuple[ContactState, ContactTrigger], ContactState] = MappingProxyType(
    {
        (_S.INITIATED, _T.ENQUEUE): _S.QUEUED,
        (_S.INITIATED, _T.FORWARD_TO_LEGACY): _S.FORWARDED,
        (_S.INITIATED, _T.HANG_UP): _S.ENDED,
        # An agent's outbound call: on its agent from the start, connected when the far end answers.
        (_S.INITIATED, _T.DIAL_OUT): _S.DIALING,
        (_S.DIALING, _T.CONNECT): _S.CONNECTED,
        (_S.DIALING, _T.HANG_UP): _S.ENDED,
        (_S.QUEUED, _T.ENQUEUE): _S.QUEUED,
        (_S.QUEUED, _T.OFFER): _S.OFFERED,
        (_S.QUEUED, _T.FORWARD_TO_LEGACY): _S.FORWARDED,
        (_S.QUEUED, _T.HANG_UP): _S.ENDED,
        # The caller leaves a callback: it hangs up and keeps its place (``domain.callbacks``).
        (_S.QUEUED, _T.LEAVE_CALLBACK): _S.QUEUED,
        # A callback's customer did not answer: back in line at its place, for the next attempt.
        (_S.OFFERED, _T.RETRY_CALLBACK): _S.QUEUED,
        (_S.OFFERED, _T.CONNECT): _S.CONNECTED,
        (_S.OFFERED, _T.MISS_OFFER): _S.QUEUED,
        (_S.OFFERED, _T.HANG_UP): _S.ENDED,
        # A transfer hands the talking caller back to a queue (its own or another, or toward one
        # seat of it): the next agent is offered the contact as any queued one.
        (_S.CONNECTED, _T.TRANSFER): _S.QUEUED,
        (_S.CONNECTED, _T.HANG_UP): _S.ENDED,
        (_S.FORWARDED, _T.HANG_UP): _S.ENDED,
        # The legacy side was unreachable or failed: the number's own queue takes the caller.
        (_S.FORWARDED, _T.ENQUEUE): _S.QUEUED,
    }
)


def _check_priority(priority: int) -> None:
    if isinstance(priority, bool) or not PRIORITY_MOST_URGENT <= priority <= PRIORITY_LEAST_URGENT:
        raise ValidationError(
            "priority", f"must be an integer from {PRIORITY_MOST_URGENT} to {PRIORITY_LEAST_URGENT}"
        )


@dataclass(frozen=True, slots=True)
class Enqueue:
    queue_id: str
    priority: int = DEFAULT_CONTACT_PRIORITY

    def __post_init__(self) -> None:
        if not self.queue_id:
            raise ValidationError("queue_id", "must not be empty")
        _check_priority(self.priority)

    @property
    def trigger(self) -> ContactTrigger:
        return ContactTrigger.ENQUEUE


@dataclass(frozen=True, slots=True)
class Offer:
    seat_id: str

    def __post_init__(self) -> None:
        if not self.seat_id:
            raise ValidationError("seat_id", "must not be empty")

    @property
    def trigger(self) -> ContactTrigger:
        return ContactTrigger.OFFER


@dataclass(frozen=True, slots=True)
class ConnectAgent:
    seat_id: str

    @property
    def trigger(self) -> ContactTrigger:
        return ContactTrigger.CONNECT


@dataclass(frozen=True, slots=True)
class MissContactOffer:
    """The offered agent did not answer (RONA) or refused; the contact goes back to its queue."""

    seat_id: str

    @property
    def trigger(self) -> ContactTrigger:
        return ContactTrigger.MISS_OFFER


@dataclass(frozen=True, slots=True)
class ForwardToLegacy:
    trunk_id: str

    @property
    def trigger(self) -> ContactTrigger:
        return ContactTrigger.FORWARD_TO_LEGACY


@dataclass(frozen=True, slots=True)
class DialOut:
    """The agent on ``seat_id`` calls out over ``trunk_id``."""

    seat_id: str
    trunk_id: str

    def __post_init__(self) -> None:
        if not self.seat_id:
            raise ValidationError("seat_id", "must not be empty")

    @property
    def trigger(self) -> ContactTrigger:
        return ContactTrigger.DIAL_OUT


@dataclass(frozen=True, slots=True)
class Transfer:
    """The connected agent hands the caller to ``queue_id``; the caller waits there from now."""

    queue_id: str

    def __post_init__(self) -> None:
        if not self.queue_id:
            raise ValidationError("queue_id", "must not be empty")

    @property
    def trigger(self) -> ContactTrigger:
        return ContactTrigger.TRANSFER


@dataclass(frozen=True, slots=True)
class LeaveCallback:
    """The queued caller asked to be called back: nobody holds its call any more."""

    @property
    def trigger(self) -> ContactTrigger:
        return ContactTrigger.LEAVE_CALLBACK


@dataclass(frozen=True, slots=True)
class RetryCallback:
    """The customer of a callback offered to ``seat_id`` was dialled and did not answer."""

    seat_id: str

    @property
    def trigger(self) -> ContactTrigger:
        return ContactTrigger.RETRY_CALLBACK


@dataclass(frozen=True, slots=True)
class HangUp:
    cause: HangupCause = HangupCause.NORMAL_CLEARING
    side: HangupSide = HangupSide.CUSTOMER

    @property
    def trigger(self) -> ContactTrigger:
        return ContactTrigger.HANG_UP


ContactCommand = (
    Enqueue
    | Offer
    | DialOut
    | ConnectAgent
    | MissContactOffer
    | ForwardToLegacy
    | Transfer
    | LeaveCallback
    | RetryCallback
    | HangUp
)


@dataclass(frozen=True, slots=True)
class ContactSnapshot:
    """One contact at one version. ``enqueued_at_ms`` and ``priority`` form its place in the queue."""

    contact_id: str
    channel: Channel = Channel.VOICE
    state: ContactState = ContactState.INITIATED
    version: int = 0
    initiated_at_ms: int = 0
    state_since_ms: int = 0
    queue_id: str | None = None
    priority: int = DEFAULT_CONTACT_PRIORITY
    enqueued_at_ms: int | None = None
    seat_id: str | None = None
    trunk_id: str | None = None
    rona_attempts: int = 0
    connected_at_ms: int | None = None
    ended_at_ms: int | None = None
    hangup_cause: HangupCause | None = None
    hangup_side: HangupSide | None = None

    @classmethod
    def new(cls, contact_id: str, channel: Channel, now_ms: int) -> ContactSnapshot:
        if not contact_id:
            raise ValidationError("contact_id", "must not be empty")
        return cls(contact_id=contact_id, channel=channel, initiated_at_ms=now_ms, state_since_ms=now_ms)

    @property
    def is_final(self) -> bool:
        return self.state is ContactState.ENDED

    def rona_limit_reached(self, limit: int = MAX_RONA_ATTEMPTS) -> bool:
        return self.rona_attempts >= limit


@dataclass(frozen=True, slots=True)
class ContactTransition:
    contact: ContactSnapshot
    event: ContactStateChanged


def next_contact_state(state: ContactState, trigger: ContactTrigger, contact_id: str = "?") -> ContactState:
    try:
        return TRANSITIONS[(state, trigger)]
    except KeyError:
        raise IllegalTransitionError("contact", contact_id, state.value, trigger.value) from None


def _with_command(contact: ContactSnapshot, command: ContactCommand, now_ms: int) -> ContactSnapshot:
    match command:
        case Enqueue(queue_id=queue_id, priority=priority):
            # A new queue measures its own max wait, so the clock restarts on overflow too.
            return replace(contact, queue_id=queue_id, priority=priority, enqueued_at_ms=now_ms, seat_id=None)
        case Offer(seat_id=seat_id):
            return replace(contact, seat_id=seat_id)
        case DialOut(seat_id=seat_id, trunk_id=trunk_id):
            return replace(contact, seat_id=seat_id, trunk_id=trunk_id)
        case ConnectAgent():
            # A transferred contact was answered by its first agent: the record keeps that answer.
            answered = contact.connected_at_ms if contact.connected_at_ms is not None else now_ms
            return replace(contact, connected_at_ms=answered)
        case MissContactOffer():
            # Back to the same queue with its original enqueue time: the caller keeps its place.
            return replace(contact, seat_id=None, rona_attempts=contact.rona_attempts + 1)
        case LeaveCallback():
            # Priority and enqueue time untouched: that is the place the callback keeps.
            return contact
        case RetryCallback():
            # Its place again, and no missed offer counted: the agent answered, the customer did not.
            return replace(contact, seat_id=None)
        case Transfer(queue_id=queue_id):
            return replace(contact, queue_id=queue_id, enqueued_at_ms=now_ms, seat_id=None)
        case ForwardToLegacy(trunk_id=trunk_id):
            return replace(contact, trunk_id=trunk_id, seat_id=None)
        case HangUp(cause=cause, side=side):
            return replace(contact, ended_at_ms=now_ms, hangup_cause=cause, hangup_side=side)


def apply_contact(contact: ContactSnapshot, command: ContactCommand, now_ms: int) -> ContactTransition:
    """Apply ``command`` at ``now_ms``: the next snapshot (version + 1) and its ContactStateChanged.

    Raises IllegalTransitionError for a pair missing from TRANSITIONS and SeatMismatchError when
    a connect or missed offer names an agent other than the one offered.
    """
    target = next_contact_state(contact.state, command.trigger, contact.contact_id)
    if (
        isinstance(command, ConnectAgent | MissContactOffer | RetryCallback)
        and command.seat_id != contact.seat_id
    ):
        raise SeatMismatchError(contact.contact_id, contact.seat_id, command.seat_id)
    new = replace(
        _with_command(contact, command, now_ms),
        state=target,
        version=contact.version + 1,
        state_since_ms=now_ms,
    )
    event = ContactStateChanged(
        contact_id=contact.contact_id,
        channel=contact.channel,
        from_state=contact.state,
        to_state=target,
        trigger=command.trigger,
        occurred_at_ms=now_ms,
        version=new.version,
        queue_id=new.queue_id,
        seat_id=new.seat_id or contact.seat_id,
        rona_attempts=new.rona_attempts,
        hangup_cause=new.hangup_cause,
        hangup_side=new.hangup_side,
    )
    return ContactTransition(new, event)

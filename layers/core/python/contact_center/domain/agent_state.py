"""The agent state machine: one transition table, imperative commands, immutable snapshots.

A transition is pure: ``apply(agent, command, now_ms)`` returns the next snapshot (version + 1)
and the ``AgentStateChanged`` fact. The data layer persists it with a conditional write on the
previous version, which turns AVAILABLE -> RESERVED into an atomic claim: two calls racing for the
same agent both compute a reservation, only one write succeeds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from types import MappingProxyType
from typing import ClassVar

from .errors import ContactMismatchError, IllegalTransitionError, ValidationError


class AgentState(StrEnum):
    OFFLINE = "offline"
    AVAILABLE = "available"
    RESERVED = "reserved"  # a contact is being offered (the agent's phone rings)
    ON_CONTACT = "on_contact"
    AFTER_CONTACT_WORK = "after_contact_work"  # timed wrap-up, length set per queue
    NOT_READY = "not_ready"
    # Missed or refused an offer: only the agent clears it. Unreachable (reason ``unreachable``): the
    # routing sweep clears it once the phone is registered again.
    NOT_RESPONDING = "not_responding"


class AgentTrigger(StrEnum):
    LOG_IN = "log_in"
    GO_AVAILABLE = "go_available"
    GO_NOT_READY = "go_not_ready"
    RESERVE = "reserve"
    DIAL_OUT = "dial_out"
    CONNECT = "connect"
    REJECT_BUSY = "reject_busy"
    MISS_OFFER = "miss_offer"
    RELEASE_RESERVATION = "release_reservation"
    END_CONTACT = "end_contact"
    END_CONTACT_WITHOUT_WRAP_UP = "end_contact_without_wrap_up"
    FINISH_WRAP_UP = "finish_wrap_up"
    LOG_OUT = "log_out"


class NotReadyReason(StrEnum):
    """Reason codes offered to agents; free text within ``NOT_READY_REASON_MAX_LENGTH`` is also allowed."""

    BREAK = "break"
    LUNCH = "lunch"
    MEETING = "meeting"
    TRAINING = "training"
    BACK_OFFICE = "back_office"


class SystemReason(StrEnum):
    """Reasons the system sets itself, so reports can tell them from an agent's own choice."""

    MISSED_OFFER = "missed_offer"
    REJECTED_BUSY = "rejected_busy"
    # The phone could not be reached at all (no registration, a transport failure, a dead flow):
    # not the agent's doing, so a registration found again lets the system make them available.
    UNREACHABLE = "unreachable"


NOT_READY_REASON_MAX_LENGTH = 64
WRAP_UP_SECONDS_MAX = 3600


@dataclass(frozen=True, slots=True)
class AgentStateChanged:
    """An agent moved from one state to another (or changed its not-ready reason)."""

    event_type: ClassVar[str] = "AgentStateChanged"

    seat_id: str
    from_state: AgentState
    to_state: AgentState
    trigger: AgentTrigger
    occurred_at_ms: int
    version: int
    reason: str | None = None
    contact_id: str | None = None
    wrap_up_deadline_ms: int | None = None


_S = AgentState
_T = AgentTrigger

# The whole machine. A pair that is not here is illegal. Notes on the less obvious rows:
# - LOG_IN lands in NOT_READY: registering a softphone must never pull a call before the agent
#   says so.
# - LOG_OUT (the agent signs out, over the API or its desk) is legal from every idle state and
#   refused while RESERVED or ON_CONTACT: the contact must be released or ended first, otherwise a
#   caller would be left bridged to nobody. Leaving AVAILABLE so removes the seat's availability
#   entries in the same transaction, as every other way out of AVAILABLE (``data.availability``).
# - REJECT_BUSY and MISS_OFFER both go to NOT_RESPONDING: offering again to a phone that just
#   refused or ignored a call would bounce every queued caller off the same seat.
# - Repeating GO_AVAILABLE / GO_NOT_READY / LOG_OUT is legal and a no-op (see ``apply``), so the
#   API and softphone re-registrations are idempotent.
TRANSITIONS: Mapping[tuple[AgentState, AgentTrigger], AgentState] = MappingProxyType(
    {
        (_S.OFFLINE, _T.LOG_IN): _S.NOT_READY,
        # An agent logs in by choosing a state at the desk (HTTP API), registered phone or not.
        (_S.OFFLINE, _T.GO_AVAILABLE): _S.AVAILABLE,
        (_S.OFFLINE, _T.GO_NOT_READY): _S.NOT_READY,
        (_S.OFFLINE, _T.LOG_OUT): _S.OFFLINE,
        (_S.AVAILABLE, _T.GO_AVAILABLE): _S.AVAILABLE,
        (_S.AVAILABLE, _T.GO_NOT_READY): _S.NOT_READY,
        (_S.AVAILABLE, _T.RESERVE): _S.RESERVED,
        # DIAL_OUT: the agent's own phone calls a customer; it is busy from the dial, so no offer
        # rings it meanwhile. Allowed while free, not ready (a callback list) or wrapping up.
        (_S.AVAILABLE, _T.DIAL_OUT): _S.ON_CONTACT,
        (_S.AVAILABLE, _T.LOG_OUT): _S.OFFLINE,
        (_S.RESERVED, _T.CONNECT): _S.ON_CONTACT,
        (_S.RESERVED, _T.REJECT_BUSY): _S.NOT_RESPONDING,
        (_S.RESERVED, _T.MISS_OFFER): _S.NOT_RESPONDING,
        (_S.RESERVED, _T.RELEASE_RESERVATION): _S.AVAILABLE,
        (_S.ON_CONTACT, _T.END_CONTACT): _S.AFTER_CONTACT_WORK,
        (_S.ON_CONTACT, _T.END_CONTACT_WITHOUT_WRAP_UP): _S.AVAILABLE,
        (_S.AFTER_CONTACT_WORK, _T.FINISH_WRAP_UP): _S.AVAILABLE,
        (_S.AFTER_CONTACT_WORK, _T.GO_AVAILABLE): _S.AVAILABLE,
        (_S.AFTER_CONTACT_WORK, _T.GO_NOT_READY): _S.NOT_READY,
        (_S.AFTER_CONTACT_WORK, _T.DIAL_OUT): _S.ON_CONTACT,
        (_S.AFTER_CONTACT_WORK, _T.LOG_OUT): _S.OFFLINE,
        (_S.NOT_READY, _T.GO_AVAILABLE): _S.AVAILABLE,
        (_S.NOT_READY, _T.GO_NOT_READY): _S.NOT_READY,
        (_S.NOT_READY, _T.DIAL_OUT): _S.ON_CONTACT,
        (_S.NOT_READY, _T.LOG_OUT): _S.OFFLINE,
        (_S.NOT_RESPONDING, _T.GO_AVAILABLE): _S.AVAILABLE,
        (_S.NOT_RESPONDING, _T.GO_NOT_READY): _S.NOT_READY,
        (_S.NOT_RESPONDING, _T.LOG_OUT): _S.OFFLINE,
    }
)

ACCEPTING_OFFERS_STATES: frozenset[AgentState] = frozenset({AgentState.AVAILABLE})
LOGGED_IN_STATES: frozenset[AgentState] = frozenset(AgentState) - {AgentState.OFFLINE}
# The HTTP API may only express an agent's own choice (available, not ready, signed out); every
# other state is driven by calls.
API_SETTABLE_STATES: frozenset[AgentState] = frozenset(
    {AgentState.AVAILABLE, AgentState.NOT_READY, AgentState.OFFLINE}
)
# Where an agent may sign out from: every state not bound to a live contact. The table's LOG_OUT rows
# are exactly these (a unit test holds them equal).
IDLE_STATES: frozenset[AgentState] = frozenset(AgentState) - {AgentState.RESERVED, AgentState.ON_CONTACT}


def check_not_ready_reason(reason: str) -> None:
    """Free text is allowed, within limits a report column and a softphone label can show."""
    if not reason.strip():
        raise ValidationError("reason", "must not be blank")
    if len(reason) > NOT_READY_REASON_MAX_LENGTH:
        raise ValidationError("reason", f"must be at most {NOT_READY_REASON_MAX_LENGTH} characters")
    if not reason.isprintable():
        raise ValidationError("reason", "must not contain control characters")


def _check_contact_id(contact_id: str) -> None:
    if not contact_id:
        raise ValidationError("contact_id", "must not be empty")


# Commands. Those bound to a contact carry its id so a late timer or SIP event for an earlier offer
# cannot move the agent's current one (see ContactMismatchError).


@dataclass(frozen=True, slots=True)
class LogIn:
    @property
    def trigger(self) -> AgentTrigger:
        return AgentTrigger.LOG_IN


@dataclass(frozen=True, slots=True)
class GoAvailable:
    @property
    def trigger(self) -> AgentTrigger:
        return AgentTrigger.GO_AVAILABLE


@dataclass(frozen=True, slots=True)
class GoNotReady:
    reason: str

    def __post_init__(self) -> None:
        check_not_ready_reason(self.reason)

    @property
    def trigger(self) -> AgentTrigger:
        return AgentTrigger.GO_NOT_READY


@dataclass(frozen=True, slots=True)
class Reserve:
    contact_id: str

    def __post_init__(self) -> None:
        _check_contact_id(self.contact_id)

    @property
    def trigger(self) -> AgentTrigger:
        return AgentTrigger.RESERVE


@dataclass(frozen=True, slots=True)
class Connect:
    contact_id: str

    @property
    def trigger(self) -> AgentTrigger:
        return AgentTrigger.CONNECT


@dataclass(frozen=True, slots=True)
class RejectBusy:
    contact_id: str

    @property
    def trigger(self) -> AgentTrigger:
        return AgentTrigger.REJECT_BUSY


@dataclass(frozen=True, slots=True)
class MissOffer:
    """Ring-no-answer (RONA): the offer timed out; or, ``unreachable``, the phone never rang."""

    contact_id: str
    unreachable: bool = False

    @property
    def trigger(self) -> AgentTrigger:
        return AgentTrigger.MISS_OFFER


@dataclass(frozen=True, slots=True)
class ReleaseReservation:
    """The offer ended through no fault of the agent (caller abandoned while ringing)."""

    contact_id: str

    @property
    def trigger(self) -> AgentTrigger:
        return AgentTrigger.RELEASE_RESERVATION


@dataclass(frozen=True, slots=True)
class EndContact:
    contact_id: str
    wrap_up_seconds: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.wrap_up_seconds, bool) or not 0 <= self.wrap_up_seconds <= WRAP_UP_SECONDS_MAX:
            raise ValidationError("wrap_up_seconds", f"must be an integer from 0 to {WRAP_UP_SECONDS_MAX}")

    @property
    def trigger(self) -> AgentTrigger:
        # Two rows in the table rather than a special case in ``apply``: the table stays the one
        # place that says where an agent can go.
        if self.wrap_up_seconds == 0:
            return AgentTrigger.END_CONTACT_WITHOUT_WRAP_UP
        return AgentTrigger.END_CONTACT


@dataclass(frozen=True, slots=True)
class FinishWrapUp:
    """The wrap-up timer fired for ``contact_id``."""

    contact_id: str

    @property
    def trigger(self) -> AgentTrigger:
        return AgentTrigger.FINISH_WRAP_UP


@dataclass(frozen=True, slots=True)
class DialOut:
    """The agent calls out: ``contact_id`` is the outbound contact it is now on."""

    contact_id: str

    def __post_init__(self) -> None:
        _check_contact_id(self.contact_id)

    @property
    def trigger(self) -> AgentTrigger:
        return AgentTrigger.DIAL_OUT


@dataclass(frozen=True, slots=True)
class LogOut:
    @property
    def trigger(self) -> AgentTrigger:
        return AgentTrigger.LOG_OUT


AgentCommand = (
    LogIn
    | GoAvailable
    | GoNotReady
    | Reserve
    | DialOut
    | Connect
    | RejectBusy
    | MissOffer
    | ReleaseReservation
    | EndContact
    | FinishWrapUp
    | LogOut
)

# Commands that act on the contact the agent already holds, so their id must match it.
_CONTACT_BOUND = (Connect, RejectBusy, MissOffer, ReleaseReservation, EndContact, FinishWrapUp)


@dataclass(frozen=True, slots=True)
class AgentSnapshot:
    """One agent's live state at one version; every field a router or a report needs.

    ``idle_since_ms`` is when the agent last became AVAILABLE (the longest-idle key). It survives a
    reservation so that an abandoned offer hands the agent back its place in line.
    """

    seat_id: str
    state: AgentState = AgentState.OFFLINE
    version: int = 0
    state_since_ms: int = 0
    reason: str | None = None
    idle_since_ms: int | None = None
    contact_id: str | None = None
    wrap_up_deadline_ms: int | None = None

    @classmethod
    def new(cls, seat_id: str, now_ms: int) -> AgentSnapshot:
        """A freshly created seat: logged out, version 0."""
        return cls(seat_id=seat_id, state_since_ms=now_ms)

    @property
    def accepts_offers(self) -> bool:
        return accepts_offers(self.state)


@dataclass(frozen=True, slots=True)
class AgentTransition:
    """The result of ``apply``: ``event`` is None when the command changed nothing."""

    agent: AgentSnapshot
    event: AgentStateChanged | None

    @property
    def changed(self) -> bool:
        return self.event is not None


def accepts_offers(state: AgentState) -> bool:
    """Whether the ACD may reserve an agent in ``state`` for a new contact."""
    return state in ACCEPTING_OFFERS_STATES


def agent_can_be_set_by_api(target: AgentState) -> bool:
    """Whether the HTTP API may request ``target``: available, not_ready and offline are the agent's.

    A settable target can still be illegal from the current state (ON_CONTACT -> available):
    ``apply`` raises IllegalTransitionError, which the API maps to 409.
    """
    return target in API_SETTABLE_STATES


ApiStateCommand = GoAvailable | GoNotReady | LogOut


def command_for_api_target(target: AgentState, reason: str | None = None) -> ApiStateCommand:
    """The command an API request for ``target`` stands for; ValidationError when it may not be set."""
    if target is AgentState.OFFLINE:
        if reason is not None:
            raise ValidationError("reason", "only allowed with not_ready")
        return LogOut()
    if target is AgentState.AVAILABLE:
        if reason is not None:
            raise ValidationError("reason", "only allowed with not_ready")
        return GoAvailable()
    if target is AgentState.NOT_READY:
        if reason is None:
            raise ValidationError("reason", "required with not_ready")
        return GoNotReady(reason)
    raise ValidationError("state", f"must be one of {sorted(state.value for state in API_SETTABLE_STATES)}")


def allowed_triggers(state: AgentState) -> frozenset[AgentTrigger]:
    """Triggers legal from ``state``, e.g. to enable the right buttons in a softphone."""
    return frozenset(trigger for (source, trigger) in TRANSITIONS if source is state)


def next_state(state: AgentState, trigger: AgentTrigger, seat_id: str = "?") -> AgentState:
    """Look the pair up in the table; IllegalTransitionError when it is not there."""
    try:
        return TRANSITIONS[(state, trigger)]
    except KeyError:
        raise IllegalTransitionError("agent", seat_id, state.value, trigger.value) from None


def _reason_for(command: AgentCommand) -> str | None:
    if isinstance(command, GoNotReady):
        return command.reason
    if isinstance(command, MissOffer):
        return (SystemReason.UNREACHABLE if command.unreachable else SystemReason.MISSED_OFFER).value
    if isinstance(command, RejectBusy):
        return SystemReason.REJECTED_BUSY.value
    return None


def _contact_for(agent: AgentSnapshot, target: AgentState, command: AgentCommand) -> str | None:
    if isinstance(command, Reserve | DialOut):
        return command.contact_id
    # ACW keeps the contact being wrapped up, so notes and the timer can name it.
    if target in (AgentState.ON_CONTACT, AgentState.AFTER_CONTACT_WORK):
        return agent.contact_id
    return None


def _idle_since_for(
    agent: AgentSnapshot, target: AgentState, command: AgentCommand, now_ms: int
) -> int | None:
    if target is AgentState.AVAILABLE:
        if isinstance(command, ReleaseReservation) and agent.idle_since_ms is not None:
            return agent.idle_since_ms
        return now_ms
    if target is AgentState.RESERVED:
        return agent.idle_since_ms
    return None


def apply(agent: AgentSnapshot, command: AgentCommand, now_ms: int) -> AgentTransition:
    """Apply ``command`` at ``now_ms``: the next snapshot (version + 1) and its AgentStateChanged.

    Raises IllegalTransitionError when the table has no row for (state, trigger) and
    ContactMismatchError when a contact-bound command names a contact the agent does not hold.
    A command that would change nothing (GoAvailable while AVAILABLE, the same not-ready reason
    again, LogOut while OFFLINE) returns the snapshot untouched and no event, so nothing is written
    and the version other writers condition on does not move.
    """
    target = next_state(agent.state, command.trigger, agent.seat_id)
    if isinstance(command, _CONTACT_BOUND) and command.contact_id != agent.contact_id:
        raise ContactMismatchError(agent.seat_id, agent.contact_id, command.contact_id)

    reason = _reason_for(command)
    if target is agent.state and reason == agent.reason:
        return AgentTransition(agent, None)

    deadline = None
    if target is AgentState.AFTER_CONTACT_WORK and isinstance(command, EndContact):
        deadline = now_ms + command.wrap_up_seconds * 1000
    new = replace(
        agent,
        state=target,
        version=agent.version + 1,
        state_since_ms=now_ms,
        reason=reason,
        idle_since_ms=_idle_since_for(agent, target, command, now_ms),
        contact_id=_contact_for(agent, target, command),
        wrap_up_deadline_ms=deadline,
    )
    event = AgentStateChanged(
        seat_id=agent.seat_id,
        from_state=agent.state,
        to_state=target,
        trigger=command.trigger,
        occurred_at_ms=now_ms,
        version=new.version,
        reason=reason,
        # The event names the contact involved even when the agent just let go of it.
        contact_id=new.contact_id or (command.contact_id if isinstance(command, _CONTACT_BOUND) else None),
        wrap_up_deadline_ms=deadline,
    )
    return AgentTransition(new, event)

"""Domain events: past-tense facts returned by every state change, for CDRs, metrics and fan-out.

The state machines build these; nothing here reads a clock, so ``occurred_at_ms`` is the ``now_ms``
the caller passed to the transition.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    # Type-only imports: the state modules import this one to build events, so a runtime import
    # back would be circular.
    from .agent_state import AgentState, AgentTrigger
    from .contact import Channel, ContactState, ContactTrigger, HangupCause, HangupSide


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


DomainEvent = AgentStateChanged | ContactStateChanged

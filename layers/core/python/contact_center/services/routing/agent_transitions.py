"""System-driven agent transitions (connect, missed offer, end of contact, wrap-up): read, apply, write.

An agent's own choices arrive through ``services.agent_state``; this module is for the router,
which reacts to calls. Each change is decided from the seat as it is *now* (``decide`` sees the
fresh snapshot), written over the version read, and re-decided on a concurrent change: a late
SIP event can therefore never undo what happened since it was sent.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from contact_center.domain.agent_state import AgentCommand, AgentSnapshot, apply
from contact_center.domain.events import AgentStateChanged

from ..errors import ConcurrentUpdateError
from .ports import AgentSeat, AgentSeats, EventSink

ATTEMPTS = 5  # a seat is written by few parties at once (agent, router, edge); 5 rounds is ample

Decide = Callable[[AgentSeat], Sequence[AgentCommand]]


def publish_all(events: EventSink, merchant_id: str, changes: Sequence[AgentStateChanged]) -> None:
    for change in changes:
        events.publish(change, merchant_id=merchant_id)


class AgentTransitions:
    def __init__(self, seats: AgentSeats, events: EventSink) -> None:
        self._seats = seats
        self._events = events

    def change(self, merchant_id: str, seat_id: str, decide: Decide, now_ms: int) -> AgentSnapshot:
        """Apply the commands ``decide`` picks for the current seat, in order, as ONE conditional write.

        Several commands (Reserve then MissOffer for a phone known to be unreachable) still cost one
        write and leave one event each. No commands: nothing is written. Raises the domain's
        IllegalTransitionError/ContactMismatchError if ``decide`` picks an illegal command, and
        ConcurrentUpdateError if the seat keeps changing for ATTEMPTS rounds.
        """
        for attempt in range(1, ATTEMPTS + 1):
            seat = self._seats.get(merchant_id, seat_id)
            agent = seat.agent
            changes: list[AgentStateChanged] = []
            for command in decide(seat):
                transition = apply(agent, command, now_ms)
                agent = transition.agent
                if transition.event is not None:
                    changes.append(transition.event)
            if not changes:
                return agent
            try:
                self._seats.save_state(merchant_id, seat_id, seat.agent.version, agent)
            except ConcurrentUpdateError:
                if attempt == ATTEMPTS:
                    raise
                continue
            publish_all(self._events, merchant_id, changes)
            return agent
        raise AssertionError("unreachable: the loop returns or raises")

"""change_agent_state: the agent state machine applied to a stored seat, written over its version.

The same machine the SIP edge drives; this use case is how an agent's own choice (available, not
ready) arrives over HTTP. The write is conditioned on the version read, so a call reserving the
agent at the same instant is never overwritten: the loser re-reads and re-applies once.
"""

from __future__ import annotations

from dataclasses import replace

from contact_center.domain.agent_state import AgentCommand, apply

from .errors import ConcurrentUpdateError
from .ports import Clock, SeatPort
from .records import Seat

ATTEMPTS = 2  # the first try and one retry on a concurrent change


class AgentStateService:
    def __init__(self, seats: SeatPort, clock: Clock) -> None:
        self._seats = seats
        self._clock = clock

    def get(self, merchant_id: str, seat_id: str) -> Seat:
        return self._seats.get(merchant_id, seat_id)

    def change(self, merchant_id: str, seat_id: str, command: AgentCommand) -> Seat:
        """Apply ``command``; IllegalTransitionError (with the current state) when the table forbids it."""
        for attempt in range(1, ATTEMPTS + 1):
            seat = self._seats.get(merchant_id, seat_id)
            transition = apply(seat.agent, command, self._clock())
            if not transition.changed:
                return seat
            try:
                self._seats.save_state(merchant_id, seat_id, seat.agent.version, transition.agent)
            except ConcurrentUpdateError:
                if attempt == ATTEMPTS:
                    raise
                continue
            return replace(seat, agent=transition.agent)
        raise AssertionError("unreachable: the loop returns or raises")

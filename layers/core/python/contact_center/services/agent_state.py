"""change_agent_state: the agent state machine applied to a stored seat, written over its version.

The same machine the SIP edge drives; this use case is how an agent's own choice (available, not
ready) arrives over HTTP. The write is conditioned on the version read, so a call reserving the
agent at the same instant is never overwritten: the loser re-reads and re-applies once.

``force_release`` is an admin's way out for a seat stuck on a call whose two ends vanished without
a BYE: the router ends the contact (recorded with the cause ``forced_release``, the agent released
in the same transaction), then the seat goes where the admin asked.
"""

from __future__ import annotations

import contextlib
from dataclasses import replace
from typing import Protocol

from contact_center.domain.agent_state import (
    AgentCommand,
    AgentSnapshot,
    AgentState,
    ApiStateCommand,
    EndContact,
    ReleaseReservation,
    apply,
)
from contact_center.domain.contact import HangupCause, HangupSide

from .errors import ConcurrentUpdateError, NotFoundError
from .ports import Clock, SeatPort
from .records import Seat

ATTEMPTS = 2  # the first try and one retry on a concurrent change
FORCED_RELEASE_REASON = "forced_release"
HOLDING_STATES = (AgentState.RESERVED, AgentState.ON_CONTACT)


class ContactEnder(Protocol):
    """The router's use case that ends a contact and releases its agent in one transaction."""

    def contact_ended(self, contact_id: str, side: HangupSide, cause: HangupCause, now_ms: int) -> object: ...


class AgentStateService:
    def __init__(self, seats: SeatPort, clock: Clock, contacts: ContactEnder | None = None) -> None:
        self._seats = seats
        self._clock = clock
        self._contacts = contacts

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

    def force_release(self, merchant_id: str, seat_id: str, target: ApiStateCommand) -> Seat:
        """Free a seat stuck on a contact: end the contact as ``forced_release``, then apply ``target``.

        Only the contact the seat holds (RESERVED or ON_CONTACT for it) is ended: a NOT_RESPONDING
        seat's last contact lives on in its queue. Once ended, the router may at once offer the
        seat, now available, the next waiting contact; that offer is left alone (the seat is no
        longer stuck) and the seat is returned as it stands.
        """
        if self._contacts is None:
            raise AssertionError("force_release needs the router (ContactEnder)")
        seat = self._seats.get(merchant_id, seat_id)
        held = seat.agent.contact_id if seat.agent.state in HOLDING_STATES else None
        if held is not None:
            # NotFound: neither live nor recorded, the seat holds the id of nothing; let go of it below.
            with contextlib.suppress(NotFoundError):
                self._contacts.contact_ended(
                    held, HangupSide.SYSTEM, HangupCause.FORCED_RELEASE, self._clock()
                )
        for attempt in range(1, ATTEMPTS + 1):
            seat = self._seats.get(merchant_id, seat_id)
            if seat.agent.state in HOLDING_STATES and seat.agent.contact_id != held:
                return seat  # a new offer or call since: not stuck any more
            agent = _released(seat.agent, target, self._clock())
            if agent is seat.agent:
                return seat
            try:
                self._seats.save_state(merchant_id, seat_id, seat.agent.version, agent)
            except ConcurrentUpdateError:
                if attempt == ATTEMPTS:
                    raise
                continue
            return replace(seat, agent=agent)
        raise AssertionError("unreachable: the loop returns or raises")


def _released(agent: AgentSnapshot, target: ApiStateCommand, now_ms: int) -> AgentSnapshot:
    """The agent let go of a contact whose end was recorded without its release, then at ``target``."""
    commands: list[AgentCommand] = []
    if agent.contact_id is not None and agent.state is AgentState.RESERVED:
        commands.append(ReleaseReservation(agent.contact_id))
    elif agent.contact_id is not None and agent.state is AgentState.ON_CONTACT:
        commands.append(EndContact(agent.contact_id))
    commands.append(target)
    for command in commands:
        agent = apply(agent, command, now_ms).agent
    return agent

"""Consult calls of an attended transfer: an agent on a call dials another seat of its merchant.

    agent A (ON_CONTACT, contact X connected to A) dials seat B
      ``consult``: B must be AVAILABLE with a registered phone; B is RESERVED for X (one conditional
                   write, so no other offer rings it meanwhile) and the edge rings B's phones
      ``consult_result(answered)``: B ON_CONTACT for X while it talks with A (the sweep leaves a
                   seat on a contact that exists alone; a reservation would be let go after a ring)
      ``consult_result(ended)``: the consult ended without a transfer: B is let go (AVAILABLE)
      A's REFER with Replaces: ``transfer(X, A, B, consulted=True)`` lets B go first (`let_go`),
      then hands X over exactly as a blind transfer to that seat: A's segment closed "transferred",
      A in wrap-up, X offered to B, whose answer (the consult leg taking the caller) connects it.

The consult is no contact of its own: the record of X gains one agent segment per agent.
"""

from __future__ import annotations

from contact_center.domain.agent_state import AgentCommand, AgentState, EndContact, ReleaseReservation
from contact_center.domain.agent_state import Connect as AgentConnect
from contact_center.domain.agent_state import Reserve as AgentReserve
from contact_center.domain.contact import ContactState

from ..errors import ConcurrentUpdateError, NotFoundError
from .context import RoutingContext
from .decisions import Acknowledged, Connect, Reject
from .dialout import Dialers
from .ports import AgentSeat

__all__ = ["Consults", "let_go"]


def let_go(
    context: RoutingContext, merchant_id: str, seat_id: str, contact_id: str, now_ms: int
) -> AgentState:
    """The seat consulted about ``contact_id`` goes back to AVAILABLE (reserved or talking for it);
    a seat doing anything else is left as it is. Returns the seat's state afterwards."""

    def decide(current: AgentSeat) -> list[AgentCommand]:
        agent = current.agent
        if agent.contact_id != contact_id:
            return []
        if agent.state is AgentState.RESERVED:
            return [ReleaseReservation(contact_id)]
        if agent.state is AgentState.ON_CONTACT:
            return [EndContact(contact_id, 0)]
        return []

    return context.agents.change(merchant_id, seat_id, decide, now_ms).state


class Consults:
    def __init__(self, context: RoutingContext, dialers: Dialers | None) -> None:
        self._ctx = context
        self._dialers = dialers

    def consult(self, sip_username: str, dialled: str, now_ms: int) -> Connect | Reject:
        """The seat of ``sip_username``, on a call, consults ``dialled`` (a seat id of its merchant):
        the seat to ring, reserved for the call, or why not."""
        ctx = self._ctx
        found = self._dialers.seat_of(sip_username) if self._dialers is not None else None
        if found is None:
            return Reject(403, "only a seat's phone may consult")
        merchant_id, seat_id = found
        try:
            agent = ctx.seats.get(merchant_id, seat_id).agent
        except NotFoundError:
            return Reject(403, "only a seat's phone may consult")
        contact_id = agent.contact_id
        contact = ctx.contacts.get(contact_id) if contact_id is not None else None
        if (
            agent.state is not AgentState.ON_CONTACT
            or contact is None
            or contact.snapshot.state is not ContactState.CONNECTED
            or contact.snapshot.seat_id != seat_id
        ):
            return Reject(409, f"seat {seat_id} is on no call to consult about")
        assert contact_id is not None
        try:
            target = ctx.seats.get(merchant_id, dialled)
        except NotFoundError:
            return Reject(404, f"no seat named {dialled!r}", contact_id=contact_id)
        if target.seat_id == seat_id:
            return Reject(409, "a seat cannot consult itself", contact_id=contact_id)
        aor = ctx.aor(target)
        targets = ctx.registrations.targets(aor, now_ms)
        if not targets:
            return Reject(480, f"seat {target.seat_id} has no registered phone", contact_id=contact_id)

        def reserve(current: AgentSeat) -> list[AgentCommand]:
            return [AgentReserve(contact_id)] if current.agent.state is AgentState.AVAILABLE else []

        try:
            reserved = ctx.agents.change(merchant_id, target.seat_id, reserve, now_ms)
        except ConcurrentUpdateError:
            reserved = None
        if reserved is None or reserved.state is not AgentState.RESERVED or reserved.contact_id != contact_id:
            return Reject(486, f"seat {target.seat_id} is not available", contact_id=contact_id)
        return Connect(
            contact_id,
            target.seat_id,
            merchant_id,
            aor,
            tuple(targets),
            target.ring_timeout_seconds,
            contact.snapshot.queue_id,
        )

    def consult_result(
        self, merchant_id: str, seat_id: str, contact_id: str, answered: bool, now_ms: int
    ) -> Acknowledged:
        """The consulted seat answered (it is now on the call), or the consult ended without a
        transfer (it is let go)."""

        def connect(current: AgentSeat) -> list[AgentCommand]:
            agent = current.agent
            if agent.state is AgentState.RESERVED and agent.contact_id == contact_id:
                return [AgentConnect(contact_id)]
            return []

        if answered:
            state = self._ctx.agents.change(merchant_id, seat_id, connect, now_ms).state
        else:
            state = let_go(self._ctx, merchant_id, seat_id, contact_id, now_ms)
        return Acknowledged(contact_id, state.value, seat_id, merchant_id)

"""The call is over: one transaction records it, removes it and lets its agent go."""

from __future__ import annotations

from collections.abc import Sequence

from contact_center.contracts.metrics import ABANDONED
from contact_center.domain.agent_state import (
    AgentCommand,
    AgentSnapshot,
    AgentState,
    EndContact,
    ReleaseReservation,
    apply,
)
from contact_center.domain.contact import ContactState, HangUp, HangupCause, HangupSide, apply_contact

from ..errors import ConcurrentUpdateError, NotFoundError
from .context import RoutingContext
from .decisions import Acknowledged
from .dequeue import Dequeue
from .policy import ATTEMPTS
from .ports import AgentSeat, LiveContact, RoutingQueue, SeatTransition
from .records import ended_ack, outcome_of, record_for, seat_as_left, waiting_hung_up


class Endings:
    def __init__(self, context: RoutingContext, dequeue: Dequeue) -> None:
        self._ctx = context
        self._dequeue = dequeue

    def contact_ended(
        self,
        contact_id: str,
        side: HangupSide,
        cause: HangupCause,
        now_ms: int,
        dialog_keys: Sequence[str] = (),
    ) -> Acknowledged:
        """The call is over (BYE, CANCEL, failure): record it and let the agent go. Idempotent.

        One transaction ends the contact, releases its agent (ringing -> AVAILABLE, talking ->
        wrap-up or AVAILABLE) and deletes the call's stored dialog (``dialog_keys``), so an agent is
        never left holding an ended contact. A connected contact's seat is not read: the release is
        written on the from-state the connection left (see ``records.seat_as_left``), and only a
        failed condition makes it read the seat.
        """
        read_seat = False
        for _ in range(ATTEMPTS):
            contact = self._ctx.contacts.get(contact_id)
            if contact is None:
                if dialog_keys:
                    self._ctx.contacts.drop_dialogs(dialog_keys)
                return self._ended_ack_releasing(contact_id, now_ms)
            if waiting_hung_up(contact, side, cause):
                cause = HangupCause.CALLER_ABANDONED
            ended = apply_contact(contact.snapshot, HangUp(cause, side), now_ms)
            record = record_for(contact, ended.contact, now_ms)
            try:
                release = self._release_of(contact, read_seat, now_ms)
            except NotFoundError:
                release = None  # the seat was deleted: nobody to let go
            outcome = outcome_of(contact.snapshot)
            try:
                self._ctx.contacts.end(contact, record, outcome, release, dialog_keys)
            except ConcurrentUpdateError as lost:
                # The seat moved (a missed offer in flight): read it. The contact moved (offered or
                # connected meanwhile): end it as it is now.
                read_seat = lost.entity == "seat"
                continue
            self._ctx.publish_contact(ended.event, contact)
            if outcome == ABANDONED:
                self._ctx.waited(outcome, contact, now_ms)
            seat_id = contact.snapshot.seat_id
            if seat_id is None or contact.merchant_id is None:
                return Acknowledged(contact_id, ContactState.ENDED.value, merchant_id=contact.merchant_id)
            if release is None:
                return Acknowledged(contact_id, ContactState.ENDED.value, seat_id, contact.merchant_id)
            agent = self._ctx.published(release)
            if agent.state is AgentState.AVAILABLE:
                # Straight to the next waiting contact (the seat stream leaves the router's own
                # releases to it: see ``routing.events``), from the seat as the release wrote it.
                self._dequeue.agent_available(contact.merchant_id, seat_id, now_ms, release.released_seat())
            return Acknowledged(
                contact_id,
                ContactState.ENDED.value,
                seat_id,
                contact.merchant_id,
                wrap_up_deadline_ms=agent.wrap_up_deadline_ms
                if agent.state is AgentState.AFTER_CONTACT_WORK
                else None,
            )
        raise ConcurrentUpdateError("contact", contact_id)

    def _ended_ack_releasing(self, contact_id: str, now_ms: int) -> Acknowledged:
        record = self._ctx.contacts.record(contact_id)
        if record is None:
            raise NotFoundError("contact", contact_id)
        if record.seat_id and record.merchant_id:
            # A retried contact_ended: the first may have died between the record and the release.
            queue = self._ctx.catalog.queue(record.merchant_id, record.queue_id) if record.queue_id else None
            self._release_agent(record.merchant_id, record.seat_id, contact_id, queue, now_ms)
        return ended_ack(record, stale=True)

    def _release_of(self, contact: LiveContact, read_seat: bool, now_ms: int) -> SeatTransition | None:
        """The release of the contact's agent to write with its end, or None when it holds no agent.

        Raises NotFoundError when the seat, read, no longer exists.
        """
        snapshot = contact.snapshot
        if snapshot.seat_id is None or contact.merchant_id is None:
            return None
        if snapshot.state not in (ContactState.OFFERED, ContactState.CONNECTED, ContactState.DIALING):
            return None
        held = None if read_seat or snapshot.state is ContactState.OFFERED else seat_as_left(contact)
        seat: AgentSeat | None = None
        if held is not None and contact.seat_profile is not None:
            # The profile the offer kept, at the version the release is conditioned on.
            seat = contact.seat_profile.seat(contact.merchant_id, held)
        elif held is None or self._frees(held, contact, now_ms):
            # Read once: a seat going AVAILABLE is listed for its queues from its profile, and
            # offered the next waiting contact from this same read after the release.
            seat = self._ctx.seats.get(contact.merchant_id, snapshot.seat_id)
            held = seat.agent
        command = self._release_command(held, contact)
        if command is None:
            return None  # the seat let go of it already (a missed offer in flight)
        return SeatTransition.of(contact.merchant_id, held, apply(held, command, now_ms), seat)

    def _frees(self, held: AgentSnapshot, contact: LiveContact, now_ms: int) -> bool:
        """Whether releasing ``held`` from ``contact`` makes the agent AVAILABLE (no wrap-up)."""
        command = self._release_command(held, contact)
        return command is not None and apply(held, command, now_ms).agent.state is AgentState.AVAILABLE

    def _release_command(self, agent: AgentSnapshot, contact: LiveContact) -> AgentCommand | None:
        """Ringing -> AVAILABLE (in its place in line); talking -> wrap-up, or AVAILABLE without one."""
        if agent.contact_id != contact.contact_id:
            return None
        if agent.state is AgentState.RESERVED:
            return ReleaseReservation(contact.contact_id)
        if agent.state is AgentState.ON_CONTACT:
            queue = self._ctx.queue_of(contact)
            return EndContact(contact.contact_id, queue.config.wrap_up_seconds if queue is not None else 0)
        return None

    def _release_agent(
        self, merchant_id: str, seat_id: str, contact_id: str, queue: RoutingQueue | None, now_ms: int
    ) -> AgentSnapshot:
        """Let the agent go from ``contact_id``: ringing -> AVAILABLE, talking -> wrap-up or AVAILABLE."""
        wrap_up = queue.config.wrap_up_seconds if queue is not None else 0

        def decide(seat: AgentSeat) -> list[AgentCommand]:
            agent = seat.agent
            if agent.contact_id != contact_id:
                return []
            if agent.state is AgentState.RESERVED:
                return [ReleaseReservation(contact_id)]
            if agent.state is AgentState.ON_CONTACT:
                return [EndContact(contact_id, wrap_up)]
            return []

        try:
            agent = self._ctx.agents.change(merchant_id, seat_id, decide, now_ms)
        except NotFoundError:
            return AgentSnapshot(seat_id=seat_id)  # the seat was deleted after the call ended
        if agent.state is AgentState.AVAILABLE:
            self._dequeue.agent_available(
                merchant_id, seat_id, now_ms
            )  # straight to the next waiting contact
        return agent

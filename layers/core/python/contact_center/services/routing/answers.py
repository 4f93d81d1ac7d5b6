"""The agent leg of an offer ended: answered (connect both in one write), or not (RONA, busy,
rejected, unreachable: the agent is released or parked and the contact is offered again)."""

from __future__ import annotations

from dataclasses import replace

from contact_center.contracts.metrics import ANSWERED
from contact_center.domain.agent_state import (
    AgentCommand,
    AgentSnapshot,
    AgentState,
    MissOffer,
    RejectBusy,
    ReleaseReservation,
    apply,
)
from contact_center.domain.agent_state import Connect as ConnectAgentCommand
from contact_center.domain.contact import (
    ConnectAgent,
    ContactState,
    HangupCause,
    MissContactOffer,
    apply_contact,
)

from ..errors import ConcurrentUpdateError, NotFoundError
from .context import RoutingContext
from .decisions import Acknowledged, OfferOutcome, RoutingDecision
from .placement import Placement
from .policy import ATTEMPTS
from .ports import AgentSeat, CallDialog, LiveContact, SeatTransition, Segment
from .records import is_callback, merchant_of, misses_in_current_queue, seat_as_left


class Answers:
    def __init__(self, context: RoutingContext, placement: Placement) -> None:
        self._ctx = context
        self._placement = placement

    def offer_result(
        self,
        contact_id: str,
        seat_id: str,
        outcome: OfferOutcome,
        now_ms: int,
        dialog: CallDialog | None = None,
    ) -> RoutingDecision:
        """The agent leg of an offer ended: answered, or not (RONA: re-offer to the next agent).

        ``dialog``: the answered call's SIP dialog, stored in the answer's transaction (the edge
        then makes no write of its own to let another edge task take the call over).
        """
        contact = self._ctx.contacts.get(contact_id)
        if contact is None:
            return self._placement.ended_ack(contact_id, stale=True)
        self._ctx.answer_here(contact.merchant_id)
        snapshot = contact.snapshot
        if snapshot.state is not ContactState.OFFERED or snapshot.seat_id != seat_id:
            # A duplicate or late report (the caller hung up, a retry after a timeout): say how the
            # contact stands and change nothing.
            return Acknowledged(
                contact_id, snapshot.state.value, snapshot.seat_id, contact.merchant_id, stale=True
            )
        merchant_id = merchant_of(contact)
        if outcome is OfferOutcome.ANSWERED:
            return self._answered(contact, merchant_id, seat_id, now_ms, dialog)
        queue = self._ctx.queue_of(contact)
        self._ctx.agents.change(
            merchant_id,
            seat_id,
            lambda seat: _if_reserved_for(seat, contact_id, self._missed_command(outcome, contact_id)),
            now_ms,
        )
        missed = apply_contact(snapshot, MissContactOffer(seat_id), now_ms)
        segment = Segment(
            "agent",
            contact.offered_at_ms or now_ms,
            now_ms,
            outcome.value,
            queue_id=snapshot.queue_id,
            seat_id=seat_id,
        )
        callback = is_callback(contact)
        requeued = replace(
            contact,
            snapshot=missed.contact,
            offered_at_ms=None,
            segments=(*contact.segments, segment),
            # A callback's runner task lets it go: it waits at its place for the next free agent.
            edge_task_id=None if callback else contact.edge_task_id,
        )
        try:
            self._ctx.contacts.save(contact.version, requeued)
        except ConcurrentUpdateError:
            return self._placement.decision_for_id(contact_id, now_ms)
        self._ctx.publish_contact(missed.event, requeued)
        if callback:
            return Acknowledged(contact_id, ContactState.QUEUED.value, merchant_id=merchant_id)
        if queue is None:
            return self._placement.end_by_system(requeued, None, HangupCause.SYSTEM_ERROR, now_ms)
        if misses_in_current_queue(requeued) >= self._ctx.policy.max_rona_attempts:
            return self._placement.overflow(requeued, queue, HangupCause.RONA_LIMIT_REACHED, now_ms)
        return self._placement.route_queued(requeued, queue, now_ms)

    def _answered(
        self,
        contact: LiveContact,
        merchant_id: str,
        seat_id: str,
        now_ms: int,
        dialog: CallDialog | None = None,
    ) -> RoutingDecision:
        """RESERVED -> ON_CONTACT and OFFERED -> CONNECTED in one transaction, the seat unread.

        The seat's from-state is the one the offer left (``seat_as_left``); the write is conditioned
        on it, so a seat that moved meanwhile (the ring timer fired first) fails the condition and is
        read. A contact that moved (the caller hung up) fails its version: the seat is untouched, and
        its release was ``contact_ended``'s, in the same transaction as the end.
        """
        contact_id = contact.contact_id
        held: AgentSnapshot | None = seat_as_left(contact)
        # The same choice as the Connect's (a pure function of the contact id): the record names
        # the recording the edge starts now.
        queue = self._ctx.queue_of(contact)
        recording = queue.recording_key(contact_id) if queue is not None else None
        for _ in range(ATTEMPTS):
            if held is None:
                try:
                    held = self._ctx.seats.get(merchant_id, seat_id).agent
                except NotFoundError:
                    held = AgentSnapshot(seat_id=seat_id)
            if held.state is not AgentState.RESERVED or held.contact_id != contact_id:
                return Acknowledged(
                    contact_id, contact.snapshot.state.value, seat_id, merchant_id, stale=True
                )
            seat = SeatTransition.of(merchant_id, held, apply(held, ConnectAgentCommand(contact_id), now_ms))
            connected = apply_contact(contact.snapshot, ConnectAgent(seat_id), now_ms)
            updated = replace(
                contact,
                snapshot=connected.contact,
                seat_version=seat.after.version,
                recording_key=recording,
            )
            try:
                self._ctx.contacts.connect(contact.version, updated, seat, dialog, now_ms)
            except ConcurrentUpdateError as lost:
                if lost.entity == "seat":
                    held = None  # read what the seat is now
                    continue
                fresh = self._ctx.contacts.get(contact_id)
                if fresh is None:
                    return self._placement.ended_ack(contact_id, stale=True)
                if fresh.snapshot.state is not ContactState.OFFERED or fresh.snapshot.seat_id != seat_id:
                    return self._placement.decision_for(fresh, now_ms)
                contact, held = fresh, seat_as_left(fresh)
                continue
            self._ctx.published(seat)
            self._ctx.publish_contact(connected.event, updated)
            self._ctx.waited(ANSWERED, contact, now_ms)
            return Acknowledged(contact_id, ContactState.CONNECTED.value, seat_id, merchant_id)
        raise ConcurrentUpdateError("contact", contact_id)

    def _missed_command(self, outcome: OfferOutcome, contact_id: str) -> AgentCommand:
        if outcome is OfferOutcome.BUSY and self._ctx.policy.busy_leaves_agent_available:
            return ReleaseReservation(contact_id)
        if outcome in (OfferOutcome.BUSY, OfferOutcome.REJECTED):
            return RejectBusy(contact_id)
        return MissOffer(contact_id, unreachable=outcome is OfferOutcome.UNREACHABLE)


def _if_reserved_for(seat: AgentSeat, contact_id: str, command: AgentCommand) -> list[AgentCommand]:
    agent = seat.agent
    if agent.state is AgentState.RESERVED and agent.contact_id == contact_id:
        return [command]
    return []

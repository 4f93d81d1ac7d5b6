"""A connected agent hands the caller on: to a queue, to one seat, or (not yet) to an outside number.

One conditional transaction (``LiveContacts.connect``: the contact at its version, the seat on its
from-state) moves the contact CONNECTED -> QUEUED in the target's queue and the transferring agent
ON_CONTACT -> wrap-up (or AVAILABLE without one), and closes the agent's segment with the outcome
"transferred": the record gains a segment per agent. From there the contact is an ordinary queued
contact (``placement``): offered to the best agent of the queue, or waiting in it. A transfer to a
seat first checks that the seat is free, then claims it with the ordinary atomic offer; a seat
taken between the check and the claim leaves the caller queued in the queue, to the next agent.

What a target names is decided here, not at the edge: a queue id of the merchant, a seat id of the
merchant, or a number of the merchant routed to a queue.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from contact_center.domain.agent_state import AgentSnapshot, AgentState, EndContact, apply
from contact_center.domain.contact import ContactState, Transfer, apply_contact

from ..errors import ConcurrentUpdateError, NotFoundError
from .consults import let_go
from .context import RoutingContext
from .decisions import Connect, Reject, RoutingDecision, decision_from_dict
from .offers import Offers
from .placement import Placement
from .policy import ATTEMPTS
from .ports import AgentSeat, LiveContact, RoutingQueue, SeatTransition, Segment
from .records import merchant_of, seat_as_left

__all__ = ["TransferOutcome", "Transfers"]

OUTCOME_TRANSFERRED = "transferred"


@dataclass(frozen=True, slots=True)
class TransferOutcome:
    """What the edge does next with the caller (``decision``: ring, hold, or the refusal), and when
    the transferring agent's wrap-up ends (None: it did not move, or has none)."""

    decision: RoutingDecision
    seat_id: str
    merchant_id: str | None = None
    wrap_up_deadline_ms: int | None = None

    @property
    def transferred(self) -> bool:
        return not isinstance(self.decision, Reject)

    def to_dict(self) -> dict[str, Any]:
        return {
            "transfer": self.decision.to_dict(),
            "seat_id": self.seat_id,
            "merchant_id": self.merchant_id,
            "wrap_up_deadline_ms": self.wrap_up_deadline_ms,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TransferOutcome:
        deadline = data.get("wrap_up_deadline_ms")
        return cls(
            decision=decision_from_dict(data["transfer"]),
            seat_id=str(data["seat_id"]),
            merchant_id=data.get("merchant_id"),
            wrap_up_deadline_ms=int(deadline) if deadline is not None else None,
        )


@dataclass(frozen=True, slots=True)
class _Target:
    queue: RoutingQueue
    seat: AgentSeat | None = None


class Transfers:
    def __init__(self, context: RoutingContext, placement: Placement, offers: Offers) -> None:
        self._ctx = context
        self._placement = placement
        self._offers = offers

    def transfer(
        self, contact_id: str, seat_id: str, target: str, now_ms: int, consulted: bool = False
    ) -> TransferOutcome:
        """Hand the caller of ``contact_id``, connected to ``seat_id``, to ``target``.

        Refusals change nothing (the call goes on with the agent): 404 for a contact not connected
        to that seat or a target that names nothing of the merchant, 486 for a seat that is not free.
        NotFoundError when the contact never existed. ``consulted``: an attended transfer to the
        seat the agent consulted (``consults``), which is let go of the consult first.
        """
        contact = self._ctx.contacts.get(contact_id)
        if contact is None:
            self._placement.ended_ack(contact_id)  # NotFoundError when it never existed
            return TransferOutcome(Reject(404, "the contact has ended", contact_id=contact_id), seat_id)
        snapshot = contact.snapshot
        if snapshot.state is not ContactState.CONNECTED or snapshot.seat_id != seat_id:
            reason = f"the contact is not connected to seat {seat_id}"
            return TransferOutcome(Reject(409, reason, contact_id=contact_id), seat_id)
        merchant_id = merchant_of(contact)
        resolved = self._resolve(contact, merchant_id, target)
        if isinstance(resolved, Reject):
            return TransferOutcome(resolved, seat_id, merchant_id)
        if resolved.seat is not None and resolved.seat.seat_id == seat_id:
            return TransferOutcome(
                Reject(409, "a seat cannot take its own call", contact_id=contact_id), seat_id
            )
        if consulted and resolved.seat is not None:
            seat = resolved.seat
            let_go(self._ctx, merchant_id, seat.seat_id, contact_id, now_ms)
            resolved = _Target(resolved.queue, self._ctx.seats.get(merchant_id, seat.seat_id))
        if resolved.seat is not None and resolved.seat.agent.state is not AgentState.AVAILABLE:
            reason = f"seat {resolved.seat.seat_id} is not available"
            return TransferOutcome(Reject(486, reason, contact_id=contact_id), seat_id, merchant_id)
        written = self._hand_over(contact, merchant_id, resolved.queue, now_ms)
        if written is None:
            # The caller hung up (or the call moved) meanwhile: how the contact stands now.
            return TransferOutcome(self._placement.decision_for_id(contact_id, now_ms), seat_id, merchant_id)
        queued, released = written
        deadline = released.wrap_up_deadline_ms if released.state is AgentState.AFTER_CONTACT_WORK else None
        return TransferOutcome(
            self._next_step(queued, resolved, now_ms), seat_id, merchant_id, wrap_up_deadline_ms=deadline
        )

    def _resolve(self, contact: LiveContact, merchant_id: str, target: str) -> _Target | Reject:
        catalog = self._ctx.catalog
        queue = catalog.queue(merchant_id, target)
        if queue is not None:
            return _Target(queue)
        try:
            seat = self._ctx.seats.get(merchant_id, target)
        except NotFoundError:
            seat = None
        if seat is not None:
            own = self._ctx.queue_of(contact)
            if own is None:
                return Reject(404, "the contact's queue no longer exists", contact_id=contact.contact_id)
            return _Target(own, seat)
        number = catalog.number(target)
        if number is not None and number.merchant_id == merchant_id and number.queue_id is not None:
            queue = catalog.queue(merchant_id, number.queue_id)
            if queue is not None:
                return _Target(queue)
        return Reject(404, f"no queue, seat or number named {target!r}", contact_id=contact.contact_id)

    def _hand_over(
        self, contact: LiveContact, merchant_id: str, queue: RoutingQueue, now_ms: int
    ) -> tuple[LiveContact, AgentSnapshot] | None:
        """The transaction: contact CONNECTED@version -> QUEUED in ``queue``, its agent ON_CONTACT
        -> wrap-up. None when the contact moved (ended, transferred by another request)."""
        held = seat_as_left(contact)
        for _ in range(ATTEMPTS):
            seat_id = contact.snapshot.seat_id
            assert seat_id is not None
            if held is None:
                try:
                    held = self._ctx.seats.get(merchant_id, seat_id).agent
                except NotFoundError:
                    held = AgentSnapshot(seat_id=seat_id)
            if held.state is not AgentState.ON_CONTACT or held.contact_id != contact.contact_id:
                return None  # the seat let go of the call (a forced release): nothing to hand over
            own = self._ctx.queue_of(contact)
            wrap_up = own.config.wrap_up_seconds if own is not None else 0
            seat = SeatTransition.of(
                merchant_id, held, apply(held, EndContact(contact.contact_id, wrap_up), now_ms)
            )
            moved = apply_contact(contact.snapshot, Transfer(queue.queue_id), now_ms)
            queued = replace(
                contact,
                snapshot=moved.contact,
                offered_at_ms=None,
                seat_version=None,
                segments=(*contact.segments, *_closed_segments(contact, now_ms)),
            )
            try:
                self._ctx.contacts.connect(contact.version, queued, seat, None, now_ms)
            except ConcurrentUpdateError as lost:
                if lost.entity == "seat":
                    held = None
                    continue
                fresh = self._ctx.contacts.get(contact.contact_id)
                if fresh is None or fresh.snapshot.state is not ContactState.CONNECTED:
                    return None
                contact, held = fresh, seat_as_left(fresh)
                continue
            released = self._ctx.published(seat)
            self._ctx.publish_contact(moved.event, queued)
            return queued, released
        raise ConcurrentUpdateError("contact", contact.contact_id)

    def _next_step(self, contact: LiveContact, target: _Target, now_ms: int) -> RoutingDecision:
        seat = target.seat
        if seat is None:
            return self._placement.route_queued(contact, target.queue, now_ms)
        aor = self._ctx.aor(seat)
        targets = self._ctx.registrations.targets(aor, now_ms)
        if targets:
            try:
                self._offers.claim(contact, seat, target.queue, now_ms)
            except ConcurrentUpdateError:
                pass  # taken meanwhile: the caller waits in the queue for the next agent
            else:
                return Connect(
                    contact.contact_id,
                    seat.seat_id,
                    seat.merchant_id,
                    aor,
                    tuple(targets),
                    seat.ring_timeout_seconds,
                    target.queue.queue_id,
                )
        return self._placement.route_queued(contact, target.queue, now_ms)


def _closed_segments(contact: LiveContact, now_ms: int) -> tuple[Segment, ...]:
    """The queue stay that led to the agent and the agent's own segment, closed as transferred."""
    snapshot = contact.snapshot
    offered_at = contact.offered_at_ms or now_ms
    closed = []
    if snapshot.enqueued_at_ms is not None:
        closed.append(
            Segment("queue", snapshot.enqueued_at_ms, offered_at, "offered", queue_id=snapshot.queue_id)
        )
    closed.append(
        Segment(
            "agent",
            offered_at,
            now_ms,
            OUTCOME_TRANSFERRED,
            queue_id=snapshot.queue_id,
            seat_id=snapshot.seat_id,
        )
    )
    return tuple(closed)

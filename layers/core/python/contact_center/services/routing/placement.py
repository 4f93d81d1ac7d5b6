"""Where a queued contact goes next: an agent, the queue's index, an overflow target or a reject;
and what a contact's current state means to the edge (the decision read back after a lost race)."""

from __future__ import annotations

import logging
import math
from dataclasses import replace

from contact_center.domain.agent_state import AgentState
from contact_center.domain.contact import (
    DEFAULT_CONTACT_PRIORITY,
    ContactState,
    Enqueue,
    ForwardToLegacy,
    HangUp,
    HangupCause,
    HangupSide,
    apply_contact,
)
from contact_center.domain.events import ContactStateChanged
from contact_center.domain.queueing import OverflowKind

from ..errors import ConcurrentUpdateError, NotFoundError
from .context import RoutingContext
from .decisions import Acknowledged, Connect, Forward, Queue, Reject, RoutingDecision
from .offers import CONTACT_CHANGED, ContactChanged, Offers
from .outlook import QueueOutlook
from .policy import ATTEMPTS
from .ports import LiveContact, RoutingQueue, Segment
from .records import ended_ack, hops, record_for

log = logging.getLogger("contact_center.routing")


class Placement:
    def __init__(self, context: RoutingContext, offers: Offers) -> None:
        self._ctx = context
        self._offers = offers
        self._outlook = QueueOutlook(context.contacts)

    def route_queued(
        self, contact: LiveContact, queue: RoutingQueue, now_ms: int, *, told: bool = True
    ) -> RoutingDecision:
        """An agent for a QUEUED contact now, or the caller waits (or overflows at max wait).
        ``told``: the caller is told a Queue decision's place and wait (False for a retry whose
        Queue decision nobody reads, which spares the reads)."""
        for _ in range(ATTEMPTS):
            attempt = self._offers.try_offer(contact, queue, now_ms)
            if isinstance(attempt, Connect):
                return attempt
            if attempt is None and contact.unlisted:
                # Nobody free: listed in the queue's index, then one more look (package docstring).
                # Also a contact whose router died before listing it, found again by its edge.
                listed = replace(
                    contact, snapshot=replace(contact.snapshot, version=contact.version + 1), unlisted=False
                )
                if self._ctx.save_or_none(contact, listed):
                    contact = listed
                    continue
            elif attempt is None:
                if queue.config.wait_expired(contact.snapshot.enqueued_at_ms or now_ms, now_ms):
                    return self.overflow(contact, queue, HangupCause.QUEUE_TIMEOUT, now_ms)
                return self.queue_decision(contact, queue, now_ms, told=told)
            fresh = self._ctx.contacts.get(contact.contact_id)
            if fresh is None or fresh.snapshot.state is not ContactState.QUEUED:
                return (
                    self.decision_for_id(contact.contact_id, now_ms)
                    if fresh is None
                    else self.decision_for(fresh, now_ms)
                )
            contact = fresh
            queue = self._ctx.queue_of(contact) or queue
        return self.queue_decision(contact, queue, now_ms, told=told)

    def offer_new(
        self, contact: LiveContact, queue: RoutingQueue, now_ms: int, arrived: ContactStateChanged
    ) -> Connect | ContactChanged | None:
        """Offer a contact not written yet; on success it is created with the offer (``Offers``)."""
        return self._offers.try_offer(contact, queue, now_ms, arrived)

    def queue_timeout(self, contact_id: str, now_ms: int) -> RoutingDecision:
        """The edge's max-wait timer fired: overflow to another queue, forward to legacy, or reject."""
        contact = self._ctx.contacts.get(contact_id)
        if contact is None:
            return self.ended_ack(contact_id, stale=True)
        if contact.snapshot.state is not ContactState.QUEUED:
            return self.decision_for(contact, now_ms)  # offered meanwhile: connect it after all
        queue = self._ctx.queue_of(contact)
        if queue is None:
            return self.end_by_system(contact, None, HangupCause.SYSTEM_ERROR, now_ms)
        enqueued_at = contact.snapshot.enqueued_at_ms or now_ms
        if not queue.config.wait_expired(enqueued_at, now_ms):
            return self.queue_decision(contact, queue, now_ms)  # early timer (clock skew)
        # A last look for an agent, which also covers a dequeue missed through index lag.
        attempt = self._offers.try_offer(contact, queue, now_ms)
        if isinstance(attempt, Connect):
            return attempt
        if attempt is CONTACT_CHANGED:
            return self.decision_for_id(contact_id, now_ms)
        return self.overflow(contact, queue, HangupCause.QUEUE_TIMEOUT, now_ms)

    def legacy_failed(self, contact_id: str, now_ms: int) -> RoutingDecision:
        """The legacy side did not take a forwarded call (unreachable, down, or 5xx): the number's
        Switchboard queue takes it when the number has one, else the call is rejected with 480."""
        contact = self._ctx.contacts.get(contact_id)
        if contact is None:
            return self.ended_ack(contact_id, stale=True)
        snapshot = contact.snapshot
        if snapshot.state is not ContactState.FORWARDED:
            return self.decision_for(contact, now_ms)  # a retried request: where it went already
        route = self._ctx.catalog.number(contact.called)
        queue_id = route.mode.queue_id if route is not None else None
        queue = self._ctx.catalog.queue(route.merchant_id, queue_id) if route and queue_id else None
        if route is None or queue is None:
            return self.end_by_system(contact, None, HangupCause.SYSTEM_ERROR, now_ms)
        since = contact.segments[-1].ended_at_ms if contact.segments else snapshot.initiated_at_ms
        left = Segment("trunk", since, now_ms, "failed", trunk_id=snapshot.trunk_id)
        priority = route.priority or DEFAULT_CONTACT_PRIORITY
        moved = apply_contact(snapshot, Enqueue(queue.queue_id, priority), now_ms)
        updated = replace(contact, snapshot=moved.contact, segments=(*contact.segments, left))
        if not self._ctx.save_or_none(contact, updated, count_offered=True):
            return self.decision_for_id(contact_id, now_ms)
        self._ctx.publish_contact(moved.event, updated)
        return self.route_queued(updated, queue, now_ms)

    def overflow(
        self, contact: LiveContact, queue: RoutingQueue, cause: HangupCause, now_ms: int
    ) -> RoutingDecision:
        """Max wait reached (or the RONA limit): the queue's overflow target, the number's fallback
        trunk, or 480."""
        snapshot = contact.snapshot
        overflow = queue.config.overflow
        left = Segment(
            "queue", snapshot.enqueued_at_ms or now_ms, now_ms, "overflow", queue_id=queue.queue_id
        )
        if (
            overflow is not None
            and overflow.kind is OverflowKind.QUEUE
            and hops(contact) < self._ctx.policy.max_overflow_hops
        ):
            target = self._ctx.catalog.queue(queue.merchant_id, overflow.target)
            if target is not None:
                moved = apply_contact(snapshot, Enqueue(target.queue_id, snapshot.priority), now_ms)
                updated = replace(contact, snapshot=moved.contact, segments=(*contact.segments, left))
                # It reaches the target queue: counted "offered" there in the same write.
                if not self._ctx.save_or_none(contact, updated, count_offered=True):
                    return self.decision_for_id(contact.contact_id, now_ms)
                self._ctx.publish_contact(moved.event, updated)
                return self.route_queued(updated, target, now_ms)
            log.error("queue %s overflows to missing queue %s", queue.queue_id, overflow.target)
        trunk_id = (
            overflow.target if overflow is not None and overflow.kind is OverflowKind.LEGACY_TRUNK else None
        )
        if trunk_id is None and not any(segment.kind == "trunk" for segment in contact.segments):
            # The number's own fallback (Switchboard first, the legacy centre behind it); never for
            # a call the legacy side already failed to take.
            route = self._ctx.catalog.number(contact.called)
            trunk_id = route.mode.fallback_trunk_id if route is not None else None
        if trunk_id is not None:
            forwarded = apply_contact(snapshot, ForwardToLegacy(trunk_id), now_ms)
            updated = replace(contact, snapshot=forwarded.contact, segments=(*contact.segments, left))
            if not self._ctx.save_or_none(contact, updated):
                return self.decision_for_id(contact.contact_id, now_ms)
            self._ctx.publish_contact(forwarded.event, updated)
            return Forward(contact.contact_id, trunk_id)
        return self.end_by_system(contact, queue, cause, now_ms)

    def end_by_system(
        self, contact: LiveContact, queue: RoutingQueue | None, cause: HangupCause, now_ms: int
    ) -> RoutingDecision:
        ended = apply_contact(contact.snapshot, HangUp(cause, HangupSide.SYSTEM), now_ms)
        try:
            self._ctx.contacts.end(contact, record_for(contact, ended.contact, now_ms), "timed_out")
        except ConcurrentUpdateError:
            return self.decision_for_id(contact.contact_id, now_ms)
        self._ctx.publish_contact(ended.event, contact)
        reason = "no agent available" if cause is HangupCause.QUEUE_TIMEOUT else cause.value.replace("_", " ")
        return Reject(480, reason, self._ctx.policy.reject_retry_after_seconds, contact.contact_id)

    # Reading the current state back as a decision

    def decision_for_id(self, contact_id: str, now_ms: int) -> RoutingDecision:
        contact = self._ctx.contacts.get(contact_id)
        if contact is None:
            return self.ended_ack(contact_id)
        return self.decision_for(contact, now_ms)

    def decision_for(self, contact: LiveContact, now_ms: int) -> RoutingDecision:
        snapshot = contact.snapshot
        if snapshot.state is ContactState.QUEUED:
            queue = self._ctx.queue_of(contact)
            if queue is not None and contact.unlisted:
                return self.route_queued(contact, queue, now_ms)  # its router gave up before listing it
            if queue is not None:
                return self.queue_decision(contact, queue, now_ms)
        if snapshot.state is ContactState.OFFERED:
            connect = self.connect_for(contact, now_ms)
            if connect is not None:
                return connect
        if snapshot.state is ContactState.FORWARDED and snapshot.trunk_id:
            return Forward(contact.contact_id, snapshot.trunk_id)
        return Acknowledged(contact.contact_id, snapshot.state.value, snapshot.seat_id, contact.merchant_id)

    def connect_for(self, contact: LiveContact, now_ms: int) -> Connect | None:
        """The Connect for an OFFERED contact, or None when the offer is no longer current."""
        seat_id = contact.snapshot.seat_id
        if seat_id is None or contact.merchant_id is None:
            return None
        try:
            seat = self._ctx.seats.get(contact.merchant_id, seat_id)
        except NotFoundError:
            return None
        # The index the edge polls lags; the seat (read consistently) says whether the offer stands.
        if seat.agent.state is not AgentState.RESERVED or seat.agent.contact_id != contact.contact_id:
            return None
        aor = self._ctx.aor(seat)
        queue = self._ctx.queue_of(contact)
        return Connect(
            contact.contact_id,
            seat_id,
            contact.merchant_id,
            aor,
            tuple(self._ctx.registrations.targets(aor, now_ms)),
            seat.ring_timeout_seconds,
            contact.snapshot.queue_id,
            queue.recording_key(contact.contact_id) if queue is not None else None,
            self._offers.callback_of(contact),
        )

    def queue_decision(
        self, contact: LiveContact, queue: RoutingQueue, now_ms: int, *, told: bool = True
    ) -> Queue:
        deadline = queue.config.wait_deadline_ms(contact.snapshot.enqueued_at_ms or now_ms)
        position, wait = self._outlook.of(contact, queue.queue_id, now_ms) if told else (None, None)
        return Queue(
            contact.contact_id,
            queue.queue_id,
            max(0, math.ceil((deadline - now_ms) / 1000)),
            deadline,
            position=position,
            media=queue.config.media,
            wait_seconds=wait,
            prompts=queue.prompts,
            callback_digit=queue.config.callback.digit if queue.config.callback is not None else None,
        )

    def ended_ack(self, contact_id: str, stale: bool = False) -> Acknowledged:
        """The answer for a contact no longer live; NotFoundError when it never existed."""
        record = self._ctx.contacts.record(contact_id)
        if record is None:
            raise NotFoundError("contact", contact_id)
        return ended_ack(record, stale)

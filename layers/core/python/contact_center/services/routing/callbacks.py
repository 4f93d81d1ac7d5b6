"""Callbacks that keep their place (rules in ``domain.callbacks``).

- ``leave``: the queued caller pressed its queue's callback key. The contact stays QUEUED with its
  priority and enqueue time (its place), now owned by no edge task: the caller's task ends the call,
  and no lost-edge check may end the contact with it. A "callback" segment notes the key.
- An agent freeing up takes a callback at its place like any queued contact (``dequeue``), unless its
  last dial failed less than ``retry_seconds`` ago. The claim names the edge task that runs it, picked
  by the ``CallbackRunners`` port, and the offer is pushed there: that task rings the agent, whispers
  the callback to them, dials the customer through the merchant's outbound trunk and bridges the two.
- ``dialled``: each dial's result and SIP status becomes a "dial" segment, so every attempt is in
  the contact record. Answered: the edge then reports ``offer_result(answered)`` as for any offer.
  Failed: the agent goes back AVAILABLE in its place in line (it did answer), and the contact back
  to its place in the queue, owned by no task, until the next attempt is due; after ``max_attempts``
  failed dials the contact ends (``callback_failed``), counted once in its queue as any end.
- A callback whose agent did not answer, or whose runner task was lost, goes back to its place the
  same way without spending an attempt (the agent's miss is handled as any missed offer).
"""

from __future__ import annotations

import logging
from dataclasses import replace

from contact_center.domain.agent_state import AgentState, ReleaseReservation
from contact_center.domain.callbacks import CallbackVerdict, DialResult, callback_state, dial_result_of
from contact_center.domain.contact import (
    ContactState,
    HangupCause,
    HangupSide,
    LeaveCallback,
    RetryCallback,
    apply_contact,
)

from ..errors import ConcurrentUpdateError, NotFoundError
from .context import RoutingContext
from .decisions import Acknowledged
from .dequeue import Dequeue
from .endings import Endings
from .ports import AgentSeat, LiveContact, Segment
from .records import callback_attempts, is_callback

log = logging.getLogger("contact_center.routing")


class CallbackRefusedError(NotFoundError):
    """The contact cannot leave a callback: not waiting on that task, or its queue takes none with
    that key (``field`` names what the request got wrong)."""


class Callbacks:
    def __init__(self, context: RoutingContext, dequeue: Dequeue, endings: Endings) -> None:
        self._ctx = context
        self._dequeue = dequeue
        self._endings = endings

    def leave(self, contact_id: str, edge_task_id: str, digit: str, now_ms: int) -> Acknowledged:
        """The caller held by ``edge_task_id`` pressed ``digit``: a callback, if its queue takes one."""
        contact = self._ctx.contacts.get(contact_id)
        if (
            contact is None
            or contact.snapshot.state is not ContactState.QUEUED
            or contact.edge_task_id != edge_task_id
        ):
            raise CallbackRefusedError("waiting contact", contact_id, "contact_id")
        self._ctx.answer_here(contact.merchant_id)
        queue = self._ctx.queue_of(contact)
        policy = queue.config.callback if queue is not None else None
        if policy is None or policy.digit != digit:
            raise CallbackRefusedError("callback key", digit, "digit")
        moved = apply_contact(contact.snapshot, LeaveCallback(), now_ms)
        note = Segment("callback", now_ms, now_ms, "left", queue_id=contact.snapshot.queue_id, digit=digit)
        left = replace(contact, snapshot=moved.contact, edge_task_id=None, segments=(*contact.segments, note))
        # On the version read: an offer claimed meanwhile wins, and the caller is connected instead.
        self._ctx.contacts.save(contact.version, left)
        self._ctx.publish_contact(moved.event, left)
        log.info("contact %s left a callback in queue %s", contact_id, contact.snapshot.queue_id)
        return Acknowledged(contact_id, ContactState.QUEUED.value, merchant_id=contact.merchant_id)

    def dialled(
        self, contact_id: str, seat_id: str, status: int | None, started_at_ms: int, now_ms: int
    ) -> Acknowledged:
        """The runner task dialled the customer of a callback offered to ``seat_id``: ``status`` is the
        dial's final SIP status (None: none came)."""
        contact = self._ctx.contacts.get(contact_id)
        if (
            contact is None
            or not is_callback(contact)
            or contact.snapshot.state is not ContactState.OFFERED
            or contact.snapshot.seat_id != seat_id
        ):
            state = contact.snapshot.state.value if contact is not None else ContactState.ENDED.value
            return Acknowledged(contact_id, state, seat_id, stale=True)
        self._ctx.answer_here(contact.merchant_id)
        result = dial_result_of(status)
        attempt = Segment(
            "dial",
            started_at_ms,
            now_ms,
            result.value,
            queue_id=contact.snapshot.queue_id,
            seat_id=seat_id,
            status=status,
        )
        counted = replace(contact, segments=(*contact.segments, attempt))
        if result is DialResult.ANSWERED:
            # Noted now; the answer itself is the edge's offer_result, which connects the two.
            self._ctx.contacts.save(contact.version, counted)
            return Acknowledged(contact_id, ContactState.OFFERED.value, seat_id, contact.merchant_id)
        queue = self._ctx.queue_of(contact)
        policy = queue.config.callback if queue is not None else None
        verdict = (
            CallbackVerdict.GIVE_UP
            if policy is None
            else callback_state(policy, callback_attempts(counted), now_ms).verdict
        )
        if verdict is CallbackVerdict.GIVE_UP:
            self._ctx.contacts.save(contact.version, counted)
            log.info("callback %s ends: its last dial failed (%s)", contact_id, status)
            return self._endings.contact_ended(
                contact_id, HangupSide.SYSTEM, HangupCause.CALLBACK_FAILED, now_ms
            )
        self.requeue(counted, seat_id, now_ms)
        return Acknowledged(contact_id, ContactState.QUEUED.value, seat_id, contact.merchant_id)

    def requeue(self, contact: LiveContact, seat_id: str, now_ms: int) -> None:
        """The callback offered to ``seat_id`` goes back to its place, owned by no task; the agent, who
        answered, goes back AVAILABLE in its place in line and takes whoever waits."""
        retried = apply_contact(contact.snapshot, RetryCallback(seat_id), now_ms)
        back = replace(contact, snapshot=retried.contact, edge_task_id=None, offered_at_ms=None)
        self._ctx.contacts.save(contact.version, back)
        self._ctx.publish_contact(retried.event, back)
        merchant_id = contact.merchant_id
        if merchant_id is None:
            return

        def release(seat: AgentSeat) -> list[ReleaseReservation]:
            agent = seat.agent
            if agent.state is AgentState.RESERVED and agent.contact_id == contact.contact_id:
                return [ReleaseReservation(contact.contact_id)]
            return []

        try:
            agent = self._ctx.agents.change(merchant_id, seat_id, release, now_ms)
        except (ConcurrentUpdateError, NotFoundError):
            return  # moved meanwhile (logged out, forced free): its own change decided for it
        if agent.state is AgentState.AVAILABLE:
            self._dequeue.agent_available(merchant_id, seat_id, now_ms)

"""A contact arrives for a number: forward it, reject it, or create it in its queue and place it.
A call to a queue address (``domain.queue_address``) arrives straight into that queue."""

from __future__ import annotations

import logging
from dataclasses import replace

from contact_center.domain.contact import (
    DEFAULT_CONTACT_PRIORITY,
    Channel,
    ContactSnapshot,
    Enqueue,
    ForwardToLegacy,
    HangUp,
    HangupCause,
    apply_contact,
)
from contact_center.domain.menus import LEFT, MenuChoice
from contact_center.domain.migration import Side
from contact_center.domain.queue_address import QueueCall

from .context import RoutingContext
from .decisions import Arrival, Connect, Forward, PlayMenu, Reject, RoutingDecision
from .offers import CONTACT_CHANGED
from .placement import Placement
from .ports import LiveContact, RoutingQueue, Segment
from .records import record_for

log = logging.getLogger("contact_center.routing")


class Arrivals:
    def __init__(self, context: RoutingContext, placement: Placement) -> None:
        self._ctx = context
        self._placement = placement

    def new_contact(
        self,
        called: str,
        caller: str,
        edge_task_id: str | None,
        contact_id: str,
        now_ms: int,
        channel: Channel = Channel.VOICE,
        priority: int | None = None,
        menu_choice: MenuChoice | None = None,
        queue_call: QueueCall | None = None,
    ) -> Arrival:
        """A call arrived for ``called``: connect it, queue it, forward it or reject it; a number
        with a menu first answers `PlayMenu` (nothing is written), and the edge asks again with
        the caller's ``menu_choice``, which picks the queue and is noted in the record (a caller
        who hung up in the menu gets only the record: see ``_left_in_menu``).

        Idempotent per ``contact_id``: a retried request returns the decision for the contact as
        it stands, and never creates a second contact.
        """
        if queue_call is not None:
            return self._to_queue_address(
                queue_call, called, caller, edge_task_id, contact_id, now_ms, channel
            )
        catalog = self._ctx.catalog
        route = catalog.number(called)
        if route is None and not called.startswith("+"):
            route = catalog.number("+" + called)
        if route is None:
            return Reject(404, "number not in service")
        # The number's migration mode picks the side of this call only (sticky per caller in a
        # split); a later change of mode never reaches a contact already created.
        routing = route.mode
        if routing.side_for(caller) is Side.LEGACY and routing.legacy_trunk_id is not None:
            forwarded = apply_contact(
                ContactSnapshot.new(contact_id, channel, now_ms),
                ForwardToLegacy(routing.legacy_trunk_id),
                now_ms,
            )
            live = LiveContact(forwarded.contact, called, caller, route.merchant_id, edge_task_id)
            if not self._ctx.create(live):
                return self._placement.decision_for_id(contact_id, now_ms)
            self._ctx.publish_contact(forwarded.event, live)
            return Forward(contact_id, routing.legacy_trunk_id, fallback=routing.queue_id is not None)
        queue_id = routing.queue_id
        segments: tuple[Segment, ...] = ()
        if route.menu is not None and channel is Channel.VOICE:
            if menu_choice is None:
                return PlayMenu(contact_id, route.menu, now_ms)
            if menu_choice.outcome == LEFT:
                new = ContactSnapshot.new(contact_id, channel, now_ms)
                segments = (_menu_segment(menu_choice, None, now_ms),)
                left = LiveContact(new, called, caller, route.merchant_id, edge_task_id, segments=segments)
                return self._left_in_menu(left, now_ms)
            queue_id = menu_choice.queue_in(route.menu)
            segments = (_menu_segment(menu_choice, queue_id, now_ms),)
        if queue_id is None:
            return Reject(404, "number not in service")
        queue = catalog.queue(route.merchant_id, queue_id)
        if queue is None:
            log.error("number %s routes to missing queue %s", called, queue_id)
            return Reject(404, "number not in service")
        new = ContactSnapshot.new(contact_id, channel, now_ms)
        enqueue = Enqueue(queue.queue_id, priority or route.priority or DEFAULT_CONTACT_PRIORITY)
        return self._enqueue(new, enqueue, queue, called, caller, edge_task_id, now_ms, segments)

    def _left_in_menu(self, contact: LiveContact, now_ms: int) -> RoutingDecision:
        """A caller who hung up in the menu: the contact is created and ended at once, in no queue (no
        queue saw it, so no queue counts an abandon), its record naming the menu it left. A read and
        two writes for a rare path: a retry finds the record (or the contact) and writes nothing."""
        left = Reject(487, "caller left the menu", contact_id=contact.contact_id)
        if self._ctx.contacts.record(contact.contact_id) is not None:
            return left
        if not self._ctx.create(contact):
            return self._placement.decision_for_id(contact.contact_id, now_ms)
        ended = apply_contact(contact.snapshot, HangUp(HangupCause.CALLER_ABANDONED), now_ms)
        self._ctx.contacts.end(contact, record_for(contact, ended.contact, now_ms), None)
        self._ctx.publish_contact(ended.event, contact)
        return left

    def _to_queue_address(
        self,
        call: QueueCall,
        called: str,
        caller: str,
        edge_task_id: str | None,
        contact_id: str,
        now_ms: int,
        channel: Channel,
    ) -> RoutingDecision:
        """Into the queue the legacy centre named, when it is a queue of the trunk's merchant."""
        if call.merchant_id is None:
            return Reject(
                403, f"trunk {call.trunk_id} is a platform carrier: queue addresses need a merchant's trunk"
            )
        queue = self._ctx.catalog.queue(call.merchant_id, call.queue_id)
        if queue is None:  # missing, or another merchant's: the same answer, so nothing leaks
            return Reject(404, f"no queue {call.queue_id} of the trunk's merchant")
        # The contact names the legacy trunk it came over, as a number's call from there does.
        new = replace(ContactSnapshot.new(contact_id, channel, now_ms), trunk_id=call.trunk_id)
        enqueue = Enqueue(queue.queue_id, DEFAULT_CONTACT_PRIORITY)
        return self._enqueue(new, enqueue, queue, called, caller, edge_task_id, now_ms)

    def _enqueue(
        self,
        new: ContactSnapshot,
        enqueue: Enqueue,
        queue: RoutingQueue,
        called: str,
        caller: str,
        edge_task_id: str | None,
        now_ms: int,
        segments: tuple[Segment, ...] = (),
    ) -> RoutingDecision:
        # An agent first: a free one gets the contact created already offered to it, in one write.
        # Nobody free: created into the queue and listed, then one more look (see the package
        # docstring: no lost wake-up).
        enqueued = apply_contact(new, enqueue, now_ms)
        live = LiveContact(
            enqueued.contact,
            called,
            caller,
            queue.merchant_id,
            edge_task_id,
            segments=segments,
        )
        attempt = self._placement.offer_new(live, queue, now_ms, enqueued.event)
        if attempt is CONTACT_CHANGED:
            return self._placement.decision_for_id(new.contact_id, now_ms)
        if isinstance(attempt, Connect):
            return attempt
        if not self._ctx.create(live):
            return self._placement.decision_for_id(new.contact_id, now_ms)
        self._ctx.publish_contact(enqueued.event, live)
        return self._placement.route_queued(live, queue, now_ms)


def _menu_segment(choice: MenuChoice, queue_id: str | None, now_ms: int) -> Segment:
    started = choice.started_at_ms if choice.started_at_ms is not None else now_ms
    return Segment(
        "menu", min(started, now_ms), now_ms, choice.outcome, queue_id=queue_id, digit=choice.digit
    )

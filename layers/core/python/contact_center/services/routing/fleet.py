"""The edge fleet's questions: which offers an edge task should ring now, and which of its contacts
to end because no task holds their callers any more."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Collection

from contact_center.domain.agent_state import AgentState, EndContact, ReleaseReservation, apply
from contact_center.domain.contact import ContactState, HangupCause, HangupSide
from contact_center.domain.ownership import NotHomeRegionError
from contact_center.services.errors import ConcurrentUpdateError

from .callbacks import Callbacks
from .context import RoutingContext
from .decisions import Connect
from .endings import Endings
from .placement import Placement
from .records import is_callback

log = logging.getLogger("contact_center.routing")


class Fleet:
    def __init__(
        self, context: RoutingContext, placement: Placement, endings: Endings, callbacks: Callbacks
    ) -> None:
        self._ctx = context
        self._placement = placement
        self._endings = endings
        self._callbacks = callbacks

    def edge_lost(
        self,
        edge_task_id: str,
        now_ms: int,
        held: Collection[str] = (),
        initiated_before_ms: int | None = None,
    ) -> list[str]:
        """End the ringing, queued and dialling contacts an edge task no longer holds.

        A task that died holds none: its callers' INVITE transactions died with it, so nobody will
        answer or cancel them. A live task lists the contacts it still holds (``held``), and only
        contacts initiated before ``initiated_before_ms`` are ended, so a call it is starting is
        never among them: this ends contacts it gave up on (a routing attempt that finished after
        the task had answered its caller). Ending them releases the agents they reserved.
        Connected calls are left alone: their dialogs are stored, and a BYE through any task ends
        them. Returns the ended contacts' ids.
        """
        ended: list[str] = []
        # Queued ones first: an agent released by ending an offered one takes the oldest waiting
        # contact, which must not be another contact about to be ended.
        # An agent's outbound call still dialling (DIALING) died with its task's INVITE the same way.
        for state in (ContactState.QUEUED, ContactState.OFFERED, ContactState.DIALING):
            for contact in self._ctx.contacts.owned_by_edge(edge_task_id, state.value):
                if contact.contact_id in held or (
                    initiated_before_ms is not None
                    and contact.snapshot.initiated_at_ms >= initiated_before_ms
                ):
                    continue
                seat_id = contact.snapshot.seat_id
                if is_callback(contact) and state is ContactState.OFFERED and seat_id is not None:
                    # Nobody's call died with the task: the callback goes back to its place, the
                    # agent back in line, and another task runs it.
                    with contextlib.suppress(ConcurrentUpdateError):
                        self._callbacks.requeue(contact, seat_id, now_ms)
                    continue
                self._endings.contact_ended(
                    contact.contact_id, HangupSide.SYSTEM, HangupCause.SYSTEM_ERROR, now_ms
                )
                ended.append(contact.contact_id)
        if ended:
            log.warning("ended %d contacts edge task %s no longer holds", len(ended), edge_task_id)
        return ended

    def release_orphaned_agents(self, merchant_id: str, now_ms: int) -> list[str]:
        """Free the merchant's agents held by a contact this region does not have: after a failover,
        the failed region's last writes may have reached this replica for the seat but not for its
        contact (replication is item by item). Returns the released seats.

        Such a seat may still be talking: a call of this region's edge tasks that the dead home
        routed (a contact created already offered, in one transaction with the seat) is alive here
        though its contact item never arrived. So this region's live tasks are asked first
        (``RoutingContext.held_nowhere``), and a seat whose call one of them holds keeps its state:
        it is freed by the first call of this after its call ended. A task that does not answer
        keeps every such seat held until it answers or its heartbeat lapses: a seat held a few
        seconds too long costs a waiting caller those seconds, one freed too early rings an agent
        who is talking. Nothing for a merchant this region does not decide for."""
        if self._ctx.decides is not None and not self._ctx.decides(merchant_id):
            return []
        orphans = [
            seat
            for seat in self._ctx.seats.all_for_merchant(merchant_id)
            if seat.agent.contact_id is not None
            and seat.agent.state in (AgentState.RESERVED, AgentState.ON_CONTACT)
            and self._ctx.contacts.get(seat.agent.contact_id) is None
        ]
        free = self._ctx.held_nowhere(
            {seat.agent.contact_id for seat in orphans if seat.agent.contact_id}, now_ms
        )
        released: list[str] = []
        for seat in orphans:
            agent, held = seat.agent, seat.agent.contact_id
            if held is None or held not in free:
                log.warning(
                    "seat %s keeps contact %s: a live edge task may hold its call", seat.seat_id, held
                )
                continue
            command = ReleaseReservation(held) if agent.state is AgentState.RESERVED else EndContact(held)
            try:
                self._ctx.seats.save_state(
                    merchant_id, seat.seat_id, agent.version, apply(agent, command, now_ms).agent
                )
            except ConcurrentUpdateError:
                continue  # it moved meanwhile: someone else handled it
            released.append(seat.seat_id)
        return released

    def pending_offers(self, edge_task_id: str, now_ms: int, retry_queued: bool = False) -> list[Connect]:
        """Offers made to contacts this edge task holds (by ``agent_available``), to ring now.

        The task's safety net: each of these was pushed to it when claimed (``dequeue.OfferPush``),
        and the task asks every few seconds for those a push did not bring. Every call returns every
        pending offer: the edge applies each once (by contact id and seat id). ``retry_queued`` also
        tries to offer the edge's queued contacts again — a safety net for a dequeue missed through
        index lag.
        """
        connects: list[Connect] = []
        for contact in self._ctx.contacts.owned_by_edge(edge_task_id, ContactState.OFFERED.value):
            # Another region's merchant: this replica's copy may be stale (an offer its home has
            # since taken back); only the home answers for it (the routing function asks it).
            if (
                self._ctx.decides is not None
                and contact.merchant_id
                and not self._ctx.decides(contact.merchant_id)
            ):
                continue
            connect = self._placement.connect_for(contact, now_ms)
            if connect is not None:
                connects.append(connect)
        if retry_queued:
            for contact in self._ctx.contacts.owned_by_edge(edge_task_id, ContactState.QUEUED.value):
                queue = self._ctx.queue_of(contact)
                if queue is None:
                    continue
                try:
                    decision = self._placement.route_queued(contact, queue, now_ms, told=False)
                except NotHomeRegionError:
                    continue  # its merchant's home region dequeues it; the offer arrives replicated
                if isinstance(decision, Connect) and decision not in connects:
                    connects.append(decision)
        return connects

"""The ACD use cases: route a new contact, handle an offer's result, end a contact, dequeue.

Invariants, and where they are held:

- An agent is offered one contact at a time, a contact to one agent at a time: ``LiveContacts.offer``
  is one transaction conditioned on the seat being AVAILABLE at the version read and the contact
  at the version read. Losing either condition is normal; the loser moves to the next candidate
  (lost seat) or re-reads the contact (lost contact: someone else offered or ended it).
- No queued contact is lost: a new contact is created QUEUED but outside the queue's index, and its
  router looks for an agent; finding none, it lists the contact in the index and then looks once
  more. An agent freed before that second look is found by it; one freed after finds the contact
  through ``agent_available``. (Listed from the start, every new contact would be raced for by
  the routers of agents turning available while its own router offers it: under load most of
  those races are lost, each a cancelled transaction.) A contact leaves the index only by an
  offer, an overflow, a forward or its end — each a conditional write.
- Every contact that was created ends with exactly one record: ``LiveContacts.end`` deletes the
  live item and writes the record in one transaction — which also releases the contact's agent,
  written on the agent's from-state, so an agent is never left holding an ended contact.
- An answer moves the agent (RESERVED -> ON_CONTACT) and the contact (OFFERED -> CONNECTED) in one
  transaction (``LiveContacts.connect``), each conditioned on its from-state.

Seat writes that go with a contact's are computed by the domain's ``apply`` from the state the
contact's offer left the seat in (``_seat_as_left``), not from a read: the write is conditioned on
that state, its contact and its version, so a wrong guess fails and the seat is read instead.

Every method takes ``now_ms`` from the caller (the edge's or the handler's clock), so the rules run
the same in tests with a fixed clock.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace

from contact_center.domain.acd import choose_contact_for_agent, rank_agents, spread_near_ties
from contact_center.domain.agent_state import (
    AgentCommand,
    AgentSnapshot,
    AgentState,
    EndContact,
    FinishWrapUp,
    MissOffer,
    RejectBusy,
    ReleaseReservation,
    Reserve,
    apply,
)
from contact_center.domain.agent_state import Connect as ConnectAgentCommand
from contact_center.domain.contact import (
    DEFAULT_CONTACT_PRIORITY,
    MAX_RONA_ATTEMPTS,
    Channel,
    ConnectAgent,
    ContactSnapshot,
    ContactState,
    Enqueue,
    ForwardToLegacy,
    HangUp,
    HangupCause,
    HangupSide,
    MissContactOffer,
    Offer,
    apply_contact,
)
from contact_center.domain.events import ContactStateChanged
from contact_center.domain.queueing import OverflowKind, QueueConfig, QueuedContact, RoutingStrategy

from .agent_transitions import AgentTransitions
from .errors import AlreadyExistsError, ConcurrentUpdateError, NotFoundError
from .routing_decisions import (
    Acknowledged,
    Connect,
    Forward,
    OfferOutcome,
    Queue,
    Reject,
    RoutingDecision,
)
from .routing_ports import (
    AgentSeat,
    AgentSeats,
    CallDialog,
    ContactRecord,
    EventSink,
    LiveContact,
    LiveContacts,
    Registrations,
    RoutingCatalog,
    RoutingQueue,
    SeatTransition,
    Segment,
)

log = logging.getLogger("contact_center.routing")

ATTEMPTS = 5  # rounds of re-reading after a lost race before giving the current answer


@dataclass(frozen=True, slots=True)
class RoutingPolicy:
    """Operator settings of the router; defaults follow the issue that specified it."""

    sip_domain: str = "127.0.0.1"
    # 486 from an agent's phone: the agent may be on a private call on the same phone; by default
    # they stay AVAILABLE (keeping their place in line) rather than being parked NOT_RESPONDING.
    busy_leaves_agent_available: bool = True
    max_rona_attempts: int = MAX_RONA_ATTEMPTS  # missed offers per queue before overflow
    reject_retry_after_seconds: int = 60
    # A seat that just missed or refused a contact is not offered the same one again for this long,
    # so a busy phone left AVAILABLE does not bounce the caller back and forth.
    reoffer_cooldown_ms: int = 30_000
    candidate_limit: int = 100  # available seats read per routing attempt, longest idle first
    # A longest-idle queue reads this many first: the index is in longest-idle order, so the best
    # eligible agent is among them whenever any of them is eligible. The rest are read only when
    # none of these took the contact.
    longest_idle_page: int = 25
    # Longest-idle agents idle within this of each other count as tied: concurrent contacts start
    # at different ones of them instead of racing for one (``acd.spread_near_ties``).
    idle_tie_window_ms: int = 2000
    heads_per_queue: int = 3  # queued contacts read per queue when an agent frees up
    max_offer_attempts: int = 10  # candidates tried per call before queueing
    max_overflow_hops: int = 3  # queue -> queue moves per contact, so a cycle of overflows ends


@dataclass(frozen=True, slots=True)
class AgentOffer:
    """A queued contact was offered to a seat; the edge holding the caller learns it by polling."""

    contact_id: str
    seat_id: str
    merchant_id: str
    edge_task_id: str | None


class _ContactChanged:
    """The contact moved under an offer attempt (offered elsewhere, overflowed or ended)."""


_CONTACT_CHANGED = _ContactChanged()


class RoutingService:
    def __init__(
        self,
        catalog: RoutingCatalog,
        seats: AgentSeats,
        contacts: LiveContacts,
        registrations: Registrations,
        events: EventSink,
        policy: RoutingPolicy | None = None,
    ) -> None:
        self._catalog = catalog
        self._seats = seats
        self._contacts = contacts
        self._registrations = registrations
        self._events = events
        self._policy = policy or RoutingPolicy()
        self._agents = AgentTransitions(seats, events)

    # Use cases called by the edge

    def new_contact(
        self,
        called: str,
        caller: str,
        edge_task_id: str | None,
        contact_id: str,
        now_ms: int,
        channel: Channel = Channel.VOICE,
        priority: int | None = None,
    ) -> RoutingDecision:
        """A call arrived for ``called``: connect it, queue it, forward it or reject it.

        Idempotent per ``contact_id``: a retried request returns the decision for the contact as
        it stands, and never creates a second contact.
        """
        route = self._catalog.number(called)
        if route is None and not called.startswith("+"):
            route = self._catalog.number("+" + called)
        if route is None:
            return Reject(404, "number not in service")
        if route.queue_id is None:
            if route.legacy_trunk is None:
                return Reject(404, "number not in service")
            forwarded = apply_contact(
                ContactSnapshot.new(contact_id, channel, now_ms), ForwardToLegacy(route.legacy_trunk), now_ms
            )
            live = LiveContact(forwarded.contact, called, caller, route.merchant_id, edge_task_id)
            if not self._create(live):
                return self._decision_for_id(contact_id, now_ms)
            self._publish_contact(forwarded.event, live)
            return Forward(contact_id, route.legacy_trunk)
        queue = self._catalog.queue(route.merchant_id, route.queue_id)
        if queue is None:
            log.error("number %s routes to missing queue %s", called, route.queue_id)
            return Reject(404, "number not in service")
        # Created straight into the queue (see the module docstring: no lost wake-up).
        enqueued = apply_contact(
            ContactSnapshot.new(contact_id, channel, now_ms),
            Enqueue(queue.queue_id, priority or route.priority or DEFAULT_CONTACT_PRIORITY),
            now_ms,
        )
        live = LiveContact(enqueued.contact, called, caller, route.merchant_id, edge_task_id, unlisted=True)
        if not self._create(live):
            return self._decision_for_id(contact_id, now_ms)
        self._publish_contact(enqueued.event, live)
        return self._route_queued(live, queue, now_ms)

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
        contact = self._contacts.get(contact_id)
        if contact is None:
            return self._ended_ack(contact_id, stale=True)
        snapshot = contact.snapshot
        if snapshot.state is not ContactState.OFFERED or snapshot.seat_id != seat_id:
            # A duplicate or late report (the caller hung up, a retry after a timeout): say how the
            # contact stands and change nothing.
            return Acknowledged(
                contact_id, snapshot.state.value, snapshot.seat_id, contact.merchant_id, stale=True
            )
        merchant_id = self._merchant_of(contact)
        if outcome is OfferOutcome.ANSWERED:
            return self._answered(contact, merchant_id, seat_id, now_ms, dialog)
        queue = self._queue_of(contact)
        self._agents.change(
            merchant_id,
            seat_id,
            lambda seat: self._if_reserved_for(seat, contact_id, self._missed_command(outcome, contact_id)),
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
        requeued = replace(
            contact, snapshot=missed.contact, offered_at_ms=None, segments=(*contact.segments, segment)
        )
        try:
            self._contacts.save(contact.version, requeued)
        except ConcurrentUpdateError:
            return self._decision_for_id(contact_id, now_ms)
        self._publish_contact(missed.event, requeued)
        if queue is None:
            return self._end_by_system(requeued, None, HangupCause.SYSTEM_ERROR, now_ms)
        if self._misses_in_current_queue(requeued) >= self._policy.max_rona_attempts:
            return self._overflow(requeued, queue, HangupCause.RONA_LIMIT_REACHED, now_ms)
        return self._route_queued(requeued, queue, now_ms)

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
        written on the from-state the connection left (see ``_seat_as_left``), and only a failed
        condition makes it read the seat.
        """
        read_seat = False
        for _ in range(ATTEMPTS):
            contact = self._contacts.get(contact_id)
            if contact is None:
                if dialog_keys:
                    self._contacts.drop_dialogs(dialog_keys)
                return self._ended_ack(contact_id, stale=True, release=True, now_ms=now_ms)
            ended = apply_contact(contact.snapshot, HangUp(cause, side), now_ms)
            record = self._record_for(contact, ended.contact, now_ms)
            try:
                release = self._release_of(contact, read_seat, now_ms)
            except NotFoundError:
                release = None  # the seat was deleted: nobody to let go
            try:
                self._contacts.end(contact, record, self._outcome_of(contact.snapshot), release, dialog_keys)
            except ConcurrentUpdateError as lost:
                # The seat moved (a missed offer in flight): read it. The contact moved (offered or
                # connected meanwhile): end it as it is now.
                read_seat = lost.entity == "seat"
                continue
            self._publish_contact(ended.event, contact)
            seat_id = contact.snapshot.seat_id
            if seat_id is None or contact.merchant_id is None:
                return Acknowledged(contact_id, ContactState.ENDED.value, merchant_id=contact.merchant_id)
            if release is None:
                return Acknowledged(contact_id, ContactState.ENDED.value, seat_id, contact.merchant_id)
            agent = self._published(release)
            if agent.state is AgentState.AVAILABLE:
                # Straight to the next waiting contact (the seat stream leaves the router's own
                # releases to it: see ``routing_events``).
                self.agent_available(contact.merchant_id, seat_id, now_ms)
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

    def queue_timeout(self, contact_id: str, now_ms: int) -> RoutingDecision:
        """The edge's max-wait timer fired: overflow to another queue, forward to legacy, or reject."""
        contact = self._contacts.get(contact_id)
        if contact is None:
            return self._ended_ack(contact_id, stale=True)
        if contact.snapshot.state is not ContactState.QUEUED:
            return self._decision_for(contact, now_ms)  # offered meanwhile: connect it after all
        queue = self._queue_of(contact)
        if queue is None:
            return self._end_by_system(contact, None, HangupCause.SYSTEM_ERROR, now_ms)
        enqueued_at = contact.snapshot.enqueued_at_ms or now_ms
        if not queue.config.wait_expired(enqueued_at, now_ms):
            return self._queue_decision(contact, queue, now_ms)  # early timer (clock skew)
        # A last look for an agent, which also covers a dequeue missed through index lag.
        attempt = self._try_offer(contact, queue, now_ms)
        if isinstance(attempt, Connect):
            return attempt
        if attempt is _CONTACT_CHANGED:
            return self._decision_for_id(contact_id, now_ms)
        return self._overflow(contact, queue, HangupCause.QUEUE_TIMEOUT, now_ms)

    def edge_lost(
        self,
        edge_task_id: str,
        now_ms: int,
        held: Collection[str] = (),
        initiated_before_ms: int | None = None,
    ) -> list[str]:
        """End the ringing and queued contacts an edge task no longer holds.

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
        for state in (ContactState.QUEUED, ContactState.OFFERED):
            for contact in self._contacts.owned_by_edge(edge_task_id, state.value):
                if contact.contact_id in held or (
                    initiated_before_ms is not None
                    and contact.snapshot.initiated_at_ms >= initiated_before_ms
                ):
                    continue
                self.contact_ended(contact.contact_id, HangupSide.SYSTEM, HangupCause.SYSTEM_ERROR, now_ms)
                ended.append(contact.contact_id)
        if ended:
            log.warning("ended %d contacts edge task %s no longer holds", len(ended), edge_task_id)
        return ended

    def pending_offers(self, edge_task_id: str, now_ms: int, retry_queued: bool = False) -> list[Connect]:
        """Offers made to contacts this edge task holds (by ``agent_available``), to ring now.

        Every call returns every pending offer: the edge ignores those it is already ringing (by
        contact id and seat id). ``retry_queued`` also tries to offer the edge's queued contacts
        again — a safety net for a dequeue missed through index lag; a few seconds apart is enough.
        """
        connects: list[Connect] = []
        for contact in self._contacts.owned_by_edge(edge_task_id, ContactState.OFFERED.value):
            connect = self._connect_for(contact, now_ms)
            if connect is not None:
                connects.append(connect)
        if retry_queued:
            for contact in self._contacts.owned_by_edge(edge_task_id, ContactState.QUEUED.value):
                queue = self._queue_of(contact)
                if queue is None:
                    continue
                decision = self._route_queued(contact, queue, now_ms)
                if isinstance(decision, Connect) and decision not in connects:
                    connects.append(decision)
        return connects

    def finish_wrap_up(
        self, merchant_id: str, seat_id: str, now_ms: int, contact_id: str | None = None
    ) -> AgentOffer | None:
        """The wrap-up deadline passed: the agent goes AVAILABLE and takes the next waiting contact."""

        def decide(seat: AgentSeat) -> list[AgentCommand]:
            agent = seat.agent
            if (
                agent.state is not AgentState.AFTER_CONTACT_WORK
                or agent.contact_id is None
                or (contact_id is not None and agent.contact_id != contact_id)
                or (agent.wrap_up_deadline_ms is not None and agent.wrap_up_deadline_ms > now_ms)
            ):
                return []
            return [FinishWrapUp(agent.contact_id)]

        agent = self._agents.change(merchant_id, seat_id, decide, now_ms)
        if agent.state is not AgentState.AVAILABLE:
            return None
        return self.agent_available(merchant_id, seat_id, now_ms)

    def finish_wrap_ups(self, merchant_id: str, now_ms: int) -> list[AgentOffer]:
        """Sweep one merchant's seats for wrap-ups past their deadline (a scheduled safety net)."""
        offers: list[AgentOffer] = []
        for seat in self._seats.all_for_merchant(merchant_id):
            agent = seat.agent
            if (
                agent.state is AgentState.AFTER_CONTACT_WORK
                and agent.wrap_up_deadline_ms is not None
                and agent.wrap_up_deadline_ms <= now_ms
            ):
                offer = self.finish_wrap_up(merchant_id, seat.seat_id, now_ms)
                if offer is not None:
                    offers.append(offer)
        return offers

    # Use case driven by agent state changes (the seat stream)

    def agent_available(self, merchant_id: str, seat_id: str, now_ms: int) -> AgentOffer | None:
        """Offer the agent the waiting contact it should take first, across every queue it serves."""
        for _ in range(ATTEMPTS):
            try:
                seat = self._seats.get(merchant_id, seat_id)
            except NotFoundError:
                return None
            if seat.agent.state is not AgentState.AVAILABLE:
                return None
            queues = {
                queue.queue_id: queue
                for queue_id in seat.candidate.queues
                if (queue := self._catalog.queue(merchant_id, queue_id)) is not None
            }
            heads = {
                contact.contact_id: contact
                for queue_id in queues
                for contact in self._contacts.queue_heads(queue_id, self._policy.heads_per_queue)
                if contact.snapshot.state is ContactState.QUEUED
                and seat_id not in contact.recently_offered_to(now_ms, self._policy.reoffer_cooldown_ms)
            }
            outcome = self._offer_heads(seat, queues, heads, now_ms)
            if outcome is not _SEAT_CHANGED:
                return outcome if isinstance(outcome, AgentOffer) else None
        return None

    # Offering

    def _offer_heads(
        self, seat: AgentSeat, queues: dict[str, RoutingQueue], heads: dict[str, LiveContact], now_ms: int
    ) -> AgentOffer | _SeatChanged | None:
        configs: dict[str, QueueConfig] = {queue_id: queue.config for queue_id, queue in queues.items()}
        checked_reachable = False
        while heads:
            choice = choose_contact_for_agent(
                seat.candidate, [_queued(contact) for contact in heads.values()], configs
            )
            if choice is None:
                return None
            if not checked_reachable:
                if not self._registrations.targets(self._aor(seat), now_ms):
                    self._mark_unreachable(seat, choice.contact_id, now_ms)
                    return None
                checked_reachable = True
            contact = heads.pop(choice.contact_id)
            try:
                self._offer(contact, seat, queues[choice.queue_id], now_ms)
            except ConcurrentUpdateError as lost:
                if lost.entity == "seat":
                    return _SEAT_CHANGED
                continue  # that contact went to another agent or ended: the next head
            return AgentOffer(contact.contact_id, seat.seat_id, seat.merchant_id, contact.edge_task_id)
        return None

    def _route_queued(self, contact: LiveContact, queue: RoutingQueue, now_ms: int) -> RoutingDecision:
        for _ in range(ATTEMPTS):
            attempt = self._try_offer(contact, queue, now_ms)
            if isinstance(attempt, Connect):
                return attempt
            if attempt is None and contact.unlisted:
                # Nobody free: listed in the queue's index, then one more look (module docstring).
                # Also a contact whose router died before listing it, found again by its edge.
                listed = replace(
                    contact, snapshot=replace(contact.snapshot, version=contact.version + 1), unlisted=False
                )
                if self._save_or_none(contact, listed):
                    contact = listed
                    continue
            elif attempt is None:
                if queue.config.wait_expired(contact.snapshot.enqueued_at_ms or now_ms, now_ms):
                    return self._overflow(contact, queue, HangupCause.QUEUE_TIMEOUT, now_ms)
                return self._queue_decision(contact, queue, now_ms)
            fresh = self._contacts.get(contact.contact_id)
            if fresh is None or fresh.snapshot.state is not ContactState.QUEUED:
                return (
                    self._decision_for_id(contact.contact_id, now_ms)
                    if fresh is None
                    else self._decision_for(fresh, now_ms)
                )
            contact = fresh
            queue = self._queue_of(contact) or queue
        return self._queue_decision(contact, queue, now_ms)

    def _try_offer(
        self, contact: LiveContact, queue: RoutingQueue, now_ms: int
    ) -> Connect | _ContactChanged | None:
        """Offer ``contact`` to the best available agent of ``queue``; None when nobody can take it."""
        limit = self._policy.candidate_limit
        if queue.config.strategy is RoutingStrategy.LONGEST_IDLE:
            limit = min(limit, self._policy.longest_idle_page)
        tried = set(contact.recently_offered_to(now_ms, self._policy.reoffer_cooldown_ms))
        attempts = self._policy.max_offer_attempts
        while True:
            seats = self._seats.available(queue.merchant_id, limit)
            available = {seat.seat_id: seat for seat in seats if seat.seat_id not in tried}
            ranked = rank_agents(
                queue.config,
                [seat.candidate for seat in available.values()],
                round_robin_cursor=queue.round_robin_cursor,
            )
            if queue.config.strategy is RoutingStrategy.LONGEST_IDLE:
                ranked = spread_near_ties(ranked, contact.contact_id, self._policy.idle_tie_window_ms)
            for candidate in ranked[:attempts]:
                outcome = self._offer_to(contact, available[candidate.seat_id], queue, now_ms)
                if outcome is not None:
                    return outcome
                tried.add(candidate.seat_id)
                attempts -= 1
            if attempts <= 0 or len(seats) < limit or limit >= self._policy.candidate_limit:
                return None
            tried.update(available)  # read again below, with the rest; already judged
            limit = self._policy.candidate_limit

    def _offer_to(
        self, contact: LiveContact, seat: AgentSeat, queue: RoutingQueue, now_ms: int
    ) -> Connect | _ContactChanged | None:
        """Offer ``contact`` to ``seat``; None when the seat cannot take it (unregistered, taken)."""
        targets = self._registrations.targets(self._aor(seat), now_ms)
        if not targets:
            self._mark_unreachable(seat, contact.contact_id, now_ms)
            return None
        try:
            self._offer(contact, seat, queue, now_ms)
        except ConcurrentUpdateError as lost:
            if lost.entity == "seat":
                return None  # taken by another contact, or changed state: the next candidate
            return _CONTACT_CHANGED
        return Connect(
            contact.contact_id,
            seat.seat_id,
            seat.merchant_id,
            self._aor(seat),
            tuple(targets),
            seat.ring_timeout_seconds,
            queue.queue_id,
        )

    def _offer(self, contact: LiveContact, seat: AgentSeat, queue: RoutingQueue, now_ms: int) -> None:
        """The atomic claim; raises ConcurrentUpdateError naming the seat or the contact on a lost race."""
        reserved = apply(seat.agent, Reserve(contact.contact_id), now_ms)
        offered = apply_contact(contact.snapshot, Offer(seat.seat_id), now_ms)
        self._contacts.offer(contact, seat, reserved.agent, now_ms)
        if reserved.event is not None:
            self._events.publish(reserved.event, merchant_id=seat.merchant_id)
        self._publish_contact(offered.event, contact)
        if queue.config.strategy is RoutingStrategy.ROUND_ROBIN:
            self._catalog.set_round_robin_cursor(queue.merchant_id, queue.queue_id, seat.seat_id)

    def _mark_unreachable(self, seat: AgentSeat, contact_id: str, now_ms: int) -> None:
        """An AVAILABLE agent whose phone is not registered: NOT_RESPONDING, without ringing anyone.

        The table has no AVAILABLE -> NOT_RESPONDING row; Reserve then MissOffer is the legal path,
        written as one conditional write. The caller is not charged a RONA attempt for it.
        """

        def decide(current: AgentSeat) -> list[AgentCommand]:
            if current.agent.state is not AgentState.AVAILABLE:
                return []
            return [Reserve(contact_id), MissOffer(contact_id)]

        # A seat that keeps changing is busy anyway; the next routing attempt looks again.
        with contextlib.suppress(ConcurrentUpdateError):
            self._agents.change(seat.merchant_id, seat.seat_id, decide, now_ms)
        log.info("seat %s has no registered device; set not responding", seat.seat_id)

    # Offer results and ends

    def _answered(
        self,
        contact: LiveContact,
        merchant_id: str,
        seat_id: str,
        now_ms: int,
        dialog: CallDialog | None = None,
    ) -> RoutingDecision:
        """RESERVED -> ON_CONTACT and OFFERED -> CONNECTED in one transaction, the seat unread.

        The seat's from-state is the one the offer left (``_seat_as_left``); the write is conditioned
        on it, so a seat that moved meanwhile (the ring timer fired first) fails the condition and is
        read. A contact that moved (the caller hung up) fails its version: the seat is untouched, and
        its release was ``contact_ended``'s, in the same transaction as the end.
        """
        contact_id = contact.contact_id
        held: AgentSnapshot | None = self._seat_as_left(contact)
        for _ in range(ATTEMPTS):
            if held is None:
                try:
                    held = self._seats.get(merchant_id, seat_id).agent
                except NotFoundError:
                    held = AgentSnapshot(seat_id=seat_id)
            if held.state is not AgentState.RESERVED or held.contact_id != contact_id:
                return Acknowledged(
                    contact_id, contact.snapshot.state.value, seat_id, merchant_id, stale=True
                )
            seat = SeatTransition.of(merchant_id, held, apply(held, ConnectAgentCommand(contact_id), now_ms))
            connected = apply_contact(contact.snapshot, ConnectAgent(seat_id), now_ms)
            updated = replace(contact, snapshot=connected.contact, seat_version=seat.after.version)
            try:
                self._contacts.connect(contact.version, updated, seat, dialog, now_ms)
            except ConcurrentUpdateError as lost:
                if lost.entity == "seat":
                    held = None  # read what the seat is now
                    continue
                fresh = self._contacts.get(contact_id)
                if fresh is None:
                    return self._ended_ack(contact_id, stale=True)
                if fresh.snapshot.state is not ContactState.OFFERED or fresh.snapshot.seat_id != seat_id:
                    return self._decision_for(fresh, now_ms)
                contact, held = fresh, self._seat_as_left(fresh)
                continue
            self._published(seat)
            self._publish_contact(connected.event, updated)
            return Acknowledged(contact_id, ContactState.CONNECTED.value, seat_id, merchant_id)
        raise ConcurrentUpdateError("contact", contact_id)

    @staticmethod
    def _seat_as_left(contact: LiveContact) -> AgentSnapshot | None:
        """The offered or connected seat as this contact's offer or connection left it, without a read.

        While the contact is OFFERED the seat is RESERVED for it, while CONNECTED it is ON_CONTACT
        for it, at the version the contact recorded: nothing but the router's transitions out of
        those states moves such a seat (the table has no agent command from them), and each of
        those also changes the contact. A missed offer writes the seat just before the contact; in
        that window the guess is wrong, the condition fails and the caller reads the seat.

        The snapshot holds the state, the contact and the version: all that Connect and EndContact
        read (they set every other field from the command and the clock). ReleaseReservation also
        hands back the agent's place in line, so it is computed from a seat read. None when the
        seat must be read.
        """
        snapshot = contact.snapshot
        if snapshot.seat_id is None or contact.seat_version is None:
            return None  # written before the contact recorded it: read the seat
        state = {ContactState.OFFERED: AgentState.RESERVED, ContactState.CONNECTED: AgentState.ON_CONTACT}
        if snapshot.state not in state:
            return None
        return AgentSnapshot(
            seat_id=snapshot.seat_id,
            state=state[snapshot.state],
            version=contact.seat_version,
            contact_id=contact.contact_id,
        )

    def _release_of(self, contact: LiveContact, read_seat: bool, now_ms: int) -> SeatTransition | None:
        """The release of the contact's agent to write with its end, or None when it holds no agent.

        Raises NotFoundError when the seat, read, no longer exists.
        """
        snapshot = contact.snapshot
        if snapshot.seat_id is None or contact.merchant_id is None:
            return None
        if snapshot.state not in (ContactState.OFFERED, ContactState.CONNECTED):
            return None
        held = None if read_seat or snapshot.state is ContactState.OFFERED else self._seat_as_left(contact)
        if held is None:
            held = self._seats.get(contact.merchant_id, snapshot.seat_id).agent
        command = self._release_command(held, contact)
        if command is None:
            return None  # the seat let go of it already (a missed offer in flight)
        return SeatTransition.of(contact.merchant_id, held, apply(held, command, now_ms))

    def _release_command(self, agent: AgentSnapshot, contact: LiveContact) -> AgentCommand | None:
        """Ringing -> AVAILABLE (in its place in line); talking -> wrap-up, or AVAILABLE without one."""
        if agent.contact_id != contact.contact_id:
            return None
        if agent.state is AgentState.RESERVED:
            return ReleaseReservation(contact.contact_id)
        if agent.state is AgentState.ON_CONTACT:
            queue = self._queue_of(contact)
            return EndContact(contact.contact_id, queue.config.wrap_up_seconds if queue is not None else 0)
        return None

    def _published(self, seat: SeatTransition) -> AgentSnapshot:
        """Publish the event of a seat transition just written; the seat as written."""
        if seat.event is not None:
            self._events.publish(seat.event, merchant_id=seat.merchant_id)
        return seat.after

    def _missed_command(self, outcome: OfferOutcome, contact_id: str) -> AgentCommand:
        if outcome is OfferOutcome.BUSY and self._policy.busy_leaves_agent_available:
            return ReleaseReservation(contact_id)
        if outcome in (OfferOutcome.BUSY, OfferOutcome.REJECTED):
            return RejectBusy(contact_id)
        return MissOffer(contact_id)

    @staticmethod
    def _if_reserved_for(seat: AgentSeat, contact_id: str, command: AgentCommand) -> list[AgentCommand]:
        agent = seat.agent
        if agent.state is AgentState.RESERVED and agent.contact_id == contact_id:
            return [command]
        return []

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
            agent = self._agents.change(merchant_id, seat_id, decide, now_ms)
        except NotFoundError:
            return AgentSnapshot(seat_id=seat_id)  # the seat was deleted after the call ended
        if agent.state is AgentState.AVAILABLE:
            self.agent_available(merchant_id, seat_id, now_ms)  # straight to the next waiting contact
        return agent

    def _overflow(
        self, contact: LiveContact, queue: RoutingQueue, cause: HangupCause, now_ms: int
    ) -> RoutingDecision:
        """Max wait reached (or the RONA limit): the queue's overflow target, or 480."""
        snapshot = contact.snapshot
        overflow = queue.config.overflow
        left = Segment(
            "queue", snapshot.enqueued_at_ms or now_ms, now_ms, "overflow", queue_id=queue.queue_id
        )
        if (
            overflow is not None
            and overflow.kind is OverflowKind.QUEUE
            and self._hops(contact) < self._policy.max_overflow_hops
        ):
            target = self._catalog.queue(queue.merchant_id, overflow.target)
            if target is not None:
                moved = apply_contact(snapshot, Enqueue(target.queue_id, snapshot.priority), now_ms)
                updated = replace(contact, snapshot=moved.contact, segments=(*contact.segments, left))
                # It reaches the target queue: counted "offered" there in the same write.
                if not self._save_or_none(contact, updated, count_offered=True):
                    return self._decision_for_id(contact.contact_id, now_ms)
                self._publish_contact(moved.event, updated)
                return self._route_queued(updated, target, now_ms)
            log.error("queue %s overflows to missing queue %s", queue.queue_id, overflow.target)
        if overflow is not None and overflow.kind is OverflowKind.LEGACY_TRUNK:
            forwarded = apply_contact(snapshot, ForwardToLegacy(overflow.target), now_ms)
            updated = replace(contact, snapshot=forwarded.contact, segments=(*contact.segments, left))
            if not self._save_or_none(contact, updated):
                return self._decision_for_id(contact.contact_id, now_ms)
            self._publish_contact(forwarded.event, updated)
            return Forward(contact.contact_id, overflow.target)
        return self._end_by_system(contact, queue, cause, now_ms)

    def _end_by_system(
        self, contact: LiveContact, queue: RoutingQueue | None, cause: HangupCause, now_ms: int
    ) -> RoutingDecision:
        ended = apply_contact(contact.snapshot, HangUp(cause, HangupSide.SYSTEM), now_ms)
        try:
            self._contacts.end(contact, self._record_for(contact, ended.contact, now_ms), "timed_out")
        except ConcurrentUpdateError:
            return self._decision_for_id(contact.contact_id, now_ms)
        self._publish_contact(ended.event, contact)
        reason = "no agent available" if cause is HangupCause.QUEUE_TIMEOUT else cause.value.replace("_", " ")
        return Reject(480, reason, self._policy.reject_retry_after_seconds, contact.contact_id)

    # Reading the current state back as a decision

    def _decision_for_id(self, contact_id: str, now_ms: int) -> RoutingDecision:
        contact = self._contacts.get(contact_id)
        if contact is None:
            return self._ended_ack(contact_id)
        return self._decision_for(contact, now_ms)

    def _decision_for(self, contact: LiveContact, now_ms: int) -> RoutingDecision:
        snapshot = contact.snapshot
        if snapshot.state is ContactState.QUEUED:
            queue = self._queue_of(contact)
            if queue is not None and contact.unlisted:
                return self._route_queued(contact, queue, now_ms)  # its router gave up before listing it
            if queue is not None:
                return self._queue_decision(contact, queue, now_ms)
        if snapshot.state is ContactState.OFFERED:
            connect = self._connect_for(contact, now_ms)
            if connect is not None:
                return connect
        if snapshot.state is ContactState.FORWARDED and snapshot.trunk_id:
            return Forward(contact.contact_id, snapshot.trunk_id)
        return Acknowledged(contact.contact_id, snapshot.state.value, snapshot.seat_id, contact.merchant_id)

    def _connect_for(self, contact: LiveContact, now_ms: int) -> Connect | None:
        """The Connect for an OFFERED contact, or None when the offer is no longer current."""
        seat_id = contact.snapshot.seat_id
        if seat_id is None or contact.merchant_id is None:
            return None
        try:
            seat = self._seats.get(contact.merchant_id, seat_id)
        except NotFoundError:
            return None
        # The index the edge polls lags; the seat (read consistently) says whether the offer stands.
        if seat.agent.state is not AgentState.RESERVED or seat.agent.contact_id != contact.contact_id:
            return None
        return Connect(
            contact.contact_id,
            seat_id,
            contact.merchant_id,
            self._aor(seat),
            tuple(self._registrations.targets(self._aor(seat), now_ms)),
            seat.ring_timeout_seconds,
            contact.snapshot.queue_id,
        )

    def _queue_decision(self, contact: LiveContact, queue: RoutingQueue, now_ms: int) -> Queue:
        deadline = queue.config.wait_deadline_ms(contact.snapshot.enqueued_at_ms or now_ms)
        return Queue(
            contact.contact_id,
            queue.queue_id,
            max(0, math.ceil((deadline - now_ms) / 1000)),
            deadline,
        )

    def _ended_ack(
        self, contact_id: str, stale: bool = False, release: bool = False, now_ms: int = 0
    ) -> Acknowledged:
        record = self._contacts.record(contact_id)
        if record is None:
            raise NotFoundError("contact", contact_id)
        if release and record.seat_id and record.merchant_id:
            # A retried contact_ended: the first may have died between the record and the release.
            queue = self._catalog.queue(record.merchant_id, record.queue_id) if record.queue_id else None
            self._release_agent(record.merchant_id, record.seat_id, contact_id, queue, now_ms)
        return Acknowledged(
            contact_id, ContactState.ENDED.value, record.seat_id, record.merchant_id, stale=stale
        )

    # Small helpers

    def _create(self, contact: LiveContact) -> bool:
        try:
            self._contacts.create(contact)
        except AlreadyExistsError:
            return False
        return True

    def _save_or_none(self, old: LiveContact, new: LiveContact, count_offered: bool = False) -> bool:
        try:
            self._contacts.save(old.version, new, count_offered)
        except ConcurrentUpdateError:
            return False
        return True

    def _queue_of(self, contact: LiveContact) -> RoutingQueue | None:
        if contact.merchant_id is None or contact.snapshot.queue_id is None:
            return None
        return self._catalog.queue(contact.merchant_id, contact.snapshot.queue_id)

    @staticmethod
    def _merchant_of(contact: LiveContact) -> str:
        if contact.merchant_id is None:
            raise NotFoundError("merchant of contact", contact.contact_id)
        return contact.merchant_id

    def _aor(self, seat: AgentSeat) -> str:
        return f"sip:{seat.sip_username}@{self._policy.sip_domain}"

    @staticmethod
    def _hops(contact: LiveContact) -> int:
        return sum(1 for segment in contact.segments if segment.kind == "queue")

    @staticmethod
    def _misses_in_current_queue(contact: LiveContact) -> int:
        since = contact.snapshot.enqueued_at_ms or 0
        return sum(1 for s in contact.segments if s.kind == "agent" and s.started_at_ms >= since)

    @staticmethod
    def _outcome_of(snapshot: ContactSnapshot) -> str | None:
        if snapshot.connected_at_ms is not None:
            return "answered"
        if snapshot.state is ContactState.FORWARDED or snapshot.queue_id is None:
            return None  # the legacy centre counts forwarded calls
        return "abandoned"

    def _record_for(self, contact: LiveContact, ended: ContactSnapshot, now_ms: int) -> ContactRecord:
        snapshot = contact.snapshot
        return ContactRecord(
            contact_id=contact.contact_id,
            channel=snapshot.channel.value,
            called=contact.called,
            caller=contact.caller,
            merchant_id=contact.merchant_id,
            queue_id=snapshot.queue_id,
            seat_id=snapshot.seat_id,
            trunk_id=snapshot.trunk_id,
            created_at_ms=snapshot.initiated_at_ms,
            enqueued_at_ms=snapshot.enqueued_at_ms,
            offered_at_ms=contact.offered_at_ms,
            answered_at_ms=snapshot.connected_at_ms,
            ended_at_ms=now_ms,
            hangup_side=ended.hangup_side.value if ended.hangup_side else None,
            hangup_cause=ended.hangup_cause.value if ended.hangup_cause else None,
            rona_attempts=snapshot.rona_attempts,
            segments=(*contact.segments, *_final_segments(contact, ended, now_ms)),
        )

    def _publish_contact(self, event: ContactStateChanged, contact: LiveContact) -> None:
        self._events.publish(event, merchant_id=contact.merchant_id, edge_task_id=contact.edge_task_id)


class _SeatChanged:
    """The seat moved under an offer attempt: re-read it and start again."""


_SEAT_CHANGED = _SeatChanged()


def _queued(contact: LiveContact) -> QueuedContact:
    snapshot = contact.snapshot
    return QueuedContact(
        contact_id=contact.contact_id,
        queue_id=snapshot.queue_id or "",
        enqueued_at_ms=snapshot.enqueued_at_ms or 0,
        priority=snapshot.priority,
        channel=snapshot.channel,
    )


def _final_segments(contact: LiveContact, ended: ContactSnapshot, now_ms: int) -> Sequence[Segment]:
    """The legs still open when the contact ends, closed at ``now_ms``."""
    snapshot = contact.snapshot
    cause = ended.hangup_cause.value if ended.hangup_cause else "ended"
    if snapshot.state is ContactState.FORWARDED:
        since = contact.segments[-1].ended_at_ms if contact.segments else snapshot.initiated_at_ms
        return [Segment("trunk", since, now_ms, cause, trunk_id=snapshot.trunk_id)]
    if snapshot.queue_id is None or snapshot.enqueued_at_ms is None:
        return []
    if snapshot.state is ContactState.QUEUED:
        return [Segment("queue", snapshot.enqueued_at_ms, now_ms, cause, queue_id=snapshot.queue_id)]
    offered_at = contact.offered_at_ms or now_ms
    queue_leg = Segment("queue", snapshot.enqueued_at_ms, offered_at, "offered", queue_id=snapshot.queue_id)
    return [
        queue_leg,
        Segment("agent", offered_at, now_ms, cause, queue_id=snapshot.queue_id, seat_id=snapshot.seat_id),
    ]

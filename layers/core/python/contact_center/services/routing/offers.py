"""Offering one contact to agents: rank the available seats, check each one's phone, and claim one
with the atomic offer (``LiveContacts.offer``)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from dataclasses import replace

from contact_center.domain.acd import rank_agents, spread_near_ties
from contact_center.domain.agent_state import AgentCommand, AgentState, MissOffer, Reserve, apply
from contact_center.domain.contact import Offer, apply_contact
from contact_center.domain.events import ContactStateChanged
from contact_center.domain.queueing import RoutingStrategy

from ..errors import AlreadyExistsError, ConcurrentUpdateError
from .context import RoutingContext
from .decisions import CallbackDial, Connect
from .dialout import OutboundTrunks
from .ports import AgentSeat, AgentTarget, LiveContact, RoutingQueue, SeatProfile
from .records import is_callback

log = logging.getLogger("contact_center.routing")


class ContactChanged:
    """The contact moved under an offer attempt (offered elsewhere, overflowed or ended)."""


CONTACT_CHANGED = ContactChanged()


class Offers:
    def __init__(self, context: RoutingContext, outbound_trunks: OutboundTrunks | None = None) -> None:
        self._ctx = context
        self._trunks = outbound_trunks

    def try_offer(
        self,
        contact: LiveContact,
        queue: RoutingQueue,
        now_ms: int,
        arrived: ContactStateChanged | None = None,
    ) -> Connect | ContactChanged | None:
        """Offer ``contact`` to the best available agent of ``queue``; None when nobody can take it.
        ``arrived``: the contact is new and not written yet (the event of its arrival in the queue):
        it is created with its offer, in the offer's write; CONTACT_CHANGED when its id is taken."""
        policy = self._ctx.policy
        tried = set(contact.recently_offered_to(now_ms, policy.reoffer_cooldown_ms))
        attempts = policy.max_offer_attempts
        for limit in self._pages(queue):
            # The queue's own index: another queue's idle agents are never read past to find this one's.
            seats = self._ctx.seats.available_for_queue(queue.merchant_id, queue.queue_id, limit)
            available = {seat.seat_id: seat for seat in seats if seat.seat_id not in tried}
            ranked = rank_agents(
                queue.config,
                [seat.candidate for seat in available.values()],
                round_robin_cursor=queue.round_robin_cursor,
            )
            if queue.config.strategy is RoutingStrategy.LONGEST_IDLE:
                ranked = spread_near_ties(
                    ranked, contact.contact_id, policy.idle_tie_window_ms, policy.spread_candidates
                )
            for candidate in ranked[:attempts]:
                outcome = self._offer_to(contact, available[candidate.seat_id], queue, now_ms, arrived)
                if outcome is not None:
                    return outcome
                tried.add(candidate.seat_id)
                attempts -= 1
            if attempts <= 0 or limit is None or len(seats) < limit:
                return None  # every free agent of the queue was judged
            tried.update(available)  # read again below, with the rest; already judged
        return None

    def _pages(self, queue: RoutingQueue) -> tuple[int | None, ...]:
        """How many of the queue's free agents each successive read takes (None: all of them).

        The index is in longest-idle order, so for a longest-idle queue the best eligible agent, and
        the near ties concurrent routers spread over, are on the first small page whenever anyone
        there can take the contact; the rest is read only when nobody there could (a skill the
        queue requires, lost races). Other strategies rank on more than idle time: all of them.
        """
        policy = self._ctx.policy
        if queue.config.strategy is not RoutingStrategy.LONGEST_IDLE:
            return (None,)
        return (policy.longest_idle_page, policy.candidate_limit, None)

    def _offer_to(
        self,
        contact: LiveContact,
        seat: AgentSeat,
        queue: RoutingQueue,
        now_ms: int,
        arrived: ContactStateChanged | None = None,
    ) -> Connect | ContactChanged | None:
        """Offer ``contact`` to ``seat``; None when the seat cannot take it (unregistered, taken)."""
        aor = self._ctx.aor(seat)
        targets = self._ctx.registrations.targets(aor, now_ms)
        if not targets:
            self.mark_unreachable(seat, contact.contact_id, now_ms)
            return None
        try:
            self.claim(contact, seat, queue, now_ms, arrived)
        except AlreadyExistsError:
            return CONTACT_CHANGED  # a retried new_contact created it meanwhile
        except ConcurrentUpdateError as lost:
            if lost.entity == "seat":
                return None  # taken by another contact, or changed state: the next candidate
            return CONTACT_CHANGED
        return self.connect(contact, seat, queue, targets)

    def connect(
        self, contact: LiveContact, seat: AgentSeat, queue: RoutingQueue, targets: Sequence[AgentTarget]
    ) -> Connect:
        """The decision for the edge once ``contact`` is claimed for ``seat``: ring these phones."""
        return Connect(
            contact.contact_id,
            seat.seat_id,
            seat.merchant_id,
            self._ctx.aor(seat),
            tuple(targets),
            seat.ring_timeout_seconds,
            queue.queue_id,
            queue.recording_key(contact.contact_id),
            self.callback_of(contact),
        )

    def callback_of(self, contact: LiveContact) -> CallbackDial | None:
        """Whom the runner of a callback dials (None: the contact is no callback), read with each
        offer so a trunk or caller ID changed meanwhile is the one used."""
        if not is_callback(contact):
            return None
        trunk = (
            self._trunks.outbound_trunk(contact.merchant_id, contact.caller)
            if self._trunks is not None and contact.merchant_id
            else None
        )
        if trunk is None:
            return CallbackDial(contact.caller)
        return CallbackDial(contact.caller, trunk.trunk_id, trunk.address, trunk.transport, trunk.caller_id)

    def claim(
        self,
        contact: LiveContact,
        seat: AgentSeat,
        queue: RoutingQueue,
        now_ms: int,
        arrived: ContactStateChanged | None = None,
    ) -> None:
        """The atomic claim; raises ConcurrentUpdateError naming the seat or the contact on a lost race
        (AlreadyExistsError for a new contact, ``arrived``, whose id is taken).

        Stamped no earlier than the seat's last change: ``now_ms`` is when this invocation began, and
        on a slow table one runs for many seconds, so its claim can land after a release stamped
        later than its own start. The claim is written after that release (the version condition
        orders them); its stamp must say so too, or the records show the seat offered two calls at
        once and free when it was not."""
        at = max(now_ms, seat.agent.state_since_ms)
        reserved = apply(seat.agent, Reserve(contact.contact_id), at)
        offered = apply_contact(contact.snapshot, Offer(seat.seat_id), at)
        if arrived is None:
            self._ctx.contacts.offer(contact, seat, reserved.agent, at)
        else:
            created = replace(
                contact,
                snapshot=offered.contact,
                merchant_id=seat.merchant_id,
                offered_at_ms=at,
                seat_version=reserved.agent.version,
                seat_profile=SeatProfile.of(seat),
                unlisted=False,
            )
            self._ctx.contacts.create_offered(created, seat, reserved.agent)
            self._ctx.publish_contact(arrived, contact)
        if reserved.event is not None:
            self._ctx.events.publish(reserved.event, merchant_id=seat.merchant_id)
        self._ctx.publish_contact(offered.event, contact)
        if queue.config.strategy is RoutingStrategy.ROUND_ROBIN:
            self._ctx.catalog.set_round_robin_cursor(queue.merchant_id, queue.queue_id, seat.seat_id)

    def mark_unreachable(self, seat: AgentSeat, contact_id: str, now_ms: int) -> None:
        """An AVAILABLE agent whose phone is not registered: NOT_RESPONDING, without ringing anyone.

        The table has no AVAILABLE -> NOT_RESPONDING row; Reserve then MissOffer is the legal path,
        written as one conditional write. The caller is not charged a RONA attempt for it.
        """

        def decide(current: AgentSeat) -> list[AgentCommand]:
            if current.agent.state is not AgentState.AVAILABLE:
                return []
            return [Reserve(contact_id), MissOffer(contact_id, unreachable=True)]

        # A seat that keeps changing is busy anyway; the next routing attempt looks again.
        with contextlib.suppress(ConcurrentUpdateError):
            self._ctx.agents.change(seat.merchant_id, seat.seat_id, decide, now_ms)
        log.info("seat %s has no registered device; set not responding", seat.seat_id)

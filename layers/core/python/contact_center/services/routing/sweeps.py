"""The scheduled safety net (every minute): seats left behind by an edge that died.

An edge task ends an agent's wrap-up when its timer fires and reports how the ring of an offer ended;
a task that dies meanwhile reports neither. The sweep finds, for every merchant:

- wrap-ups past their deadline: the agent goes AVAILABLE and takes the next waiting contact
  (``dequeue.Dequeue.finish_wrap_up``, the edge's own path);
- AVAILABLE seats of a table written before the per-queue availability index, listed in it once;
- reservations that outlived the ring: a seat RESERVED for a contact that no longer rings it (ended,
  moved, or offered to it longer than its ring timeout plus ``RoutingPolicy.stale_reservation_grace_ms``
  ago). A contact that is gone or moved lets the seat go back in its place in line; a contact still
  offered to it is a ring nobody reported, handled as the edge would have: no answer (``answers``).
- AVAILABLE seats of queues that take callbacks: a callback whose retry fell due while they were
  free is offered (nothing else would offer it: no agent changed state);
- agents parked NOT_RESPONDING because their phone could not be reached (reason ``unreachable``)
  whose phone is registered again: AVAILABLE, and they take the next waiting contact. After a region
  fails, its agents' phones register again through the surviving region; until then offers to them
  fail through the dead region's edge tasks. That was no choice of the agent's, so no agent must act.

Two regions: only the merchants this region decides are swept (the others' seats are written by their
home, and this replica's copy of them may be stale). After this region took over a dead region's
merchants, ``release_lost_region`` lets go at once of the reservations the dead home made that nobody
will report on any more, instead of a minute later as a missed offer (see its docstring).

Every change is the same conditional write as the edge's own, decided on the seat as it is now, so a
sweep racing a live edge's report changes nothing twice. Reading every seat once a minute costs a
Query per merchant page: about 2 read units per 100 seats.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from contact_center.contracts.metrics import AGENT_STATES
from contact_center.domain.agent_state import (
    AgentCommand,
    AgentState,
    GoAvailable,
    ReleaseReservation,
    SystemReason,
)
from contact_center.domain.contact import ContactState, HangupCause, HangupSide

from ..errors import ConcurrentUpdateError, NotFoundError
from .answers import Answers
from .context import RoutingContext
from .decisions import OfferOutcome
from .dequeue import AgentOffer, Dequeue
from .endings import Endings
from .ports import AgentSeat, LiveContact

log = logging.getLogger("contact_center.routing")


@dataclass(slots=True)
class SweepReport:
    """What one sweep changed: seats whose wrap-up it ended, reservations it let go, offers it made."""

    wrap_ups_ended: list[str] = field(default_factory=list)
    reservations_released: list[str] = field(default_factory=list)
    offers: list[AgentOffer] = field(default_factory=list)
    seats_relisted: list[str] = field(default_factory=list)  # see ``AgentSeats.relist``
    # Seats per state as the sweep read them (before its own changes), every state named.
    agents_by_state: dict[str, int] = field(default_factory=lambda: dict.fromkeys(AGENT_STATES, 0))
    agents_reachable_again: list[str] = field(default_factory=list)
    orphans_freed: list[str] = field(default_factory=list)  # see ``RoutingService.sweep``

    def to_dict(self) -> dict[str, object]:
        return {
            "orphans_freed": self.orphans_freed,
            "wrap_ups_ended": self.wrap_ups_ended,
            "reservations_released": self.reservations_released,
            "offers": [offer.contact_id for offer in self.offers],
            "seats_relisted": self.seats_relisted,
            "agents_reachable_again": self.agents_reachable_again,
        }


class Sweeps:
    def __init__(self, context: RoutingContext, dequeue: Dequeue, answers: Answers, endings: Endings) -> None:
        self._ctx = context
        self._dequeue = dequeue
        self._answers = answers
        self._endings = endings

    def sweep(self, now_ms: int, merchant_ids: Iterable[str] | None = None) -> SweepReport:
        """Sweep the seats of ``merchant_ids`` (every merchant when None).

        A sweep of every merchant also reports how many seats are in each state: it reads every
        seat anyway, so the dashboard's gauge costs no read of its own. A partial sweep reports
        nothing (its counts would read as a fleet that lost seats)."""
        report = SweepReport()
        merchants = self._ctx.catalog.merchant_ids() if merchant_ids is None else merchant_ids
        for merchant_id in merchants:
            if self._ctx.decides is not None and not self._ctx.decides(merchant_id):
                continue
            for seat_id in self._ctx.seats.relist(merchant_id):
                report.seats_relisted.append(seat_id)
                # Invisible to new contacts until now: it takes whoever waits for it.
                with contextlib.suppress(ConcurrentUpdateError, NotFoundError):
                    if (offer := self._dequeue.agent_available(merchant_id, seat_id, now_ms)) is not None:
                        report.offers.append(offer)
            for seat in self._ctx.seats.all_for_merchant(merchant_id):
                report.agents_by_state[seat.agent.state.value] += 1
                # One seat's failure (a concurrent change that kept winning) must not stop the rest.
                with contextlib.suppress(ConcurrentUpdateError, NotFoundError):
                    self._sweep_seat(seat, now_ms, report)
        if merchant_ids is None:
            self._ctx.metrics.agents_counted(report.agents_by_state, now_ms)
        return report

    def _sweep_seat(self, seat: AgentSeat, now_ms: int, report: SweepReport) -> None:
        agent = seat.agent
        if agent.state is AgentState.AFTER_CONTACT_WORK:
            if agent.wrap_up_deadline_ms is None or agent.wrap_up_deadline_ms > now_ms:
                return
            offer = self._dequeue.finish_wrap_up(seat.merchant_id, seat.seat_id, now_ms)
            report.wrap_ups_ended.append(seat.seat_id)
            if offer is not None:
                report.offers.append(offer)
            log.info("sweep ended the wrap-up of seat %s past its deadline", seat.seat_id)
        elif agent.state is AgentState.NOT_RESPONDING and agent.reason == SystemReason.UNREACHABLE:
            if self._ctx.registrations.targets(self._ctx.aor(seat), now_ms):
                self._reachable_again(seat, now_ms, report)
        elif agent.state is AgentState.AVAILABLE and self._serves_callbacks(seat):
            # A callback's retry falls due while agents are free: no change of theirs would offer it.
            offer = self._dequeue.agent_available(seat.merchant_id, seat.seat_id, now_ms)
            if offer is not None:
                report.offers.append(offer)
        elif agent.state is AgentState.RESERVED and agent.contact_id is not None:
            rings_until = agent.state_since_ms + seat.ring_timeout_seconds * 1000
            if now_ms < rings_until + self._ctx.policy.stale_reservation_grace_ms:
                return
            if self._release_stale(seat, agent.contact_id, now_ms, report):
                log.info("sweep let go of seat %s reserved for %s", seat.seat_id, agent.contact_id)

    def _serves_callbacks(self, seat: AgentSeat) -> bool:
        return any(
            queue is not None and queue.config.callback is not None
            for queue in (self._ctx.catalog.queue(seat.merchant_id, q) for q in seat.candidate.queues)
        )

    def release_lost_region(
        self, merchant_ids: Iterable[str], lost_edges: Collection[str], taken_at_ms: int, now_ms: int
    ) -> list[str]:
        """After this region took over ``merchant_ids`` from a dead region (at ``taken_at_ms``): let go
        of every seat the dead home had RESERVED, without waiting out the stale-reservation grace.

        Such a reservation is the dead home's offer, and its ring's result is lost: the edge task that
        rang it died with the region, or (a task of this region) reported to the dead home, or rang
        the phone through a flow a dead task held. This replica may also have only part of the
        offer (replication is item by item, and the dead region's last writes never arrive).

        - the contact is missing, ended, queued or offered elsewhere here: the seat goes back in its
          place in line and takes the next waiting contact; one missing here only once no live edge
          task of this region rings it (``RoutingContext.held_nowhere``);
        - the contact is offered to the seat and its caller was on a dead edge task: it ends with a
          record (``region_lost``'s rule, for a contact that reached this replica late);
        - it is offered to the seat by a live edge task and its ring timeout is over: the phone was
          not reached (``unreachable``): the contact is offered again or queued, and the agent comes
          back as soon as their phone is registered here (``sweep``). A ring still within its
          timeout is left to its edge task's report.

        Reservations made here after the takeover are this region's own and left alone. Returns the
        seats let go; call it again while phones register (it changes nothing twice)."""
        released: list[str] = []
        for merchant_id in merchant_ids:
            if self._ctx.decides is not None and not self._ctx.decides(merchant_id):
                continue
            reserved = [
                (seat, self._ctx.contacts.get(seat.agent.contact_id))
                for seat in self._ctx.seats.all_for_merchant(merchant_id)
                if seat.agent.state is AgentState.RESERVED
                and seat.agent.contact_id is not None
                and seat.agent.state_since_ms < taken_at_ms
            ]
            # A contact missing here may still ring on a live task of this region (the dead home
            # created it offered, with the reservation): such a seat waits for the next call.
            free = self._ctx.held_nowhere(
                {
                    seat.agent.contact_id
                    for seat, contact in reserved
                    if contact is None and seat.agent.contact_id
                },
                now_ms,
            )
            for seat, contact in reserved:
                contact_id = seat.agent.contact_id
                if contact_id is None or (contact is None and contact_id not in free):
                    continue
                with contextlib.suppress(ConcurrentUpdateError, NotFoundError):
                    if self._release_lost(seat, contact_id, contact, lost_edges, now_ms):
                        released.append(seat.seat_id)
        if released:
            log.warning("let go of %d seats the lost region had reserved", len(released))
        return released

    def _release_lost(
        self,
        seat: AgentSeat,
        contact_id: str,
        contact: LiveContact | None,
        lost_edges: Collection[str],
        now_ms: int,
    ) -> bool:
        if (
            contact is None
            or contact.snapshot.state is not ContactState.OFFERED
            or contact.snapshot.seat_id != seat.seat_id
        ):
            return self._release_reservation(seat, contact_id, now_ms, SweepReport())
        if contact.edge_task_id in lost_edges:
            self._endings.contact_ended(contact_id, HangupSide.SYSTEM, HangupCause.SYSTEM_ERROR, now_ms)
            return True
        rang_at = contact.offered_at_ms or seat.agent.state_since_ms
        if now_ms < rang_at + seat.ring_timeout_seconds * 1000:
            return False
        self._answers.offer_result(contact_id, seat.seat_id, OfferOutcome.UNREACHABLE, now_ms)
        return True

    def _reachable_again(self, seat: AgentSeat, now_ms: int, report: SweepReport) -> None:
        def decide(current: AgentSeat) -> list[AgentCommand]:
            agent = current.agent
            if agent.state is AgentState.NOT_RESPONDING and agent.reason == SystemReason.UNREACHABLE:
                return [GoAvailable()]
            return []

        if (
            self._ctx.agents.change(seat.merchant_id, seat.seat_id, decide, now_ms).state
            is not AgentState.AVAILABLE
        ):
            return
        report.agents_reachable_again.append(seat.seat_id)
        log.info("sweep made seat %s available: its phone is registered again", seat.seat_id)
        offer = self._dequeue.agent_available(seat.merchant_id, seat.seat_id, now_ms)
        if offer is not None:
            report.offers.append(offer)

    def _release_stale(self, seat: AgentSeat, contact_id: str, now_ms: int, report: SweepReport) -> bool:
        contact = self._ctx.contacts.get(contact_id)
        if (
            contact is not None
            and contact.snapshot.state is ContactState.OFFERED
            and contact.snapshot.seat_id == seat.seat_id
        ):
            # Still offered to it, the ring long over and unreported: the edge's "no answer".
            self._answers.offer_result(contact_id, seat.seat_id, OfferOutcome.NO_ANSWER, now_ms)
            report.reservations_released.append(seat.seat_id)
            return True
        return self._release_reservation(seat, contact_id, now_ms, report)

    def _release_reservation(
        self, seat: AgentSeat, contact_id: str, now_ms: int, report: SweepReport
    ) -> bool:
        """The seat, still RESERVED for ``contact_id``, goes back in its place in line and takes the
        next waiting contact."""

        def decide(current: AgentSeat) -> list[AgentCommand]:
            agent = current.agent
            if agent.state is not AgentState.RESERVED or agent.contact_id != contact_id:
                return []
            return [ReleaseReservation(contact_id)]

        agent = self._ctx.agents.change(seat.merchant_id, seat.seat_id, decide, now_ms)
        if agent.state is not AgentState.AVAILABLE:
            return False
        report.reservations_released.append(seat.seat_id)
        offer = self._dequeue.agent_available(seat.merchant_id, seat.seat_id, now_ms)
        if offer is not None:
            report.offers.append(offer)
        return True

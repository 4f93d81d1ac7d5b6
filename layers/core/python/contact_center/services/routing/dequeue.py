"""An agent became free: offer it the waiting contact it should take first, across its queues."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Protocol

from contact_center.domain.acd import choose_contact_for_agent
from contact_center.domain.agent_state import AgentCommand, AgentState, FinishWrapUp
from contact_center.domain.contact import ContactState
from contact_center.domain.queueing import QueueConfig

from ..errors import ConcurrentUpdateError, NotFoundError
from .context import RoutingContext
from .decisions import Connect
from .offers import Offers
from .policy import ATTEMPTS
from .ports import AgentSeat, AgentTarget, CallbackRunners, LiveContact, RoutingQueue
from .records import callback_waits, is_callback, queued

log = logging.getLogger("contact_center.routing")


class OfferPush(Protocol):
    """Tells the edge task holding a caller about the offer just claimed for it (best effort: the
    task's slow poll of ``pending_offers`` finds an offer whose push was lost). Never raises."""

    def offered(self, edge_task_id: str, offer: Connect) -> bool: ...


@dataclass(frozen=True, slots=True)
class AgentOffer:
    """A queued contact was offered to a seat; the edge holding the caller is told by a push."""

    contact_id: str
    seat_id: str
    merchant_id: str
    edge_task_id: str | None


class _SeatChanged:
    """The seat moved under an offer attempt: re-read it and start again."""


_SEAT_CHANGED = _SeatChanged()


class Dequeue:
    def __init__(
        self,
        context: RoutingContext,
        offers: Offers,
        push: OfferPush | None = None,
        runners: CallbackRunners | None = None,
    ) -> None:
        self._ctx = context
        self._offers = offers
        self._push = push
        # None: no task can run a callback here; callbacks keep their place until one can.
        self._runners = runners

    def agent_available(
        self, merchant_id: str, seat_id: str, now_ms: int, written: AgentSeat | None = None
    ) -> AgentOffer | None:
        """Offer the agent the waiting contact it should take first, across every queue it serves.
        ``written``: the seat as this router just wrote it (not read again; a claim on a seat that
        moved since fails its version, and the seat is then read)."""
        policy = self._ctx.policy
        for _ in range(ATTEMPTS):
            try:
                seat = written if written is not None else self._ctx.seats.get(merchant_id, seat_id)
            except NotFoundError:
                return None
            written = None
            if seat.agent.state is not AgentState.AVAILABLE:
                return None
            queues = {
                queue.queue_id: queue
                for queue_id in seat.candidate.queues
                if (queue := self._ctx.catalog.queue(merchant_id, queue_id)) is not None
            }
            heads = {
                contact.contact_id: contact
                for queue_id in queues
                for contact in self._ctx.contacts.queue_heads(queue_id, policy.heads_per_queue)
                if contact.snapshot.state is ContactState.QUEUED
                and seat_id not in contact.recently_offered_to(now_ms, policy.reoffer_cooldown_ms)
                and not callback_waits(contact, queues[queue_id].config.callback, now_ms)
            }
            outcome = self._offer_heads(seat, queues, heads, now_ms)
            if outcome is not _SEAT_CHANGED:
                return outcome if isinstance(outcome, AgentOffer) else None
        return None

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

        agent = self._ctx.agents.change(merchant_id, seat_id, decide, now_ms)
        if agent.state is not AgentState.AVAILABLE:
            return None
        return self.agent_available(merchant_id, seat_id, now_ms)

    def _offer_heads(
        self, seat: AgentSeat, queues: dict[str, RoutingQueue], heads: dict[str, LiveContact], now_ms: int
    ) -> AgentOffer | _SeatChanged | None:
        configs: dict[str, QueueConfig] = {queue_id: queue.config for queue_id, queue in queues.items()}
        targets: list[AgentTarget] | None = None
        while heads:
            choice = choose_contact_for_agent(
                seat.candidate, [queued(contact) for contact in heads.values()], configs
            )
            if choice is None:
                return None
            if targets is None:
                targets = self._ctx.registrations.targets(self._ctx.aor(seat), now_ms)
                if not targets:
                    self._offers.mark_unreachable(seat, choice.contact_id, now_ms)
                    return None
            contact = heads.pop(choice.contact_id)
            queue = queues[choice.queue_id]
            if is_callback(contact):
                runner = self._runners.pick(contact.contact_id, now_ms) if self._runners else None
                if runner is None:
                    continue  # nobody can run it now: it keeps its place for a later agent
                # The claim names the task that runs it, as it names the task holding a caller.
                contact = replace(contact, edge_task_id=runner)
            try:
                self._offers.claim(contact, seat, queue, now_ms)
            except ConcurrentUpdateError as lost:
                if lost.entity == "seat":
                    return _SEAT_CHANGED
                continue  # that contact went to another agent or ended: the next head
            if self._push is not None and contact.edge_task_id:
                # The offer as the edge's poll would read it back, from the seat and phones read here.
                self._push.offered(contact.edge_task_id, self._offers.connect(contact, seat, queue, targets))
            return AgentOffer(contact.contact_id, seat.seat_id, seat.merchant_id, contact.edge_task_id)
        return None

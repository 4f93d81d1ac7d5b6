"""What every part of the router shares: its ports, its policy, and the small helpers over them."""

from __future__ import annotations

from collections.abc import Callable, Collection

from contact_center.domain.agent_state import AgentSnapshot
from contact_center.domain.events import ContactStateChanged

from ..errors import AlreadyExistsError, ConcurrentUpdateError
from .agent_transitions import AgentTransitions
from .policy import RoutingPolicy
from .ports import (
    AgentSeat,
    AgentSeats,
    EventSink,
    HeldCalls,
    LiveContact,
    LiveContacts,
    NoMetrics,
    Registrations,
    RoutingCatalog,
    RoutingMetrics,
    RoutingQueue,
    SeatTransition,
)


class RoutingContext:
    """The ports and the policy, built once by ``RoutingService`` and handed to each part."""

    def __init__(
        self,
        catalog: RoutingCatalog,
        seats: AgentSeats,
        contacts: LiveContacts,
        registrations: Registrations,
        events: EventSink,
        policy: RoutingPolicy,
        decides: Callable[[str], bool] | None = None,
        metrics: RoutingMetrics | None = None,
        require_home: Callable[[str], object] | None = None,
        held_calls: HeldCalls | None = None,
    ) -> None:
        self.catalog = catalog
        # This region's edge tasks, asked which calls they hold (None: nobody to ask, one lone task).
        self.held_calls = held_calls
        self.metrics: RoutingMetrics = metrics or NoMetrics()
        # Two regions: whether this region decides for a merchant now (None: one region, always), and
        # the same as a refusal naming the home (NotHomeRegionError), which the routing function
        # turns into a request to that home.
        self.decides = decides
        self._require_home = require_home
        self.seats = seats
        self.contacts = contacts
        self.registrations = registrations
        self.events = events
        self.policy = policy
        self.agents = AgentTransitions(seats, events)

    def answer_here(self, merchant_id: str | None) -> None:
        """A question about a contact of another region's merchant goes to its home (NotHomeRegionError):
        this replica's copy of it may be stale (an offer its home has since taken back), or newer
        writes of its home may still be on their way here."""
        if self._require_home is not None and merchant_id:
            self._require_home(merchant_id)

    def held_nowhere(self, contact_ids: Collection[str], now_ms: int) -> set[str]:
        """Of ``contact_ids`` (contacts this replica lacks), those no live edge task of this region
        holds a call of: a seat held by one of them can be let go. Empty when a task did not answer:
        its calls are unknown, so every such seat waits for the next look (by then the task answers,
        or its heartbeat has lapsed and it is no longer asked)."""
        if not contact_ids or self.held_calls is None:
            return set(contact_ids)
        answer = self.held_calls.held(sorted(contact_ids), now_ms)
        if not answer.complete:
            return set()
        return set(contact_ids) - answer.held

    def aor(self, seat: AgentSeat) -> str:
        return f"sip:{seat.sip_username}@{self.policy.sip_domain}"

    def queue_of(self, contact: LiveContact) -> RoutingQueue | None:
        if contact.merchant_id is None or contact.snapshot.queue_id is None:
            return None
        return self.catalog.queue(contact.merchant_id, contact.snapshot.queue_id)

    def create(self, contact: LiveContact) -> bool:
        """False when the contact id is taken (a retried new_contact)."""
        try:
            self.contacts.create(contact)
        except AlreadyExistsError:
            return False
        return True

    def save_or_none(self, old: LiveContact, new: LiveContact, count_offered: bool = False) -> bool:
        """False when the contact moved since ``old`` was read."""
        try:
            self.contacts.save(old.version, new, count_offered)
        except ConcurrentUpdateError:
            return False
        return True

    def publish_contact(self, event: ContactStateChanged, contact: LiveContact) -> None:
        self.events.publish(event, merchant_id=contact.merchant_id, edge_task_id=contact.edge_task_id)

    def waited(self, outcome: str, contact: LiveContact, now_ms: int) -> None:
        """Report the end of ``contact``'s wait in its queue (nothing when it never queued)."""
        snapshot = contact.snapshot
        if snapshot.queue_id is None or snapshot.enqueued_at_ms is None:
            return
        self.metrics.queue_waited(
            outcome,
            max(0, now_ms - snapshot.enqueued_at_ms),
            merchant_id=contact.merchant_id,
            queue_id=snapshot.queue_id,
            contact_id=contact.contact_id,
            at_ms=now_ms,
        )

    def published(self, seat: SeatTransition) -> AgentSnapshot:
        """Publish the event of a seat transition just written; the seat as written."""
        if seat.event is not None:
            self.events.publish(seat.event, merchant_id=seat.merchant_id)
        return seat.after

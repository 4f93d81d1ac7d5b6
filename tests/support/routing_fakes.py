"""In-memory fakes of the routing ports (``contact_center.services.routing.ports``).

They keep what the table keeps and nothing more (a contact read back is rebuilt from its stored
fields, as ``data.mappers`` rebuilds it from its item), and they honour the same conditions:
an offer reserves a seat only if it is AVAILABLE at the version read and the contact is at the version
read; a failed condition changes nothing and raises ``ConcurrentUpdateError`` naming the item, in
the order the DynamoDB adapters name it. ``tests/functional/routing/test_port_contracts.py`` runs the
same contract over these and over the DynamoDB adapters, so they cannot drift apart.

One ``RoutingTable`` holds the state; each port is a view of it, and every method runs under one
lock, as a DynamoDB transaction is atomic.

A port given a ``region`` writes as the adapters given a ``RegionFence`` do: a seat's or a merchant's
contact's change is made only while the merchant's ownership (``RoutingTable.ownerships``) has that
region as home and is active, else ``NotHomeRegionError`` and nothing changes. ``FakeOwnerships`` is
the ownership store over the same table.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from contact_center.domain.acd import AgentCandidate
from contact_center.domain.agent_state import AgentSnapshot, AgentState
from contact_center.domain.contact import ContactSnapshot, ContactState
from contact_center.domain.events import DomainEvent
from contact_center.domain.ownership import NotHomeRegionError, Ownership, StaleEpochError
from contact_center.domain.queueing import QueueConfig, queue_sort_key
from contact_center.domain.validation import DEFAULT_RING_TIMEOUT_SECONDS
from contact_center.services.errors import AlreadyExistsError, ConcurrentUpdateError, NotFoundError
from contact_center.services.routing.ports import (
    AgentSeat,
    AgentTarget,
    CallDialog,
    ContactRecord,
    LiveContact,
    NumberRoute,
    RoutingQueue,
    SeatTransition,
)


def utc_day(epoch_ms: int) -> str:
    """The day bucket of the queue counters, as the table's (the contract tests read both by it)."""
    return datetime.fromtimestamp(epoch_ms / 1000, tz=UTC).strftime("%Y-%m-%d")


@dataclass
class _Binding:
    target: AgentTarget
    expires_at_s: int


@dataclass
class RoutingTable:
    """Everything the fakes store, keyed as the table keys it."""

    numbers: dict[str, NumberRoute] = field(default_factory=dict)
    queues: dict[tuple[str, str], RoutingQueue] = field(default_factory=dict)
    seats: dict[tuple[str, str], AgentSeat] = field(default_factory=dict)
    contacts: dict[str, LiveContact] = field(default_factory=dict)
    records: dict[str, ContactRecord] = field(default_factory=dict)
    dialogs: dict[str, tuple[str, CallDialog]] = field(default_factory=dict)
    counters: dict[tuple[str, str], Counter[str]] = field(default_factory=dict)
    bindings: dict[str, dict[str, _Binding]] = field(default_factory=dict)
    # Each read of the availability index: (queue id, seats it returned), for cost assertions.
    availability_reads: list[tuple[str, int]] = field(default_factory=list)
    ownerships: dict[str, Ownership] = field(default_factory=dict)
    clock: Callable[[], int] = field(default=lambda: time.time_ns() // 1_000_000)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def require_home(self, region: str | None, merchant_id: str | None) -> None:
        """The fence of an owned write (no region: one region, nothing to check)."""
        if region is None or not merchant_id:
            return
        ownership = self.ownerships.get(merchant_id)
        if ownership is None:
            raise NotHomeRegionError(merchant_id, region, "", 0)
        if not ownership.decides_in(region, self.clock()):
            raise NotHomeRegionError(
                merchant_id, region, ownership.home_region, ownership.epoch, ownership.active_from_ms
            )

    def count(self, queue_id: str, day: str, counter: str) -> None:
        self.counters.setdefault((queue_id, day), Counter())[counter] += 1

    def stats(self, queue_id: str, day: str) -> dict[str, int]:
        """A queue's counters for a UTC day (offered, answered, abandoned, timed_out)."""
        counts = self.counters.get((queue_id, day), Counter())
        return {name: counts[name] for name in ("offered", "answered", "abandoned", "timed_out")}


# The state as the table stores it


def _stored_seat(seat: AgentSeat, agent: AgentSnapshot) -> AgentSeat:
    """``agent`` written over ``seat``: every state field is written, none other (the profile stays)."""
    return replace(seat, candidate=replace(seat.candidate, agent=agent))


def _in_queue_index(contact: LiveContact) -> bool:
    snapshot = contact.snapshot
    return (
        snapshot.state is ContactState.QUEUED
        and bool(snapshot.queue_id)
        and snapshot.enqueued_at_ms is not None
    )


def _stored_contact(
    contact: LiveContact, version: int, listed: bool, identity: LiveContact | None = None
) -> LiveContact:
    """The contact as it reads back: the stored fields only, at ``version``.

    ``identity``: the stored contact whose fixed fields (caller, called, merchant, channel, creation
    time) an update leaves as they are; the owning edge task is written as the update has it (a
    callback left lets go of it).
    """
    fixed = identity or contact
    snapshot = contact.snapshot
    created = fixed.snapshot.initiated_at_ms
    stored = ContactSnapshot(
        contact_id=fixed.contact_id,
        channel=fixed.snapshot.channel,
        state=snapshot.state,
        version=version,
        initiated_at_ms=created,
        state_since_ms=created,
        queue_id=snapshot.queue_id,
        priority=snapshot.priority,
        enqueued_at_ms=snapshot.enqueued_at_ms,
        seat_id=snapshot.seat_id,
        trunk_id=snapshot.trunk_id,
        rona_attempts=snapshot.rona_attempts,
        connected_at_ms=snapshot.connected_at_ms,
    )
    return LiveContact(
        snapshot=stored,
        called=fixed.called,
        caller=fixed.caller,
        merchant_id=fixed.merchant_id if identity is not None else contact.merchant_id,
        edge_task_id=contact.edge_task_id,
        offered_at_ms=contact.offered_at_ms if identity is not None else None,
        segments=contact.segments,
        seat_version=contact.seat_version if identity is not None and snapshot.seat_id else None,
        unlisted=stored.state is ContactState.QUEUED and not listed,
        recording_key=contact.recording_key,
    )


def _seat_holds(seat: AgentSeat | None, before: AgentSnapshot) -> bool:
    """The condition of a transition written with a contact's change: still in its from-state."""
    return (
        seat is not None
        and seat.agent.state is before.state
        and seat.agent.contact_id == before.contact_id
        and seat.agent.version == before.version
    )


class FakeRoutingCatalog:
    def __init__(self, table: RoutingTable) -> None:
        self._table = table

    def add_number(self, route: NumberRoute) -> None:
        self._table.numbers[route.number] = route

    def add_queue(self, merchant_id: str, config: QueueConfig) -> None:
        self._table.queues[(merchant_id, config.queue_id)] = RoutingQueue(merchant_id, config)

    def number(self, number: str) -> NumberRoute | None:
        return self._table.numbers.get(number)

    def queue(self, merchant_id: str, queue_id: str) -> RoutingQueue | None:
        return self._table.queues.get((merchant_id, queue_id))

    def merchant_ids(self) -> list[str]:
        """The merchants the fakes hold anything of (the fakes keep no merchant items)."""
        with self._table.lock:
            return sorted({merchant for merchant, _ in (*self._table.queues, *self._table.seats)})

    def set_round_robin_cursor(self, merchant_id: str, queue_id: str, seat_id: str) -> None:
        with self._table.lock:
            queue = self._table.queues.get((merchant_id, queue_id))
            if queue is not None:  # the cursor never re-creates a deleted queue
                self._table.queues[(merchant_id, queue_id)] = replace(queue, round_robin_cursor=seat_id)


class FakeOwnerships:
    def __init__(self, table: RoutingTable) -> None:
        self._table = table

    def get(self, merchant_id: str) -> Ownership | None:
        return self._table.ownerships.get(merchant_id)

    def all(self) -> list[Ownership]:
        with self._table.lock:
            return sorted(self._table.ownerships.values(), key=lambda o: o.merchant_id)

    def move(self, current: Ownership | None, moved: Ownership, now_ms: int) -> None:
        with self._table.lock:
            stored = self._table.ownerships.get(moved.merchant_id)
            if (stored.epoch if stored else None) != (current.epoch if current else None):
                raise StaleEpochError(
                    moved.merchant_id, current.epoch if current else 0, stored.epoch if stored else 0
                )
            self._table.ownerships[moved.merchant_id] = moved


class FakeAgentSeats:
    def __init__(self, table: RoutingTable, region: str | None = None) -> None:
        self._table = table
        self._region = region

    def add(
        self,
        merchant_id: str,
        seat_id: str,
        created_at_ms: int,
        skills: dict[str, int],
        queues: dict[str, int],
        sip_username: str,
        ring_timeout_seconds: int = DEFAULT_RING_TIMEOUT_SECONDS,
    ) -> None:
        """A new seat as the seat repository creates it: OFFLINE since its creation, version 1."""
        agent = AgentSnapshot(seat_id, AgentState.OFFLINE, version=1, state_since_ms=created_at_ms)
        self._table.seats[(merchant_id, seat_id)] = AgentSeat(
            merchant_id, AgentCandidate(agent, skills, queues), sip_username, ring_timeout_seconds
        )

    def get(self, merchant_id: str, seat_id: str) -> AgentSeat:
        seat = self._table.seats.get((merchant_id, seat_id))
        if seat is None:
            raise NotFoundError("seat", seat_id)
        return seat

    def available_for_queue(self, merchant_id: str, queue_id: str, limit: int | None) -> list[AgentSeat]:
        """As the table's per-queue availability index: AVAILABLE seats serving the queue."""
        with self._table.lock:
            seats = [
                seat
                for (merchant, _), seat in self._table.seats.items()
                if merchant == merchant_id
                and seat.agent.state is AgentState.AVAILABLE
                and seat.candidate.serves(queue_id)
            ]

        def idle_key(seat: AgentSeat) -> tuple[int, str]:
            agent = seat.agent
            idle = agent.idle_since_ms if agent.idle_since_ms is not None else agent.state_since_ms
            return (idle, seat.seat_id)

        page = sorted(seats, key=idle_key)[:limit]  # [:None] is every one
        with self._table.lock:
            self._table.availability_reads.append((queue_id, len(page)))
        return page

    def relist(self, merchant_id: str) -> list[str]:
        """The fakes' index is computed from the seats: nothing is ever unlisted."""
        return []

    def all_for_merchant(self, merchant_id: str) -> list[AgentSeat]:
        with self._table.lock:
            return [
                seat for (merchant, _), seat in sorted(self._table.seats.items()) if merchant == merchant_id
            ]

    def save_state(self, merchant_id: str, seat_id: str, expected_version: int, agent: AgentSnapshot) -> None:
        with self._table.lock:
            self._table.require_home(self._region, merchant_id)
            seat = self._table.seats.get((merchant_id, seat_id))
            # As the table: a missing seat fails the version condition like a moved one.
            if seat is None or seat.agent.version != expected_version:
                raise ConcurrentUpdateError("seat", seat_id)
            self._table.seats[(merchant_id, seat_id)] = _stored_seat(seat, agent)


class FakeLiveContacts:
    def __init__(self, table: RoutingTable, region: str | None = None) -> None:
        self._table = table
        self._region = region

    def create(self, contact: LiveContact) -> None:
        table = self._table
        with table.lock:
            table.require_home(self._region, contact.merchant_id)
            if contact.contact_id in table.contacts:
                raise AlreadyExistsError("contact", contact.contact_id)
            queued = _in_queue_index(contact)
            table.contacts[contact.contact_id] = _stored_contact(
                contact, contact.version, listed=queued and not contact.unlisted
            )
            if queued and contact.snapshot.queue_id and contact.snapshot.enqueued_at_ms is not None:
                table.count(contact.snapshot.queue_id, utc_day(contact.snapshot.enqueued_at_ms), "offered")

    def get(self, contact_id: str) -> LiveContact | None:
        return self._table.contacts.get(contact_id)

    def queue_heads(self, queue_id: str, limit: int) -> list[LiveContact]:
        with self._table.lock:
            listed = [
                contact
                for contact in self._table.contacts.values()
                if contact.snapshot.state is ContactState.QUEUED
                and not contact.unlisted
                and contact.snapshot.queue_id == queue_id
            ]
        return sorted(
            listed,
            key=lambda c: queue_sort_key(c.snapshot.priority, c.snapshot.enqueued_at_ms or 0, c.contact_id),
        )[:limit]

    def offer(self, contact: LiveContact, seat: AgentSeat, reserved: AgentSnapshot, now_ms: int) -> None:
        table = self._table
        with table.lock:
            table.require_home(self._region, seat.merchant_id)
            stored_seat = table.seats.get((seat.merchant_id, seat.seat_id))
            stored = table.contacts.get(contact.contact_id)
            if (
                stored_seat is None
                or stored_seat.agent.state is not AgentState.AVAILABLE
                or stored_seat.agent.version != seat.agent.version
            ):
                raise ConcurrentUpdateError("seat", seat.seat_id)
            if stored is None or stored.version != contact.version:
                raise ConcurrentUpdateError("contact", contact.contact_id)
            table.seats[(seat.merchant_id, seat.seat_id)] = _stored_seat(stored_seat, reserved)
            offered = replace(
                stored,
                snapshot=replace(
                    stored.snapshot,
                    state=ContactState.OFFERED,
                    seat_id=seat.seat_id,
                    version=stored.version + 1,
                ),
                merchant_id=seat.merchant_id,
                # The claim names the task holding the caller, or the one running a callback.
                edge_task_id=contact.edge_task_id or stored.edge_task_id,
                offered_at_ms=now_ms,
                seat_version=reserved.version,
                unlisted=False,
            )
            table.contacts[contact.contact_id] = offered

    def create_offered(self, contact: LiveContact, seat: AgentSeat, reserved: AgentSnapshot) -> None:
        table = self._table
        with table.lock:
            table.require_home(self._region, seat.merchant_id)
            stored_seat = table.seats.get((seat.merchant_id, seat.seat_id))
            if contact.contact_id in table.contacts:
                raise AlreadyExistsError("contact", contact.contact_id)
            if (
                stored_seat is None
                or stored_seat.agent.state is not AgentState.AVAILABLE
                or stored_seat.agent.version != seat.agent.version
            ):
                raise ConcurrentUpdateError("seat", seat.seat_id)
            table.seats[(seat.merchant_id, seat.seat_id)] = _stored_seat(stored_seat, reserved)
            table.contacts[contact.contact_id] = replace(
                _stored_contact(contact, contact.version, listed=False),
                offered_at_ms=contact.offered_at_ms,
                seat_version=reserved.version,
            )
            snapshot = contact.snapshot
            if snapshot.queue_id and snapshot.enqueued_at_ms is not None:
                table.count(snapshot.queue_id, utc_day(snapshot.enqueued_at_ms), "offered")

    def save(self, expected_version: int, contact: LiveContact, count_offered: bool = False) -> None:
        table = self._table
        with table.lock:
            table.require_home(self._region, contact.merchant_id)
            stored = table.contacts.get(contact.contact_id)
            if stored is None or stored.version != expected_version:
                raise ConcurrentUpdateError("contact", contact.contact_id)
            table.contacts[contact.contact_id] = _stored_contact(
                contact, expected_version + 1, listed=_in_queue_index(contact), identity=stored
            )
            snapshot = contact.snapshot
            if count_offered and snapshot.queue_id and snapshot.enqueued_at_ms is not None:
                table.count(snapshot.queue_id, utc_day(snapshot.enqueued_at_ms), "offered")

    def connect(
        self,
        expected_version: int,
        contact: LiveContact,
        seat: SeatTransition,
        dialog: CallDialog | None = None,
        now_ms: int = 0,
    ) -> None:
        table = self._table
        with table.lock:
            table.require_home(self._region, seat.merchant_id)
            stored = table.contacts.get(contact.contact_id)
            stored_seat = table.seats.get((seat.merchant_id, seat.seat_id))
            if stored is None or stored.version != expected_version:
                raise ConcurrentUpdateError("contact", contact.contact_id)
            if stored_seat is None or not _seat_holds(stored_seat, seat.before):
                raise ConcurrentUpdateError("seat", seat.seat_id)
            table.seats[(seat.merchant_id, seat.seat_id)] = _stored_seat(stored_seat, seat.after)
            table.contacts[contact.contact_id] = _stored_contact(
                contact, expected_version + 1, listed=_in_queue_index(contact), identity=stored
            )
            for key in dialog.keys if dialog is not None else ():
                assert dialog is not None
                table.dialogs[key] = (contact.contact_id, dialog)

    def end(
        self,
        contact: LiveContact,
        record: ContactRecord,
        outcome: str | None,
        seat: SeatTransition | None = None,
        dialog_keys: Sequence[str] = (),
    ) -> None:
        table = self._table
        with table.lock:
            table.require_home(self._region, contact.merchant_id)
            stored = table.contacts.get(contact.contact_id)
            contact_holds = stored is not None and stored.version == contact.version
            stored_seat = table.seats.get((seat.merchant_id, seat.seat_id)) if seat is not None else None
            if seat is not None and contact_holds and not _seat_holds(stored_seat, seat.before):
                raise ConcurrentUpdateError("seat", seat.seat_id)
            if not contact_holds or record.contact_id in table.records:
                raise ConcurrentUpdateError("contact", contact.contact_id)
            del table.contacts[contact.contact_id]
            table.records[record.contact_id] = record
            if record.queue_id and outcome:
                table.count(record.queue_id, utc_day(record.ended_at_ms), outcome)
            if seat is not None and stored_seat is not None:
                table.seats[(seat.merchant_id, seat.seat_id)] = _stored_seat(stored_seat, seat.after)
            for key in dialog_keys:
                table.dialogs.pop(key, None)

    def record(self, contact_id: str) -> ContactRecord | None:
        return self._table.records.get(contact_id)

    def recent_answers(self, queue_id: str, since_ms: int, now_ms: int) -> list[int]:
        with self._table.lock:
            return [
                record.answered_at_ms
                for record in self._table.records.values()
                if record.queue_id == queue_id
                and since_ms <= record.ended_at_ms <= now_ms
                and record.answered_at_ms is not None
                and record.answered_at_ms >= since_ms
            ]

    def drop_dialogs(self, dialog_keys: Sequence[str]) -> None:
        with self._table.lock:
            for key in dialog_keys:
                self._table.dialogs.pop(key, None)

    def owned_by_edge(self, edge_task_id: str, state: str) -> list[LiveContact]:
        with self._table.lock:
            owned = [
                contact
                for contact in self._table.contacts.values()
                if contact.edge_task_id == edge_task_id and contact.snapshot.state.value == state
            ]
        return sorted(owned, key=lambda c: c.contact_id)


class FakeRegistrations:
    def __init__(self, table: RoutingTable) -> None:
        self._table = table

    def register(self, aor: str, target: AgentTarget, expires_at_s: int) -> None:
        self._table.bindings.setdefault(aor, {})[target.contact_uri] = _Binding(target, expires_at_s)

    def targets(self, aor: str, now_ms: int) -> list[AgentTarget]:
        # Expiry is in epoch seconds, as the binding's TTL attribute.
        now_s = now_ms // 1000
        bindings = self._table.bindings.get(aor, {})
        return [binding.target for binding in bindings.values() if binding.expires_at_s > now_s]


class RecordingEvents:
    """An EventSink that keeps what was published, in order."""

    def __init__(self) -> None:
        self.events: list[DomainEvent] = []
        self._lock = threading.Lock()

    def publish(self, event: DomainEvent, **context: str | None) -> None:
        with self._lock:
            self.events.append(event)


@dataclass(frozen=True)
class QueueWait:
    outcome: str
    wait_ms: int
    merchant_id: str | None
    queue_id: str
    contact_id: str
    at_ms: int


class RecordingMetrics:
    """A RoutingMetrics port that keeps what was reported, in order."""

    def __init__(self) -> None:
        self.waits: list[QueueWait] = []
        self.agent_counts: list[tuple[dict[str, int], int]] = []

    def queue_waited(
        self,
        outcome: str,
        wait_ms: int,
        *,
        merchant_id: str | None,
        queue_id: str,
        contact_id: str,
        at_ms: int,
    ) -> None:
        self.waits.append(QueueWait(outcome, wait_ms, merchant_id, queue_id, contact_id, at_ms))

    def agents_counted(self, by_state: Mapping[str, int], at_ms: int) -> None:
        self.agent_counts.append((dict(by_state), at_ms))


@dataclass
class FakeRoutingPorts:
    """The five ports over one in-memory table."""

    table: RoutingTable = field(default_factory=RoutingTable)
    catalog: FakeRoutingCatalog = field(init=False)
    seats: FakeAgentSeats = field(init=False)
    contacts: FakeLiveContacts = field(init=False)
    registrations: FakeRegistrations = field(init=False)
    events: RecordingEvents = field(default_factory=RecordingEvents)
    metrics: RecordingMetrics = field(default_factory=RecordingMetrics)
    region: str | None = None  # the region these ports write as (None: one region, no fence)
    ownerships: FakeOwnerships = field(init=False)

    def __post_init__(self) -> None:
        self.catalog = FakeRoutingCatalog(self.table)
        self.seats = FakeAgentSeats(self.table, self.region)
        self.contacts = FakeLiveContacts(self.table, self.region)
        self.registrations = FakeRegistrations(self.table)
        self.ownerships = FakeOwnerships(self.table)

"""The router's ports (``services.routing.ports``) over this package's repositories and models.

Items become service values here and back; this package's named errors become the services'
errors, so the routing use cases never see PynamoDB.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from pynamodb.exceptions import UpdateError

from contact_center.data import errors as data_errors
from contact_center.data import keys
from contact_center.data.adapters import seat_state_from_snapshot, translated
from contact_center.data.bindings import BindingRepository
from contact_center.data.catalog import (
    ROUTING_CACHE,
    CatalogCache,
    NumberRepository,
    QueueRepository,
    number_cache_key,
    queue_cache_key,
)
from contact_center.data.conditions import is_condition_failure
from contact_center.data.contacts import ContactRepository, SeatChange
from contact_center.data.models import BindingItem, ContactItem, DialogItem, QueueItem, RecordItem, SeatItem
from contact_center.data.seats import SeatFromState, SeatRepository
from contact_center.data.sessions import DialogRepository, dialog_item
from contact_center.domain.acd import AgentCandidate
from contact_center.domain.agent_state import AgentSnapshot, AgentState
from contact_center.domain.contact import (
    PRIORITY_LEAST_URGENT,
    PRIORITY_MOST_URGENT,
    Channel,
    ContactSnapshot,
    ContactState,
)
from contact_center.domain.queueing import (
    Overflow,
    OverflowKind,
    QueueConfig,
    RoutingStrategy,
    queue_sort_key,
)
from contact_center.domain.skills import SkillRequirement, is_valid_proficiency
from contact_center.domain.validation import DEFAULT_RING_TIMEOUT_SECONDS
from contact_center.services.routing.ports import (
    AgentSeat,
    AgentTarget,
    CallDialog,
    ContactRecord,
    LiveContact,
    NumberRoute,
    RoutingQueue,
    SeatTransition,
    Segment,
)

log = logging.getLogger("contact_center.data.routing")


def _as_dict(value: Any) -> dict[str, Any]:
    if not value:
        return {}
    return dict(value.as_dict() if hasattr(value, "as_dict") else value)


def _optional_int(value: Any) -> int | None:
    return int(value) if value is not None else None


# Catalogue


def _overflow(value: Any) -> Overflow | None:
    data = _as_dict(value)
    if not data:
        return None
    kind = str(data.get("type") or data.get("kind"))
    # "legacy" is the spelling of the model's comment; the enum's value is "legacy_trunk".
    return Overflow(
        OverflowKind.LEGACY_TRUNK if kind == "legacy" else OverflowKind(kind), str(data["target"])
    )


def queue_config_from_item(item: QueueItem) -> QueueConfig:
    return QueueConfig(
        queue_id=item.queue_id,
        name=item.name or "",
        required_skills=tuple(
            SkillRequirement(str(s["name"]), int(s.get("min_proficiency", 1))) for s in (item.skills or [])
        ),
        priority=int(item.priority),
        strategy=RoutingStrategy(item.strategy),
        max_wait_seconds=int(item.max_wait_seconds),
        overflow=_overflow(item.overflow),
        wrap_up_seconds=int(item.wrap_up_seconds or 0),
    )


class DynamoRoutingCatalog:
    """Numbers and queues as the router reads them: through a short in-process cache.

    Every routed call reads its number and queue, and its offer result and end read the queue again;
    ``CatalogCache`` says how stale an entry may be (seconds, and never after a write made by this
    process). The round-robin cursor is cached with its queue: this process's own moves are written
    through to the cache, another process's are seen within the cache's TTL — the cursor only spreads
    work, and every offer is still an atomic claim on the seat.
    """

    def __init__(self, cache: CatalogCache = ROUTING_CACHE) -> None:
        self._numbers = NumberRepository()
        self._queues = QueueRepository()
        self._cache = cache

    def number(self, number: str) -> NumberRoute | None:
        return self._cache.get(number_cache_key(number), lambda: self._read_number(number))

    def queue(self, merchant_id: str, queue_id: str) -> RoutingQueue | None:
        return self._cache.get(
            queue_cache_key(merchant_id, queue_id), lambda: self._read_queue(merchant_id, queue_id)
        )

    def _read_number(self, number: str) -> NumberRoute | None:
        item = self._numbers.get(number)
        if item is None:
            return None
        return NumberRoute(
            number=item.number,
            merchant_id=item.merchant_id,
            queue_id=item.queue_id,
            legacy_trunk=item.legacy_trunk,
            priority=_optional_int(item.priority),
        )

    def _read_queue(self, merchant_id: str, queue_id: str) -> RoutingQueue | None:
        try:
            item = self._queues.get(merchant_id, queue_id)
        except data_errors.NotFoundError:
            return None
        return RoutingQueue(merchant_id, queue_config_from_item(item), item.rr_cursor)

    def set_round_robin_cursor(self, merchant_id: str, queue_id: str, seat_id: str) -> None:
        queue = QueueItem(pk=keys.merchant_pk(merchant_id), sk=keys.queue_sk(queue_id))
        try:
            # Invariant: the cursor never re-creates a deleted queue. No version bump: the cursor
            # is not configuration, and bumping would fail an admin's concurrent edit for nothing.
            queue.update(actions=[QueueItem.rr_cursor.set(seat_id)], condition=QueueItem.pk.exists())
        except UpdateError as exc:
            if not is_condition_failure(exc):
                raise
            self._cache.invalidate(queue_cache_key(merchant_id, queue_id))  # the queue is gone
            return
        self._cache.replace(
            queue_cache_key(merchant_id, queue_id),
            lambda cached: replace(cached, round_robin_cursor=seat_id) if cached is not None else None,
        )


# Seats


def agent_state_from(value: str) -> AgentState:
    """The state as stored. The repositories write the enum's value ("available"); the enum's name
    ("AVAILABLE") is read too, so a writer that spells it so does not make a seat unreadable."""
    try:
        return AgentState(value)
    except ValueError:
        return AgentState[value.upper()]


def snapshot_from_seat(item: SeatItem) -> AgentSnapshot:
    return AgentSnapshot(
        seat_id=item.seat_id,
        state=agent_state_from(item.state),
        version=int(item.version),
        state_since_ms=int(item.state_since or 0),
        reason=item.state_reason,
        idle_since_ms=_optional_int(item.idle_since),
        contact_id=item.contact_id,
        wrap_up_deadline_ms=_optional_int(item.wrap_up_until),
    )


# One conversion from a domain snapshot to the stored state, shared with the API adapters.
seat_state_from = seat_state_from_snapshot


def _valid_priority(value: Any) -> bool:
    return (
        isinstance(value, int)
        and not isinstance(value, bool)
        and PRIORITY_MOST_URGENT <= value <= PRIORITY_LEAST_URGENT
    )


def agent_seat_from_item(item: SeatItem) -> AgentSeat:
    # Bad profile data on one seat must not stop routing for the whole merchant: such entries are
    # dropped (and logged) rather than raised.
    skills = {name: int(level) for name, level in _as_dict(item.skills).items()}
    queues = {queue_id: int(priority) for queue_id, priority in _as_dict(item.queues).items()}
    good_skills = {name: level for name, level in skills.items() if is_valid_proficiency(level)}
    good_queues = {queue_id: priority for queue_id, priority in queues.items() if _valid_priority(priority)}
    if good_skills != skills or good_queues != queues:
        log.warning("seat %s has invalid skills or queue priorities; ignoring them", item.seat_id)
    return AgentSeat(
        merchant_id=item.merchant_id,
        candidate=AgentCandidate(snapshot_from_seat(item), good_skills, good_queues),
        sip_username=item.sip_username,
        ring_timeout_seconds=int(item.ring_timeout_seconds or DEFAULT_RING_TIMEOUT_SECONDS),
    )


def _seat_ref(seat: AgentSeat) -> SeatItem:
    return SeatItem(
        pk=keys.merchant_pk(seat.merchant_id),
        sk=keys.seat_sk(seat.seat_id),
        merchant_id=seat.merchant_id,
        seat_id=seat.seat_id,
        version=seat.agent.version,
    )


def seat_change_from(seat: SeatTransition) -> SeatChange:
    before = seat.before
    return SeatChange(
        SeatFromState(
            seat.merchant_id, before.seat_id, before.state.value, before.version, before.contact_id
        ),
        seat_state_from(seat.after),
    )


class DynamoAgentSeats:
    def __init__(self) -> None:
        self._repo = SeatRepository()

    def get(self, merchant_id: str, seat_id: str) -> AgentSeat:
        with translated():
            return agent_seat_from_item(self._repo.get(merchant_id, seat_id))

    def available(self, merchant_id: str, limit: int) -> list[AgentSeat]:
        return [agent_seat_from_item(item) for item in self._repo.available(merchant_id, limit)]

    def all_for_merchant(self, merchant_id: str) -> list[AgentSeat]:
        return [agent_seat_from_item(item) for item in self._repo.all_for_merchant(merchant_id)]

    def save_state(self, merchant_id: str, seat_id: str, expected_version: int, agent: AgentSnapshot) -> None:
        with translated():
            self._repo.save_state(merchant_id, seat_id, expected_version, seat_state_from(agent))


# Contacts


def _segments(value: Any) -> tuple[Segment, ...]:
    return tuple(Segment.from_dict(_as_dict(segment)) for segment in (value or []))


def live_contact_from_item(item: ContactItem) -> LiveContact:
    created = int(item.created_at)
    snapshot = ContactSnapshot(
        contact_id=item.contact_id,
        channel=Channel(item.channel or Channel.VOICE.value),
        state=ContactState(item.state),
        version=int(item.version),
        initiated_at_ms=created,
        state_since_ms=created,
        queue_id=item.queue_id,
        priority=int(item.priority),
        enqueued_at_ms=_optional_int(item.enqueued_at),
        seat_id=item.offered_seat,
        trunk_id=item.trunk_id,
        rona_attempts=int(item.rona_attempts or 0),
        connected_at_ms=_optional_int(item.answered_at),
    )
    return LiveContact(
        snapshot=snapshot,
        called=item.called or "",
        caller=item.caller or "",
        merchant_id=item.merchant_id,
        edge_task_id=item.owning_edge,
        offered_at_ms=_optional_int(item.offered_at),
        segments=_segments(item.segments),
        seat_version=_optional_int(item.seat_version),
        unlisted=snapshot.state is ContactState.QUEUED and item.gsi1pk is None,
    )


def _contact_fields(contact: LiveContact) -> dict[str, Any]:
    """Every attribute a state change can touch; None removes it (see ContactRepository.update)."""
    snapshot = contact.snapshot
    queued = (
        snapshot.state is ContactState.QUEUED and snapshot.queue_id and snapshot.enqueued_at_ms is not None
    )
    fields: dict[str, Any] = {
        "state": snapshot.state.value,
        "queue_id": snapshot.queue_id,
        "priority": snapshot.priority,
        "enqueued_at": snapshot.enqueued_at_ms,
        "offered_seat": snapshot.seat_id,
        "seat_version": contact.seat_version if snapshot.seat_id else None,
        "offered_at": contact.offered_at_ms,
        "answered_at": snapshot.connected_at_ms,
        "trunk_id": snapshot.trunk_id,
        "rona_attempts": snapshot.rona_attempts,
        "segments": [segment.to_dict() for segment in contact.segments],
        # Queue index membership follows the state: only QUEUED contacts are in it.
        "gsi1pk": keys.queued_index_pk(snapshot.queue_id) if queued and snapshot.queue_id else None,
        "gsi1sk": None,
    }
    if queued and snapshot.queue_id and snapshot.enqueued_at_ms is not None:
        fields["gsi1sk"] = queue_sort_key(snapshot.priority, snapshot.enqueued_at_ms, contact.contact_id)
    if contact.edge_task_id:
        fields["gsi2sk"] = keys.edge_contacts_index_sk(snapshot.state.value, contact.contact_id)
    return fields


def _contact_ref(contact: LiveContact) -> ContactItem:
    return ContactItem(
        pk=keys.contact_pk(contact.contact_id),
        sk=keys.CONTACT_SK,
        contact_id=contact.contact_id,
        owning_edge=contact.edge_task_id,
        version=contact.version,
    )


def record_from_item(item: RecordItem) -> ContactRecord:
    return ContactRecord(
        contact_id=item.contact_id,
        channel=item.channel,
        called=item.called or "",
        caller=item.caller or "",
        merchant_id=item.merchant_id,
        queue_id=item.queue_id,
        seat_id=item.seat_id,
        trunk_id=item.trunk_id,
        created_at_ms=int(item.created_at),
        enqueued_at_ms=_optional_int(item.enqueued_at),
        offered_at_ms=_optional_int(item.offered_at),
        answered_at_ms=_optional_int(item.answered_at),
        ended_at_ms=int(item.ended_at),
        hangup_side=item.hangup_side,
        hangup_cause=item.hangup_cause,
        rona_attempts=int(item.rona_attempts or 0),
        segments=_segments(item.segments),
    )


def _record_item(record: ContactRecord) -> RecordItem:
    return RecordItem(
        contact_id=record.contact_id,
        channel=record.channel,
        merchant_id=record.merchant_id,
        queue_id=record.queue_id,
        caller=record.caller,
        called=record.called,
        seat_id=record.seat_id,
        trunk_id=record.trunk_id,
        created_at=record.created_at_ms,
        enqueued_at=record.enqueued_at_ms,
        offered_at=record.offered_at_ms,
        answered_at=record.answered_at_ms,
        ended_at=record.ended_at_ms,
        hangup_side=record.hangup_side,
        hangup_cause=record.hangup_cause,
        rona_attempts=record.rona_attempts,
        segments=[segment.to_dict() for segment in record.segments],
    )


class DynamoLiveContacts:
    def __init__(self) -> None:
        self._repo = ContactRepository()
        self._dialogs = DialogRepository()

    def create(self, contact: LiveContact) -> None:
        snapshot = contact.snapshot
        item = ContactItem(
            contact_id=contact.contact_id,
            channel=snapshot.channel.value,
            state=snapshot.state.value,
            merchant_id=contact.merchant_id,
            queue_id=snapshot.queue_id,
            priority=snapshot.priority,
            enqueued_at=snapshot.enqueued_at_ms,
            caller=contact.caller,
            called=contact.called,
            owning_edge=contact.edge_task_id,
            trunk_id=snapshot.trunk_id,
            rona_attempts=snapshot.rona_attempts,
            segments=[segment.to_dict() for segment in contact.segments],
            created_at=snapshot.initiated_at_ms,
            version=snapshot.version,
        )
        with translated():
            self._repo.create(item, in_queue_index=not contact.unlisted)

    def get(self, contact_id: str) -> LiveContact | None:
        try:
            return live_contact_from_item(self._repo.get(contact_id))
        except data_errors.NotFoundError:
            return None

    def queue_heads(self, queue_id: str, limit: int) -> list[LiveContact]:
        return [live_contact_from_item(item) for item in self._repo.queue_heads(queue_id, limit)]

    def offer(self, contact: LiveContact, seat: AgentSeat, reserved: AgentSnapshot, now_ms: int) -> None:
        with translated():
            self._repo.offer(_contact_ref(contact), _seat_ref(seat), seat_state_from(reserved), now_ms)

    def save(self, expected_version: int, contact: LiveContact, count_offered: bool = False) -> None:
        counted_at = contact.snapshot.enqueued_at_ms if count_offered else None
        with translated():
            self._repo.update(contact.contact_id, expected_version, _contact_fields(contact), counted_at)

    def connect(
        self,
        expected_version: int,
        contact: LiveContact,
        seat: SeatTransition,
        dialog: CallDialog | None = None,
        now_ms: int = 0,
    ) -> None:
        dialogs = _dialog_items(contact.contact_id, dialog, now_ms // 1000) if dialog is not None else []
        with translated():
            self._repo.update_with_seat(
                contact.contact_id,
                expected_version,
                _contact_fields(contact),
                seat_change_from(seat),
                dialogs,
            )

    def end(
        self,
        contact: LiveContact,
        record: ContactRecord,
        outcome: str | None,
        seat: SeatTransition | None = None,
        dialog_keys: Sequence[str] = (),
    ) -> None:
        change = seat_change_from(seat) if seat is not None else None
        with translated():
            self._repo.end(_contact_ref(contact), _record_item(record), outcome, change, dialog_keys)

    def drop_dialogs(self, dialog_keys: Sequence[str]) -> None:
        with translated():
            self._dialogs.delete_all(dialog_keys)

    def record(self, contact_id: str) -> ContactRecord | None:
        try:
            return record_from_item(self._repo.record(contact_id))
        except data_errors.NotFoundError:
            return None

    def owned_by_edge(self, edge_task_id: str, state: str) -> list[LiveContact]:
        return [live_contact_from_item(item) for item in self._repo.owned_by_edge(edge_task_id, state)]


def _dialog_items(contact_id: str, dialog: CallDialog, now: int) -> list[DialogItem]:
    return [
        dialog_item(
            key,
            contact_id=contact_id,
            owner=dialog.owner,
            state="confirmed",
            legs=dict(dialog.legs),
            now=now,
            ttl_seconds=dialog.ttl_seconds,
        )
        for key in dialog.keys
    ]


# Registrations


def target_from_binding(item: BindingItem) -> AgentTarget:
    return AgentTarget(
        contact_uri=item.contact_uri,
        received=item.received,
        transport=item.transport or "UDP",
        flow_owner=item.flow_owner,
        path=tuple(item.path or ()),
    )


class DynamoRegistrations:
    def __init__(self) -> None:
        self._repo = BindingRepository()

    def targets(self, aor: str, now_ms: int) -> list[AgentTarget]:
        # Binding expiry is in epoch seconds (the TTL attribute's unit).
        return [target_from_binding(item) for item in self._repo.current(aor, now_ms // 1000)]

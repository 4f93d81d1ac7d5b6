"""Live contacts, their records and dialogs (``services.routing.ports.LiveContacts``), and the
queue activity the API's statistics read (``services.ports.QueueActivityPort``)."""

from __future__ import annotations

from collections.abc import Sequence

from contact_center.data.contact_seats import ContactSeatItems
from contact_center.data.contacts import ContactItems, SeatChange
from contact_center.data.mappers.contacts import (
    contact_fields,
    contact_item,
    contact_ref,
    dialog_items,
    live_contact_from_item,
    record_from_item,
    record_item,
    seat_profile_map,
)
from contact_center.data.mappers.seats import (
    agent_seat_ref,
    seat_from_state,
    seat_profile_item,
    seat_state_from_snapshot,
)
from contact_center.data.ownership import RegionFence
from contact_center.data.sessions import DialogItems
from contact_center.domain.agent_state import AgentSnapshot
from contact_center.services.errors import NotFoundError
from contact_center.services.routing.ports import (
    AgentSeat,
    CallDialog,
    ContactRecord,
    LiveContact,
    SeatProfile,
    SeatTransition,
)


def _seat_change(seat: SeatTransition) -> SeatChange:
    profile = seat_profile_item(seat.profile) if seat.profile is not None else None
    return SeatChange(seat_from_state(seat), seat_state_from_snapshot(seat.after), profile)


class LiveContactRepository:
    def __init__(self, fence: RegionFence | None = None, record_retention_days: int | None = None) -> None:
        self._items = ContactSeatItems(fence)
        self._dialogs = DialogItems()
        self._retention_days = record_retention_days

    def create(self, contact: LiveContact) -> None:
        self._items.create(contact_item(contact), in_queue_index=not contact.unlisted)

    def get(self, contact_id: str) -> LiveContact | None:
        try:
            return live_contact_from_item(self._items.get(contact_id))
        except NotFoundError:
            return None

    def queue_heads(self, queue_id: str, limit: int) -> list[LiveContact]:
        return [live_contact_from_item(item) for item in self._items.queue_heads(queue_id, limit)]

    def offer(self, contact: LiveContact, seat: AgentSeat, reserved: AgentSnapshot, now_ms: int) -> None:
        self._items.offer(
            contact_ref(contact),
            agent_seat_ref(seat),
            seat_state_from_snapshot(reserved),
            now_ms,
            seat_profile_map(SeatProfile.of(seat)),
        )

    def create_offered(self, contact: LiveContact, seat: AgentSeat, reserved: AgentSnapshot) -> None:
        self._items.create_offered(
            contact_item(contact), agent_seat_ref(seat), seat_state_from_snapshot(reserved)
        )

    def save(self, expected_version: int, contact: LiveContact, count_offered: bool = False) -> None:
        counted_at = contact.snapshot.enqueued_at_ms if count_offered else None
        self._items.update(
            contact.contact_id, expected_version, contact_fields(contact), counted_at, contact.merchant_id
        )

    def connect(
        self,
        expected_version: int,
        contact: LiveContact,
        seat: SeatTransition,
        dialog: CallDialog | None = None,
        now_ms: int = 0,
    ) -> None:
        dialogs = dialog_items(contact.contact_id, dialog, now_ms // 1000) if dialog is not None else []
        self._items.update_with_seat(
            contact.contact_id, expected_version, contact_fields(contact), _seat_change(seat), dialogs
        )

    def end(
        self,
        contact: LiveContact,
        record: ContactRecord,
        outcome: str | None,
        seat: SeatTransition | None = None,
        dialog_keys: Sequence[str] = (),
    ) -> None:
        change = _seat_change(seat) if seat is not None else None
        self._items.end(
            contact_ref(contact), record_item(record, self._retention_days), outcome, change, dialog_keys
        )

    def drop_dialogs(self, dialog_keys: Sequence[str]) -> None:
        self._dialogs.delete_all(dialog_keys)

    def record(self, contact_id: str) -> ContactRecord | None:
        try:
            return record_from_item(self._items.record(contact_id))
        except NotFoundError:
            return None

    def recent_answers(self, queue_id: str, since_ms: int, now_ms: int) -> list[int]:
        return [
            int(record.answered_at)
            for record in self._items.records_ended_since(queue_id, since_ms, now_ms)
            if record.answered_at is not None and int(record.answered_at) >= since_ms
        ]

    def owned_by_edge(self, edge_task_id: str, state: str) -> list[LiveContact]:
        return [live_contact_from_item(item) for item in self._items.owned_by_edge(edge_task_id, state)]


class QueueActivityRepository:
    def __init__(self) -> None:
        self._contacts = ContactItems()

    def waiting_since(self, queue_id: str) -> list[int]:
        return [int(c.enqueued_at) for c in self._contacts.waiting(queue_id) if c.enqueued_at is not None]

    def daily_counts(self, queue_id: str, day: str) -> tuple[int, int, int, int]:
        stats = self._contacts.stats(queue_id, day)
        if stats is None:
            return (0, 0, 0, 0)
        counts = (stats.offered, stats.answered, stats.abandoned, stats.timed_out)
        offered, answered, abandoned, timed_out = (int(count or 0) for count in counts)
        return (offered, answered, abandoned, timed_out)

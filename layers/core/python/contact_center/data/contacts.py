"""Contacts (calls and other interactions): queueing, the atomic offer, and the contact record."""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError, UpdateError

from contact_center.data import keys
from contact_center.data.conditions import is_condition_failure
from contact_center.data.models import ContactItem, DialogItem, QueueStatsItem, RecordItem, SeatItem, items_of
from contact_center.data.ownership import RegionFence, stamp
from contact_center.data.seats import (
    SeatFromState,
    SeatState,
    from_state_condition,
    seat_ref,
    state_update_actions,
)
from contact_center.data.sessions import dialog_ref
from contact_center.data.transactions import (
    CONDITION_FAILED,
    TRANSACTION_CONFLICT,
    failed_keys,
    key_of,
    retry_after_conflict,
    transaction,
)
from contact_center.domain.agent_state import AgentState
from contact_center.domain.contact import ContactState
from contact_center.domain.ownership import Ownership
from contact_center.domain.queueing import queue_sort_key
from contact_center.services.errors import AlreadyExistsError, ConcurrentUpdateError, NotFoundError


def utc_day(epoch_ms: int) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000, tz=UTC).strftime("%Y-%m-%d")


# A cancelled transaction of the router is retried from a re-read whether a condition failed or
# another transaction held the item.
_RETRYABLE = (CONDITION_FAILED, TRANSACTION_CONFLICT)


def _stats_update(queue_id: str, day: str, contact_id: str) -> tuple[QueueStatsItem, list[Any]]:
    """The contact's shard of a queue's counters for the day, and the actions that create it if it
    is the shard's first count."""
    stats = QueueStatsItem(pk=keys.queue_stats_pk(queue_id), sk=keys.queue_stats_sk(day, contact_id))
    return stats, [
        QueueStatsItem.entity.set("queue_stats"),
        QueueStatsItem.queue_id.set(queue_id),
        QueueStatsItem.day.set(day),
    ]


@dataclass(frozen=True)
class SeatChange:
    """A seat's state change in the same transaction as its contact's: from ``before``, to ``after``."""

    before: SeatFromState
    after: SeatState


@dataclass(frozen=True)
class Offer:
    """The result of an atomic offer: the contact and the seat reserved for it."""

    contact_id: str
    merchant_id: str
    seat_id: str


class ContactItems:
    def __init__(self, fence: RegionFence | None = None) -> None:
        # None: one region, no ownership to check. A contact with no merchant (forwarded before any
        # queue) is owned by no one and never fenced.
        self._fence = fence

    def _fence_for(self, merchant_id: str | None) -> RegionFence | None:
        return self._fence if merchant_id else None

    def create(self, contact: ContactItem, in_queue_index: bool = True) -> None:
        """Create a live contact. One created QUEUED is counted "offered" in its queue's counters,
        and listed in the queue's index unless ``in_queue_index`` is False (its router looks for an
        agent first; ``update`` lists it later)."""
        contact.pk = keys.contact_pk(contact.contact_id)
        contact.sk = keys.CONTACT_SK
        if contact.owning_edge:
            contact.gsi2pk = keys.edge_contacts_index_pk(contact.owning_edge)
            contact.gsi2sk = keys.edge_contacts_index_sk(contact.state, contact.contact_id)
        if (
            contact.state == ContactState.QUEUED.value
            and contact.queue_id
            and contact.enqueued_at is not None
        ):
            if in_queue_index:
                contact.gsi1pk = keys.queued_index_pk(contact.queue_id)
                contact.gsi1sk = queue_sort_key(
                    int(contact.priority), int(contact.enqueued_at), contact.contact_id
                )
            # Created into a queue, it has reached the queue: counted "offered" for the day in the
            # same transaction, so a retried creation neither counts twice nor fails to count.
            self._create_counted(contact, int(contact.enqueued_at))
            return
        fence = self._fence_for(contact.merchant_id)
        if fence is not None:
            self._create_fenced(fence, contact)
            return
        try:
            # Invariant: one live item per contact id (retries of the same INVITE do not fork it).
            contact.save(condition=ContactItem.pk.does_not_exist())
        except PutError as exc:
            if is_condition_failure(exc):
                raise AlreadyExistsError("contact", contact.contact_id) from exc
            raise

    def _create_fenced(self, fence: RegionFence, contact: ContactItem) -> None:
        merchant_id = str(contact.merchant_id)
        try:
            with transaction() as tx:
                ownership = fence.stage(tx, merchant_id)
                contact.home_region, contact.epoch = ownership.home_region, ownership.epoch
                # Invariant: one live item per contact id, created by its merchant's home region.
                tx.save(contact, condition=ContactItem.pk.does_not_exist())
        except TransactWriteError as exc:
            fence.check_failed(tx, exc, merchant_id)
            if key_of(contact) in failed_keys(tx, exc):
                raise AlreadyExistsError("contact", contact.contact_id) from exc
            raise

    def _create_counted(self, contact: ContactItem, enqueued_at_ms: int) -> None:
        stats, actions = _stats_update(str(contact.queue_id), utc_day(enqueued_at_ms), contact.contact_id)
        fence = self._fence_for(contact.merchant_id)
        for attempt in itertools.count(1):
            try:
                with transaction() as tx:
                    if fence is not None:
                        ownership = fence.stage(tx, str(contact.merchant_id))
                        contact.home_region, contact.epoch = ownership.home_region, ownership.epoch
                    # Invariant: one live item per contact id (retries of the same INVITE do not fork it).
                    tx.save(contact, condition=ContactItem.pk.does_not_exist())
                    tx.update(stats, actions=[*actions, QueueStatsItem.offered.add(1)])
                return
            except TransactWriteError as exc:
                if fence is not None:
                    fence.check_failed(tx, exc, str(contact.merchant_id))
                if key_of(contact) in failed_keys(tx, exc):
                    raise AlreadyExistsError("contact", contact.contact_id) from exc
                if retry_after_conflict(exc, attempt):
                    continue  # the day's counter is shared by every contact of the queue
                raise

    def get(self, contact_id: str) -> ContactItem:
        try:
            return ContactItem.get(keys.contact_pk(contact_id), keys.CONTACT_SK, consistent_read=True)
        except DoesNotExist as exc:
            raise NotFoundError("contact", contact_id) from exc

    def enqueue(
        self, contact_id: str, expected_version: int, queue_id: str, priority: int, now_ms: int
    ) -> None:
        contact = ContactItem(pk=keys.contact_pk(contact_id), sk=keys.CONTACT_SK)
        enqueued_at = now_ms
        try:
            # Invariant: a contact is queued once, from the version its writer read.
            contact.update(
                actions=[
                    ContactItem.state.set(ContactState.QUEUED.value),
                    ContactItem.queue_id.set(queue_id),
                    ContactItem.priority.set(priority),
                    ContactItem.enqueued_at.set(ContactItem.enqueued_at | enqueued_at),
                    ContactItem.gsi1pk.set(keys.queued_index_pk(queue_id)),
                    ContactItem.gsi1sk.set(queue_sort_key(priority, enqueued_at, contact_id)),
                    ContactItem.version.add(1),
                ],
                condition=ContactItem.version == expected_version,
            )
        except UpdateError as exc:
            if is_condition_failure(exc):
                raise ConcurrentUpdateError("contact", contact_id) from exc
            raise

    def queue_heads(self, queue_id: str, limit: int = 1) -> list[ContactItem]:
        """The most urgent, oldest queued contacts of a queue (sparse index, eventually consistent)."""
        return items_of(ContactItem, ContactItem.gsi1.query(keys.queued_index_pk(queue_id), limit=limit))

    def waiting(self, queue_id: str) -> list[ContactItem]:
        return items_of(ContactItem, ContactItem.gsi1.query(keys.queued_index_pk(queue_id)))

    def offer(self, contact: ContactItem, seat: SeatItem, seat_new: SeatState, now_ms: int) -> Offer:
        """Reserve a seat for a contact in one transaction.

        Either the seat goes AVAILABLE -> RESERVED for this contact and the contact leaves the queue
        and becomes OFFERED to it, or nothing changes. Two contacts can never reserve the same seat,
        and one queued contact can never be offered to two seats.
        """
        seat_ref = SeatItem(pk=seat.pk, sk=seat.sk)
        contact_ref = ContactItem(pk=contact.pk, sk=contact.sk)
        fence = self._fence_for(str(seat.merchant_id))
        try:
            with transaction() as tx:
                owned = [] if fence is None else _stamps(fence.stage(tx, str(seat.merchant_id)))
                # Invariant: a seat is offered one contact at a time — only from AVAILABLE at the version read.
                tx.update(
                    seat_ref,
                    actions=[*state_update_actions(seat.merchant_id, seat.seat_id, seat_new), *owned[:2]],
                    condition=(SeatItem.state == AgentState.AVAILABLE.value)
                    & (SeatItem.version == int(seat.version)),
                )
                # Invariant: a contact is offered to one seat at a time — only at the version read.
                tx.update(
                    contact_ref,
                    actions=[
                        ContactItem.state.set(ContactState.OFFERED.value),
                        ContactItem.offered_seat.set(seat.seat_id),
                        ContactItem.offered_at.set(now_ms),
                        ContactItem.merchant_id.set(seat.merchant_id),
                        # What the seat is now, so the answer (or the end) can be written on it
                        # without reading it first.
                        ContactItem.seat_version.set(seat_new.version),
                        ContactItem.gsi1pk.remove(),
                        ContactItem.gsi1sk.remove(),
                        *(
                            [
                                ContactItem.gsi2sk.set(
                                    keys.edge_contacts_index_sk(
                                        ContactState.OFFERED.value, contact.contact_id
                                    )
                                )
                            ]
                            if contact.owning_edge
                            else []
                        ),
                        ContactItem.version.add(1),
                        *owned[2:],
                    ],
                    condition=ContactItem.version == int(contact.version),
                )
        except TransactWriteError as exc:
            if fence is not None:
                fence.check_failed(tx, exc, str(seat.merchant_id))
            failed = failed_keys(tx, exc, _RETRYABLE)
            if key_of(seat) in failed:
                raise ConcurrentUpdateError("seat", seat.seat_id, "no longer available") from exc
            if key_of(contact) in failed:
                raise ConcurrentUpdateError("contact", contact.contact_id, "no longer waiting") from exc
            raise
        return Offer(contact.contact_id, seat.merchant_id, seat.seat_id)

    def update(
        self,
        contact_id: str,
        expected_version: int,
        fields: dict[str, Any],
        count_offered_at_ms: int | None = None,
        merchant_id: str | None = None,
    ) -> None:
        """Write ``fields`` over ``expected_version``; with ``count_offered_at_ms``, the contact has just
        entered the queue named in ``fields`` (an overflow) and is counted offered there, atomically."""
        contact = ContactItem(pk=keys.contact_pk(contact_id), sk=keys.CONTACT_SK)
        actions = _field_actions(fields)
        fence = self._fence_for(merchant_id)
        counted = count_offered_at_ms if fields.get("queue_id") else None
        if fence is not None or counted is not None:
            self._update_in_transaction(
                fence, merchant_id, contact, expected_version, actions, counted, fields
            )
            return
        try:
            # Invariant: contact changes are serialised; a writer that read an older version loses.
            contact.update(actions=actions, condition=ContactItem.version == expected_version)
        except UpdateError as exc:
            if is_condition_failure(exc):
                raise ConcurrentUpdateError("contact", contact_id) from exc
            raise

    def _update_in_transaction(
        self,
        fence: RegionFence | None,
        merchant_id: str | None,
        contact: ContactItem,
        expected_version: int,
        actions: list[Any],
        counted_at_ms: int | None,
        fields: dict[str, Any],
    ) -> None:
        """``update`` with the ownership check (``fence``) and/or the queue's count (``counted_at_ms``)."""
        contact_id = keys.contact_id_of(str(contact.pk))
        for attempt in itertools.count(1):
            try:
                with transaction() as tx:
                    owned = [] if fence is None else stamp(ContactItem, fence.stage(tx, str(merchant_id)))
                    # Invariant: contact changes are serialised (only by the merchant's home, with two
                    # regions); the count goes with the change.
                    tx.update(
                        contact, actions=[*actions, *owned], condition=ContactItem.version == expected_version
                    )
                    if counted_at_ms is not None:
                        stats, stats_actions = _stats_update(
                            str(fields["queue_id"]), utc_day(counted_at_ms), contact_id
                        )
                        tx.update(stats, actions=[*stats_actions, QueueStatsItem.offered.add(1)])
                return
            except TransactWriteError as exc:
                if fence is not None:
                    fence.check_failed(tx, exc, str(merchant_id))
                if retry_after_conflict(exc, attempt):
                    continue  # the day's counters are shared by every contact of the queue
                if failed_keys(tx, exc, _RETRYABLE):
                    raise ConcurrentUpdateError("contact", contact_id) from exc
                raise

    def update_with_seat(
        self,
        contact_id: str,
        expected_version: int,
        fields: dict[str, Any],
        seat: SeatChange,
        dialogs: Sequence[DialogItem] = (),
    ) -> None:
        """Change a contact and the seat it is offered to in one transaction (the agent answered),
        with the call's stored dialogs (``dialogs``: the edge's SIP dialog under each of its keys).

        ConcurrentUpdateError names "seat" when the seat is no longer in its from-state, else "contact".
        """
        contact = ContactItem(pk=keys.contact_pk(contact_id), sk=keys.CONTACT_SK)
        seat_item = seat_ref(seat.before.merchant_id, seat.before.seat_id)
        fence = self._fence_for(seat.before.merchant_id)
        try:
            with transaction() as tx:
                owned = [] if fence is None else _stamps(fence.stage(tx, seat.before.merchant_id))
                # Invariant: the seat moves only by a legal transition from the state it was
                # computed from — still holding this contact, at the version the offer left.
                tx.update(
                    seat_item,
                    actions=[
                        *state_update_actions(seat.before.merchant_id, seat.before.seat_id, seat.after),
                        *owned[:2],
                    ],
                    condition=from_state_condition(seat.before),
                )
                # Invariant: contact changes are serialised; at the version read it is still the
                # offer to this seat.
                tx.update(
                    contact,
                    actions=[*_field_actions(fields), *owned[2:]],
                    condition=ContactItem.version == expected_version,
                )
                # Written only with the answer: a dialog never outlives its contact's connection.
                for dialog in dialogs:
                    tx.save(dialog)
        except TransactWriteError as exc:
            if fence is not None:
                fence.check_failed(tx, exc, seat.before.merchant_id)
            failed = failed_keys(tx, exc, _RETRYABLE)
            if key_of(contact) in failed:
                raise ConcurrentUpdateError("contact", contact_id) from exc
            if key_of(seat_item) in failed:
                raise ConcurrentUpdateError(
                    "seat", seat.before.seat_id, "no longer holds the contact"
                ) from exc
            raise

    def end(
        self,
        contact: ContactItem,
        record: RecordItem,
        outcome: str | None,
        seat: SeatChange | None = None,
        dialog_keys: Sequence[str] = (),
    ) -> None:
        """Write the contact record, count it in the queue's daily stats, drop the live item and let
        its agent go (``seat``: the release, ringing -> AVAILABLE or talking -> wrap-up/AVAILABLE),
        and delete the call's stored dialogs (``dialog_keys``).

        One transaction: a contact is never both live and recorded, nor recorded twice, and its agent
        is never left holding it. ``outcome`` is the counter to bump: "answered", "abandoned",
        "timed_out", or None for none (a call forwarded to the legacy trunk is counted by the legacy
        centre). ConcurrentUpdateError names "seat" when the seat is no longer in the from-state of
        the release, else "contact".
        """
        record.pk = keys.contact_pk(record.contact_id)
        record.sk = keys.RECORD_SK
        day = utc_day(int(record.ended_at))
        seat_item = seat_ref(seat.before.merchant_id, seat.before.seat_id) if seat is not None else None
        if record.queue_id:
            record.gsi1pk = keys.records_index_pk(record.queue_id, day)
            record.gsi1sk = f"{int(record.ended_at):015d}#{record.contact_id}"
        fence = self._fence_for(contact.merchant_id)
        for attempt in itertools.count(1):
            try:
                with transaction() as tx:
                    owned = [] if fence is None else _stamps(fence.stage(tx, str(contact.merchant_id)))
                    # Invariant: the live contact is removed by exactly one ender, at the version it read.
                    tx.delete(
                        ContactItem(pk=contact.pk, sk=contact.sk),
                        condition=ContactItem.version == int(contact.version),
                    )
                    # Invariant: one record per contact.
                    tx.save(record, condition=RecordItem.pk.does_not_exist())
                    if record.queue_id and outcome:
                        stats, actions = _stats_update(record.queue_id, day, record.contact_id)
                        tx.update(stats, actions=[*actions, getattr(QueueStatsItem, outcome).add(1)])
                    if seat is not None and seat_item is not None:
                        # Invariant: the agent is let go of this contact only from the state that holds
                        # it (RESERVED or ON_CONTACT for it, at the version read), by a legal transition.
                        tx.update(
                            seat_item,
                            actions=[
                                *state_update_actions(
                                    seat.before.merchant_id, seat.before.seat_id, seat.after
                                ),
                                *owned[:2],
                            ],
                            condition=from_state_condition(seat.before),
                        )
                    for dialog_key in dialog_keys:
                        tx.delete(dialog_ref(dialog_key))
                return
            except TransactWriteError as exc:
                if fence is not None:
                    fence.check_failed(tx, exc, str(contact.merchant_id))
                if retry_after_conflict(exc, attempt):
                    continue  # the day's counters are shared by every contact of the queue
                failed = failed_keys(tx, exc, _RETRYABLE)
                if (
                    seat is not None
                    and seat_item is not None
                    and key_of(seat_item) in failed
                    and key_of(contact) not in failed
                ):
                    raise ConcurrentUpdateError(
                        "seat", seat.before.seat_id, "no longer holds the contact"
                    ) from exc
                if failed:
                    raise ConcurrentUpdateError(
                        "contact", contact.contact_id, "already ended or changed"
                    ) from exc
                raise

    def stats(self, queue_id: str, day: str) -> QueueStatsItem | None:
        """A queue's counters for the day, summed over their shards; None before its first count."""
        shards = list(
            QueueStatsItem.query(
                keys.queue_stats_pk(queue_id),
                QueueStatsItem.sk.startswith(keys.queue_stats_day_prefix(day)),
                consistent_read=True,
            )
        )
        if not shards:
            return None
        total = QueueStatsItem(pk=keys.queue_stats_pk(queue_id), sk=keys.queue_stats_day_prefix(day))
        total.queue_id, total.day = queue_id, day
        for counter in ("offered", "answered", "abandoned", "timed_out"):
            setattr(total, counter, sum(int(getattr(shard, counter) or 0) for shard in shards))
        return total

    def record(self, contact_id: str) -> RecordItem:
        try:
            return RecordItem.get(keys.contact_pk(contact_id), keys.RECORD_SK, consistent_read=True)
        except DoesNotExist as exc:
            raise NotFoundError("contact record", contact_id) from exc

    def records_for_queue(self, queue_id: str, day: str) -> list[RecordItem]:
        return items_of(RecordItem, RecordItem.gsi1.query(keys.records_index_pk(queue_id, day)))

    def owned_by_edge(self, edge_task_id: str, state: str | None = None) -> list[ContactItem]:
        """Live contacts an edge task holds, optionally only those in ``state`` (eventually consistent)."""
        condition = ContactItem.gsi2sk.startswith(f"{state}#") if state else None
        return items_of(
            ContactItem, ContactItem.gsi2.query(keys.edge_contacts_index_pk(edge_task_id), condition)
        )


def _stamps(ownership: Ownership) -> list[Any]:
    """The seat's then the contact's stamps of the ownership a transaction was written under."""
    return [*stamp(SeatItem, ownership), *stamp(ContactItem, ownership)]


def _field_actions(fields: dict[str, Any]) -> list[Any]:
    """SET each field, REMOVE those that are None, and bump the version."""
    actions = [
        getattr(ContactItem, k).set(v) if v is not None else getattr(ContactItem, k).remove()
        for k, v in fields.items()
    ]
    actions.append(ContactItem.version.add(1))
    return actions


def now_ms() -> int:
    return int(time.time() * 1000)

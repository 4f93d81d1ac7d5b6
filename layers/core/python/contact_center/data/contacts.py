"""Contacts (calls and other interactions): queueing, the atomic offer, and the contact record."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from contact_center.data import keys
from contact_center.data.conditions import is_condition_failure
from contact_center.data.models import (
    ContactItem,
    QueueStatsItem,
    RecordItem,
    SeatItem,
    items_of,
)
from contact_center.data.ownership import RegionFence, stamp
from contact_center.data.seat_state import SeatState
from contact_center.data.seats import (
    SeatFromState,
)
from contact_center.data.transactions import (
    CONDITION_FAILED,
    TRANSACTION_CONFLICT,
    failed_keys,
    key_of,
    retry_after_conflict,
    transaction,
)
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
    shard = keys.queue_stats_shard(contact_id)
    stats = QueueStatsItem(pk=keys.queue_stats_pk(queue_id, day, shard), sk=keys.QUEUE_STATS_SK)
    return stats, [
        QueueStatsItem.entity.set("queue_stats"),
        QueueStatsItem.queue_id.set(queue_id),
        QueueStatsItem.day.set(day),
    ]


def stage_new_contact(tx: TransactWrite, contact: ContactItem) -> None:
    """Stage the creation of a live contact. Invariants: one live item per contact id (retries of the
    same INVITE do not fork it), and none for a contact that has ended: on a slow table a creation the
    edge already retried can land after the call's end, and would hold a queue place or an agent for
    nobody."""
    tx.condition_check(
        RecordItem,
        keys.contact_pk(contact.contact_id),
        keys.RECORD_SK,
        condition=RecordItem.pk.does_not_exist(),
    )
    tx.save(contact, condition=ContactItem.pk.does_not_exist())


def new_contact_refused(tx: TransactWrite, error: TransactWriteError, contact: ContactItem) -> bool:
    """Whether a cancelled creation was refused because the contact exists, live or ended."""
    failed = failed_keys(tx, error)
    return key_of(contact) in failed or (keys.contact_pk(contact.contact_id), keys.RECORD_SK) in failed


@dataclass(frozen=True)
class SeatChange:
    """A seat's state change in the same transaction as its contact's: from ``before``, to ``after``."""

    before: SeatFromState
    after: SeatState
    # The seat's profile as read at ``before``'s version (None: not read): its availability entries
    # on a release into AVAILABLE are written from it.
    profile: SeatItem | None = None


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
            contact.gsi2pk = keys.edge_contacts_index_pk(contact.owning_edge, contact.contact_id)
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
                stage_new_contact(tx, contact)  # by its merchant's home region
        except TransactWriteError as exc:
            fence.check_failed(tx, exc, merchant_id)
            if new_contact_refused(tx, exc, contact):
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
                    stage_new_contact(tx, contact)
                    tx.update(stats, actions=[*actions, QueueStatsItem.offered.add(1)])
                return
            except TransactWriteError as exc:
                if fence is not None:
                    fence.check_failed(tx, exc, str(contact.merchant_id))
                if new_contact_refused(tx, exc, contact):
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

    def stats(self, queue_id: str, day: str) -> QueueStatsItem | None:
        """A queue's counters for the day, summed over their shards; None before its first count."""
        shards = list(
            QueueStatsItem.batch_get(
                [
                    (keys.queue_stats_pk(queue_id, day, shard), keys.QUEUE_STATS_SK)
                    for shard in range(keys.QUEUE_STATS_SHARDS)
                ],
                consistent_read=True,
            )
        )
        if not shards:
            return None
        total = QueueStatsItem(pk=keys.queue_stats_pk(queue_id, day, 0), sk=keys.QUEUE_STATS_SK)
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
        found = [
            record
            for partition in keys.records_index_partitions(queue_id, day)
            for record in items_of(RecordItem, RecordItem.gsi1.query(partition))
        ]
        return sorted(found, key=lambda record: str(record.gsi1sk))  # by end time, as one partition was

    def records_ended_since(self, queue_id: str, since_ms: int, now_ms: int) -> list[RecordItem]:
        """The queue's records of contacts that ended from ``since_ms`` to ``now_ms`` (a range read of
        the day's index partitions: one or two days)."""
        days = sorted({utc_day(since_ms), utc_day(now_ms)})
        start = keys.record_index_sk(since_ms, "")
        return [
            record
            for day in days
            for partition in keys.records_index_partitions(queue_id, day)
            for record in items_of(RecordItem, RecordItem.gsi1.query(partition, RecordItem.gsi1sk >= start))
        ]

    def owned_by_edge(self, edge_task_id: str, state: str | None = None) -> list[ContactItem]:
        """Live contacts an edge task holds, optionally only those in ``state`` (eventually consistent)."""
        condition = ContactItem.gsi2sk.startswith(f"{state}#") if state else None
        found = [
            contact
            for partition in keys.edge_contacts_index_partitions(edge_task_id)
            for contact in items_of(ContactItem, ContactItem.gsi2.query(partition, condition))
        ]
        return sorted(found, key=lambda contact: str(contact.gsi2sk))  # as one partition was


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

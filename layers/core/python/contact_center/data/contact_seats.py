"""The contact transactions that change a seat too: the offer, the answer (and other changes of a
contact with its seat) and the end, each one transaction over the contact, the seat and whatever
goes with them (the seat's availability entries, the queue's counters, the record, the dialog).

``ContactItems`` (``contacts``) holds the contact's own reads and single-item writes.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from pynamodb.exceptions import TransactWriteError

from contact_center.data import availability, keys
from contact_center.data.contacts import (
    _RETRYABLE,
    ContactItems,
    Offer,
    SeatChange,
    _field_actions,
    _stamps,
    _stats_update,
    new_contact_refused,
    stage_new_contact,
    utc_day,
)
from contact_center.data.models import ContactItem, DialogItem, QueueStatsItem, RecordItem, SeatItem
from contact_center.data.seat_state import SeatState
from contact_center.data.seats import from_state_condition, seat_ref, state_update_actions
from contact_center.data.sessions import dialog_ref
from contact_center.data.transactions import failed_keys, key_of, retry_after_conflict, transaction
from contact_center.domain.agent_state import AgentState
from contact_center.domain.contact import ContactState
from contact_center.services.errors import AlreadyExistsError, ConcurrentUpdateError

__all__ = ["ContactSeatItems"]


class ContactSeatItems(ContactItems):
    """A contact's items, with the transactions that change its seat in the same write."""

    def offer(
        self,
        contact: ContactItem,
        seat: SeatItem,
        seat_new: SeatState,
        now_ms: int,
        seat_profile: dict[str, Any] | None = None,
    ) -> Offer:
        """Reserve a seat for a contact in one transaction (``seat_profile``: the seat's profile as
        read, kept on the contact for the seat's release).

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
                # Out of the availability index of every queue it serves at that version.
                for queue_id in availability.served_queues(seat):
                    tx.delete(availability.entry_ref(seat.merchant_id, seat.seat_id, queue_id))
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
                        *([ContactItem.seat_profile.set(seat_profile)] if seat_profile else []),
                        ContactItem.gsi1pk.remove(),
                        ContactItem.gsi1sk.remove(),
                        *(
                            [
                                # The task holding the caller, or the one that runs a callback
                                # (which nobody held until now).
                                ContactItem.owning_edge.set(contact.owning_edge),
                                ContactItem.gsi2pk.set(
                                    keys.edge_contacts_index_pk(contact.owning_edge, contact.contact_id)
                                ),
                                ContactItem.gsi2sk.set(
                                    keys.edge_contacts_index_sk(
                                        ContactState.OFFERED.value, contact.contact_id
                                    )
                                ),
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

    def create_offered(self, contact: ContactItem, seat: SeatItem, seat_new: SeatState) -> None:
        """Create a contact already OFFERED to a seat, reserving the seat, in one transaction.

        The same rules as ``create`` then ``offer``, held in one write: either the seat goes AVAILABLE
        -> RESERVED for the new contact, the contact exists once, OFFERED to it, and its queue counts
        it "offered" for the day, or nothing is written.
        """
        contact.pk = keys.contact_pk(contact.contact_id)
        contact.sk = keys.CONTACT_SK
        if contact.owning_edge:
            contact.gsi2pk = keys.edge_contacts_index_pk(contact.owning_edge, contact.contact_id)
            contact.gsi2sk = keys.edge_contacts_index_sk(contact.state, contact.contact_id)
        merchant_id = str(seat.merchant_id)
        seat_item = SeatItem(pk=seat.pk, sk=seat.sk)
        stats, stats_actions = _stats_update(
            str(contact.queue_id), utc_day(int(contact.enqueued_at)), contact.contact_id
        )
        fence = self._fence_for(merchant_id)
        for attempt in itertools.count(1):
            try:
                with transaction() as tx:
                    owned: list[Any] = []
                    if fence is not None:
                        ownership = fence.stage(tx, merchant_id)
                        contact.home_region, contact.epoch = ownership.home_region, ownership.epoch
                        owned = _stamps(ownership)
                    # Invariant: a seat is offered one contact at a time — only from AVAILABLE at the
                    # version read.
                    tx.update(
                        seat_item,
                        actions=[*state_update_actions(merchant_id, seat.seat_id, seat_new), *owned[:2]],
                        condition=(SeatItem.state == AgentState.AVAILABLE.value)
                        & (SeatItem.version == int(seat.version)),
                    )
                    for queue_id in availability.served_queues(seat):
                        tx.delete(availability.entry_ref(merchant_id, seat.seat_id, queue_id))
                    # Being new, it is offered to no other seat.
                    stage_new_contact(tx, contact)
                    tx.update(stats, actions=[*stats_actions, QueueStatsItem.offered.add(1)])
                return
            except TransactWriteError as exc:
                if fence is not None:
                    fence.check_failed(tx, exc, merchant_id)
                failed = failed_keys(tx, exc)
                if new_contact_refused(tx, exc, contact):
                    raise AlreadyExistsError("contact", contact.contact_id) from exc
                if key_of(seat) in failed:
                    raise ConcurrentUpdateError("seat", seat.seat_id, "no longer available") from exc
                if retry_after_conflict(exc, attempt):
                    continue  # the day's counter is shared by every contact of the queue
                if key_of(seat) in failed_keys(tx, exc, _RETRYABLE):
                    raise ConcurrentUpdateError("seat", seat.seat_id, "no longer available") from exc
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
        listing = (
            availability.entries_on_release(
                seat.before.merchant_id,
                seat.before.seat_id,
                seat.before.state,
                seat.before.version,
                seat.after,
                seat.profile,
            )
            if seat is not None
            else []
        )
        if record.queue_id:
            record.gsi1pk = keys.records_index_pk(record.queue_id, day, record.contact_id)
            record.gsi1sk = keys.record_index_sk(int(record.ended_at), record.contact_id)
        if record.merchant_id:
            record.gsi2pk = keys.merchant_records_index_pk(record.merchant_id, day)
            record.gsi2sk = keys.record_index_sk(int(record.ended_at), record.contact_id)
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
                        availability.stage(tx, seat.before.merchant_id, seat.before.seat_id, (), listing)
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

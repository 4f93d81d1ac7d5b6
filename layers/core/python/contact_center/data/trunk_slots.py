"""A trunk's call slots: how ``max_concurrent_calls`` holds across every edge task.

A trunk with a limit of N has N slot items, ``TRUNKSLOT#{tid}`` / ``SLOT#{n:06d}``, n < N. A call
over the trunk holds one slot as a lease: the item names the contact and the edge task, and
``expires_at``. Claiming a slot is a conditional put that succeeds only when the slot is absent or
its lease has expired, so two calls never hold one slot and no more than N calls hold the trunk,
whichever tasks place them. The holding task renews its leases while the calls last and deletes
each one when its call ends; a task that dies stops renewing, so its slots come free one lease
after its last renewal (no counter to repair, nothing to sweep).

Why slots and not a counter item: a counter incremented per call and decremented per end cannot
tell which increments belong to calls that are gone with their task, so a crash leaks capacity
until someone repairs it. A per-task share (N divided among tasks) needs no writes but wastes the
share of an idle task and must be recomputed as tasks come and go.

Cost per call: one strongly consistent query of the trunk's held slots (to pick free candidates;
the conditional put, not the read, holds the limit), one put (more only when another task claimed
the same slot a moment before), one renewal per ``renew`` interval while the call lasts, one delete.
"""

from __future__ import annotations

import random
from typing import ClassVar

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DeleteError, PutError, UpdateError

from contact_center.data.conditions import is_condition_failure
from contact_center.data.models import TableItem

__all__ = ["TrunkSlotItem", "TrunkSlots", "slot_pk"]

# Tries of other free slots when a claim loses a race, before the trunk counts as full.
CLAIM_TRIES = 3


def slot_pk(trunk_id: str) -> str:
    return f"TRUNKSLOT#{trunk_id}"


def slot_sk(slot: int) -> str:
    return f"SLOT#{slot:06d}"


class TrunkSlotItem(TableItem):
    ENTITY: ClassVar[str] = "trunk_slot"
    trunk_id = UnicodeAttribute()
    slot = NumberAttribute()
    contact_id = UnicodeAttribute()
    task_id = UnicodeAttribute()


class TrunkSlots:
    def held(self, trunk_id: str, now: int) -> dict[int, str]:
        """Slot -> contact of every lease of the trunk still running at ``now``."""
        return {
            int(item.slot): item.contact_id
            for item in TrunkSlotItem.query(slot_pk(trunk_id), consistent_read=True)
            if item.expires_at is not None and item.expires_at > now  # TTL deletion is lazy
        }

    def claim(
        self, trunk_id: str, limit: int, contact_id: str, task_id: str, now: int, lease_seconds: int
    ) -> int | None:
        """The slot now leased to ``contact_id`` until ``now + lease_seconds``, or None when all
        ``limit`` slots are held."""
        held = self.held(trunk_id, now)
        if len(held) >= limit:  # slots above a lowered limit still count until their calls end
            return None
        free = [slot for slot in range(limit) if slot not in held]
        # Tasks claiming at once pick different slots most of the time.
        for slot in random.sample(free, min(CLAIM_TRIES, len(free))):
            item = TrunkSlotItem(
                pk=slot_pk(trunk_id),
                sk=slot_sk(slot),
                trunk_id=trunk_id,
                slot=slot,
                contact_id=contact_id,
                task_id=task_id,
                expires_at=now + lease_seconds,
            )
            try:
                # Invariant: one live lease per slot, so at most ``limit`` calls hold the trunk.
                item.save(condition=TrunkSlotItem.pk.does_not_exist() | (TrunkSlotItem.expires_at <= now))
            except PutError as exc:
                if is_condition_failure(exc):
                    continue  # another call claimed it since the read
                raise
            return slot
        return None

    def renew(self, trunk_id: str, slot: int, contact_id: str, now: int, lease_seconds: int) -> bool:
        """Extend the lease; False when the slot is no longer this call's (it expired and was
        claimed again, or was released)."""
        item = TrunkSlotItem(pk=slot_pk(trunk_id), sk=slot_sk(slot))
        try:
            # Invariant: only the lease's own call extends it.
            item.update(
                actions=[TrunkSlotItem.expires_at.set(now + lease_seconds)],
                condition=TrunkSlotItem.contact_id == contact_id,
            )
        except UpdateError as exc:
            if is_condition_failure(exc):
                return False
            raise
        return True

    def release(self, trunk_id: str, slot: int, contact_id: str) -> None:
        try:
            # Invariant: a call frees only its own lease (never one claimed after it expired).
            TrunkSlotItem(pk=slot_pk(trunk_id), sk=slot_sk(slot)).delete(
                condition=TrunkSlotItem.contact_id == contact_id
            )
        except DeleteError as exc:
            if not is_condition_failure(exc):
                raise

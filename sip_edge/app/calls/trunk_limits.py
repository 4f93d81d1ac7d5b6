"""``max_concurrent_calls`` across the fleet: a call over a limited trunk first leases a slot.

The slots are items of the table (``contact_center.data.trunk_slots`` says why slots, and what
each call costs). This task keeps the leases of its own calls: it renews them every
``renew_seconds`` while the call is held here (set up or bridged: `LiveCalls.held_contacts`) and
releases each one when its call is gone, checked every ``check_seconds``; a lease whose call ended
before it was bridged is released at once by whoever placed it. When this task dies its leases
run out after ``lease_seconds``.

A trunk without a limit costs no request. When the table cannot be reached the call is let
through (logged): the carrier's own limit still holds, and refusing every legacy call because a
counter cannot be read would turn a storage hiccup into an outage.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

__all__ = ["LEASE_SECONDS", "TrunkLimits", "TrunkSlotStore"]

log = logging.getLogger("sip_edge.trunks")

# A dead task's calls stop counting against the limit this long after its last renewal.
LEASE_SECONDS = 120
RENEW_SECONDS = 40.0
CHECK_SECONDS = 1.0


class TrunkSlotStore(Protocol):
    """The trunks' slot leases (the table in production). Blocking: runs in a worker thread."""

    def claim(
        self, trunk_id: str, limit: int, contact_id: str, task_id: str, now: int, lease_seconds: int
    ) -> int | None: ...

    def renew(self, trunk_id: str, slot: int, contact_id: str, now: int, lease_seconds: int) -> bool: ...

    def release(self, trunk_id: str, slot: int, contact_id: str) -> None: ...


@dataclass(slots=True)
class _Lease:
    trunk_id: str
    slot: int
    contact_id: str
    renewed_at: float


class TrunkLimits:
    def __init__(
        self,
        store: TrunkSlotStore,
        task_id: str,
        held: Callable[[], Iterable[str]],
        *,
        lease_seconds: int = LEASE_SECONDS,
        renew_seconds: float = RENEW_SECONDS,
        check_seconds: float = CHECK_SECONDS,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._task_id = task_id
        self._held = held
        self._lease = lease_seconds
        self._renew = renew_seconds
        self._check = check_seconds
        self._now = now
        self._leases: dict[str, _Lease] = {}  # contact id -> its lease

    async def acquire(self, trunk_id: str, limit: int | None, contact_id: str) -> bool:
        """Whether the call may use the trunk now: True with its slot leased (or no limit)."""
        if limit is None:
            return True
        now = self._now()
        try:
            slot = await asyncio.to_thread(
                self._store.claim, trunk_id, limit, contact_id, self._task_id, int(now), self._lease
            )
        except Exception as exc:
            log.warning("trunk %s: cannot lease a call slot (%s); the call goes ahead", trunk_id, exc)
            return True
        if slot is None:
            log.info("trunk %s is at its limit of %d calls", trunk_id, limit)
            return False
        self._leases[contact_id] = _Lease(trunk_id, slot, contact_id, now)
        return True

    async def release(self, contact_id: str) -> None:
        lease = self._leases.pop(contact_id, None)
        if lease is None:
            return
        try:
            await asyncio.to_thread(self._store.release, lease.trunk_id, lease.slot, contact_id)
        except Exception as exc:
            log.warning(
                "trunk %s: releasing slot %d failed (%s); it expires", lease.trunk_id, lease.slot, exc
            )

    @property
    def leased(self) -> int:
        return len(self._leases)

    async def run(self) -> None:
        """Release the leases of calls gone from this task and renew the others, until cancelled."""
        while True:
            try:
                await self.tend()
            except Exception:
                log.exception("tending the trunk slot leases failed")
            await asyncio.sleep(self._check)

    async def tend(self) -> None:
        if not self._leases:
            return
        live = set(self._held())
        for contact_id in [c for c in self._leases if c not in live]:
            await self.release(contact_id)
        now = self._now()
        for lease in [lease for lease in self._leases.values() if now - lease.renewed_at >= self._renew]:
            try:
                kept = await asyncio.to_thread(
                    self._store.renew, lease.trunk_id, lease.slot, lease.contact_id, int(now), self._lease
                )
            except Exception as exc:
                log.warning("trunk %s: renewing slot %d failed (%s)", lease.trunk_id, lease.slot, exc)
                continue
            lease.renewed_at = now
            if not kept:
                log.warning("trunk %s: the lease of slot %d was lost", lease.trunk_id, lease.slot)
                self._leases.pop(lease.contact_id, None)

"""An in-memory trunk slot store with the table's semantics (`contact_center.data.trunk_slots`);
`tests/functional/data/test_trunk_slots.py` runs the same contract against both."""

from __future__ import annotations

import threading


class MemoryTrunkSlots:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        # (trunk, slot) -> (contact, task, expires_at)
        self.items: dict[tuple[str, int], tuple[str, str, int]] = {}
        self.requests = 0

    def held(self, trunk_id: str, now: int) -> dict[int, str]:
        return {slot: c for (t, slot), (c, _, exp) in self.items.items() if t == trunk_id and exp > now}

    def claim(
        self, trunk_id: str, limit: int, contact_id: str, task_id: str, now: int, lease_seconds: int
    ) -> int | None:
        with self._lock:
            self.requests += 2  # the read of the held slots and the conditional put
            held = self.held(trunk_id, now)
            if len(held) >= limit:
                self.requests -= 1
                return None
            slot = min(slot for slot in range(limit) if slot not in held)
            self.items[(trunk_id, slot)] = (contact_id, task_id, now + lease_seconds)
            return slot

    def renew(self, trunk_id: str, slot: int, contact_id: str, now: int, lease_seconds: int) -> bool:
        with self._lock:
            self.requests += 1
            item = self.items.get((trunk_id, slot))
            if item is None or item[0] != contact_id:
                return False
            self.items[(trunk_id, slot)] = (contact_id, item[1], now + lease_seconds)
            return True

    def release(self, trunk_id: str, slot: int, contact_id: str) -> None:
        with self._lock:
            self.requests += 1
            item = self.items.get((trunk_id, slot))
            if item is not None and item[0] == contact_id:
                del self.items[(trunk_id, slot)]

"""The location service: address-of-record -> bindings, in memory, written behind to the table.

Like Kamailio's usrloc in write-back mode: a REGISTER changes the in-memory bindings and queues
the change; a flusher writes queued changes in batches every ``flush_interval`` seconds, so the
hot path never waits for DynamoDB and other edge tasks (and the routing function) see a new
registration within about one flush interval. Several changes to one binding within an interval
collapse into one write.

A refresh that changes nothing but the expiry (and Call-ID, CSeq) is not written while the table's copy
still covers at least half of the binding's remaining lifetime. The table's expiry is then a lower
bound, which is all the router and other tasks need (a binding they see is live), and a phone
re-registering every 2 minutes with a 1-hour expiry costs one write per half hour instead of 30.

A binding that changes where the device is reached (a new device, or a phone that moved to this task
from another, as after its flow owner died) is different: until it is written, the table still
names the old flow and a call routed meanwhile is relayed into the void, the ring times out and the
agent is parked NOT_RESPONDING. The registrar answers such a REGISTER once it is written
(`moved` and `durable`): it flushes at once, after any flush under way (flushes take turns, so
two writes of one binding never race), and REGISTERs moving together share that write. A
refresh's answer never waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Protocol

from sip_edge.app.registration.batching import BatchLoader
from sip_edge.sip.registration import Binding

log = logging.getLogger("sip_edge.location")


class BindingStore(Protocol):
    """Durable bindings (the table in production). Blocking; runs in a worker thread."""

    def write(self, upserts: list[Binding], removals: list[tuple[str, str]]) -> None: ...

    def load(self, aor: str, now: float) -> list[Binding]:
        """One AOR's unexpired bindings, read now (a binding found stale)."""
        ...

    def load_many(self, aors: Sequence[str], now: float) -> Mapping[str, list[Binding]]:
        """The unexpired bindings of each AOR, in as few reads as the store allows (first
        registrations); an AOR left out has none."""
        ...


class LocationService:
    def __init__(
        self,
        store: BindingStore,
        *,
        flush_interval: float = 0.2,
        max_batch: int = 500,
        max_read_batch: int = 50,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._flush_interval = flush_interval
        self._max_batch = max_batch
        self._now = now
        self._bindings: dict[str, dict[str, Binding]] = {}
        self._dirty: dict[tuple[str, str], Binding | None] = {}  # None = removal
        # The expiry each binding has in the table, once the pending writes are done.
        self._stored_expiry: dict[tuple[str, str], float] = {}
        self._wake = asyncio.Event()
        # AORs whose pending changes move a device to a new flow.
        self._moved: set[str] = set()
        self._flushing = asyncio.Lock()
        # First registrations of many AORs at once (a storm) share their reads of the table.
        self._reads: BatchLoader[str, list[Binding]] = BatchLoader(
            lambda aors: store.load_many(aors, self._now()), [], max_batch=max_read_batch
        )
        self.flushes = 0
        self.written = 0

    # --- reads ----------------------------------------------------------------------------------

    def current(self, aor: str) -> list[Binding]:
        now = self._now()
        return [b for b in self._bindings.get(aor, {}).values() if b.expires_at > now]

    def is_loaded(self, aor: str) -> bool:
        """Whether an AOR's bindings are in memory (``ensure_loaded`` would not read the table)."""
        return aor in self._bindings

    async def ensure_loaded(self, aor: str) -> None:
        """Bring an AOR's bindings made through other edge tasks into memory (once per AOR)."""
        if aor in self._bindings:
            return
        loaded = await self._reads.get(aor)
        if aor not in self._bindings:
            self._bindings[aor] = {b.key: b for b in loaded}
            for b in loaded:
                self._stored_expiry.setdefault((aor, b.key), b.expires_at)

    @property
    def reads(self) -> int:
        """Batch reads of bindings sent (each up to 50 AORs)."""
        return self._reads.batches

    @property
    def backlog(self) -> int:
        """AORs waiting for their bindings to be read."""
        return self._reads.backlog

    @property
    def loads(self) -> int:
        """AORs read from the store."""
        return self._reads.keys_read

    def owned(self, owner: str, transport: str | None = None) -> Iterable[Binding]:
        now = self._now()
        for bindings in self._bindings.values():
            for b in bindings.values():
                if (
                    b.flow_owner == owner
                    and b.expires_at > now
                    and (transport is None or b.transport == transport)
                ):
                    yield b

    # --- writes ---------------------------------------------------------------------------------

    def put(self, binding: Binding) -> None:
        bindings = self._bindings.setdefault(binding.aor, {})
        previous = bindings.get(binding.key)
        bindings[binding.key] = binding
        key = (binding.aor, binding.key)
        if previous is None or not previous.same_device_and_flow(binding):
            self._moved.add(binding.aor)
        elif key not in self._dirty:  # a pending write takes the newest state at no extra cost
            stored = self._stored_expiry.get(key)
            now = self._now()
            if stored is not None and stored - now >= (binding.expires_at - now) / 2:
                return
        self._mark(key, binding)

    def moved(self, aor: str) -> bool:
        """Whether a change not yet being written moves one of ``aor``'s devices to a new flow."""
        return aor in self._moved

    async def durable(self) -> None:
        """Return once every change made so far is in the store. Raises what the store raised."""
        await self.flush()

    def remove(self, aor: str, key: str) -> None:
        self._bindings.get(aor, {}).pop(key, None)
        # Marked even when not in memory: the binding may exist in the table, made by another task.
        self._mark((aor, key), None)
        self._stored_expiry.pop((aor, key), None)

    def remove_all(self, aor: str) -> None:
        for key in list(self._bindings.get(aor, {})):
            self.remove(aor, key)

    def expire(self) -> int:
        """Drop expired bindings from memory (the table's TTL deletes the items)."""
        now = self._now()
        dropped = 0
        for aor in list(self._bindings):
            bindings = self._bindings[aor]
            for key in [k for k, b in bindings.items() if b.expires_at <= now]:
                del bindings[key]
                self._stored_expiry.pop((aor, key), None)
                dropped += 1
            if not bindings:
                del self._bindings[aor]
        return dropped

    def _mark(self, key: tuple[str, str], value: Binding | None) -> None:
        self._dirty[key] = value
        if value is not None:
            self._stored_expiry[key] = value.expires_at
        if len(self._dirty) >= self._max_batch:
            self._wake.set()

    # --- write-behind ---------------------------------------------------------------------------

    async def run(self) -> None:
        """The write-behind: flush every ``flush_interval`` seconds, or as soon as a batch is full
        (a worker: runs until cancelled; see `sip_edge.app.workers`)."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._flush_interval)
            self._wake.clear()
            try:
                await self.flush()
            except Exception:
                await asyncio.sleep(1.0)

    @property
    def pending(self) -> int:
        return len(self._dirty)

    async def flush(self) -> None:
        async with self._flushing:
            if not self._dirty:
                return
            batch, self._dirty = self._dirty, {}
            moved, self._moved = self._moved, set()
            upserts = [b for b in batch.values() if b is not None]
            removals = [key for key, b in batch.items() if b is None]
            try:
                await asyncio.to_thread(self._store.write, upserts, removals)
            except Exception:
                log.exception("writing %d binding changes failed; retrying", len(batch))
                # Newer changes made meanwhile win over the failed batch.
                self._dirty = {**batch, **self._dirty}
                self._moved |= moved
                raise
            self.flushes += 1
            self.written += len(batch)

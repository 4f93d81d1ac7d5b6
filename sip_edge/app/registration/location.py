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
(`moved` and `durable`): it flushes at once, after any flush under way, and REGISTERs moving
together share that write. A refresh's answer never waits.

A flush sends its changes as requests of ``WRITE_BATCH`` (one BatchWriteItem each), up to
``MAX_WRITES_IN_FLIGHT`` at once: a cold storm queues thousands of bindings, and one request after
another could not keep up. Two writes of one binding never race, for two reasons: a flush holds
each binding once (its newest state), and flushes take turns, so a later change is sent only
after every request of the flush holding the earlier one has returned. All changes of one AOR go
in the same request, so a REGISTER waits for one request and fails only when that one failed
(`BindingWriteError`); the store retries unprocessed items with backoff before giving up.
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

# Queued changes by (AOR, binding key); None is a removal.
_Changes = dict[tuple[str, str], Binding | None]

# Changes per store request: DynamoDB's BatchWriteItem takes at most 25.
WRITE_BATCH = 25
# Store requests of one flush in flight at once. They run on the loop's default executor, which
# has min(32, cores + 4) threads (6 on a 2-core task) shared with the reads of credentials and
# bindings: 4 leaves reads two threads, and a flush of 1,000 bindings (40 requests) takes 10
# round trips instead of 40.
MAX_WRITES_IN_FLIGHT = 4


class BindingWriteError(Exception):
    """Some changes of a flush were not written (they are kept and written again later)."""

    def __init__(self, aors: frozenset[str], cause: BaseException) -> None:
        super().__init__(f"{len(aors)} AORs' bindings not written: {cause!r}")
        self.aors = aors
        self.cause = cause


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
        write_batch: int = WRITE_BATCH,
        max_writes_in_flight: int = MAX_WRITES_IN_FLIGHT,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._flush_interval = flush_interval
        self._max_batch = max_batch
        self._write_batch = write_batch
        self._max_writes_in_flight = max_writes_in_flight
        self._now = now
        self._bindings: dict[str, dict[str, Binding]] = {}
        self._dirty: _Changes = {}
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
        self.write_requests = 0

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

    async def durable(self, aor: str | None = None) -> None:
        """Return once every change made so far (of ``aor``, when given) is in the store. Raises
        `BindingWriteError` when the request holding those changes failed."""
        try:
            await self.flush()
        except BindingWriteError as exc:
            if aor is None or aor in exc.aors:
                raise

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
        """Write every queued change, ``max_writes_in_flight`` requests at a time. Raises
        `BindingWriteError` naming the AORs of the requests that failed; their changes are queued
        again under any newer ones."""
        async with self._flushing:
            if not self._dirty:
                return
            batch, self._dirty = self._dirty, {}
            moved, self._moved = self._moved, set()
            slots = asyncio.Semaphore(self._max_writes_in_flight)
            chunks = self._chunks(batch)
            outcomes = await asyncio.gather(
                *(self._write_chunk(chunk, slots) for chunk in chunks), return_exceptions=True
            )
            self.flushes += 1
            failed: set[str] = set()
            cause: BaseException | None = None
            for chunk, outcome in zip(chunks, outcomes, strict=True):
                if outcome is None:
                    self.written += len(chunk)
                    continue
                cause = outcome
                # Newer changes made meanwhile win over the failed ones.
                self._dirty = {**chunk, **self._dirty}
                failed |= {aor for aor, _ in chunk}
            if cause is not None:
                self._moved |= moved & failed
                log.error("writing the bindings of %d AORs failed; retrying: %r", len(failed), cause)
                raise BindingWriteError(frozenset(failed), cause)

    def _chunks(self, batch: _Changes) -> list[_Changes]:
        """The changes in requests of at most ``write_batch``, those of one AOR in the same one."""
        by_aor: dict[str, _Changes] = {}
        for key, value in batch.items():
            by_aor.setdefault(key[0], {})[key] = value
        chunks: list[_Changes] = [{}]
        for changes in by_aor.values():
            # An AOR has at most max_contacts bindings, far fewer than a request holds.
            if chunks[-1] and len(chunks[-1]) + len(changes) > self._write_batch:
                chunks.append({})
            chunks[-1].update(changes)
        return chunks

    async def _write_chunk(self, chunk: _Changes, slots: asyncio.Semaphore) -> None:
        upserts = [b for b in chunk.values() if b is not None]
        removals = [key for key, b in chunk.items() if b is None]
        async with slots:
            self.write_requests += 1
            await asyncio.to_thread(self._store.write, upserts, removals)

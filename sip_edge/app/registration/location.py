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
(`moved` and `stored`): its change is sent at once, in the next request with room. A refresh's
answer never waits.

Changes are written as requests of ``WRITE_BATCH`` (one BatchWriteItem each), up to
``MAX_WRITES_IN_FLIGHT`` at once, and a REGISTER waits for the request holding its own changes, not
for any other: a cold storm queues thousands of bindings, and a phone kept waiting for writes of
others retransmits, which costs the edge more than its registration. Changes are sent once
something waits for them (a REGISTER that moves a device at once, the write-behind every
``flush_interval``); a request that is not full goes only while fewer than half of the requests
are out, so a lone registration is written at once and in a storm requests fill while the others
are out. Two writes
of one binding never race: the changes of an AOR with a request in flight wait for it to return.
All changes of one AOR go in the same request, so a REGISTER fails only when that one failed
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

# Queued changes: AOR -> binding key -> its newest state (None: removed).
_Changes = dict[str, dict[str, Binding | None]]

# Changes per store request: DynamoDB's BatchWriteItem takes at most 25.
WRITE_BATCH = 25
# Store requests in flight at once. They run on the loop's default executor, which has
# min(32, cores + 4) threads (6 on a 2-core task) shared with the reads of credentials and
# bindings: 4 leaves reads two threads, and 1,000 bindings (40 requests) take 10 round trips
# instead of 40.
MAX_WRITES_IN_FLIGHT = 4


class BindingWriteError(Exception):
    """A request of binding changes was not written (they are kept and written again later)."""

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
        # Requests in flight past which one that is not full waits: in a storm the others fill up
        # meanwhile (fewer requests, less CPU), yet one slow request never holds a lone change.
        self._partial = max(1, max_writes_in_flight // 2)
        self._now = now
        self._bindings: dict[str, dict[str, Binding]] = {}
        self._dirty: _Changes = {}
        self._pending = 0  # changes in _dirty
        # The expiry each binding has in the table, once the pending writes are done.
        self._stored_expiry: dict[tuple[str, str], float] = {}
        self._wake = asyncio.Event()
        # AORs whose queued changes move a device to a new flow.
        self._moved: set[str] = set()
        # AORs with a request in flight, and what waits for their queued / in-flight changes.
        self._sending: set[str] = set()
        self._queued_waits: dict[str, asyncio.Future[None]] = {}
        self._sent_waits: dict[str, asyncio.Future[None]] = {}
        self._requests: set[asyncio.Task[None]] = set()
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
        if previous is None or not previous.same_device_and_flow(binding):
            self._moved.add(binding.aor)
        elif binding.key not in self._dirty.get(binding.aor, ()):
            # (a queued write takes the newest state at no extra cost)
            stored = self._stored_expiry.get((binding.aor, binding.key))
            now = self._now()
            if stored is not None and stored - now >= (binding.expires_at - now) / 2:
                return
        self._mark(binding.aor, binding.key, binding)

    def moved(self, aor: str) -> bool:
        """Whether a change not yet being written moves one of ``aor``'s devices to a new flow."""
        return aor in self._moved

    def stored(self, aor: str) -> asyncio.Future[None] | None:
        """Done once the changes of ``aor`` made so far are in the store, failed with
        `BindingWriteError` when the request holding them failed; None when none are unwritten.
        Asking sends them: at once when a request can go. Await it shielded: it is shared."""
        waiter, new = self._waiter(aor)
        if new:
            self._send()
        return waiter

    async def durable(self, aor: str | None = None) -> None:
        """Return once every change made so far (of ``aor``, when given) is in the store. Raises
        `BindingWriteError` when a request holding those changes failed."""
        if aor is None:
            await self.flush()
            return
        waiter = self.stored(aor)
        if waiter is not None:
            await asyncio.shield(waiter)

    def remove(self, aor: str, key: str) -> None:
        self._bindings.get(aor, {}).pop(key, None)
        # Marked even when not in memory: the binding may exist in the table, made by another task.
        self._mark(aor, key, None)
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

    def _mark(self, aor: str, key: str, value: Binding | None) -> None:
        changes = self._dirty.setdefault(aor, {})
        if key not in changes:
            self._pending += 1
        changes[key] = value
        if value is not None:
            self._stored_expiry[(aor, key)] = value.expires_at
        if self._pending >= self._max_batch:
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
        """Changes queued, not yet sent."""
        return self._pending

    async def flush(self) -> None:
        """Write every change made so far. Raises `BindingWriteError` naming the AORs of the
        requests that failed; their changes are queued again under any newer ones."""
        waiters: dict[asyncio.Future[None], None] = {}
        for aor in [*self._dirty, *self._sending]:
            waiter, _ = self._waiter(aor)
            if waiter is not None:
                waiters[waiter] = None
        if not waiters:
            return
        self.flushes += 1
        self._send()
        outcomes = await asyncio.gather(*(asyncio.shield(w) for w in waiters), return_exceptions=True)
        failures = [outcome for outcome in outcomes if isinstance(outcome, BindingWriteError)]
        if failures:
            aors = frozenset().union(*(failure.aors for failure in failures))
            raise BindingWriteError(aors, failures[0].cause)

    def _waiter(self, aor: str) -> tuple[asyncio.Future[None] | None, bool]:
        """(what waits for ``aor``'s newest unwritten changes, whether it was made now)."""
        if aor in self._dirty:
            # Queued changes are sent after any request of the AOR in flight: waiting for them
            # is waiting for both.
            waits = self._queued_waits
        elif aor in self._sending:
            waits = self._sent_waits
        else:
            return None, False
        waiter = waits.get(aor)
        if waiter is not None:
            return waiter, False
        waiter = waits[aor] = asyncio.get_running_loop().create_future()
        return waiter, True

    def _send(self) -> None:
        """Start requests for the queued changes something waits for, at most
        ``max_writes_in_flight`` at once."""
        while self._queued_waits and len(self._requests) < self._max_writes_in_flight:
            chunk = self._take()
            if not chunk:
                return
            moved = {aor for aor in chunk if aor in self._moved}
            self._moved -= moved
            request = asyncio.get_running_loop().create_task(self._write(chunk, moved))
            self._requests.add(request)
            request.add_done_callback(self._requests.discard)

    def _take(self) -> _Changes:
        """The next request's changes, oldest waited-for first, those of one AOR together; empty
        when there are none, or too few to fill a request while half the requests are out."""
        chunk: _Changes = {}
        size = 0
        full = False
        for aor in self._queued_waits:
            if aor in self._sending:
                continue  # after its request in flight returns
            changes = self._dirty[aor]
            # An AOR has at most max_contacts bindings, far fewer than a request holds.
            if size and size + len(changes) > self._write_batch:
                full = True
                break
            chunk[aor] = changes
            size += len(changes)
        if not chunk or (not full and size < self._write_batch and len(self._requests) >= self._partial):
            return {}
        for aor in chunk:
            del self._dirty[aor]
            self._pending -= len(chunk[aor])
            self._sending.add(aor)
            self._sent_waits[aor] = self._queued_waits.pop(aor)
        return chunk

    async def _write(self, chunk: _Changes, moved: set[str]) -> None:
        upserts = [b for changes in chunk.values() for b in changes.values() if b is not None]
        removals = [(aor, key) for aor, changes in chunk.items() for key, b in changes.items() if b is None]
        self.write_requests += 1
        failure: BindingWriteError | None = None
        try:
            await asyncio.to_thread(self._store.write, upserts, removals)
        except BaseException as exc:  # also cancelled (shutdown): the changes stay queued
            failure = BindingWriteError(frozenset(chunk), exc)
            self._requeue(chunk, moved)
            if not isinstance(exc, Exception):
                raise
            log.error("writing the bindings of %d AORs failed; retrying: %r", len(chunk), exc)
        else:
            self.written += len(upserts) + len(removals)
        finally:
            self._requests.discard(asyncio.current_task())
            for aor in chunk:
                self._sending.discard(aor)
                waiter = self._sent_waits.pop(aor, None)
                if waiter is None or waiter.done():
                    continue
                if failure is None:
                    waiter.set_result(None)
                else:
                    waiter.set_exception(failure)
                    waiter.exception()  # retrieved here: a REGISTER that gave up must not log it
            self._send()

    def _requeue(self, chunk: _Changes, moved: set[str]) -> None:
        """A failed request's changes, queued again under the newer ones made meanwhile."""
        for aor, changes in chunk.items():
            newer = self._dirty.setdefault(aor, {})
            for key, value in changes.items():
                if key not in newer:
                    newer[key] = value
                    self._pending += 1
        self._moved |= moved

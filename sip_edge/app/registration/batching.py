"""Coalescing of concurrent single-key reads into batch reads, for registration storms.

After a failover every phone registers at once, and each first registration needs what the edge
does not hold yet (a seat's HA1s, an AOR's bindings). Read one by one, that is one DynamoDB
request and one worker-thread hand-off per registration, which cost more edge CPU than the rest of
the registration together. `BatchLoader` sends the keys asked for while earlier reads are in
flight as one read of up to ``max_batch`` keys (BatchGetItem, a PartiQL ``IN``).

Nothing waits for a batch to fill: a key asked for while fewer than ``max_in_flight`` reads are
running goes at once, alone if it is alone. So a lone registration pays no added latency, and in a
storm each read carries everything that arrived during the previous one: the busier the edge, the
larger the batches and the fewer the requests per registration.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Generic, TypeVar

_Key = TypeVar("_Key", bound=Hashable)
_Value = TypeVar("_Value")


class BatchLoader(Generic[_Key, _Value]):
    """``await get(key)``: the value ``load_many`` gives for the key, read together with others.

    ``load_many`` is blocking (it runs in a worker thread) and returns a value for every key it
    was given; a key it leaves out reads as ``missing``. A failed read fails every waiter of that
    batch with its exception. One read per key at a time: waiters for a key already queued or in
    flight share its result.
    """

    def __init__(
        self,
        load_many: Callable[[Sequence[_Key]], Mapping[_Key, _Value]],
        missing: _Value,
        *,
        max_batch: int = 100,
        max_in_flight: int = 2,
    ) -> None:
        if max_batch < 1 or max_in_flight < 1:
            raise ValueError("max_batch and max_in_flight must be at least 1")
        self._load_many = load_many
        self._missing = missing
        self._max_batch = max_batch
        self._max_in_flight = max_in_flight
        self._queued: dict[_Key, asyncio.Future[_Value]] = {}
        self._in_flight: dict[_Key, asyncio.Future[_Value]] = {}
        self._reads = 0
        self.batches = 0  # reads sent
        self.keys_read = 0  # keys in them

    @property
    def backlog(self) -> int:
        """Keys waiting for a read or being read: the registrations waiting for the data layer."""
        return len(self._queued) + len(self._in_flight)

    async def get(self, key: _Key) -> _Value:
        waiter = self._queued.get(key) or self._in_flight.get(key)
        if waiter is None:
            waiter = asyncio.get_running_loop().create_future()
            self._queued[key] = waiter
            self._send()
        # Shielded: one caller giving up (its transaction ended) must not cancel the others' read.
        return await asyncio.shield(waiter)

    def _send(self) -> None:
        while self._queued and self._reads < self._max_in_flight:
            keys = list(self._queued)[: self._max_batch]
            batch = {key: self._queued.pop(key) for key in keys}
            self._in_flight.update(batch)
            self._reads += 1
            self.batches += 1
            self.keys_read += len(batch)
            asyncio.get_running_loop().create_task(self._read(batch))

    async def _read(self, batch: dict[_Key, asyncio.Future[_Value]]) -> None:
        try:
            values = await asyncio.to_thread(self._load_many, list(batch))
        except Exception as exc:
            for key, waiter in batch.items():
                self._in_flight.pop(key, None)
                if not waiter.done():
                    waiter.set_exception(exc)
                    waiter.exception()  # retrieved here: a waiter that gave up must not log it
        else:
            for key, waiter in batch.items():
                self._in_flight.pop(key, None)
                if not waiter.done():
                    waiter.set_result(values.get(key, self._missing))
        finally:
            self._reads -= 1
            self._send()

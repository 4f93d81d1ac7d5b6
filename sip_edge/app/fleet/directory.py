"""The fleet of edge tasks: this task's heartbeat, the others' addresses, and the lost ones' calls.

Every task writes its advertised SIP address every ``interval`` seconds (a TTL makes a dead task
disappear within ``ttl``). A call for an agent whose phone registered through another task must
reach the phone through that task (see `routes.agent_route`); `OwnerAddresses` finds the owner's
address. `LostEdgeSweeper` ends the calls of a task that stopped beating.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from sip_edge.app.workers import repeat

__all__ = ["EdgeDirectory", "Heartbeat", "LostContacts", "LostEdgeSweeper", "OwnerAddresses"]

log = logging.getLogger("sip_edge.fleet")


class EdgeDirectory(Protocol):
    """Heartbeats of the fleet (the table in production). Blocking: runs in a worker thread."""

    def heartbeat(self, task_id: str, address: str, now: int, active_calls: int) -> None: ...

    def address_of(self, task_id: str, now: int) -> str | None: ...

    def lost(self, now: int) -> list[tuple[str, int]]:
        """Tasks whose heartbeat lapsed and whose loss nobody has handled: (task id, last beat)."""
        ...

    def forget(self, task_id: str, heartbeat_at: int) -> bool:
        """The loss is handled; False if the task beat again since ``heartbeat_at``."""
        ...


class LostContacts(Protocol):
    """The routing function's side: end the ringing and queued contacts a task no longer holds."""

    async def edge_lost(
        self, edge_task_id: str, held: Sequence[str] = (), initiated_before_ms: int | None = None
    ) -> list[str]: ...


class OwnerAddresses:
    """Edge task id -> advertised address, read from the heartbeats and cached for ``ttl`` seconds."""

    def __init__(
        self, directory: EdgeDirectory, *, ttl: float = 10.0, now: Callable[[], float] = time.time
    ) -> None:
        self._directory = directory
        self._ttl = ttl
        self._now = now
        self._cache: dict[str, tuple[str | None, float]] = {}

    async def address_of(self, task_id: str) -> str | None:
        cached = self._cache.get(task_id)
        now = self._now()
        if cached is not None and now - cached[1] < self._ttl:
            return cached[0]
        try:
            address = await asyncio.wait_for(
                asyncio.to_thread(self._directory.address_of, task_id, int(now)), 2.0
            )
        except Exception:
            log.exception("looking up edge task %s failed", task_id)
            address = None
        self._cache[task_id] = (address, now)
        return address


class Heartbeat:
    """Writes this task's address and active call count every ``interval`` seconds."""

    def __init__(
        self,
        directory: EdgeDirectory,
        task_id: str,
        address: Callable[[], str],
        active_calls: Callable[[], int],
        *,
        interval: float = 10.0,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._directory = directory
        self._task_id = task_id
        # Read at each beat: the advertised port is known once the listeners are bound.
        self._address = address
        self._active_calls = active_calls
        self._now = now
        self.interval = interval
        self.beats = 0

    async def beat(self) -> None:
        await asyncio.to_thread(
            self._directory.heartbeat, self._task_id, self._address(), int(self._now()), self._active_calls()
        )
        self.beats += 1

    async def run(self) -> None:
        """A worker (`sip_edge.app.workers`): the first beat at once, then every ``interval``."""
        await repeat("edge-heartbeat", self.interval, self.beat, immediately=True)


class LostEdgeSweeper:
    """Every ``interval`` seconds, ends the ringing and queued contacts nobody holds any more.

    - Of tasks that stopped beating: their callers' INVITE transactions died with them. Any task may
      do it, several at once harmlessly (ending a contact twice is a no-op); the first to finish
      forgets the loss so it is handled once.
    - Of this task, those it gave up on: a routing attempt that finished after this task had
      answered its caller. Only contacts older than ``grace`` are looked at, so a call being set up
      now is never among them.
    - Of this task's earlier life, at start: a task restarted under the same id (a supervised local
      edge, a container restarted in place) holds none of the contacts initiated before it started,
      so they are ended at once instead of reserving the next free agent for a caller who is gone.

    Without this their agents would stay reserved.
    """

    def __init__(
        self,
        directory: EdgeDirectory,
        routing: LostContacts,
        own_task_id: str,
        held: Callable[[], Sequence[str]] = list,
        *,
        has_routed: Callable[[], bool] = lambda: True,
        interval: float = 30.0,
        grace: float = 60.0,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._directory = directory
        self._routing = routing
        # A task is taken as lost only this long after its lease lapsed: one that was merely slow
        # (a long pause, a throttled write) beats again first and keeps its calls.
        self._grace = grace
        self._own_task_id = own_task_id
        self._held = held
        # A task that never asked for a route (a registrar-only edge) has no contacts to check.
        self._has_routed = has_routed
        self._now = now
        self.interval = interval
        self.handled: list[str] = []
        self._started_ms = int(now() * 1000)
        self._earlier_life_pending = False

    async def end_earlier_life(self) -> None:
        """End the contacts this task id holds from before this process started (none are held)."""
        try:
            await self._routing.edge_lost(self._own_task_id, (), initiated_before_ms=self._started_ms)
            self._earlier_life_pending = False
        except Exception:
            self._earlier_life_pending = True
            log.exception("ending this task's contacts from before its start failed; next sweep retries")

    async def sweep(self) -> None:
        now = self._now()
        if self._earlier_life_pending:
            await self.end_earlier_life()
        if self._has_routed():
            try:
                await self._routing.edge_lost(
                    self._own_task_id, self._held(), initiated_before_ms=int((now - self._grace) * 1000)
                )
            except Exception:
                log.exception("ending the contacts this task gave up on failed; next sweep retries")
        lost = await asyncio.to_thread(self._directory.lost, int(now - self._grace))
        for task_id, heartbeat_at in lost:
            if task_id == self._own_task_id:
                continue  # this task stalled past its lease but lives: its next beat revives it
            try:
                ended = await self._routing.edge_lost(task_id)
            except Exception:
                log.exception("ending the calls of lost edge task %s failed; next sweep retries", task_id)
                continue
            if await asyncio.to_thread(self._directory.forget, task_id, heartbeat_at):
                self.handled.append(task_id)
                log.warning("edge task %s was lost; ended %d calls it held", task_id, len(ended))

    async def run(self) -> None:
        """A worker (`sip_edge.app.workers`): one sweep every ``interval`` seconds."""
        await self.end_earlier_life()
        await repeat("lost-edge-sweep", self.interval, self.sweep)

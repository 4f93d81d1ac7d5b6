"""The edge's relay pool, kept to the region's relay registry (the media fleet in AWS).

Every relay instance beats into the table (`contact_center.contracts.media_relays`); every
``interval`` seconds the edge re-reads its region's beats and reconciles its `RelayPool` with
`contact_center.domain.media_relays.pool_changes`: a relay that joined takes calls at once, one that
drains (its instance is being terminated) or falls silent takes no new call but keeps the ones it
has, and it leaves the pool when this task holds none of them. A failed read changes nothing: the
relays known keep serving while the table is unreachable.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Protocol

from contact_center.contracts.media_relays import BEAT_SECONDS, LIVE_SECONDS
from contact_center.domain.media_relays import PoolChanges, RelayBeat, pool_changes
from sip_edge.app.media.relays import RelayPool
from sip_edge.app.workers import repeat

__all__ = ["RelayRegistry", "RelaySource"]


class RelaySource(Protocol):
    """The region's relay beats (the table in production). Blocking: runs in a worker thread."""

    def beats(self) -> list[RelayBeat]: ...


class RelayRegistry:
    def __init__(
        self,
        source: RelaySource,
        pool: RelayPool,
        *,
        interval: float = BEAT_SECONDS,
        live_seconds: int = LIVE_SECONDS,
        read_timeout: float = 3.0,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._source = source
        self._pool = pool
        self.interval = interval
        self._live_seconds = live_seconds
        self._read_timeout = read_timeout
        self._now = now

    async def refresh(self) -> PoolChanges:
        beats = await asyncio.wait_for(asyncio.to_thread(self._source.beats), self._read_timeout)
        changes = pool_changes(self._pool.known(), beats, int(self._now()), self._live_seconds)
        agents = {beat.ng_address: beat.agent_address for beat in beats if beat.agent_address is not None}
        self._pool.apply(changes, agents)
        return changes

    async def run(self) -> None:
        """A worker (`sip_edge.app.workers`): the first read at once, then every ``interval``."""
        await repeat("media-relay-registry", self.interval, self.refresh, immediately=True)

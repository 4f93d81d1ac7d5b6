"""The media relays of this edge task and which of them are alive.

The relays come from the `MEDIA_RELAYS` setting (fixed: the local stack, the tests) or from the
region's relay registry (`sip_edge.app.media.registry`, the media fleet in AWS), which adds relays
as instances join, and stops new calls to a relay that drains or falls silent (`apply`). Every relay
in the pool is pinged every ``interval`` seconds, each ping allowed
``ping_timeout``. ``failures`` lost pings in a row (about 4.5 s with the defaults) make it dead; one answered ping makes it alive again. A new call is anchored on the
live relay holding the fewest of this task's calls; when a relay dies, every call anchored on it
is told (`CallMedia.lost`), and the call ends with a BYE on both legs and a record.

Why end them rather than keep them: rtpengine here keeps its calls in memory only (no Redis
keyspace), so neither a restarted daemon nor another relay knows the call's ports; the caller and
the agent would sit in silence, the agent's seat busy, until one of them hung up. Ending the call
frees the agent at once, records the cause (`network_failure`) and lets the customer call back;
the calls a live relay holds, and every new call, are untouched. With rtpengine's Redis
replication (a keyspace shared by a standby) talking calls could be kept instead: not configured.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from contact_center.domain.media_relays import Address, PoolChanges
from sip_edge.app.media.joined import RelayAgent
from sip_edge.media.ng import NgClient, NgError

__all__ = ["Relay", "RelayPool"]

log = logging.getLogger("sip_edge.media")


@dataclass(eq=False)
class Relay:
    client: NgClient
    alive: bool = True
    # The registry's word: False while the relay drains or is silent there. Its calls go on; the
    # pings above, not the registry, decide when they are lost.
    accepting: bool = True
    missed: int = 0
    calls: set[Callable[[], None]] = field(default_factory=set)
    # The agent beside it that joins an announcement's words into one file (None: said one by one).
    agent: RelayAgent | None = None

    def close(self) -> None:
        self.client.close()
        if self.agent is not None:
            self.agent.close()

    @property
    def name(self) -> str:
        host, port = self.client.address
        return f"{host}:{port}"


class RelayPool:
    def __init__(
        self,
        clients: Iterable[NgClient],
        *,
        interval: float = 1.0,
        ping_timeout: float = 0.5,
        failures: int = 3,
        connect: Callable[[tuple[str, int]], NgClient] = NgClient,
        agents: Mapping[Address, Address] | None = None,
    ) -> None:
        """``agents``: each relay's agent address by the relay's ng address (fixed relays)."""
        self.relays = [Relay(client) for client in clients]
        self._agents(agents or {})
        # The client of a relay the registry adds (tests give a fake).
        self._connect = connect
        self._interval = interval
        self._ping_timeout = ping_timeout
        self._failures = failures

    def pick(self) -> Relay | None:
        """The live, accepting relay with the fewest calls of this task; None when there is none."""
        live = [relay for relay in self.relays if relay.alive and relay.accepting]
        return min(live, key=lambda relay: len(relay.calls)) if live else None

    def known(self) -> dict[tuple[str, int], tuple[bool, int]]:
        """Each relay's ng address -> (accepting new calls, calls of this task on it)."""
        return {relay.client.address: (relay.accepting, len(relay.calls)) for relay in self.relays}

    def _agents(self, agents: Mapping[Address, Address]) -> None:
        """Give each relay the agent at its address in ``agents`` (a relay whose agent started late
        gets it at the next read of the registry)."""
        for relay in self.relays:
            address = agents.get(relay.client.address)
            if address is not None and (relay.agent is None or relay.agent.address != address):
                if relay.agent is not None:
                    relay.agent.close()
                relay.agent = RelayAgent(address)

    def apply(self, changes: PoolChanges, agents: Mapping[Address, Address] | None = None) -> None:
        """Follow the registry (`contact_center.domain.media_relays.pool_changes`); ``agents``: each
        listed relay's agent address by its ng address."""
        by_address = {relay.client.address: relay for relay in self.relays}
        for address in changes.add:
            if address not in by_address:
                log.warning("media relay %s:%d joined: new calls may use it", *address)
                self.relays.append(Relay(self._connect(address)))
        for address in changes.accept:
            if address in by_address:
                by_address[address].accepting = True
        for address in changes.stop_accepting:
            if address in by_address:
                stopping = by_address[address]
                stopping.accepting = False
                log.warning(
                    "media relay %s takes no new call (%d calls stay on it)",
                    stopping.name,
                    len(stopping.calls),
                )
        for address in changes.remove:
            leaving = by_address.get(address)
            if leaving is not None and not leaving.calls:
                self.relays.remove(leaving)
                leaving.close()
                log.warning("media relay %s left the pool", leaving.name)
        self._agents(agents or {})

    def failed(self, relay: Relay) -> None:
        """A command to ``relay`` timed out: count it as a missed ping."""
        self._missed(relay)

    async def stop(self) -> None:
        for relay in self.relays:
            relay.close()

    async def check_once(self) -> None:
        await asyncio.gather(*(self._ping(relay) for relay in list(self.relays)))

    async def watch(self) -> None:
        """Ping every relay every ``interval`` (the edge's supervisor runs this)."""
        while True:
            await self.check_once()
            await asyncio.sleep(self._interval)

    async def _ping(self, relay: Relay) -> None:
        try:
            await relay.client.ping(self._ping_timeout)
        except NgError:
            self._missed(relay)
            return
        relay.missed = 0
        if not relay.alive:
            log.warning("media relay %s answers again: new calls may use it", relay.name)
            relay.alive = True

    def _missed(self, relay: Relay) -> None:
        relay.missed += 1
        if relay.alive and relay.missed >= self._failures:
            relay.alive = False
            lost = list(relay.calls)
            relay.calls.clear()
            log.error("media relay %s is dead: ending its %d calls", relay.name, len(lost))
            for call_lost in lost:
                call_lost()

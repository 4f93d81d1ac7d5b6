"""Which source addresses are carriers: the trunks' CIDRs, cached.

An INVITE is only taken from an address inside a configured trunk's ``source_cidrs``; anything
else is refused with 403 before routing is asked (toll fraud and scanners never cost a Lambda
call). The list is read from the table at most every ``ttl`` seconds (10 s: a new trunk is usable
within that, and 28 calls/s cost one read per 10 s instead of 280). An address no trunk holds gets
the list read again if it is older than ``miss_ttl`` (1 s), so a trunk takes calls within a second
of its creation while a scanner's flood costs at most one read a second. (Waiting on a miss for a
read begun after it would make a new trunk usable at once, but would add up to a second to every
seat's call out, whose first INVITE is a miss too.) A failed refresh keeps the last good list; with
no list at all the check fails with `TrunkListUnavailableError`.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from contact_center.domain.queue_address import QueueCall, queue_id_of
from contact_center.domain.trunks import OutboundAuth, TrunkAddress
from sip_edge.app.calls.trunk_dns import TrunkResolver
from sip_edge.app.calls.trunk_limits import TrunkLimits

__all__ = ["Trunk", "TrunkDirectory", "TrunkListUnavailableError", "TrunkSource"]

log = logging.getLogger("sip_edge.trunks")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class Trunk:
    trunk_id: str
    source_cidrs: tuple[str, ...]
    address: TrunkAddress | None = None  # where calls over it go (a legacy PBX, a carrier)
    auth: OutboundAuth | None = None
    max_concurrent_calls: int | None = None
    merchant_id: str | None = None  # a merchant's own trunk (its legacy PBX); None: a platform carrier


class TrunkSource(Protocol):
    """Every configured trunk (the table in production). Blocking: runs in a worker thread."""

    def trunks(self) -> Sequence[Trunk]: ...


class TrunkListUnavailableError(Exception):
    """The trunk list was never read (the table is unreachable): no source can be vetted."""


class TrunkDirectory:
    def __init__(
        self,
        source: TrunkSource,
        *,
        ttl: float = 10.0,
        miss_ttl: float = 1.0,
        timeout: float = 2.0,
        now: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        limits: TrunkLimits | None = None,
        resolver: TrunkResolver | None = None,
    ) -> None:
        self._source = source
        self._sleep = sleep
        self.resolver = resolver or TrunkResolver()  # where each trunk's requests go (DNS)
        # Leases of the limited trunks' call slots; None: limits are not enforced (no table).
        self.limits = limits
        self._ttl = ttl
        self._miss_ttl = miss_ttl
        self._timeout = timeout
        self._now = now
        self._networks: list[tuple[Network, str]] | None = None
        self._by_id: dict[str, Trunk] = {}
        self._down: set[str] = set()
        self._loaded_at = 0.0
        self._read_at = -float("inf")  # when the list last loaded was read from the source
        self._refreshing: asyncio.Task[None] | None = None

    @staticmethod
    def _compile(trunks: Sequence[Trunk]) -> list[tuple[Network, str]]:
        networks: list[tuple[Network, str]] = []
        for trunk in trunks:
            for cidr in trunk.source_cidrs:
                try:
                    networks.append((ipaddress.ip_network(cidr, strict=False), trunk.trunk_id))
                except ValueError:
                    log.warning("trunk %s has an invalid CIDR %r; ignored", trunk.trunk_id, cidr)
        # The most specific network names the trunk: a legacy PBX inside a carrier's range is itself.
        # Between equal networks the platform's carrier wins, so a merchant naming a carrier's range
        # for its own trunk cannot take the carrier's calls for its legacy centre's.
        platform = {trunk.trunk_id for trunk in trunks if trunk.merchant_id is None}
        networks.sort(key=lambda entry: (entry[0].prefixlen, entry[1] in platform), reverse=True)
        return networks

    async def _refresh(self) -> None:
        started = self._now()
        trunks = await asyncio.wait_for(asyncio.to_thread(self._source.trunks), self._timeout)
        self._read_at = started
        self._networks = self._compile(trunks)
        self._by_id = {trunk.trunk_id: trunk for trunk in trunks}
        self._loaded_at = self._now()

    def is_up(self, trunk_id: str) -> bool:
        """As the OPTIONS pings last said (``trunk_health``); a trunk never pinged counts as up."""
        return trunk_id not in self._down

    def mark(self, trunk_id: str, up: bool) -> None:
        if up:
            self._down.discard(trunk_id)
        else:
            self._down.add(trunk_id)

    async def trunk(self, trunk_id: str) -> Trunk | None:
        """The trunk as last read (within ``ttl``), or None when there is no such trunk. An id the
        list lacks was named by the router, so it was created since the last read: the list is read
        again, no sooner than ``miss_ttl`` after the last read (the call waits up to that), so a
        forward to a trunk made a moment ago reaches it, and a deleted trunk costs one read a
        ``miss_ttl``."""
        await self._fresh()
        if trunk_id not in self._by_id:
            wait = self._miss_ttl - (self._now() - self._read_at)
            if wait > 0:
                await self._sleep(wait)
            if trunk_id not in self._by_id:
                await self._fresh(0.0)
        return self._by_id.get(trunk_id)

    async def queue_call(self, trunk_id: str, called: str) -> QueueCall | None:
        """A call over ``trunk_id`` to a queue address (``queue-<queue_id>``), with the trunk's
        merchant; None for a number. Whether the trunk may call that queue is the router's to say."""
        queue_id = queue_id_of(called)
        if queue_id is None:
            return None
        trunk = await self.trunk(trunk_id)
        return QueueCall(queue_id, trunk_id, trunk.merchant_id if trunk is not None else None)

    async def with_address(self) -> list[Trunk]:
        """Every trunk the edge sends calls to (what the OPTIONS pinger watches)."""
        await self._fresh()
        return [trunk for trunk in self._by_id.values() if trunk.address is not None]

    async def trunk_for(self, source_ip: str) -> str | None:
        """The id of the trunk whose CIDRs hold ``source_ip``, or None."""
        try:
            address = ipaddress.ip_address(source_ip.strip("[]"))
        except ValueError:
            return None
        await self._fresh()
        found = self._holding(address)
        if found is None and self._now() - self._read_at >= self._miss_ttl:
            # A list read before this INVITE arrived may predate the trunk: a read begun now.
            missed_at = self._now()
            for _ in range(2):  # the read in flight (begun earlier), then one of our own if need be
                if self._read_at >= missed_at:
                    break
                await self._fresh(0.0)
            found = self._holding(address)
        return found

    def _holding(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
        for network, trunk_id in self._networks or ():
            if address.version == network.version and address in network:
                return trunk_id
        return None

    async def _fresh(self, max_age: float | None = None) -> None:
        age = self._ttl if max_age is None else max_age
        if self._networks is None or self._now() - self._loaded_at >= age:
            # One refresh at a time: a burst of INVITEs after expiry waits on the same read.
            if self._refreshing is None or self._refreshing.done():
                self._refreshing = asyncio.ensure_future(self._refresh())
            try:
                await asyncio.shield(self._refreshing)
            except Exception as exc:
                if self._networks is None:
                    raise TrunkListUnavailableError(str(exc) or type(exc).__name__) from exc
                log.warning("refreshing the trunk list failed (%s); using the last one", exc)
                self._loaded_at = self._now()  # do not hammer a failing table on every INVITE

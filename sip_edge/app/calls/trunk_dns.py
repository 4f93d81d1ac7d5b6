"""Where a trunk's requests go: its address resolved as RFC 3263 says.

- an IP address with its port (the transport's default port without one): that address;
- a name with a port: the name's A/AAAA records, that port;
- a bare domain: its SRV records for the trunk's transport (``_sip._udp``, ``_sip._tcp``,
  ``_sips._tcp``) in priority order, weighted within a priority (RFC 2782, ``order_srv``), each
  target's A/AAAA records in turn; with no SRV records at all (NXDOMAIN or no answer), the domain's
  own A/AAAA records with the default port (RFC 3263 §4.2).

The answers are cached for their TTL, so 28 calls a second cost a lookup per TTL, and a carrier's
record change applies when the old record expires. The nameserver is the system's, or the one named
by the edge setting ``SIP_TRUNK_DNS`` (host[:port]; the tests run a DNS server on 127.0.0.1). Without
one, address records come from ``getaddrinfo`` (so /etc/hosts applies). A lookup that fails or finds
nothing raises ``OSError``: a ping then counts as failed (the trunk goes down as it would with
OPTIONS unanswered) and a call tries the trunk's next destination or fails over.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import random
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

import dns.asyncresolver
import dns.exception
import dns.resolver

from contact_center.domain.trunks import DEFAULT_PORTS, SrvRecord, TrunkAddress, order_srv
from sip_edge.sip.decisions import Destination

__all__ = ["TrunkResolver"]

log = logging.getLogger("sip_edge.trunks")

# A negative answer (no SRV records) is kept this long when the server gives no SOA minimum.
NEGATIVE_TTL = 30.0
LOOKUP_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class _Cached:
    value: tuple[object, ...]
    until: float


class TrunkResolver:
    def __init__(
        self,
        nameserver: tuple[str, int] | None = None,
        *,
        timeout: float = LOOKUP_SECONDS,
        now: Callable[[], float] = time.monotonic,
        pick: Callable[[int], int] = lambda n: random.randint(0, n),
    ) -> None:
        self._nameserver = nameserver
        self._timeout = timeout
        self._now = now
        self._pick = pick
        self._cache: dict[tuple[str, str], _Cached] = {}
        self._resolver: dns.asyncresolver.Resolver | None = None

    def _dns(self) -> dns.asyncresolver.Resolver:
        if self._resolver is None:
            if self._nameserver is None:
                self._resolver = dns.asyncresolver.Resolver()
            else:
                self._resolver = dns.asyncresolver.Resolver(configure=False)
                self._resolver.nameservers = [self._nameserver[0]]
                self._resolver.port = self._nameserver[1]
        return self._resolver

    async def destinations(self, address: TrunkAddress) -> list[Destination]:
        """Every destination of ``address``, in the order to try them (see the module docstring)."""
        transport = address.transport.value.upper()
        if _is_ip(address.host):
            return [Destination(transport, address.host, address.target_port)]
        servers: list[tuple[str, int]] = []
        if address.uses_srv:
            servers = [
                (record.target.rstrip("."), record.port) for record in await self._srv(address.srv_name)
            ]
        if not servers:
            servers = [(address.host.rstrip("."), address.port or DEFAULT_PORTS[address.transport])]
        found: list[Destination] = []
        for host, port in servers:
            try:
                found.extend(Destination(transport, ip, port) for ip in await self._addresses(host))
            except OSError as exc:
                log.info("trunk server %s has no address: %s", host, exc)
        if not found:
            raise OSError(f"{address} resolves to no address")
        return found

    async def _srv(self, name: str) -> list[SrvRecord]:
        cached = self._cache.get(("SRV", name))
        if cached is None or cached.until <= self._now():
            try:
                answer = await self._dns().resolve(name, "SRV", lifetime=self._timeout, search=False)
                records = tuple(
                    SrvRecord(rd.priority, rd.weight, rd.port, rd.target.to_text()) for rd in answer
                )
                ttl = float(answer.rrset.ttl) if answer.rrset is not None else NEGATIVE_TTL
            except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
                records, ttl = (), NEGATIVE_TTL
            except dns.exception.DNSException as exc:
                raise OSError(f"SRV lookup of {name} failed: {exc}") from exc
            cached = _Cached(records, self._now() + ttl)
            self._cache[("SRV", name)] = cached
        records_found = [record for record in cached.value if isinstance(record, SrvRecord)]
        return order_srv(records_found, self._pick)  # a new draw for every call

    async def _addresses(self, host: str) -> list[str]:
        if self._nameserver is None:
            infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_DGRAM)
            return list(dict.fromkeys(str(info[4][0]) for info in infos))
        cached = self._cache.get(("A", host))
        if cached is None or cached.until <= self._now():
            found: list[str] = []
            ttls: list[float] = []
            for kind in ("A", "AAAA"):
                try:
                    answer = await self._dns().resolve(host, kind, lifetime=self._timeout, search=False)
                except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
                    continue
                except dns.exception.DNSException as exc:
                    raise OSError(f"{kind} lookup of {host} failed: {exc}") from exc
                found.extend(rd.to_text() for rd in answer)
                if answer.rrset is not None:
                    ttls.append(float(answer.rrset.ttl))
            cached = _Cached(tuple(found), self._now() + (min(ttls) if ttls else NEGATIVE_TTL))
            self._cache[("A", host)] = cached
        if not cached.value:
            raise OSError(f"{host} has no address")
        return [str(value) for value in cached.value]


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True

"""A tiny DNS server on 127.0.0.1 for the trunk resolver's tests (dnslib): SRV, A and AAAA records
from a dict, every query counted. A name it holds no record of at all is NXDOMAIN; a name it holds
other records of gets an empty answer."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from dnslib import AAAA, QTYPE, RCODE, RR, SRV, A
from dnslib.server import BaseResolver, DNSServer

from tests.support.ports import free_port


class Zone(BaseResolver):  # type: ignore[misc]
    def __init__(self, ttl: int = 60) -> None:
        self.ttl = ttl
        self.records: dict[tuple[str, str], list[Any]] = {}
        self.queries: list[tuple[str, str]] = []
        self.nameserver = ("127.0.0.1", 53)  # where it is served (set by `dns_zone`)
        self._lock = threading.Lock()

    def srv(self, name: str, priority: int, weight: int, port: int, target: str) -> None:
        self.records.setdefault((name, "SRV"), []).append(SRV(priority, weight, port, target))

    def a(self, name: str, address: str) -> None:
        kind = "AAAA" if ":" in address else "A"
        self.records.setdefault((name, kind), []).append(AAAA(address) if kind == "AAAA" else A(address))

    def resolve(self, request: Any, handler: Any) -> Any:
        question = request.q
        name, kind = str(question.qname).rstrip(".").lower(), QTYPE[question.qtype]
        with self._lock:
            self.queries.append((name, kind))
        reply = request.reply()
        if not any(held == name for held, _ in self.records):
            reply.header.rcode = RCODE.NXDOMAIN
        for rdata in self.records.get((name, kind), []):
            reply.add_answer(RR(question.qname, question.qtype, rdata=rdata, ttl=self.ttl))
        return reply

    def asked(self, name: str, kind: str) -> int:
        with self._lock:
            return self.queries.count((name, kind))


@contextlib.contextmanager
def dns_zone(ttl: int = 60) -> Iterator[tuple[Zone, tuple[str, int]]]:
    """The zone and the nameserver's address while the server runs."""
    zone = Zone(ttl)
    port = free_port()
    zone.nameserver = ("127.0.0.1", port)
    server = DNSServer(zone, port=port, address="127.0.0.1")
    server.start_thread()
    try:
        yield zone, ("127.0.0.1", port)
    finally:
        server.stop()

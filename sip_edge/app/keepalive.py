"""Keeps agents' UDP NAT bindings open from the edge task that owns their flow.

Home routers close UDP mappings after 30 to 180 s of silence and the Network Load Balancer forgets a
UDP flow after 120 s, after which an INVITE to the agent would go nowhere. Every ``interval``
seconds the owner sends each UDP binding a CRLF-CRLF keep-alive (the RFC 5626 §4.4.1 ping form;
phones ignore it and it costs no transaction), spread evenly over the interval.
"""

from __future__ import annotations

from collections.abc import Callable

from sip_edge.app.location import LocationService
from sip_edge.app.periodic import Periodic

PING = b"\r\n\r\n"


def parse_hostport(received: str) -> tuple[str, int] | None:
    host, sep, port = received.rpartition(":")
    if not sep or not port.isdigit():
        return None
    return host.strip("[]"), int(port)


class NatKeepAlive:
    def __init__(
        self,
        location: LocationService,
        owner: str,
        send: Callable[[bytes, tuple[str, int]], None],
        *,
        interval: float = 25.0,
    ) -> None:
        self._location = location
        self._owner = owner
        self._send = send
        self.interval = interval
        self._loop = Periodic("nat-keepalive", interval, self._round)
        self.pings = 0

    def ping_all_once(self) -> int:
        sent = 0
        for binding in self._location.owned(self._owner, transport="UDP"):
            address = parse_hostport(binding.received)
            if address is not None:
                self._send(PING, address)
                sent += 1
        self.pings += sent
        return sent

    def start(self) -> None:
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()

    async def _round(self) -> None:
        self._location.expire()
        self.ping_all_once()

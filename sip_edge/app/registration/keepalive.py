"""Keeps agents' UDP NAT bindings open from the edge task that owns their flow.

Home routers close UDP mappings after 30 to 180 s of silence and the Network Load Balancer forgets a
UDP flow after 120 s, after which an INVITE to the agent would go nowhere. Every ``interval``
seconds the owner sends each UDP binding a CRLF-CRLF keep-alive (the RFC 5626 §4.4.1 ping form;
phones ignore it and it costs no transaction), spread evenly over the interval.
"""

from __future__ import annotations

from collections.abc import Callable

from sip_edge.app.registration.location import LocationService
from sip_edge.app.workers import repeat
from sip_edge.sip.hostport import split_hostport

PING = b"\r\n\r\n"


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
        self.pings = 0

    def ping_all_once(self) -> int:
        sent = 0
        for binding in self._location.owned(self._owner, transport="UDP"):
            host, port = split_hostport(binding.received)
            if port is not None:
                self._send(PING, (host, port))
                sent += 1
        self.pings += sent
        return sent

    async def run(self) -> None:
        """A worker (`sip_edge.app.workers`): one round every ``interval`` seconds."""
        await repeat("nat-keepalive", self.interval, self._round)

    async def _round(self) -> None:
        self._location.expire()
        self.ping_all_once()

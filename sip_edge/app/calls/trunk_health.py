"""OPTIONS pings to every trunk with an address, and which of them are up.

Each edge task pings on its own (``TRUNK_OPTIONS_INTERVAL_SECONDS``), so what it decides rests on
what it can reach itself, as Kamailio's dispatcher probing does. A trunk answers OPTIONS with any
status below 500 when it is alive (404/405 from a PBX that does not implement OPTIONS still prove
it is there); no answer, a transport error or a 5xx is a failure. ``domain.trunks.TrunkHealth``
turns the results into up/down with hysteresis, kept in the ``TrunkDirectory`` the calls read
(``is_up``). A trunk never pinged yet counts as up.

Where to send: the trunk's first destination as `trunk_dns` resolves it (SRV for a bare domain,
cached by TTL), so DNS changes apply from the next ping; a lookup that fails counts as a failed ping.
"""

from __future__ import annotations

import asyncio
import logging

from contact_center.contracts import values
from contact_center.domain.trunks import TrunkAddress, TrunkHealth
from sip_edge.app.calls.trunks import Trunk, TrunkDirectory, TrunkListUnavailableError
from sip_edge.sip.building import generate_call_id, generate_tag
from sip_edge.sip.decisions import Destination
from sip_edge.sip.headers import Headers
from sip_edge.sip.hostport import format_hostport
from sip_edge.sip.message import Request
from sip_edge.sip.stack import SipStack

__all__ = ["TrunkPinger"]

log = logging.getLogger("sip_edge.trunks")


class TrunkPinger:
    def __init__(
        self,
        trunks: TrunkDirectory,
        stack: SipStack,
        *,
        interval: float = values.TRUNK_OPTIONS_INTERVAL_SECONDS,
        down_after: int = values.TRUNK_DOWN_AFTER_FAILURES,
        up_after: int = values.TRUNK_UP_AFTER_SUCCESSES,
    ) -> None:
        self._trunks = trunks
        self._stack = stack
        self._interval = interval
        self._down_after = down_after
        self._up_after = up_after
        self._health: dict[str, TrunkHealth] = {}

    async def run(self) -> None:
        """Ping every trunk with an address once per interval, until cancelled."""
        while True:
            try:
                await self.ping_all()
            except TrunkListUnavailableError as exc:
                log.warning("no trunk list to ping (%s)", exc)
            except Exception:
                log.exception("pinging the trunks failed")
            await asyncio.sleep(self._interval)

    async def ping_all(self) -> None:
        trunks = await self._trunks.with_address()
        known = {trunk.trunk_id for trunk in trunks}
        for gone in set(self._health) - known:
            del self._health[gone]
            self._trunks.mark(gone, True)
        results = await asyncio.gather(*(self._ping(trunk) for trunk in trunks))
        for trunk, ok in zip(trunks, results, strict=True):
            self.record(trunk.trunk_id, ok)

    def record(self, trunk_id: str, ok: bool) -> None:
        before = self._health.get(trunk_id, TrunkHealth())
        after = before.after(ok, self._down_after, self._up_after)
        self._health[trunk_id] = after
        if after.up != before.up:
            log.warning("trunk %s is %s", trunk_id, "up" if after.up else "down")
            self._trunks.mark(trunk_id, after.up)

    async def _ping(self, trunk: Trunk) -> bool:
        assert trunk.address is not None
        try:
            destination = (await self._trunks.resolver.destinations(trunk.address))[0]
            transaction = self._stack.send_request(self._options(trunk.address, destination), destination)
            # A ping must settle within the interval, whatever the transport's own timer F says.
            response = await asyncio.wait_for(transaction.final_response(), self._interval)
        except Exception as exc:
            log.debug("OPTIONS to trunk %s failed: %s", trunk.trunk_id, exc)
            return False
        return response.status < 500

    def _options(self, address: TrunkAddress, destination: Destination) -> Request:
        target = format_hostport(destination.host, destination.port)
        uri = f"sip:{target};transport={address.transport.value}"
        sent_by = format_hostport(*self._stack.transport_for(destination.transport).sent_by)
        headers = Headers()
        headers.add("From", f"<sip:ping@{sent_by}>;tag={generate_tag()}")
        headers.add("To", f"<{uri}>")
        headers.add("Call-ID", generate_call_id())
        headers.add("CSeq", "1 OPTIONS")
        headers.add("Accept", "application/sdp")
        return Request("OPTIONS", uri, "SIP/2.0", headers, b"")

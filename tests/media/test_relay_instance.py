"""A relay instance's rtpengine as its agent configures it, for real: bound to the private address, it
writes the public one into SDP (``interface = private!public``), and its CLI gives the agent the
session count the fleet scales on."""

from __future__ import annotations

import asyncio
from pathlib import Path

from media_relay.agent import cli_sessions
from sip_edge.app.media.anchor import ANCHOR
from sip_edge.media.ng import NgClient
from tests.support.ports import free_port
from tests.support.relay import as_the_agent_configures_it, needs_rtpengine, running_relay
from tests.support.rtp import sdp_media_address, sdp_offer

# The instance's public IPv4 (documentation range): what callers must send their RTP to.
PUBLIC = "203.0.113.7"


@needs_rtpengine
def test_the_relay_advertises_its_public_address_and_counts_its_sessions(tmp_path: Path) -> None:
    cli = free_port()

    argv = as_the_agent_configures_it(tmp_path / "rtpengine.conf", PUBLIC, cli)
    with running_relay(argv=argv) as (ports, _process):
        assert cli_sessions(cli) == 0

        async def offer_then_delete() -> tuple[tuple[str, int], int]:
            ng = NgClient((ports.host, ports.ng_port))
            try:
                offered = await ng.offer("call-pub", "caller", sdp_offer("127.0.0.1", 40000), ANCHOR)
                during = await asyncio.to_thread(cli_sessions, cli)
                await ng.delete("call-pub", "caller")
                return sdp_media_address(offered.sdp), during
            finally:
                ng.close()

        (host, port), during = asyncio.run(offer_then_delete())
        assert host == PUBLIC  # never the private address the relay is bound to
        assert ports.media_min <= port <= ports.media_max
        assert during == 1
        assert cli_sessions(cli) == 0

"""A queued caller's music arrives every 20 ms through a real rtpengine, not in bursts.

Debian's rtpengine 10.5 reads a WAV file 4096 bytes at a time and its clock-skew correction bunches
each read's packets: the 8 kHz prompts reached callers as 13 packets 10 ms apart, then about 110 ms
of nothing, every 256 ms (the media benchmark's 116 ms p99 gap at every load). The prompts are made
at 96 kHz (`sip_edge.app.media.prompts`), 21 ms a read, and the packets leave evenly.
"""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

from local_stack.media_relay import RelayPorts
from sip_edge.app.calls.media import Announcements
from sip_edge.app.media.anchor import ANCHOR
from sip_edge.app.media.hold import HoldPlayer
from sip_edge.app.media.prompts import PromptSet
from sip_edge.media.ng import NgClient
from sip_edge.media.sdp import parked_answer
from tests.support.ports import HOST
from tests.support.rtp import PT_PCMU, SAMPLES_PER_PACKET, RtpEndpoint, sdp_media_address, sdp_offer

GAP_MS = 60.0  # the longest a caller may wait for the next packet
SECONDS = 4.0


def test_the_music_on_hold_arrives_every_20_ms_not_in_bursts(relay: RelayPorts, prompts: Path) -> None:
    caller = RtpEndpoint()

    async def scenario() -> None:
        client = NgClient((relay.host, relay.ng_port), timeout=5.0)
        offered = await client.offer("pacing-1", "caller", sdp_offer(HOST, caller.port), ANCHOR)
        answered = await client.answer("pacing-1", "caller", "edge", parked_answer(offered.sdp), ANCHOR)
        caller.remote = sdp_media_address(answered.sdp)
        caller.start()  # the caller's RTP latches the relay onto it, as a phone's does
        player = HoldPlayer(client, "pacing-1", "caller", PromptSet(str(prompts)))
        player.start(Announcements(None, None, None, 0))  # no greeting, no announcement: the music
        await asyncio.sleep(SECONDS)
        await player.stop()
        await client.delete("pacing-1", "caller")
        client.close()

    try:
        asyncio.run(scenario())
    finally:
        caller.stop()
    heard = [p for p in caller.received if p.payload_type == PT_PCMU]
    assert len(heard) > (SECONDS - 0.5) * 50
    gaps = sorted((b.at - a.at) * 1000 for a, b in itertools.pairwise(heard))
    # Evenly paced: half the packets 20 ms apart, not 10 (bursts); a stray late packet of a busy
    # machine aside, none waited for over GAP_MS (the bursts left 110 ms every 256 ms: 8% of gaps).
    assert 15 < gaps[len(gaps) // 2] < 25, gaps[len(gaps) // 2]
    assert gaps[int(len(gaps) * 0.98)] < GAP_MS, gaps[-10:]
    # Nothing left out: the timestamps run on 160 samples a packet, as the phone plays them.
    steps = {b.timestamp - a.timestamp for a, b in itertools.pairwise(heard)}
    assert steps == {SAMPLES_PER_PACKET}, steps

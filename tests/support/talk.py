"""One answered call with audio both ways, as the recording tests make it: a carrier calls
``number`` at ``edge``, the agent's phone answers with its RTP address, each side sends its tone
through the relay for ``seconds``, and the carrier hangs up."""

from __future__ import annotations

import asyncio
import time

from tests.sip.b2bua_support import HOST, Phone
from tests.support.rtp import RtpEndpoint, sdp_media_address, sdp_offer


async def talk(carrier: Phone, agent: Phone, edge: tuple[str, int], number: str, seconds: float) -> float:
    """The answered length: from the agent's 200 to the carrier's BYE."""
    carrier_rtp, agent_rtp = RtpEndpoint(tone_hz=500), RtpEndpoint(tone_hz=1000)
    try:
        invite = carrier.invite(edge, number, body=sdp_offer(HOST, carrier_rtp.port))
        offered, source = await agent.request("INVITE", timeout=10)
        agent.answer(offered, source, 200, body=sdp_offer(HOST, agent_rtp.port))
        answered = time.monotonic()
        agent_rtp.remote = sdp_media_address(offered.body)
        agent_rtp.start()
        ok = await carrier.response("INVITE", 200, timeout=10)
        carrier.send(carrier.in_dialog("ACK", invite, ok, edge, cseq=1), edge)
        carrier_rtp.remote = sdp_media_address(ok.body)
        carrier_rtp.start()
        await asyncio.sleep(seconds)
        hung_up = time.monotonic()
        carrier.send(carrier.in_dialog("BYE", invite, ok, edge), edge)
        bye, source = await agent.request("BYE", timeout=10)
        agent.answer(bye, source, 200)
        return hung_up - answered
    finally:
        carrier_rtp.stop()
        agent_rtp.stop()

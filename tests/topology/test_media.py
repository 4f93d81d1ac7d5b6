"""Audio through the region's media relay: a phone behind the home NAT talks with a carrier.

The relay is an instance as the media fleet boots one (`local_stack.topology.relay_instance`), found
by the edge tasks in the relay registry. The phone's answer names its private address, which nothing
outside the home reaches: the carrier's audio gets to the phone only because the relay learns the
phone's public mapping from the phone's own packets (symmetric RTP latching) and sends there.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from contact_center.contracts import media_relays
from local_stack.topology import netns
from local_stack.topology.harness import Harness
from local_stack.topology.network import CARRIER, HOME_PUBLIC, PHONES, RELAY_PRIVATE, RELAY_PUBLIC
from sip_edge.media.ng import NgClient
from tests.support.rtp import PT_PCMU, RtpEndpoint
from tests.topology.support import make_available, onboard

TALK_SECONDS = 4.0
PACKETS_PER_SECOND = 50  # PCMU in 20 ms packets
# Each side must hear at least this share of what the other sent while both talked.
DELIVERED = 0.9


def relay_streams(harness: Harness) -> list[tuple[str, int, str]]:
    """Every RTP stream of every call on the relay: (address it latched, port, address the SDP gave),
    asked over ng from a task, as the edges ask (its security group admits no one else)."""

    async def ask() -> list[dict[str, Any]]:
        client = NgClient((RELAY_PRIVATE, media_relays.NG_PORT))
        try:
            calls = (await client.command("list"))["calls"]
            assert isinstance(calls, list)
            return [await client.query(str(call)) for call in calls]
        finally:
            client.close()

    found = []
    for reply in netns.call_in(harness.layout.task(1), lambda: asyncio.run(ask())):
        for tag in reply["tags"].values():
            for media in tag["medias"]:
                rtp = media["streams"][0]
                endpoint, advertised = rtp["endpoint"], rtp["advertised endpoint"]
                found.append((endpoint["address"], int(endpoint["port"]), advertised["address"]))
    return found


def test_a_phone_behind_the_home_nat_and_a_carrier_hear_each_other_through_the_relay(
    harness: Harness,
) -> None:
    # Given an agent's phone behind the home NAT whose answers name its private address and the RTP
    # port of an endpoint beside it, and a carrier whose offer names an endpoint of its own,
    merchant = onboard(harness, "+14155550109", seats=1)
    phone_rtp = netns.call_in(harness.layout.phones, lambda: RtpEndpoint(PHONES, tone_hz=1000))
    carrier_rtp = netns.call_in(harness.layout.carrier, lambda: RtpEndpoint(CARRIER, tone_hz=500))
    try:
        phone = harness.phone("phone-media", merchant.credentials, port=5079, rtp_port=phone_rtp.port)
        phone.wait_for("registered")
        make_available(harness, merchant)
        phone_rtp.start()
        carrier_rtp.start()
        # when the carrier's call reaches the phone,
        talk_ms = int((TALK_SECONDS + 1) * 1000)  # from the ACK: the talk, then the relay's view
        run = harness.start_carrier(
            merchant.number, 1, limit=1, talk_ms=talk_ms, name="carrier-media", rtp_port=carrier_rtp.port
        )
        phone.wait_for("invite")
        to_relay_from_phone = next(e["media"] for e in phone.events() if e["event"] == "invite")
        host, _, port = to_relay_from_phone.rpartition(":")
        offered = (host, int(port))
        answered = run.answered_media()
        # then each side is told to send its audio to the relay's public address, never to the other
        # side (the carrier could not reach the phone's private address),
        assert offered[0] == RELAY_PUBLIC and answered[0] == RELAY_PUBLIC, (offered, answered)
        # and when both talk (the phone first, as a phone does on answering),
        phone_rtp.remote = offered
        carrier_rtp.remote = answered
        time.sleep(TALK_SECONDS)
        phone_rtp.remote = carrier_rtp.remote = None
        time.sleep(0.3)  # the packets in flight
        streams = relay_streams(harness)
        result = run.wait(30)
    finally:
        phone_rtp.stop()
        carrier_rtp.stop()
    assert (result.successful, result.failed) == (1, 0), result.errors + harness.logs()
    # each hears the other at the packet rate for the whole talk, the audio the other sent (a tone,
    # not the relay's silence), from the relay's public address,
    expected = DELIVERED * PACKETS_PER_SECOND * TALK_SECONDS
    heard = {"phone": phone_rtp, "carrier": carrier_rtp}
    said = {"phone": carrier_rtp._payload(0), "carrier": phone_rtp._payload(0)}  # steady tones
    for listener, endpoint in heard.items():
        audio = [packet for packet in endpoint.received if packet.payload_type == PT_PCMU]
        assert len(audio) >= expected, f"{listener} heard {len(audio)} packets, fewer than {expected:.0f}"
        assert {packet.payload for packet in audio} == {said[listener]}, f"{listener} heard other audio"
        assert {packet.source[0] for packet in audio} == {RELAY_PUBLIC}
    # and the relay sent the phone's audio to the home NAT's public address, which it learnt from the
    # phone's packets: the phone's SDP named its private one.
    phone_stream = next(stream for stream in streams if stream[2] == PHONES)
    assert phone_stream[0] == HOME_PUBLIC, streams
    assert any(stream[0] == CARRIER for stream in streams), streams
    print(
        f"media: phone heard {len(phone_rtp.received)}, carrier heard {len(carrier_rtp.received)} of "
        f"{PACKETS_PER_SECOND * TALK_SECONDS:.0f} packets in {TALK_SECONDS:.0f} s; the phone latched at "
        f"{phone_stream[0]}:{phone_stream[1]} (its SDP: {PHONES}:{phone_rtp.port})"
    )

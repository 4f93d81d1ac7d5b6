"""The ng client against a real rtpengine: SDP rewriting, playback, deletion, errors and timeouts."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from local_stack.media_relay import RelayPorts
from sip_edge.media.ng import NgClient, NgRefusedError, NgTimeoutError, SdpOptions
from tests.support.ports import free_port
from tests.support.rtp import RtpEndpoint, sdp_media_address, sdp_offer

ANCHOR = SdpOptions(
    flags=["trust address", "port latching"], replace=["origin", "session-connection"], ice="remove"
)


def _client(relay: RelayPorts) -> NgClient:
    return NgClient((relay.host, relay.ng_port))


def test_offer_and_answer_put_the_relay_between_the_two_ends(relay: RelayPorts) -> None:
    async def scenario() -> tuple[tuple[str, int], tuple[str, int]]:
        ng = _client(relay)
        try:
            offered = await ng.offer("call-1", "caller", sdp_offer("127.0.0.1", 40000), ANCHOR)
            answered = await ng.answer("call-1", "caller", "callee", sdp_offer("127.0.0.1", 40100), ANCHOR)
            return sdp_media_address(offered.sdp), sdp_media_address(answered.sdp)
        finally:
            ng.close()

    toward_callee, toward_caller = asyncio.run(scenario())
    for _host, port in (toward_callee, toward_caller):
        assert relay.media_min <= port <= relay.media_max
    assert toward_callee != toward_caller


def test_media_flows_both_ways_through_the_relay(relay: RelayPorts) -> None:
    caller, callee = RtpEndpoint(tone_hz=500), RtpEndpoint(tone_hz=1000)

    async def scenario() -> None:
        ng = _client(relay)
        try:
            offered = await ng.offer("call-2", "caller", sdp_offer("127.0.0.1", caller.port), ANCHOR)
            answered = await ng.answer(
                "call-2", "caller", "callee", sdp_offer("127.0.0.1", callee.port), ANCHOR
            )
            caller.remote, callee.remote = sdp_media_address(answered.sdp), sdp_media_address(offered.sdp)
            caller.start()
            callee.start()
            await asyncio.sleep(1.0)
            await ng.delete("call-2", "caller")
        finally:
            ng.close()

    try:
        asyncio.run(scenario())
    finally:
        caller.stop()
        callee.stop()
    # 1 s at 50 packets/s each way, less what the first packets spend latching.
    assert len(caller.received) >= 35
    assert len(callee.received) >= 35


def test_a_played_file_reaches_the_chosen_party_at_the_packet_rate(relay: RelayPorts, tmp_path: Path) -> None:
    import subprocess

    prompt = tmp_path / "tone.wav"
    subprocess.run(
        [
            "sox",
            "-n",
            "-r",
            "8000",
            "-c",
            "1",
            "-b",
            "16",
            "-e",
            "signed-integer",
            str(prompt),
            "synth",
            "1",
            "sine",
            "440",
        ],
        check=True,
    )
    caller = RtpEndpoint()

    async def scenario() -> tuple[int | None, float]:
        ng = _client(relay)
        try:
            await ng.offer("call-3", "caller", sdp_offer("127.0.0.1", caller.port), ANCHOR)
            answered = await ng.answer("call-3", "caller", "hold", sdp_offer("127.0.0.1", 9), ANCHOR)
            caller.remote = sdp_media_address(answered.sdp)
            caller.start()
            started = time.monotonic()
            played = await ng.play_media("call-3", "caller", str(prompt))
            await asyncio.sleep(1.3)
            return played.duration_ms, started
        finally:
            ng.close()

    try:
        duration, started = asyncio.run(scenario())
    finally:
        caller.stop()
    assert duration == 1000
    assert caller.received and caller.received[0].at - started < 0.5
    assert 40 <= len(caller.received) <= 60  # one second of 20 ms packets


def test_an_unknown_call_is_refused_with_rtpengines_reason(relay: RelayPorts) -> None:
    async def scenario() -> None:
        ng = _client(relay)
        try:
            await ng.play_media("no-such-call", "nobody", "/nonexistent.wav")
        finally:
            ng.close()

    with pytest.raises(NgRefusedError) as refused:
        asyncio.run(scenario())
    assert refused.value.command == "play media"
    assert "call" in refused.value.reason.lower()


def test_deleting_an_unknown_call_is_harmless(relay: RelayPorts) -> None:
    async def scenario() -> None:
        ng = _client(relay)
        try:
            await ng.delete("never-offered", "caller")
        finally:
            ng.close()

    asyncio.run(scenario())


def test_a_silent_relay_times_out_after_retransmitting() -> None:
    async def scenario() -> NgClient:
        ng = NgClient(("127.0.0.1", free_port()), timeout=0.4, retransmit=0.05)
        try:
            with pytest.raises(NgTimeoutError):
                await ng.ping()
        finally:
            ng.close()
        return ng

    started = time.monotonic()
    ng = asyncio.run(scenario())
    assert 0.35 < time.monotonic() - started < 1.5
    assert ng.sent >= 3  # 0, 0.05, 0.15 (doubling), then the deadline


def test_a_retransmitted_offer_gets_the_same_ports(relay: RelayPorts) -> None:
    async def scenario() -> tuple[bytes, bytes]:
        ng = _client(relay)
        try:
            first = await ng.offer("call-4", "caller", sdp_offer("127.0.0.1", 40200), ANCHOR)
            again = await ng.offer("call-4", "caller", sdp_offer("127.0.0.1", 40200), ANCHOR)
            return first.sdp, again.sdp
        finally:
            ng.close()

    first, again = asyncio.run(scenario())
    assert sdp_media_address(first) == sdp_media_address(again)

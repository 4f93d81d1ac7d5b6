"""Calls through the edge with a real rtpengine: every call's audio anchored on the relay, a queued
caller hearing its place in the queue, and a relay that dies taking its talking calls down cleanly."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

from contact_center.domain.contact import HangupCause
from contact_center.domain.queueing import QueueMedia
from contact_center.services.routing.decisions import Queue
from local_stack.media_relay import RelayPorts
from sip_edge.media.ng import NgClient, NgRefusedError
from sip_edge.sip.message import Request, Response
from tests.sip.b2bua_support import HOST, FakeRouting, Phone, RunningEdge, connect_to, running_edge
from tests.support.relay import relay_pid
from tests.support.rtp import (
    RtpEndpoint,
    best_match,
    envelope,
    sdp_media_address,
    sdp_offer,
    wav_samples,
)


def _in_relay(relay: RelayPorts, sdp: bytes) -> bool:
    host, port = sdp_media_address(sdp)
    return host == relay.host and relay.media_min <= port <= relay.media_max


async def early_media(carrier: Phone, edge: RunningEdge, rtp: RtpEndpoint) -> tuple[Request, Response, float]:
    """The carrier's INVITE to ``edge``, its caller's audio received at ``rtp`` from the 183 on; the
    INVITE, the 183 and when it came."""
    invite = carrier.invite(edge.address, "100", body=sdp_offer(HOST, rtp.port))
    early = await carrier.response("INVITE", 183)
    got_183 = time.monotonic()
    rtp.remote = sdp_media_address(early.body)
    rtp.start()
    return invite, early, got_183


async def _answer_agent(agent: Phone, rtp: RtpEndpoint) -> bytes:
    """The agent's phone rings and answers with its own RTP address; returns the SDP it was offered."""
    invite, source = await agent.request("INVITE")
    agent.answer(invite, source, 180)
    agent.answer(invite, source, 200, body=sdp_offer(HOST, rtp.port))
    return invite.body


def test_a_connected_call_has_two_way_audio_through_the_relay_and_is_deleted_at_hang_up(
    relay: RelayPorts,
) -> None:
    carrier_rtp, agent_rtp = RtpEndpoint(tone_hz=500), RtpEndpoint(tone_hz=1000)

    async def scenario() -> tuple[bytes, bytes, list[tuple[object, ...]]]:
        carrier, agent = await Phone.open("carrier"), await Phone.open("agent")
        routing = FakeRouting()
        routing.new_contact_answer = connect_to(agent)
        try:
            async with running_edge(routing, media_relays=((relay.host, relay.ng_port),)) as edge:
                invite = carrier.invite(edge.address, "100", body=sdp_offer(HOST, carrier_rtp.port))
                offered = await _answer_agent(agent, agent_rtp)
                ok = await carrier.response("INVITE", 200)
                carrier.send(carrier.in_dialog("ACK", invite, ok, edge.address, cseq=1), edge.address)
                carrier_rtp.remote = sdp_media_address(ok.body)
                agent_rtp.remote = sdp_media_address(offered)
                carrier_rtp.start()
                agent_rtp.start()
                await asyncio.sleep(2.0)
                carrier.send(carrier.in_dialog("BYE", invite, ok, edge.address), edge.address)
                bye, source = await agent.request("BYE")
                agent.answer(bye, source, 200)
                await asyncio.wait_for(routing.ended.wait(), 5)
                ng = NgClient((relay.host, relay.ng_port))
                try:
                    await ng.query(invite.call_id)
                    deleted = False
                except NgRefusedError:
                    deleted = True
                finally:
                    ng.close()
                assert deleted, "the relay still holds the call after the hang-up"
                return offered, ok.body, routing.actions("contact_ended")
        finally:
            carrier.close()
            agent.close()

    try:
        offered, answered, ended = asyncio.run(scenario())
    finally:
        carrier_rtp.stop()
        agent_rtp.stop()
    # Each side was given the relay's address, never the other's.
    assert _in_relay(relay, offered) and _in_relay(relay, answered)
    # 2 s at 50 packets/s each way; a few go to latching and start-up.
    assert len(agent_rtp.received) >= 80, len(agent_rtp.received)
    assert len(carrier_rtp.received) >= 80, len(carrier_rtp.received)
    assert len(ended) == 1


def test_a_queued_caller_gets_early_media_within_a_second_and_hears_its_place_then_the_agent(
    relay: RelayPorts, prompts: Path
) -> None:
    caller_rtp, agent_rtp = RtpEndpoint(), RtpEndpoint(tone_hz=1000)

    async def scenario() -> tuple[float, bytes, bytes]:
        carrier, agent = await Phone.open("carrier"), await Phone.open("agent")
        routing = FakeRouting()
        now_ms = int(time.time() * 1000)
        routing.new_contact_answer = Queue(
            "?",
            "q1",
            60,
            now_ms + 60_000,
            position=3,
            media=QueueMedia(greeting=None, announce_every_seconds=0),
        )
        try:
            async with running_edge(
                routing, media_relays=((relay.host, relay.ng_port),), media_prompts=str(prompts)
            ) as edge:
                invite, early, got_183 = await early_media(carrier, edge, caller_rtp)
                # "You are caller number three", then the music.
                await asyncio.sleep(4.0)
                first_rtp = caller_rtp.received[0].at - got_183 if caller_rtp.received else 99.0
                heard_before_agent = len(caller_rtp.received)
                routing.pending = [connect_to(agent, contact_id=routing.actions("new_contact")[0][2])]
                offered = await _answer_agent(agent, agent_rtp)
                ok = await carrier.response("INVITE", 200, timeout=10)
                carrier.send(carrier.in_dialog("ACK", invite, ok, edge.address, cseq=1), edge.address)
                agent_rtp.remote = sdp_media_address(offered)
                agent_rtp.start()
                await asyncio.sleep(1.5)
                assert len(caller_rtp.received) > heard_before_agent + 50
                carrier.send(carrier.in_dialog("BYE", invite, ok, edge.address), edge.address)
                bye, source = await agent.request("BYE")
                agent.answer(bye, source, 200)
                return first_rtp, early.body, ok.body
        finally:
            carrier.close()
            agent.close()

    try:
        first_rtp, early_sdp, final_sdp = asyncio.run(scenario())
    finally:
        caller_rtp.stop()
        agent_rtp.stop()
    assert first_rtp < 1.0, f"first RTP {first_rtp:.3f} s after the 183"
    # The 200 names the same relay port as the 183: the caller's media never moves.
    assert sdp_media_address(final_sdp) == sdp_media_address(early_sdp)
    heard = envelope(caller_rtp.audio())
    position = envelope(
        wav_samples(str(prompts / "caller-number.wav")) + wav_samples(str(prompts / "n3.wav"))
    )
    other = envelope(wav_samples(str(prompts / "expected-wait.wav")))
    assert best_match(heard, position) > 0.9
    # A prompt that was not played does not match as well: the comparison tells prompts apart.
    assert best_match(heard, other) < best_match(heard, position) - 0.1
    # After the answer the agent's tone (1 kHz, loud) reaches the caller.
    assert max(envelope(caller_rtp.audio()[-8000:])) > 2000


def test_a_dead_relay_ends_its_talking_calls_with_a_bye_and_a_record(relay: RelayPorts) -> None:
    async def scenario() -> tuple[list[tuple[object, ...]], float]:
        carrier, agent = await Phone.open("carrier"), await Phone.open("agent")
        routing = FakeRouting()
        routing.new_contact_answer = connect_to(agent)
        agent_rtp = RtpEndpoint()
        try:
            async with running_edge(routing, media_relays=((relay.host, relay.ng_port),)) as edge:
                invite = carrier.invite(edge.address, "100", body=sdp_offer(HOST, 40000))
                await _answer_agent(agent, agent_rtp)
                ok = await carrier.response("INVITE", 200)
                carrier.send(carrier.in_dialog("ACK", invite, ok, edge.address, cseq=1), edge.address)
                await asyncio.sleep(0.3)
                killed = time.monotonic()
                os.kill(relay_pid(relay), signal.SIGKILL)
                bye_agent, source = await agent.request("BYE", timeout=10)
                agent.answer(bye_agent, source, 200)
                bye_carrier, source = await carrier.request("BYE", timeout=5)
                carrier.answer(bye_carrier, source, 200)
                await asyncio.wait_for(routing.ended.wait(), 5)
                return routing.actions("contact_ended"), time.monotonic() - killed
        finally:
            carrier.close()
            agent.close()
            agent_rtp.sock.close()

    ended, after = asyncio.run(scenario())
    assert ended and ended[0][2] is HangupCause.NETWORK_FAILURE
    # Three missed pings a second apart, each allowed 0.5 s.
    assert after < 6.0

"""A queue that answers its callers (``media.answer: "200"``), through the edge and a real
rtpengine: the caller is answered with the relay's SDP as it is queued, hears the queue's media,
and is bridged to the agent on the relay with no second answer and no gap beyond a packet."""

from __future__ import annotations

import asyncio
import itertools
import time
from pathlib import Path

from contact_center.domain.contact import HangupCause
from contact_center.domain.queueing import AnswerMode, QueueMedia
from contact_center.services.routing.decisions import Queue, Reject
from local_stack.media_relay import RelayPorts
from sip_edge.media.ng import NgClient, NgRefusedError
from sip_edge.sip.message import Response
from tests.sip.b2bua_support import HOST, FakeRouting, Phone, connect_to, running_edge
from tests.support.rtp import RtpEndpoint, envelope, sdp_media_address, sdp_offer

PACKET = 0.02


def _queue(deadline_s: float = 60) -> Queue:
    now_ms = int(time.time() * 1000)
    return Queue(
        "?",
        "q1",
        int(deadline_s),
        now_ms + int(deadline_s * 1000),
        position=2,
        media=QueueMedia(answer=AnswerMode.ANSWER, greeting=None, announce_every_seconds=0),
    )


def test_an_answered_queued_caller_hears_the_queue_then_the_agent_without_a_gap(
    relay: RelayPorts, prompts: Path
) -> None:
    caller_rtp, agent_rtp = RtpEndpoint(), RtpEndpoint(tone_hz=1000)

    async def scenario() -> tuple[float, float, list[Response], bytes]:
        carrier, agent = await Phone.open("carrier"), await Phone.open("agent")
        routing = FakeRouting()
        routing.new_contact_answer = _queue()
        try:
            async with running_edge(
                routing, media_relays=((relay.host, relay.ng_port),), media_prompts=str(prompts)
            ) as edge:
                invite = carrier.invite(edge.address, "100", body=sdp_offer(HOST, caller_rtp.port))
                ok = await carrier.response("INVITE", 200)
                answered = time.monotonic()
                carrier.send(carrier.in_dialog("ACK", invite, ok, edge.address, cseq=1), edge.address)
                caller_rtp.remote = sdp_media_address(ok.body)
                caller_rtp.start()
                await asyncio.sleep(3.0)  # "caller number two", then the music
                routing.pending = [connect_to(agent, contact_id=routing.actions("new_contact")[0][2])]
                offer, source = await agent.request("INVITE", timeout=10)
                agent.answer(offer, source, 180)
                await asyncio.sleep(1.0)  # ringing: the answered caller still hears the music
                # A phone sends its audio as it answers.
                agent_rtp.remote = sdp_media_address(offer.body)
                agent_rtp.start()
                agent.answer(offer, source, 200, body=sdp_offer(HOST, agent_rtp.port, session=2))
                agent_answered = time.monotonic()
                await agent.request("ACK", timeout=5)
                await asyncio.sleep(2.0)
                finals = [
                    m
                    for m in carrier.seen
                    if isinstance(m, Response) and m.cseq[1] == "INVITE" and m.status >= 200
                ]
                carrier.send(carrier.in_dialog("BYE", invite, ok, edge.address), edge.address)
                bye, source = await agent.request("BYE")
                agent.answer(bye, source, 200)
                await asyncio.wait_for(routing.ended.wait(), 5)
                return answered, agent_answered, finals, ok.body
        finally:
            carrier.close()
            agent.close()

    try:
        answered, agent_answered, finals, answer_sdp = asyncio.run(scenario())
    finally:
        caller_rtp.stop()
        agent_rtp.stop()
    host, port = sdp_media_address(answer_sdp)
    assert host == relay.host and relay.media_min <= port <= relay.media_max
    # One answer toward the caller (retransmissions of it at most): no second 200 for the agent.
    assert {(m.status, m.body) for m in finals} == {(200, answer_sdp)}
    received = caller_rtp.received
    assert received and received[0].at - answered < 1.0
    # The queue's media while queued and ringing: audio, not silence, up to the agent's answer.
    queued_audio = [p for p in received if p.at < agent_answered]
    assert len(queued_audio) > 3.5 / PACKET * 0.8
    from_agent = agent_rtp._payload(0)  # a 1 kHz tone: every 20 ms payload is the same
    first_agent = next(i for i, p in enumerate(received) if p.payload == from_agent)
    assert first_agent > 0 and received[first_agent].at - agent_answered < 1.0
    # The switch from the music to the agent. Clipping: the agent's packets sent after its answer
    # that never reached the caller, at most one (a packet time). At the caller's receiver, the
    # last packet of the queue's media to the first of the agent's (two unsynchronised 20 ms
    # clocks alone leave up to 40 ms): no more than a packet time beyond the worst gap of the
    # relay's steady playback in the seconds before (its jitter on this shared machine).
    agent_seqs = [p.seq for p in received[first_agent:] if p.payload == from_agent]
    sent_after_answer = [seq for at, seq in agent_rtp.sent_log if at >= agent_answered]
    # Signed, modulo the 16-bit sequence: a packet the phone sent just before its answer may arrive
    # first (-1), which clips nothing.
    clipped = max(0, (agent_seqs[0] - sent_after_answer[0] + 32768) % 65536 - 32768)
    switch_gap = received[first_agent].at - received[first_agent - 1].at
    steady = [p.at for p in received[:first_agent] if p.at >= agent_answered - 2.0]
    steady_worst = max(b - a for a, b in itertools.pairwise(steady))
    print(
        f"agent packets clipped: {clipped}; gap at the caller {switch_gap * 1000:.1f} ms "
        f"(steady playback's worst {steady_worst * 1000:.1f} ms)"
    )
    assert clipped <= 1, clipped
    assert switch_gap <= max(steady_worst, 2 * PACKET) + PACKET, (switch_gap, steady_worst)
    # None of the agent's is lost after the first.
    assert (agent_seqs[-1] - agent_seqs[0]) % 65536 + 1 == len(agent_seqs)
    # After the switch the caller hears the agent only.
    after = received[first_agent:]
    assert sum(p.payload == from_agent for p in after) >= 0.95 * len(after)
    assert max(envelope(caller_rtp.audio()[-8000:])) > 2000


def test_an_answered_queued_caller_is_sent_a_bye_with_the_reason_when_the_queue_gives_up(
    relay: RelayPorts, prompts: Path
) -> None:
    async def scenario() -> tuple[str | None, list[tuple[object, ...]]]:
        carrier = await Phone.open("carrier")
        routing = FakeRouting()
        routing.new_contact_answer = _queue(deadline_s=1.5)
        routing.queue_timeout_answer = Reject(480, "no agent available", 60, "?")
        caller_rtp = RtpEndpoint()
        try:
            async with running_edge(
                routing, media_relays=((relay.host, relay.ng_port),), media_prompts=str(prompts)
            ) as edge:
                invite = carrier.invite(edge.address, "100", body=sdp_offer(HOST, caller_rtp.port))
                ok = await carrier.response("INVITE", 200)
                carrier.send(carrier.in_dialog("ACK", invite, ok, edge.address, cseq=1), edge.address)
                bye, source = await carrier.request("BYE", timeout=5)
                carrier.answer(bye, source, 200)
                await asyncio.sleep(0.2)
                return bye.headers.get("Reason"), routing.actions("queue_timeout")
        finally:
            carrier.close()
            caller_rtp.sock.close()

    reason, timeouts = asyncio.run(scenario())
    assert reason == 'SIP;cause=480;text="no agent available"'
    assert len(timeouts) == 1


def test_an_answered_queued_caller_hanging_up_ends_the_contact_as_abandoned_and_frees_the_relay(
    relay: RelayPorts, prompts: Path
) -> None:
    async def scenario() -> tuple[int, list[tuple[object, ...]], bool]:
        carrier = await Phone.open("carrier")
        routing = FakeRouting()
        routing.new_contact_answer = _queue()
        caller_rtp = RtpEndpoint()
        try:
            async with running_edge(
                routing, media_relays=((relay.host, relay.ng_port),), media_prompts=str(prompts)
            ) as edge:
                invite = carrier.invite(edge.address, "100", body=sdp_offer(HOST, caller_rtp.port))
                ok = await carrier.response("INVITE", 200)
                carrier.send(carrier.in_dialog("ACK", invite, ok, edge.address, cseq=1), edge.address)
                await asyncio.sleep(1.0)
                carrier.send(carrier.in_dialog("BYE", invite, ok, edge.address), edge.address)
                bye_ok = await carrier.response("BYE", final=True)
                await asyncio.wait_for(routing.ended.wait(), 5)
                await asyncio.sleep(0.3)
                ng = NgClient((relay.host, relay.ng_port))
                try:
                    await ng.query(invite.call_id)
                    deleted = False
                except NgRefusedError:
                    deleted = True
                finally:
                    ng.close()
                return bye_ok.status, routing.actions("contact_ended"), deleted
        finally:
            carrier.close()
            caller_rtp.sock.close()

    status, ended, deleted = asyncio.run(scenario())
    assert status == 200
    assert [cause for _, _, cause in ended] == [HangupCause.CALLER_ABANDONED]
    assert deleted, "the relay still holds the call after the caller left"

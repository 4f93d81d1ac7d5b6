"""What a queued caller hears, through the edge and a real rtpengine: its place and expected wait on
entry, and the wait again every ``announce_every_seconds``, music between."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from contact_center.domain.queueing import QueueMedia
from contact_center.services.routing.decisions import Queue
from local_stack.media_relay import RelayPorts
from sip_edge.sip.client_transaction import build_cancel
from tests.media.test_anchored_calls import early_media
from tests.sip.b2bua_support import FakeRouting, Phone
from tests.support.relay import edge_on_relay
from tests.support.rtp import (
    SAMPLES_PER_PACKET,
    RtpEndpoint,
    best_match_at,
    envelope,
    wav_samples,
)

EVERY = 10  # the shortest interval a queue may set


def _prompt(prompts: Path, *names: str) -> list[float]:
    samples: list[int] = []
    for name in names:
        samples += wav_samples(str(prompts / f"{name}.wav"))
    return envelope(samples)


def test_the_expected_wait_is_announced_on_entry_and_again_after_the_interval(
    relay: RelayPorts, prompts: Path
) -> None:
    caller_rtp = RtpEndpoint()

    async def scenario() -> float:
        carrier = await Phone.open("carrier")
        routing = FakeRouting()
        now_ms = int(time.time() * 1000)
        routing.new_contact_answer = Queue(
            "?",
            "q1",
            120,
            now_ms + 120_000,
            position=3,
            media=QueueMedia(greeting=None, announce_every_seconds=EVERY),
            wait_seconds=120,
        )
        try:
            # The relay's agent joins each announcement's words (as ``make run`` and the fleet run it).
            async with edge_on_relay(routing, relay, prompts) as edge:
                invite, _early, got_183 = await early_media(carrier, edge, caller_rtp)
                # Entry (about 6 s of words), the interval of music, the second announcement.
                await asyncio.sleep(EVERY + 11)
                carrier.send(build_cancel(invite), edge.address)
                assert (await carrier.response("CANCEL", final=True)).status == 200
                return got_183
        finally:
            carrier.close()

    try:
        got_183 = asyncio.run(scenario())
    finally:
        caller_rtp.stop()
    received = [p for p in caller_rtp.received if p.payload_type == 0]
    heard = envelope(caller_rtp.audio())
    assert len(heard) == len(received)  # one envelope window per 20 ms packet: its index is its packet
    position = _prompt(prompts, "caller-number", "n3")
    wait = _prompt(prompts, "expected-wait", "n2", "minutes")
    # On entry: "you are caller number three; your expected wait is about two minutes".
    entry_heard = heard[: 8 * 50]
    score, _ = best_match_at(entry_heard, position)
    assert score > 0.9, score
    score, entry_at = best_match_at(entry_heard, wait)
    assert score > 0.9, score
    # Then music, and after the interval the wait again (105 s left: still about two minutes).
    later_from = entry_at + len(wait) + 2 * 50
    score, later_at = best_match_at(heard[later_from:], wait)
    assert score > 0.9, score
    first, second = received[entry_at].at - got_183, received[later_from + later_at].at - got_183
    # The second starts once the first has been said and the interval has passed.
    gap = second - first
    assert EVERY < gap < EVERY + 6, (first, second)
    # Music, not silence, between them.
    music = heard[entry_at + len(wait) + 50 : later_from + later_at - 50]
    assert music and sum(music) / len(music) > 300
    assert SAMPLES_PER_PACKET == 160

"""What a queued caller hears through the hold player and a real rtpengine arrives every 20 ms: within
a file, and where one file gives way to the next.

Two faults these catch, both heard as silence. Debian's rtpengine 10.5 reads a WAV file 4096 bytes
at a time and its clock-skew correction bunches each read's packets: the 8 kHz prompts reached
callers as 13 packets 10 ms apart, then about 110 ms of nothing, every 256 ms (the media benchmark's
116 ms p99 gap at every load); at 96 kHz (`sip_edge.app.media.prompts`) a read is 21 ms and the
packets leave evenly. And each ``play media`` switch left 65-125 ms without packets, the RTP
timestamps jumping as much (the relay times a new file from a clock reading taken before it opened
it, so a file ends before the edge starts the next): the words are now one joined file
(`sip_edge.app.media.joined`), and the music starts inside the silence the last word ends with.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from pathlib import Path

from local_stack.media_relay import RelayPorts
from sip_edge.app.calls.media import Announcements
from sip_edge.app.media.anchor import ANCHOR
from sip_edge.app.media.hold import HoldPlayer
from sip_edge.app.media.prompts import PromptSet, announcement
from sip_edge.media.ng import NgClient, PlayResult
from sip_edge.media.sdp import parked_answer
from tests.support.ports import HOST
from tests.support.rtp import (
    PT_PCMU,
    SAMPLES_PER_PACKET,
    Received,
    RtpEndpoint,
    sdp_media_address,
    sdp_offer,
    wav_seconds,
)

GAP_MS = 60.0  # the longest a caller may wait for the next packet
MUSIC_SECONDS = 2.0


class TimedClient(NgClient):
    """An ng client that notes when each ``play media`` was sent and answered."""

    def __init__(self, address: tuple[str, int], plays: list[tuple[float, float]]) -> None:
        super().__init__(address, timeout=5.0)
        self.plays = plays

    async def play_media(
        self, call_id: str, from_tag: str, file: str, *, repeat_times: int = 1
    ) -> PlayResult:
        sent = time.monotonic()
        result = await super().play_media(call_id, from_tag, file, repeat_times=repeat_times)
        self.plays.append((sent, time.monotonic()))
        return result


def _hear(
    relay: RelayPorts, prompts: Path, what: Announcements, seconds: float
) -> tuple[list[Received], list[tuple[float, float]]]:
    """The audio packets a caller held with ``what`` receives for ``seconds``, and when each play
    was sent and answered."""
    caller = RtpEndpoint()
    plays: list[tuple[float, float]] = []

    async def scenario() -> None:
        client = TimedClient((relay.host, relay.ng_port), plays)
        offered = await client.offer("timing-1", "caller", sdp_offer(HOST, caller.port), ANCHOR)
        answered = await client.answer("timing-1", "caller", "edge", parked_answer(offered.sdp), ANCHOR)
        caller.remote = sdp_media_address(answered.sdp)
        caller.start()  # the caller's RTP latches the relay onto it, as a phone's does
        player = HoldPlayer(client, "timing-1", "caller", PromptSet(str(prompts)))
        player.start(what)
        await asyncio.sleep(seconds)
        await player.stop()
        await client.delete("timing-1", "caller")
        client.close()

    try:
        asyncio.run(scenario())
    finally:
        caller.stop()
    return [p for p in caller.received if p.payload_type == PT_PCMU], plays


def _steps(packets: list[Received]) -> set[int]:
    """Timestamp steps in timestamp order, as a phone's jitter buffer plays them (a busy relay sends
    some packets out of order)."""
    stamps = sorted(p.timestamp for p in packets)
    return {b - a for a, b in itertools.pairwise(stamps)}


def test_the_music_on_hold_arrives_every_20_ms_not_in_bursts(relay: RelayPorts, prompts: Path) -> None:
    seconds = 4.0
    heard, _ = _hear(relay, prompts, Announcements(None, None, None, 0), seconds)  # the music alone
    assert len(heard) > (seconds - 0.5) * 50
    gaps = sorted((b.at - a.at) * 1000 for a, b in itertools.pairwise(heard))
    # Evenly paced: half the packets 20 ms apart, not 10 (bursts); late packets of a busy machine
    # aside, none waited for over GAP_MS (the bursts left 110 ms every 256 ms: 1 gap in 13, 8 %).
    assert 15 < gaps[len(gaps) // 2] < 25, gaps[len(gaps) // 2]
    late = [gap for gap in gaps if gap > GAP_MS]
    assert len(late) < 0.04 * len(gaps), late
    assert _steps(heard) == {SAMPLES_PER_PACKET}  # nothing left out


def test_the_greeting_place_wait_and_music_follow_each_other_without_a_gap(
    relay: RelayPorts, prompts: Path
) -> None:
    # "Thank you for calling ... you are caller number three, your expected wait is about two minutes"
    words = ["greeting", *announcement(3, 120)]
    seconds = sum(wav_seconds(str(prompts / f"{w}.wav")) for w in words) + MUSIC_SECONDS
    heard, plays = _hear(relay, prompts, Announcements("greeting", 3, 120, 0), seconds)
    # The words as one file, then the music.
    assert len(plays) == 2
    assert (prompts / "said" / f"{'+'.join(words)}.wav").exists()
    assert len(heard) > (seconds - 1) * 50
    sent, answered = plays[1]  # the music's
    before = [p for p in heard if p.at < sent]
    after = [p for p in heard if p.at > answered]
    # The words play out whole: every timestamp step up to the music is one packet (their pauses are
    # in the file; one file per word put 40-110 ms more silence into the stream at each switch).
    assert _steps(before) == {SAMPLES_PER_PACKET}
    # The words still playing when the music's play is sent (they used to end 50-110 ms before it),
    # and the music coming as soon as the relay answers (how long it takes to is the machine's).
    assert (sent - before[-1].at) * 1000 < GAP_MS, (sent - before[-1].at, answered - sent)
    assert (after[0].at - answered) * 1000 < GAP_MS, (after[0].at - answered, answered - sent)

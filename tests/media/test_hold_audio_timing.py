"""What a queued caller hears through the hold player and a real rtpengine arrives every 20 ms: within
a file, and where one file gives way to the next.

Two faults these catch, both heard as silence. Debian's rtpengine 10.5 reads a WAV file 4096 bytes
at a time and its clock-skew correction bunches each read's packets: the 8 kHz prompts reached
callers as 13 packets 10 ms apart, then about 110 ms of nothing, every 256 ms (the media benchmark's
116 ms p99 gap at every load); at 96 kHz (`sip_edge.app.media.prompts`) a read is 21 ms and the
packets leave evenly. And each ``play media`` switch left 65-125 ms without packets, the RTP
timestamps jumping as much (the relay times a new file from a clock reading taken before it opened
it, so a file ends before the edge starts the next): the words are now one file, joined by the
relay's agent from the relay's own prompts (`sip_edge.app.media.joined`, the same agent process
``make run`` and every media fleet relay run), and the music starts inside the silence the last
word ends with.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import time
import wave
from pathlib import Path

import pytest

from contact_center.data.prompt_store import DirectoryPromptStore
from contact_center.domain.prompts import PromptFile, QueuePrompts, prompt_key
from local_stack.media_relay import RelayPorts
from sip_edge.app.calls.media import Announcements
from sip_edge.app.media.anchor import ANCHOR
from sip_edge.app.media.hold import HoldPlayer
from sip_edge.app.media.joined import RelayAgent
from sip_edge.app.media.prompts import RELAY_SAMPLE_RATE, PromptSet, announcement
from sip_edge.app.media.uploaded import UploadedPrompts
from sip_edge.media.ng import NgClient, PlayResult
from sip_edge.media.sdp import parked_answer
from tests.support.audio import pcm_wav, tone
from tests.support.ports import HOST
from tests.support.relay import running_agent
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
        self.files: list[str] = []

    async def play_media(
        self, call_id: str, from_tag: str, file: str, *, repeat_times: int = 1
    ) -> PlayResult:
        sent = time.monotonic()
        result = await super().play_media(call_id, from_tag, file, repeat_times=repeat_times)
        self.plays.append((sent, time.monotonic()))
        self.files.append(file)
        return result


def _hear(
    relay: RelayPorts,
    prompts: Path,
    what: Announcements,
    seconds: float,
    files: list[str] | None = None,
    store: Path | None = None,
) -> tuple[list[Received], list[tuple[float, float]]]:
    """The audio packets a caller held with ``what`` receives for ``seconds``, and when each play
    was sent and answered (``files``: the paths played, when given; ``store``: the prompt store's
    directory, whose uploads the relay's agent copies)."""
    caller = RtpEndpoint()
    plays: list[tuple[float, float]] = []

    async def scenario() -> None:
        client = TimedClient((relay.host, relay.ng_port), plays)
        offered = await client.offer("timing-1", "caller", sdp_offer(HOST, caller.port), ANCHOR)
        answered = await client.answer("timing-1", "caller", "edge", parked_answer(offered.sdp), ANCHOR)
        caller.remote = sdp_media_address(answered.sdp)
        caller.start()  # the caller's RTP latches the relay onto it, as a phone's does
        with running_agent(prompts, store) as address:
            agent = RelayAgent(address)
            uploaded = UploadedPrompts(str(prompts)) if store is not None else None
            player = HoldPlayer(client, "timing-1", "caller", PromptSet(str(prompts), uploaded), agent=agent)
            player.start(what)
            await asyncio.sleep(seconds)
            await player.stop()
            agent.close()
        await client.delete("timing-1", "caller")
        client.close()
        if files is not None:
            files.extend(client.files)

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
    files: list[str] = []
    heard, plays = _hear(relay, prompts, Announcements("greeting", 3, 120, 0), seconds, files)
    # The words as one file the relay's agent wrote, then the music.
    assert len(plays) == 2
    assert Path(files[0]).parent == prompts / "said"
    assert wav_seconds(files[0]) == pytest.approx(sum(wav_seconds(str(prompts / f"{w}.wav")) for w in words))
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


def test_an_uploaded_8_khz_greeting_arrives_every_20_ms_not_in_bursts(
    relay: RelayPorts, prompts: Path, tmp_path: Path
) -> None:
    # Given a merchant's greeting uploaded as 8 kHz PCM (what the API accepts), in the prompt store:
    data = pcm_wav(tone(1000.0, 3.0), rate=8000)
    sha = hashlib.sha256(data).hexdigest()
    store = DirectoryPromptStore(tmp_path / "store")
    store.put(prompt_key("m1", "welcome", sha), data)
    upload = PromptFile(prompt_key("m1", "welcome", sha), sha)
    files: list[str] = []
    # When a caller is held with it (the relay's agent has copied it; the edge asks for its path):
    heard, plays = _hear(
        relay,
        prompts,
        Announcements(None, None, None, 0, QueuePrompts(greeting=upload)),
        2.5,
        files,
        tmp_path / "store",
    )
    # Then the relay played the agent's copy, at the default prompts' rate,
    assert files[0] == str(prompts / "uploaded" / f"{sha}.wav")
    with wave.open(files[0], "rb") as reader:
        assert reader.getframerate() == RELAY_SAMPLE_RATE
    # and its packets came evenly, not 13 at 10 ms then ~110 ms of nothing, as the 8 kHz file did.
    greeting = [p for p in heard if p.at < plays[1][0]] if len(plays) > 1 else heard
    assert len(greeting) > 1.5 * 50
    gaps = sorted((b.at - a.at) * 1000 for a, b in itertools.pairwise(greeting))
    assert 15 < gaps[len(gaps) // 2] < 25, gaps[len(gaps) // 2]
    late = [gap for gap in gaps if gap > GAP_MS]
    assert len(late) < 0.04 * len(gaps), late


class GoneAgent:
    """An agent whose answer names a joined file the relay no longer has (its cache removed it)."""

    async def joined(self, parts: list[str]) -> str | None:
        return "/nonexistent/said/" + "0" * 64 + ".wav"


def test_a_joined_file_the_relay_cannot_open_gives_way_to_the_words_one_by_one(
    relay: RelayPorts, prompts: Path
) -> None:
    caller = RtpEndpoint()
    plays: list[tuple[float, float]] = []

    async def scenario() -> list[str]:
        client = TimedClient((relay.host, relay.ng_port), plays)
        offered = await client.offer("gone-1", "caller", sdp_offer(HOST, caller.port), ANCHOR)
        answered = await client.answer("gone-1", "caller", "edge", parked_answer(offered.sdp), ANCHOR)
        caller.remote = sdp_media_address(answered.sdp)
        caller.start()
        player = HoldPlayer(client, "gone-1", "caller", PromptSet(str(prompts)), agent=GoneAgent())
        player.start(Announcements(None, 3, None, 0))
        await asyncio.sleep(wav_seconds(str(prompts / "caller-number.wav")) + 1.0)
        await player.stop()
        await client.delete("gone-1", "caller")
        client.close()
        return client.files

    try:
        files = asyncio.run(scenario())
    finally:
        caller.stop()
    # rtpengine refused the joined file; the words came one by one, then the music: never silence.
    assert files[:3] == [str(prompts / f"{name}.wav") for name in ("caller-number", "n3", "music")]
    assert len([p for p in caller.received if p.payload_type == PT_PCMU]) > 50

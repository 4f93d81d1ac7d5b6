"""A queued caller hears the merchant's uploaded greeting and music, through the edge, a real
rtpengine and its agent: the agent copies them from the prompt store into the relay's prompt
directory (resampled to the relay's format) and answers their path when the edge names them; the
edge writes nothing there. The
uploads are tones (1 kHz greeting, 1.5 kHz music) that neither the spoken default greeting nor the
default music (chords of 440-784 Hz) holds, so the received audio tells which was played."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from contact_center.data.prompt_store import DirectoryPromptStore
from contact_center.domain.prompts import PromptFile, QueuePrompts, inspect_wav, prompt_key
from contact_center.domain.queueing import QueueMedia
from contact_center.services.routing.decisions import Queue
from local_stack.media_relay import RelayPorts
from sip_edge.sip.client_transaction import build_cancel
from tests.sip.b2bua_support import HOST, FakeRouting, Phone
from tests.support.audio import pcm_wav, tone, tone_share
from tests.support.relay import edge_on_relay
from tests.support.rtp import RtpEndpoint, sdp_media_address, sdp_offer

GREETING_HZ, MUSIC_HZ = 1000.0, 1500.0
GREETING_SECONDS = 3.0
RATE = 8000


def _upload(store: DirectoryPromptStore, name: str, data: bytes) -> PromptFile:
    """What the API's upload does to the store: the file under its content hash."""
    sha = inspect_wav(data).sha256
    key = prompt_key("m1", name, sha)
    store.put(key, data)
    return PromptFile(key, sha)


def _hear(relay: RelayPorts, prompts: Path, store: Path, uploaded: QueuePrompts, seconds: float) -> list[int]:
    """The audio a caller queued with the default greeting and ``uploaded`` receives, from the 183 on."""
    caller_rtp = RtpEndpoint()

    async def scenario() -> None:
        carrier = await Phone.open("carrier")
        routing = FakeRouting()
        routing.new_contact_answer = Queue(
            "?",
            "q1",
            120,
            int(time.time() * 1000) + 120_000,
            media=QueueMedia(announce_every_seconds=0),  # greeting, then music (no place, no wait)
            prompts=uploaded,
        )
        try:
            async with edge_on_relay(routing, relay, prompts, store, prompts_directory=str(store)) as edge:
                invite = carrier.invite(edge.address, "100", body=sdp_offer(HOST, caller_rtp.port))
                early = await carrier.response("INVITE", 183)
                caller_rtp.remote = sdp_media_address(early.body)
                caller_rtp.start()
                await asyncio.sleep(seconds)
                carrier.send(build_cancel(invite), edge.address)
                assert (await carrier.response("CANCEL", final=True)).status == 200
        finally:
            carrier.close()

    try:
        asyncio.run(scenario())
    finally:
        caller_rtp.stop()
    samples = caller_rtp.audio()
    # From the first sound: the relay's first packets may be silence while the file opens.
    start = next((i for i, s in enumerate(samples) if abs(s) > 500), len(samples))
    return samples[start:]


def test_a_queued_caller_hears_the_merchants_uploaded_greeting_and_music(
    relay: RelayPorts, prompts: Path, tmp_path: Path
) -> None:
    store = DirectoryPromptStore(tmp_path / "store")
    greeting = _upload(store, "welcome", pcm_wav(tone(GREETING_HZ, GREETING_SECONDS)))
    music = _upload(store, "jingle", pcm_wav(tone(MUSIC_HZ, 2.0, rate=16000), rate=16000))
    heard = _hear(relay, prompts, tmp_path / "store", QueuePrompts(greeting, music), GREETING_SECONDS + 4)

    first = heard[int(0.2 * RATE) : int((GREETING_SECONDS - 0.3) * RATE)]
    later = heard[int((GREETING_SECONDS + 0.5) * RATE) : int((GREETING_SECONDS + 2.5) * RATE)]
    assert len(later) == 2 * RATE, len(heard)
    # A pure tone puts half the energy at its frequency (tone_share): the uploads, not the defaults.
    assert tone_share(first, GREETING_HZ) > 0.35, tone_share(first, GREETING_HZ)
    assert tone_share(later, MUSIC_HZ) > 0.35, tone_share(later, MUSIC_HZ)
    # Copied by the relay's agent into the directory the relay reads, by content hash.
    assert (prompts / "uploaded" / f"{greeting.sha256}.wav").exists()


def test_without_uploads_the_same_queue_plays_the_defaults(
    relay: RelayPorts, prompts: Path, tmp_path: Path
) -> None:
    heard = _hear(relay, prompts, tmp_path / "store", QueuePrompts(), GREETING_SECONDS)
    first = heard[int(0.2 * RATE) : int((GREETING_SECONDS - 0.3) * RATE)]
    assert len(first) > RATE
    assert tone_share(first, GREETING_HZ) < 0.05, tone_share(first, GREETING_HZ)

"""A queue's uploaded greeting and music: the relay's copy (its agent's) named by content hash, played
instead of the defaults, and the defaults while the relay has none. The relay and its agent are fakes
here (the agent's copy: tests/unit/test_relay_agent_files.py; the real relay and agent:
tests/media/test_uploaded_prompts.py)."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import replace
from pathlib import Path

from contact_center.contracts.media_relays import key_report_label
from contact_center.domain.prompts import PromptFile, QueuePrompts
from sip_edge.app.calls.media import Announcements
from sip_edge.app.media.hold import HoldPlayer
from sip_edge.app.media.prompts import PromptSet
from sip_edge.app.media.uploaded import UploadedPrompts
from sip_edge.config import EdgeConfig
from sip_edge.main import _key_report_label
from sip_edge.media.ng import NgRefusedError, PlayResult
from tests.unit.test_media_relays import FakeRelay


def _file(name: str, data: bytes) -> PromptFile:
    sha = hashlib.sha256(data).hexdigest()
    return PromptFile(f"m1/{name}/{sha}.wav", sha)


class CopyingRelay(FakeRelay):
    """A relay: it opens only the uploads its agent has copied (``copied``)."""

    def __init__(self, copied: set[str]) -> None:
        super().__init__("relay")
        self.copied = copied
        self.asked: list[str] = []

    async def play_media(
        self, call_id: str, from_tag: str, file: str, *, repeat_times: int = 1
    ) -> PlayResult:
        self.asked.append(file)
        if "/uploaded/" in file and file.rsplit("/", 1)[-1].removesuffix(".wav") not in self.copied:
            raise NgRefusedError("play media", "Failed to start media playback from file")
        return await super().play_media(call_id, from_tag, file, repeat_times=repeat_times)


class CopyingAgent:
    """The relay's agent: answers the path of an upload it has (or copies on demand: ``copies``)."""

    def __init__(self, relay: CopyingRelay, copies: bool) -> None:
        self.relay = relay
        self.copies = copies
        self.asked: list[list[str]] = []

    async def joined(self, parts: list[str]) -> str | None:
        self.asked.append(parts)
        (part,) = parts
        sha = part.removeprefix("uploaded/")
        if self.copies:
            self.relay.copied.add(sha)
        return f"/relay/prompts/uploaded/{sha}.wav" if sha in self.relay.copied else None


def _hear(
    tmp_path: Path, what: Announcements, relay: CopyingRelay, agent: CopyingAgent | None = None
) -> list[str]:
    """What ``relay`` plays for a queue with ``what``."""

    async def scenario() -> None:
        prompts = PromptSet(str(tmp_path), UploadedPrompts(str(tmp_path)))
        player = HoldPlayer(relay, "call", "caller", prompts, agent=agent)
        player.start(what)
        await asyncio.sleep(0.2)
        await player.stop()

    asyncio.run(scenario())
    return relay.played


GREETING, MUSIC = _file("welcome", b"RIFF-greeting"), _file("jingle", b"RIFF-music")


def test_the_uploaded_greeting_and_music_play_instead_of_the_defaults(tmp_path: Path) -> None:
    relay = CopyingRelay({GREETING.sha256, MUSIC.sha256})
    played = _hear(tmp_path, Announcements("greeting", None, None, 0, QueuePrompts(GREETING, MUSIC)), relay)
    # The relay is named its agent's copies, by content hash, in the directory it reads.
    assert played == [GREETING.sha256, MUSIC.sha256]
    assert relay.asked[0] == str(tmp_path / "uploaded" / f"{GREETING.sha256}.wav")
    assert not (tmp_path / "uploaded").exists()  # nothing written on the edge's side


def test_an_uploaded_greeting_plays_even_when_the_default_greeting_is_off(tmp_path: Path) -> None:
    relay = CopyingRelay({GREETING.sha256})
    played = _hear(tmp_path, Announcements(None, None, None, 0, QueuePrompts(GREETING)), relay)
    assert played == [GREETING.sha256, "music"]


def test_the_relays_agent_is_asked_for_an_upload_and_copies_a_new_one_at_once(tmp_path: Path) -> None:
    relay = CopyingRelay(set())
    agent = CopyingAgent(relay, copies=True)
    played = _hear(tmp_path, Announcements(None, None, None, 0, QueuePrompts(GREETING)), relay, agent)
    assert agent.asked[0] == [f"uploaded/{GREETING.sha256}"]
    assert played == [GREETING.sha256, "music"]
    assert relay.asked[0] == f"/relay/prompts/uploaded/{GREETING.sha256}.wav"  # the agent's path


def test_an_upload_the_relay_has_not_copied_plays_the_default_instead(tmp_path: Path) -> None:
    what = Announcements("greeting", None, None, 0, QueuePrompts(greeting=GREETING, music=MUSIC))
    for agent in (None, CopyingAgent(CopyingRelay(set()), copies=False)):
        relay = CopyingRelay(set())
        if agent is not None:
            agent.relay = relay
        assert _hear(tmp_path, what, relay, agent) == ["greeting", "music"]  # never silence


def test_an_edge_of_the_media_fleet_labels_its_calls_with_its_own_report_address() -> None:
    fleet = EdgeConfig(media_registry="us-east-1", media_dtmf=("0.0.0.0", 5070), advertised_host="10.0.3.7")
    assert _key_report_label(fleet) == key_report_label("10.0.3.7", 5070)
    assert _key_report_label(replace(fleet, media_dtmf=("10.0.3.9", 5071))) == key_report_label(
        "10.0.3.9", 5071
    )
    # Fixed relays send reports to their --dtmf-log-dest themselves; no listener, nothing to name.
    assert _key_report_label(replace(fleet, media_registry=None)) is None
    assert _key_report_label(replace(fleet, media_dtmf=None)) is None

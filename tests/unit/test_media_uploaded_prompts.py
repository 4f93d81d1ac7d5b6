"""A queue's uploaded greeting and music: fetched from the prompt store into the directory the relay
reads (once per content hash), played instead of the defaults, and the defaults when they cannot be
had; on the media fleet, the relay's own copy named, and the defaults while it has none. The relay and
the store are fakes here (the real relay: tests/media/test_uploaded_prompts.py)."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import replace
from pathlib import Path

from contact_center.contracts.media_relays import key_report_label
from contact_center.domain.prompts import PromptFile, QueuePrompts
from contact_center.services.errors import NotFoundError
from sip_edge.app.calls.media import Announcements
from sip_edge.app.media.hold import HoldPlayer
from sip_edge.app.media.prompts import PromptSet
from sip_edge.app.media.uploaded import UploadedPrompts
from sip_edge.config import EdgeConfig
from sip_edge.main import _key_report_label
from sip_edge.media.ng import NgRefusedError, PlayResult
from tests.unit.test_media_relays import FakeRelay


class MemoryStore:
    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.gets = 0

    def put(self, key: str, data: bytes) -> None:
        self.files[key] = data

    def get(self, key: str) -> bytes:
        self.gets += 1
        if key not in self.files:
            raise NotFoundError("prompt file", key)
        return self.files[key]

    def delete(self, key: str) -> None:
        self.files.pop(key, None)


def _file(name: str, data: bytes) -> tuple[PromptFile, dict[str, bytes]]:
    sha = hashlib.sha256(data).hexdigest()
    key = f"m1/{name}/{sha}.wav"
    return PromptFile(key, sha), {key: data}


def _hear(
    tmp_path: Path, store: MemoryStore | None, what: Announcements, relay: FakeRelay | None = None
) -> list[str]:
    """What ``relay`` plays; ``store`` None: a media fleet edge, naming the relay's own copies."""
    relay = relay or FakeRelay("a")

    async def scenario() -> None:
        uploaded = UploadedPrompts(store, str(tmp_path))
        player = HoldPlayer(relay, "call", "caller", PromptSet(str(tmp_path), uploaded))
        player.start(what)
        await asyncio.sleep(0.2)
        await player.stop()

    asyncio.run(scenario())
    return relay.played


def test_the_uploaded_greeting_and_music_play_instead_of_the_defaults(tmp_path: Path) -> None:
    greeting, files = _file("welcome", b"RIFF-greeting")
    music, more = _file("jingle", b"RIFF-music")
    store = MemoryStore({**files, **more})
    played = _hear(tmp_path, store, Announcements("greeting", None, None, 0, QueuePrompts(greeting, music)))
    # The relay is named the fetched copies, by content hash, in the directory it reads.
    assert played == [greeting.sha256, music.sha256]
    assert (tmp_path / "uploaded" / f"{greeting.sha256}.wav").read_bytes() == b"RIFF-greeting"


def test_an_uploaded_greeting_plays_even_when_the_default_greeting_is_off(tmp_path: Path) -> None:
    greeting, files = _file("welcome", b"RIFF-greeting")
    played = _hear(tmp_path, MemoryStore(files), Announcements(None, None, None, 0, QueuePrompts(greeting)))
    assert played == [greeting.sha256, "music"]


def test_a_prompt_that_cannot_be_had_falls_back_to_the_default(tmp_path: Path) -> None:
    greeting, _ = _file("welcome", b"RIFF-greeting")
    music, files = _file("jingle", b"RIFF-music")
    files = {music.key: b"RIFF-tampered"}  # not the version decided: its hash does not match
    played = _hear(
        tmp_path, MemoryStore(files), Announcements("greeting", None, None, 0, QueuePrompts(greeting, music))
    )
    assert played == ["greeting", "music"]
    assert not list((tmp_path / "uploaded").glob("*.wav"))


def test_a_prompt_is_fetched_once_for_callers_at_once_and_then_read_from_the_directory(
    tmp_path: Path,
) -> None:
    greeting, files = _file("welcome", b"RIFF-greeting")
    store = MemoryStore(files)

    async def scenario() -> list[str | None]:
        uploaded = UploadedPrompts(store, str(tmp_path))
        paths = await asyncio.gather(*(uploaded.path(greeting) for _ in range(5)))
        return [*paths, await uploaded.path(greeting)]

    paths = asyncio.run(scenario())
    assert store.gets == 1
    assert set(paths) == {str(tmp_path / "uploaded" / f"{greeting.sha256}.wav")}


def test_the_directory_keeps_at_most_its_bound_of_files(tmp_path: Path) -> None:
    versions = [_file(f"p{n}", f"RIFF-{n}".encode()) for n in range(5)]
    store = MemoryStore({k: v for _, files in versions for k, v in files.items()})

    async def scenario() -> None:
        uploaded = UploadedPrompts(store, str(tmp_path), max_files=3)
        for file, _ in versions:
            assert await uploaded.path(file) is not None

    asyncio.run(scenario())
    kept = {f.stem for f in (tmp_path / "uploaded").glob("*.wav")}
    assert len(kept) == 3 and versions[-1][0].sha256 in kept


class CopyingRelay(FakeRelay):
    """A media fleet relay: it opens only the uploads its agent has copied (``copied``)."""

    def __init__(self, copied: set[str]) -> None:
        super().__init__("fleet")
        self.copied = copied
        self.asked: list[str] = []

    async def play_media(
        self, call_id: str, from_tag: str, file: str, *, repeat_times: int = 1
    ) -> PlayResult:
        self.asked.append(file)
        if "/uploaded/" in file and file.rsplit("/", 1)[-1] not in self.copied:
            raise NgRefusedError("play media", "Failed to start media playback from file")
        return await super().play_media(call_id, from_tag, file, repeat_times=repeat_times)


def test_on_the_media_fleet_the_edge_names_the_relays_copy_of_an_upload(tmp_path: Path) -> None:
    greeting, _files = _file("welcome", b"RIFF-greeting")
    relay = CopyingRelay({f"{greeting.sha256}.wav"})
    what = Announcements(None, None, None, 0, QueuePrompts(greeting=greeting))
    played = _hear(tmp_path, None, what, relay)
    assert played[0] == greeting.sha256
    assert relay.asked[0] == str(tmp_path / "uploaded" / f"{greeting.sha256}.wav")
    assert not (tmp_path / "uploaded").exists()  # nothing written on the edge's side


def test_an_upload_the_relay_has_not_copied_yet_plays_the_default_instead(tmp_path: Path) -> None:
    greeting, _files = _file("welcome", b"RIFF-greeting")
    music, _more = _file("jingle", b"RIFF-music")
    relay = CopyingRelay(set())
    what = Announcements("greeting", None, None, 0, QueuePrompts(greeting=greeting, music=music))
    played = _hear(tmp_path, None, what, relay)
    assert played == ["greeting", "music"]  # the defaults, never silence


def test_an_edge_of_the_media_fleet_labels_its_calls_with_its_own_report_address() -> None:
    fleet = EdgeConfig(media_registry="us-east-1", media_dtmf=("0.0.0.0", 5070), advertised_host="10.0.3.7")
    assert _key_report_label(fleet) == key_report_label("10.0.3.7", 5070)
    assert _key_report_label(replace(fleet, media_dtmf=("10.0.3.9", 5071))) == key_report_label(
        "10.0.3.9", 5071
    )
    # Fixed relays send reports to their --dtmf-log-dest themselves; no listener, nothing to name.
    assert _key_report_label(replace(fleet, media_registry=None)) is None
    assert _key_report_label(replace(fleet, media_dtmf=None)) is None

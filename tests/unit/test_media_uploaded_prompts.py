"""A queue's uploaded greeting and music: fetched from the prompt store into the directory the relay
reads (once per content hash), played instead of the defaults, and the defaults when they cannot be
had. The relay and the store are fakes here (the real relay: tests/media/test_uploaded_prompts.py)."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

from contact_center.domain.prompts import PromptFile, QueuePrompts
from contact_center.services.errors import NotFoundError
from sip_edge.app.calls.media import Announcements
from sip_edge.app.media.hold import HoldPlayer
from sip_edge.app.media.prompts import PromptSet
from sip_edge.app.media.uploaded import UploadedPrompts
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


def _hear(tmp_path: Path, store: MemoryStore, what: Announcements) -> list[str]:
    relay = FakeRelay("a")

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

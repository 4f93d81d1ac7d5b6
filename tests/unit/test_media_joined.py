"""The words of an announcement joined into one file by the relay's agent, from the relay's own
copies (the edge shares no disk with it; the real relay playing the file:
tests/media/test_hold_audio_timing.py; the request over UDP: tests/functional/test_relay_joins.py)."""

from __future__ import annotations

import hashlib
import json
import os
import wave
from pathlib import Path

import pytest

from media_relay.agent import JoinError, PromptJoiner


def _wav(path: Path, frames: bytes, rate: int = 96000) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(frames)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_words_are_one_file_saying_them_in_turn_named_by_their_content(tmp_path: Path) -> None:
    _wav(tmp_path / "caller-number.wav", b"\x01\x00" * 10)
    _wav(tmp_path / "n3.wav", b"\x02\x00" * 5)
    joiner = PromptJoiner(str(tmp_path))
    path = joiner.joined(["caller-number", "n3"])
    parts = f"{_sha(tmp_path / 'caller-number.wav')} {_sha(tmp_path / 'n3.wav')}"
    assert path == str(tmp_path / "said" / f"{hashlib.sha256(parts.encode()).hexdigest()}.wav")
    with wave.open(path, "rb") as reader:
        assert reader.getframerate() == 96000
        assert reader.readframes(reader.getnframes()) == b"\x01\x00" * 10 + b"\x02\x00" * 5
    assert joiner.joined(["caller-number", "n3"]) == path
    assert joiner.written == 1  # asked again: the file already made


def test_a_part_that_changes_makes_a_new_file(tmp_path: Path) -> None:
    _wav(tmp_path / "greeting.wav", b"\x01\x00" * 10)
    _wav(tmp_path / "n3.wav", b"\x02\x00" * 5)
    joiner = PromptJoiner(str(tmp_path))
    before = joiner.joined(["greeting", "n3"])
    _wav(tmp_path / "greeting.wav", b"\x03\x00" * 12)  # a new bundle's greeting
    os.utime(tmp_path / "greeting.wav", ns=(1, 1))
    assert joiner.joined(["greeting", "n3"]) != before


def test_an_uploaded_prompt_is_a_part_and_one_part_is_its_own_file(tmp_path: Path) -> None:
    sha = "ab" * 32
    _wav(tmp_path / "uploaded" / f"{sha}.wav", b"\x05\x00" * 4)
    _wav(tmp_path / "n3.wav", b"\x02\x00" * 5)
    joiner = PromptJoiner(str(tmp_path))
    assert joiner.joined([f"uploaded/{sha}"]) == str(tmp_path / "uploaded" / f"{sha}.wav")
    with wave.open(joiner.joined([f"uploaded/{sha}", "n3"]), "rb") as reader:
        assert reader.readframes(9) == b"\x05\x00" * 4 + b"\x02\x00" * 5


@pytest.mark.parametrize("name", ["../etc/passwd", "/etc/passwd", "a/b/c", "n3.wav", "", 7])
def test_a_name_that_is_not_a_prompt_of_the_directory_is_refused(tmp_path: Path, name: object) -> None:
    with pytest.raises(JoinError):
        PromptJoiner(str(tmp_path)).joined([name, name])


def test_parts_missing_here_or_of_another_format_are_not_joined(tmp_path: Path) -> None:
    _wav(tmp_path / "n3.wav", b"\x02\x00" * 5)
    _wav(tmp_path / "n4.wav", b"\x02\x00" * 5, rate=8000)
    joiner = PromptJoiner(str(tmp_path))
    with pytest.raises(JoinError, match="no prompt"):
        joiner.joined(["caller-number", "n3"])
    with pytest.raises(JoinError, match="format"):
        joiner.joined(["n3", "n4"])
    with pytest.raises(JoinError):
        joiner.joined([])
    assert not list(tmp_path.glob("said/*.wav"))


def test_the_folder_keeps_the_most_recently_used(tmp_path: Path) -> None:
    for n in range(4):
        _wav(tmp_path / f"n{n}.wav", bytes([n, 0]))
    joiner = PromptJoiner(str(tmp_path), max_files=2)
    made = []
    for n in range(4):
        made.append(joiner.joined([f"n{n}", "n0"]))
        os.utime(made[-1], (n, n))
    assert sorted(str(p) for p in (tmp_path / "said").glob("*.wav")) == sorted(made[2:])


def test_the_requests_are_ng_framed_json(tmp_path: Path) -> None:
    _wav(tmp_path / "n1.wav", b"\x01\x00")
    _wav(tmp_path / "n2.wav", b"\x02\x00")
    joiner = PromptJoiner(str(tmp_path))
    cookie, _, body = joiner.answer(b'c1 {"command": "join", "parts": ["n1", "n2"]}').partition(b" ")  # type: ignore[union-attr]
    assert cookie == b"c1" and json.loads(body) == {"result": "ok", "file": joiner.joined(["n1", "n2"])}
    refused = json.loads(joiner.answer(b'c2 {"command": "join", "parts": ["n1", "n9"]}').partition(b" ")[2])  # type: ignore[union-attr]
    assert refused["result"] == "error" and "n9" in refused["error-reason"]
    assert json.loads(joiner.answer(b'c3 {"command": "ping"}').partition(b" ")[2]) == {"result": "pong"}  # type: ignore[union-attr]
    assert joiner.answer(b"c4 d7:command4:pinge") is None  # bencode: not the agent's

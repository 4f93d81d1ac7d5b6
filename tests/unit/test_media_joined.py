"""The words of an announcement joined into one file in the relay's prompt directory (the real relay
playing it: tests/media/test_hold_audio_timing.py)."""

from __future__ import annotations

import os
import wave
from pathlib import Path

from sip_edge.app.media.joined import joined_prompt


def _wav(path: Path, frames: bytes, rate: int = 96000) -> None:
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(frames)


def test_the_words_are_one_file_saying_them_in_turn_made_once(tmp_path: Path) -> None:
    _wav(tmp_path / "caller-number.wav", b"\x01\x00" * 10)
    _wav(tmp_path / "n3.wav", b"\x02\x00" * 5)
    path = joined_prompt(str(tmp_path), ["caller-number", "n3"])
    assert path == str(tmp_path / "said" / "caller-number+n3.wav")
    with wave.open(path, "rb") as reader:
        assert reader.getframerate() == 96000
        assert reader.readframes(reader.getnframes()) == b"\x01\x00" * 10 + b"\x02\x00" * 5
    os.utime(path, (0, 0))
    assert joined_prompt(str(tmp_path), ["caller-number", "n3"]) == path
    assert os.stat(path).st_mtime == 0  # found, not written again


def test_words_that_cannot_be_read_here_or_differ_in_format_are_not_joined(tmp_path: Path) -> None:
    _wav(tmp_path / "n3.wav", b"\x02\x00" * 5)
    _wav(tmp_path / "n4.wav", b"\x02\x00" * 5, rate=8000)
    assert joined_prompt(str(tmp_path), ["caller-number", "n3"]) is None
    assert joined_prompt(str(tmp_path), ["n3", "n4"]) is None
    assert not (tmp_path / "said").exists() or not list((tmp_path / "said").glob("*.wav"))


def test_the_folder_keeps_the_most_recently_written(tmp_path: Path) -> None:
    for n in range(4):
        _wav(tmp_path / f"n{n}.wav", b"\x00\x00")
    for n in range(4):
        path = joined_prompt(str(tmp_path), [f"n{n}", "n0"], max_files=2)
        assert path is not None
        os.utime(path, (n, n))
    assert sorted(p.name for p in (tmp_path / "said").glob("*.wav")) == ["n2+n0.wav", "n3+n0.wav"]

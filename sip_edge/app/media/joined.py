"""The words of one announcement joined into one file, so the relay plays them without a switch.

Between two ``play media`` a caller heard 65-125 ms without packets: rtpengine 10.5 times a new file
from a clock reading taken before it opened it and sends what is already due at once, so a file
ends before the edge, waiting the file's length from the answer, starts the next. "You are caller
number three; your expected wait is about two minutes" was five files and four such gaps; joined it
is one, with the pauses the words were recorded with (every default prompt ends in
`TRAILING_SILENCE_S`). The joined file is written once into ``<prompts>/said/`` (the directory the
relay reads, as uploaded prompts are) under the names it says, aside and renamed so the relay never
opens half of one; the folder keeps the ``max_files`` most recently written (a relay that has a
removed file open keeps reading it).
"""

from __future__ import annotations

import os
import tempfile
import wave
from pathlib import Path

__all__ = ["joined_prompt", "keep_newest"]

SAID_FOLDER = "said"
# An announcement is 2-6 s: at 96 kHz 0.4-1.2 MB, so 256 files are at most about 300 MB.
_MAX_FILES = 256


def joined_prompt(directory: str, names: list[str], max_files: int = _MAX_FILES) -> str | None:
    """The path of one file saying the prompts ``names`` in turn; None when one cannot be read here
    (the caller then plays them one by one, as the relay may still have them)."""
    target = Path(directory) / SAID_FOLDER / f"{'+'.join(names)}.wav"
    if target.exists():
        return str(target)
    frames: list[bytes] = []
    params = None
    try:
        for name in names:
            with wave.open(str(Path(directory) / f"{name}.wav"), "rb") as reader:
                if params is not None and reader.getparams()[:3] != params[:3]:
                    return None  # not one format: the words cannot be one file
                params = reader.getparams()
                frames.append(reader.readframes(reader.getnframes()))
    except (OSError, EOFError, wave.Error):
        return None
    if params is None:
        return None
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, scratch = tempfile.mkstemp(dir=target.parent, prefix=".join-")
    with os.fdopen(fd, "wb") as out, wave.open(out, "wb") as writer:
        writer.setnchannels(params.nchannels)
        writer.setsampwidth(params.sampwidth)
        writer.setframerate(params.framerate)
        writer.writeframes(b"".join(frames))
    os.chmod(scratch, 0o644)  # the relay may run as another user
    os.replace(scratch, target)
    keep_newest(target.parent, max_files, keep=target)
    return str(target)


def keep_newest(directory: Path, max_files: int, keep: Path) -> None:
    """Remove the least recently written WAV files of ``directory`` past ``max_files`` (never ``keep``)."""
    files = [f for f in directory.glob("*.wav") if f != keep]
    if len(files) < max_files:
        return
    files.sort(key=_written_at)
    for old in files[: len(files) - max_files + 1]:
        old.unlink(missing_ok=True)


def _written_at(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:  # removed meanwhile (another edge process sharing the directory)
        return 0.0

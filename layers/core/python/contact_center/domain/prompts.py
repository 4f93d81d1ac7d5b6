"""Merchants' own prompts: what a name may be, what audio is accepted, where the file is kept.

A prompt is a WAV file the media relay plays into a caller's leg: mono, 8 or 16 kHz, 16-bit linear
PCM or 8-bit G.711 (A-law or mu-law), which rtpengine decodes and resamples to the call's codec.
Anything else is refused at upload rather than discovered as silence on a live call.
Each version of a prompt is stored under its content hash, so a replaced prompt is a new file and
a relay still playing the old one is never handed a half-written file.
"""

from __future__ import annotations

import hashlib
import io
import re
import struct
import wave
from dataclasses import dataclass
from enum import StrEnum

from contact_center.contracts.values import (
    PROMPT_BYTES_MAX,
    PROMPT_CONTENT_TYPES,
    PROMPT_NAME_PATTERN,
    PROMPT_SECONDS_MAX,
)

from .errors import ValidationError

__all__ = [
    "ACCEPTED_CONTENT_TYPES",
    "MAX_PROMPT_BYTES",
    "MAX_PROMPT_SECONDS",
    "PROMPT_NAME_RULE",
    "PromptAudio",
    "PromptEncoding",
    "PromptFile",
    "PromptTooLargeError",
    "QueuePrompts",
    "UnsupportedAudioError",
    "inspect_wav",
    "is_prompt_name",
    "prompt_key",
    "validate_prompt_name",
]

_PROMPT_NAME = re.compile(PROMPT_NAME_PATTERN)
PROMPT_NAME_RULE = "a prompt name (1-64 lower-case letters, digits, - and _, starting with a letter or digit)"

MAX_PROMPT_SECONDS = PROMPT_SECONDS_MAX
MAX_PROMPT_BYTES = PROMPT_BYTES_MAX
SAMPLE_RATES = (8000, 16000)
ACCEPTED_CONTENT_TYPES = PROMPT_CONTENT_TYPES

_PCM, _ALAW, _ULAW, _EXTENSIBLE = 1, 6, 7, 0xFFFE


class PromptEncoding(StrEnum):
    PCM16 = "pcm16"
    ALAW = "alaw"  # G.711 A-law
    ULAW = "ulaw"  # G.711 mu-law


class UnsupportedAudioError(ValidationError):
    """A readable WAV in a format the relay is not given (stereo, 44.1 kHz, 8-bit PCM...): HTTP 415."""


class PromptTooLargeError(ValidationError):
    """Longer or larger than a prompt may be: HTTP 413."""


def is_prompt_name(name: object) -> bool:
    return isinstance(name, str) and _PROMPT_NAME.fullmatch(name) is not None


def validate_prompt_name(name: object, field: str) -> str:
    if not is_prompt_name(name):
        raise ValidationError(field, f"must be {PROMPT_NAME_RULE}")
    assert isinstance(name, str)
    return name


@dataclass(frozen=True, slots=True)
class PromptAudio:
    """What an accepted upload holds."""

    encoding: PromptEncoding
    sample_rate: int
    duration_ms: int
    size_bytes: int
    sha256: str


def prompt_key(merchant_id: str, name: str, sha256: str) -> str:
    """Where one version of a merchant's prompt is stored (an S3 key, a relative file path)."""
    return f"{merchant_id}/{name}/{sha256}.wav"


def _chunks(data: bytes) -> dict[bytes, bytes]:
    """The RIFF chunks of a WAVE file (the first of each id); a chunk cut short keeps what is there."""
    chunks: dict[bytes, bytes] = {}
    offset = 12
    while offset + 8 <= len(data):
        chunk_id, size = struct.unpack_from("<4sI", data, offset)
        body = data[offset + 8 : offset + 8 + size]
        if chunk_id == b"data" and len(body) < size:
            raise ValidationError("body", f"the WAV data is cut short ({len(body)} of {size} bytes)")
        chunks.setdefault(chunk_id, body)
        offset += 8 + size + (size & 1)  # chunks are padded to an even length
    return chunks


def inspect_wav(data: bytes) -> PromptAudio:
    """The audio of an upload, or the named error saying what is wrong with it.

    The format is read from the ``fmt`` chunk (the ``wave`` module reads PCM only and refuses
    G.711); PCM is then read with ``wave`` itself, so what is accepted is what a WAV reader reads.
    """
    if len(data) > MAX_PROMPT_BYTES:
        raise PromptTooLargeError("body", f"is {len(data)} bytes; a prompt may be at most {MAX_PROMPT_BYTES}")
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValidationError("body", "is not a WAV file (no RIFF/WAVE header)")
    chunks = _chunks(data)
    fmt, samples = chunks.get(b"fmt "), chunks.get(b"data")
    if fmt is None or len(fmt) < 16 or samples is None:
        raise ValidationError("body", "is not a readable WAV file (its fmt or data chunk is missing)")
    tag, channels, rate, _, block_align, bits = struct.unpack_from("<HHIIHH", fmt)
    if tag == _EXTENSIBLE and len(fmt) >= 26:
        (tag,) = struct.unpack_from("<H", fmt, 24)  # the sub-format GUID starts with the format tag
    encoding = {_PCM: PromptEncoding.PCM16, _ALAW: PromptEncoding.ALAW, _ULAW: PromptEncoding.ULAW}.get(tag)
    if encoding is None:
        raise UnsupportedAudioError(
            "encoding", f"is format tag {tag}, not 16-bit PCM (1) or G.711 (6: A-law, 7: mu-law)"
        )
    if channels != 1:
        raise UnsupportedAudioError("channels", f"is {channels}; a prompt must be mono")
    if rate not in SAMPLE_RATES:
        raise UnsupportedAudioError("sample_rate", f"is {rate} Hz; a prompt must be 8000 or 16000 Hz")
    wanted_bits = 16 if encoding is PromptEncoding.PCM16 else 8
    if bits != wanted_bits:
        raise UnsupportedAudioError(
            "bits_per_sample", f"is {bits}; {encoding.value} must be {wanted_bits}-bit"
        )
    if encoding is PromptEncoding.PCM16:
        try:
            with wave.open(io.BytesIO(data), "rb") as reader:
                frames = reader.getnframes()
        except (wave.Error, EOFError) as exc:
            raise ValidationError("body", f"is not a readable WAV file ({exc})") from None
    else:
        frames = len(samples) // max(1, block_align)
    if frames == 0:
        raise ValidationError("body", "holds no audio")
    duration_ms = frames * 1000 // rate
    if duration_ms > MAX_PROMPT_SECONDS * 1000:
        raise PromptTooLargeError(
            "duration", f"is {duration_ms / 1000:.1f} s; a prompt may last at most {MAX_PROMPT_SECONDS} s"
        )
    return PromptAudio(encoding, rate, duration_ms, len(data), hashlib.sha256(data).hexdigest())


@dataclass(frozen=True, slots=True)
class PromptFile:
    """One stored version of an uploaded prompt, as the edge fetches it."""

    key: str
    sha256: str


@dataclass(frozen=True, slots=True)
class QueuePrompts:
    """The uploaded prompts a queue plays instead of the defaults (None: the default)."""

    greeting: PromptFile | None = None
    music: PromptFile | None = None

    def as_dict(self) -> dict[str, dict[str, str] | None]:
        return {
            part: {"key": f.key, "sha256": f.sha256} if f is not None else None
            for part, f in (("greeting", self.greeting), ("music", self.music))
        }

    @classmethod
    def from_dict(cls, data: object) -> QueuePrompts:
        """A decision's ``prompts``; absent or malformed parts are the defaults."""

        def part(name: str) -> PromptFile | None:
            value = data.get(name) if isinstance(data, dict) else None
            if not isinstance(value, dict):
                return None
            key, sha256 = value.get("key"), value.get("sha256")
            return PromptFile(key, sha256) if isinstance(key, str) and isinstance(sha256, str) else None

        return cls(part("greeting"), part("music"))

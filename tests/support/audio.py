"""WAV files made in memory for the prompt tests, and how much of a tone a stretch of audio holds."""

from __future__ import annotations

import io
import math
import struct
import wave

__all__ = ["g711_wav", "pcm_wav", "tone", "tone_share"]


def tone(hz: float, seconds: float, rate: int = 8000, amplitude: int = 12000) -> list[int]:
    return [int(amplitude * math.sin(2 * math.pi * hz * n / rate)) for n in range(int(seconds * rate))]


def pcm_wav(samples: list[int], rate: int = 8000, channels: int = 1, width: int = 2) -> bytes:
    """A WAV file as ``wave`` writes it (16-bit unless ``width`` says otherwise)."""
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(channels)
        writer.setsampwidth(width)
        writer.setframerate(rate)
        if width == 2:
            writer.writeframes(struct.pack(f"<{len(samples)}h", *samples))
        else:
            writer.writeframes(bytes((s >> 8) + 128 & 0xFF for s in samples))
    return out.getvalue()


def g711_wav(payload: bytes, rate: int = 8000, tag: int = 7, bits: int = 8, channels: int = 1) -> bytes:
    """A G.711 WAV (format tag 7: mu-law, 6: A-law), which ``wave`` itself cannot write."""
    fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * channels, channels, bits) + b"\x00\x00"
    body = (
        b"WAVE"
        + b"fmt "
        + struct.pack("<I", len(fmt))
        + fmt
        + b"data"
        + struct.pack("<I", len(payload))
        + payload
    )
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _power(samples: list[int], hz: float, rate: int) -> float:
    """Goertzel: the energy of ``samples`` at ``hz``."""
    coefficient = 2 * math.cos(2 * math.pi * hz / rate)
    s1 = s2 = 0.0
    for sample in samples:
        s1, s2 = sample + coefficient * s1 - s2, s1
    return s1 * s1 + s2 * s2 - coefficient * s1 * s2


def tone_share(samples: list[int], hz: float, rate: int = 8000) -> float:
    """The share of the energy of ``samples`` at ``hz`` (about 0.5 for a pure tone, near 0 otherwise).

    Goertzel's power of an N-sample tone of amplitude A is (A N / 2)^2, and the signal's energy is
    A^2 N / 2, so power / (energy N) is 1/2 for the tone alone and falls with whatever else is heard.
    """
    energy = sum(s * s for s in samples)
    if not samples or energy == 0:
        return 0.0
    return _power(samples, hz, rate) / (energy * len(samples))

"""G.711 (ITU-T G.711) sample conversion: mu-law (PCMU, payload type 0) and A-law (PCMA, 8) to
16-bit linear and back to mu-law, by table and by the standard's segment arithmetic."""

from __future__ import annotations

__all__ = ["alaw_decode", "ulaw_decode", "ulaw_encode"]


def _ulaw_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        u = ~byte & 0xFF
        t = (((u & 0x0F) << 3) + 0x84) << ((u & 0x70) >> 4)
        table.append((0x84 - t) if u & 0x80 else (t - 0x84))
    return tuple(table)


def _alaw_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        a = byte ^ 0x55
        t = (a & 0x0F) << 4
        segment = (a & 0x70) >> 4
        if segment == 0:
            t += 8
        else:
            t = (t + 0x108) << (segment - 1)
        table.append(t if a & 0x80 else -t)
    return tuple(table)


_ULAW = _ulaw_table()
_ALAW = _alaw_table()
_BIAS = 0x84
_CLIP = 32635


def ulaw_decode(payload: bytes) -> list[int]:
    return [_ULAW[b] for b in payload]


def alaw_decode(payload: bytes) -> list[int]:
    return [_ALAW[b] for b in payload]


def _ulaw_byte(sample: int) -> int:
    sign = 0x80 if sample < 0 else 0
    magnitude = min(abs(sample), _CLIP) + _BIAS
    exponent = max(0, magnitude.bit_length() - 8)
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


# The mu-law byte of every sum of two 16-bit samples (-65536..65535, clipped), computed once (128 KiB):
# encoding a call is then one lookup a sample, done by map() in C.
_SPAN = 65536
_ULAW_OF = bytes(_ulaw_byte(sample) for sample in range(-_SPAN, _SPAN))


def ulaw_encode(samples: list[int]) -> bytes:
    """Samples (16-bit, or the sum of two: clipped to 16 bits) as mu-law bytes."""
    low, high = -_SPAN, _SPAN - 1
    inside = (
        samples
        if not samples or (min(samples) >= low and max(samples) <= high)
        else [min(high, max(low, s)) for s in samples]
    )
    return bytes(map(_ULAW_OF.__getitem__, map(_SPAN.__add__, inside)))

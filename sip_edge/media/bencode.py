"""Bencode, the dictionary format of rtpengine's ng protocol.

Integers ``i42e``, byte strings ``4:spam``, lists ``l...e``, dictionaries ``d...e``. Strings are
bytes on the wire; we encode ``str`` as UTF-8 and decode every string to ``str`` (SDP and the
protocol's keys are text), except where the caller asks for bytes. Dictionary keys are written
sorted, as the format requires (rtpengine accepts any order, other peers may not).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

__all__ = ["BencodeError", "Value", "decode", "encode"]

Value = int | str | bytes | Sequence["Value"] | Mapping[str, "Value"]


class BencodeError(ValueError):
    """The bytes are not one well-formed bencoded value."""


def encode(value: Value) -> bytes:
    out: list[bytes] = []
    _encode(value, out)
    return b"".join(out)


def _encode(value: Value, out: list[bytes]) -> None:
    if isinstance(value, bool):
        raise TypeError("bencode has no booleans")
    if isinstance(value, int):
        out.append(b"i%de" % value)
    elif isinstance(value, str | bytes):
        raw = value.encode() if isinstance(value, str) else value
        out.append(b"%d:" % len(raw))
        out.append(raw)
    elif isinstance(value, Mapping):
        out.append(b"d")
        for key in sorted(value, key=lambda k: k.encode()):
            _encode(key, out)
            _encode(value[key], out)
        out.append(b"e")
    elif isinstance(value, Sequence):
        out.append(b"l")
        for item in value:
            _encode(item, out)
        out.append(b"e")
    else:
        raise TypeError(f"cannot bencode {type(value).__name__}")


def decode(data: bytes) -> Value:
    value, end = _decode(data, 0)
    if end != len(data):
        raise BencodeError(f"{len(data) - end} trailing bytes after the value")
    return value


def _decode(data: bytes, at: int) -> tuple[Value, int]:
    if at >= len(data):
        raise BencodeError("truncated value")
    lead = data[at : at + 1]
    if lead == b"i":
        end = data.find(b"e", at)
        if end < 0:
            raise BencodeError("unterminated integer")
        try:
            return int(data[at + 1 : end]), end + 1
        except ValueError:
            raise BencodeError(f"bad integer {data[at + 1 : end]!r}") from None
    if lead == b"l":
        items: list[Value] = []
        at += 1
        while data[at : at + 1] != b"e":
            item, at = _decode(data, at)
            items.append(item)
        return items, at + 1
    if lead == b"d":
        entries: dict[str, Value] = {}
        at += 1
        while data[at : at + 1] != b"e":
            key, at = _decode(data, at)
            if not isinstance(key, str):
                raise BencodeError("dictionary key is not a string")
            entries[key], at = _decode(data, at)
        return entries, at + 1
    if lead.isdigit():
        colon = data.find(b":", at)
        if colon < 0:
            raise BencodeError("unterminated string length")
        try:
            length = int(data[at:colon])
        except ValueError:
            raise BencodeError(f"bad string length {data[at:colon]!r}") from None
        start, end = colon + 1, colon + 1 + length
        if end > len(data):
            raise BencodeError("truncated string")
        raw = data[start:end]
        try:
            return raw.decode(), end
        except UnicodeDecodeError:
            return raw, end
    raise BencodeError(f"unexpected byte {lead!r} at {at}")

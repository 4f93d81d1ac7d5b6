"""A call recorded by rtpengine (``--recording-method=pcap``) made into one playable WAV file.

rtpengine writes every RTP packet it receives for a recorded call into one pcap file, behind a fake
IP/UDP header naming the sender and the relay port it reached (docs/rtpengine.md,
``--recording-dir``). Here each stream (sender address, RTP SSRC) of G.711 audio (PCMU, PCMA) is
decoded and laid on one timeline, the two parties summed: a mono, 8 kHz, mu-law WAV, the call as
one listener would have heard both ends. A packet's place is its stream's first packet's capture
time plus its RTP timestamp's distance from that packet's, so network jitter does not stretch or
squeeze the audio; a stream whose timestamps jump (a new source behind the same SSRC) is placed
again by capture time. Other payloads (DTMF events, comfort noise) are left out. The file lasts
from the first recorded packet to the end of the last.
"""

from __future__ import annotations

import operator
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

from sip_edge.media.g711 import alaw_decode, ulaw_decode, ulaw_encode

__all__ = ["RecordingFormatError", "mixdown", "pcap_packets", "wav_ulaw"]

RATE = 8000
_DECODERS = {0: ulaw_decode, 8: alaw_decode}
_LINKTYPE_ETHERNET, _LINKTYPE_RAW, _LINKTYPE_RAW_ALIAS = 1, 101, 12
_JUMP = RATE  # timestamps more than a second away from the capture clock: place by capture again


class RecordingFormatError(ValueError):
    """Not a pcap file rtpengine could have written."""


@dataclass(frozen=True, slots=True)
class Packet:
    at: float  # capture time, epoch seconds
    source: tuple[bytes, int]
    payload: bytes  # the UDP payload


def pcap_packets(data: bytes) -> Iterator[Packet]:
    """The UDP packets of a pcap file (raw IP or Ethernet link type, IPv4 or IPv6)."""
    if len(data) < 24:
        raise RecordingFormatError("shorter than a pcap header")
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        order = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        order = ">"
    else:
        raise RecordingFormatError("no pcap magic number")
    fraction = 1e-9 if magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d") else 1e-6
    linktype = struct.unpack(order + "I", data[20:24])[0] & 0x0FFFFFFF
    link_header = {_LINKTYPE_ETHERNET: 14, _LINKTYPE_RAW: 0, _LINKTYPE_RAW_ALIAS: 0}.get(linktype)
    if link_header is None:
        raise RecordingFormatError(f"link type {linktype} is not raw IP or Ethernet")
    offset = 24
    while offset + 16 <= len(data):
        seconds, part, captured, _ = struct.unpack(order + "IIII", data[offset : offset + 16])
        frame = data[offset + 16 : offset + 16 + captured]
        offset += 16 + captured
        packet = _udp(frame[link_header:], seconds + part * fraction)
        if packet is not None:
            yield packet


def _udp(ip: bytes, at: float) -> Packet | None:
    if len(ip) < 20:
        return None
    version = ip[0] >> 4
    if version == 4:
        header, protocol, source = (ip[0] & 0x0F) * 4, ip[9], ip[12:16]
    elif version == 6 and len(ip) >= 40:
        header, protocol, source = 40, ip[6], ip[8:24]
    else:
        return None
    if protocol != 17 or len(ip) < header + 8:
        return None
    port = struct.unpack("!H", ip[header : header + 2])[0]
    return Packet(at, (source, port), ip[header + 8 :])


@dataclass
class _Stream:
    first_at: float
    first_timestamp: int
    base: int  # sample index of the first packet on the call's timeline
    chunks: list[tuple[int, list[int]]] = field(default_factory=list)


def mixdown(packets: Iterator[Packet] | list[Packet]) -> list[int]:
    """Every G.711 stream of the packets decoded and summed into 16-bit samples at 8 kHz."""
    streams: dict[tuple[tuple[bytes, int], int], _Stream] = {}
    start: float | None = None
    for packet in packets:
        rtp = _rtp(packet.payload)
        if rtp is None:
            continue
        payload_type, timestamp, ssrc, audio = rtp
        decode = _DECODERS.get(payload_type)
        if decode is None:
            continue
        if start is None:
            start = packet.at
        by_clock = round((packet.at - start) * RATE)
        key = (packet.source, ssrc)
        stream = streams.get(key)
        if stream is None:
            stream = streams[key] = _Stream(packet.at, timestamp, by_clock)
        position = stream.base + ((timestamp - stream.first_timestamp) & 0xFFFFFFFF)
        if abs(position - by_clock) > _JUMP:
            stream.first_timestamp, stream.base, position = timestamp, by_clock, by_clock
        stream.chunks.append((position, decode(audio)))
    length = max((at + len(s) for stream in streams.values() for at, s in stream.chunks), default=0)
    mixed = [0] * length
    for stream in streams.values():
        for at, samples in stream.chunks:
            end = at + len(samples)
            mixed[at:end] = map(operator.add, mixed[at:end], samples)
    return mixed


def _rtp(data: bytes) -> tuple[int, int, int, bytes] | None:
    """(payload type, timestamp, SSRC, payload) of an RTP version 2 packet; None for anything else."""
    if len(data) < 12 or data[0] >> 6 != 2:
        return None
    count, has_extension, padded = data[0] & 0x0F, data[0] & 0x10, data[0] & 0x20
    payload_type = data[1] & 0x7F
    if 72 <= payload_type <= 76:
        return None  # RTCP multiplexed on the RTP port (RFC 5761)
    timestamp, ssrc = struct.unpack("!II", data[4:12])
    offset = 12 + 4 * count
    if has_extension and len(data) >= offset + 4:
        offset += 4 + 4 * struct.unpack("!H", data[offset + 2 : offset + 4])[0]
    end = len(data) - (data[-1] if padded and data else 0)
    if offset > end:
        return None
    return payload_type, timestamp, ssrc, data[offset:end]


def wav_ulaw(samples: list[int]) -> bytes:
    """A mono 8 kHz G.711 mu-law WAV (format 7): 8,000 bytes a second of audio."""
    audio = ulaw_encode(samples)
    fmt = struct.pack("<HHIIHHH", 7, 1, RATE, RATE, 1, 8, 0)
    fact = struct.pack("<I", len(audio))
    pad = b"\x00" if len(audio) % 2 else b""
    body = (
        b"WAVE"
        + b"fmt "
        + struct.pack("<I", len(fmt))
        + fmt
        + b"fact"
        + struct.pack("<I", len(fact))
        + fact
        + b"data"
        + struct.pack("<I", len(audio))
        + audio
        + pad
    )
    return b"RIFF" + struct.pack("<I", len(body)) + body

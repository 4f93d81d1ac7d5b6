"""A small RTP endpoint for tests: PCMU (payload type 0, 8 kHz, 20 ms packets) over UDP on loopback.

It sends a tone or silence at the packet rate, records every packet it receives (arrival time,
sequence number, payload), and decodes the received audio to linear samples, so a test can compare
what a caller heard with the prompt it should have heard.
"""

from __future__ import annotations

import math
import random
import socket
import struct
import threading
import time
from dataclasses import dataclass, field

__all__ = [
    "Received",
    "RtpEndpoint",
    "best_match",
    "best_match_at",
    "envelope",
    "sdp_media_address",
    "sdp_offer",
    "ulaw_decode",
    "ulaw_encode",
    "wav_samples",
    "wav_seconds",
]

PT_PCMU = 0
PT_EVENT = 101  # telephone-event, as sdp_offer names it
DTMF_KEYS = "0123456789*#"
SAMPLES_PER_PACKET = 160  # 20 ms at 8 kHz


def sdp_offer(host: str, port: int, session: int = 1) -> bytes:
    return (
        "v=0\r\n"
        f"o=- {session} 1 IN IP4 {host}\r\n"
        "s=test\r\n"
        f"c=IN IP4 {host}\r\n"
        "t=0 0\r\n"
        f"m=audio {port} RTP/AVP 0 101\r\n"
        "a=rtpmap:0 PCMU/8000\r\n"
        "a=rtpmap:101 telephone-event/8000\r\n"
        "a=fmtp:101 0-15\r\n"
        "a=ptime:20\r\n"
        "a=sendrecv\r\n"
    ).encode()


def sdp_media_address(sdp: bytes) -> tuple[str, int]:
    """The connection address and first audio port of an SDP."""
    host, port = "", 0
    for line in sdp.decode().splitlines():
        if line.startswith("c=IN IP4 "):
            host = line.split()[-1]
        elif line.startswith("m=audio "):
            port = int(line.split()[1])
    return host, port


def _ulaw_table() -> list[int]:
    table = []
    for byte in range(256):
        u = ~byte & 0xFF
        t = ((u & 0x0F) << 3) + 0x84
        t <<= (u & 0x70) >> 4
        table.append((0x84 - t) if u & 0x80 else (t - 0x84))
    return table


_ULAW = _ulaw_table()


def ulaw_decode(payload: bytes) -> list[int]:
    return [_ULAW[b] for b in payload]


def ulaw_encode(sample: int) -> int:
    sign = 0x80 if sample < 0 else 0
    magnitude = min(abs(sample), 32635) + 0x84
    exponent = 7
    for exp in range(7, -1, -1):
        if magnitude & (0x4000 >> (7 - exp)):
            exponent = exp
            break
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


def envelope(samples: list[int], window: int = SAMPLES_PER_PACKET) -> list[float]:
    """RMS energy per window (20 ms by default)."""
    return [
        math.sqrt(sum(s * s for s in samples[i : i + window]) / window)
        for i in range(0, len(samples) - window + 1, window)
    ]


@dataclass
class Received:
    at: float
    seq: int
    ssrc: int
    payload_type: int
    payload: bytes
    # Where it came from (behind a NAT or through a relay: not the address any SDP names).
    source: tuple[str, int] = ("", 0)
    timestamp: int = 0  # the RTP timestamp (8 kHz for PCMU)


@dataclass
class RtpEndpoint:
    """Binds ``host`` on a free port; `start` sends to ``remote`` (set it first) until `stop`."""

    host: str = "127.0.0.1"
    tone_hz: float | None = None
    remote: tuple[str, int] | None = None
    received: list[Received] = field(default_factory=list)
    sent: int = 0
    # (monotonic time, sequence number) of every packet sent
    sent_log: list[tuple[float, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((self.host, 0))
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._ssrc = random.getrandbits(32)
        self._keys: list[str] = []

    def start(self, send: bool = True) -> None:
        self._threads = [threading.Thread(target=self._receive, daemon=True)]
        if send:
            self._threads.append(threading.Thread(target=self._send, daemon=True))
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=2)
        self.sock.close()

    def _payload(self, index: int) -> bytes:
        if self.tone_hz is None:
            return bytes([0xFF]) * SAMPLES_PER_PACKET  # mu-law silence
        base = index * SAMPLES_PER_PACKET
        return bytes(
            ulaw_encode(int(8000 * math.sin(2 * math.pi * self.tone_hz * (base + n) / 8000)))
            for n in range(SAMPLES_PER_PACKET)
        )

    def press(self, digit: str) -> None:
        """Send ``digit`` as an RFC 4733 telephone-event (payload type 101, 100 ms) in place of the
        audio, as a phone does when its key is pressed."""
        self._keys.append(digit)

    def _event_packets(self, digit: str) -> list[tuple[bool, bytes]]:
        """(marker, payload) of one event: 5 packets of growing duration, then 3 ends (RFC 4733 §2.5)."""
        code = DTMF_KEYS.index(digit)
        packets = [(n == 0, struct.pack("!BBH", code, 10, (n + 1) * SAMPLES_PER_PACKET)) for n in range(5)]
        end = struct.pack("!BBH", code, 0x80 | 10, 5 * SAMPLES_PER_PACKET)
        return [*packets, (False, end), (False, end), (False, end)]

    def _send(self) -> None:
        seq, timestamp, index = random.getrandbits(16), random.getrandbits(32), 0
        next_at = time.monotonic()
        event: list[tuple[bool, bytes]] = []
        event_timestamp = 0
        while not self._stop.is_set():
            if self.remote is not None:
                if not event and self._keys:
                    event, event_timestamp = self._event_packets(self._keys.pop(0)), timestamp
                if event:
                    marker, payload = event.pop(0)
                    header = struct.pack(
                        "!BBHII",
                        0x80,
                        (0x80 if marker else 0) | PT_EVENT,
                        seq & 0xFFFF,
                        event_timestamp & 0xFFFFFFFF,
                        self._ssrc,
                    )
                else:
                    header = struct.pack(
                        "!BBHII", 0x80, PT_PCMU, seq & 0xFFFF, timestamp & 0xFFFFFFFF, self._ssrc
                    )
                    payload = self._payload(index)
                try:
                    self.sock.sendto(header + payload, self.remote)
                    self.sent += 1
                    self.sent_log.append((time.monotonic(), seq & 0xFFFF))
                except OSError:
                    pass
                seq, timestamp, index = seq + 1, timestamp + SAMPLES_PER_PACKET, index + 1
            next_at += 0.02
            time.sleep(max(0.0, next_at - time.monotonic()))

    def _receive(self) -> None:
        while not self._stop.is_set():
            try:
                data, source = self.sock.recvfrom(4096)
            except (TimeoutError, OSError):
                continue
            if len(data) < 12 or data[0] >> 6 != 2:
                continue  # not RTP (rtpengine's empty NAT-piercing packets, RTCP on this port)
            count = data[0] & 0x0F
            seq, timestamp, ssrc = struct.unpack("!HII", data[2:12])
            self.received.append(
                Received(
                    time.monotonic(), seq, ssrc, data[1] & 0x7F, data[12 + 4 * count :], source, timestamp
                )
            )

    def audio(self) -> list[int]:
        """The received PCMU audio, decoded, in arrival order."""
        samples: list[int] = []
        for packet in self.received:
            if packet.payload_type == PT_PCMU:
                samples.extend(ulaw_decode(packet.payload))
        return samples


def wav_samples(path: str) -> list[int]:
    """16-bit mono WAV samples at 8 kHz, the received audio's rate. A file at a multiple of it (the
    prompts are 96 kHz for the relay, band-limited to telephone audio) is taken every n-th sample."""
    import wave

    with wave.open(path, "rb") as handle:
        step = handle.getframerate() // 8000
        frames = handle.readframes(handle.getnframes())
    return list(struct.unpack(f"<{len(frames) // 2}h", frames))[::step]


def wav_seconds(path: str) -> float:
    """The length of a prompt file."""
    return len(wav_samples(path)) / 8000


def best_match(heard: list[float], expected: list[float]) -> float:
    """The highest normalised cross-correlation of two energy envelopes over every alignment of
    ``expected`` inside ``heard`` (1.0: the same shape of loudness and silence)."""
    return best_match_at(heard, expected)[0]


def best_match_at(heard: list[float], expected: list[float]) -> tuple[float, int]:
    """`best_match` and the window of ``heard`` where that alignment starts."""
    n = len(expected)
    if n == 0 or len(heard) < n:
        return 0.0, 0
    mean_e = sum(expected) / n
    centred_e = [x - mean_e for x in expected]
    norm_e = math.sqrt(sum(x * x for x in centred_e))
    best, best_lag = 0.0, 0
    for lag in range(len(heard) - n + 1):
        window = heard[lag : lag + n]
        mean_w = sum(window) / n
        centred_w = [x - mean_w for x in window]
        norm_w = math.sqrt(sum(x * x for x in centred_w))
        if norm_w == 0 or norm_e == 0:
            continue
        score = sum(a * b for a, b in zip(centred_w, centred_e, strict=True)) / (norm_w * norm_e)
        if score > best:
            best, best_lag = score, lag
    return best, best_lag

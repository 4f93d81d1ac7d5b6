"""A recorded call's pcap (as rtpengine writes it) made into one mixed mu-law WAV, and the collector
that stores each finished call under its key."""

from __future__ import annotations

import math
import struct
from pathlib import Path

from contact_center.data.recording_store import DirectoryStore
from sip_edge.app.media.recorder import RecordingCollector, parse_metadata, recording_metadata
from sip_edge.media.g711 import ulaw_decode, ulaw_encode
from sip_edge.media.recording import RATE, mixdown, pcap_packets, wav_ulaw

CALLER, AGENT = (b"\x0a\x00\x00\x01", 40000), (b"\x0a\x00\x00\x02", 50000)


def _tone(hz: float, start: int, count: int, level: int = 8000) -> list[int]:
    return [int(level * math.sin(2 * math.pi * hz * (start + n) / RATE)) for n in range(count)]


def _rtp(seq: int, timestamp: int, ssrc: int, payload: bytes, payload_type: int = 0) -> bytes:
    return struct.pack("!BBHII", 0x80, payload_type, seq, timestamp, ssrc) + payload


def _ipv4_udp(source: tuple[bytes, int], payload: bytes) -> bytes:
    udp = struct.pack("!HHHH", source[1], 30000, 8 + len(payload), 0) + payload
    header = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, source[0], b"\x7f\x00\x00\x01"
    )
    return header + udp


def _pcap(packets: list[tuple[float, tuple[bytes, int], bytes]]) -> bytes:
    """A pcap file of raw IP packets (link type 101), as rtpengine's ``--recording-format=raw``."""
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101)]
    for at, source, rtp in packets:
        frame = _ipv4_udp(source, rtp)
        seconds = int(at)
        out.append(struct.pack("<IIII", seconds, round((at - seconds) * 1e6), len(frame), len(frame)) + frame)
    return b"".join(out)


def _call(seconds: float, jitter: float = 0.0) -> bytes:
    """Both parties sending 20 ms PCMU packets for ``seconds``, the agent from 0.5 s on."""
    packets = []
    start = 1_700_000_000.0
    for n in range(int(seconds * 50)):
        at = start + n * 0.02 + (jitter if n % 4 == 2 else 0.0)  # never a stream's first packet
        caller = ulaw_encode(_tone(500, n * 160, 160))
        packets.append((at, CALLER, _rtp(n, 1000 + n * 160, 0x1111, caller)))
        if n >= 25:
            agent = ulaw_encode(_tone(1000, n * 160, 160))
            packets.append((at + 0.005, AGENT, _rtp(n, 9000 + n * 160, 0x2222, agent)))
        if n == 10:  # an RFC 4733 event is not audio
            packets.append((at, CALLER, _rtp(999, 5000, 0x1111, b"\x01\x80\x00\xa0", payload_type=101)))
    return _pcap(packets)


def test_the_pcap_gives_every_udp_packet_with_its_sender_and_capture_time() -> None:
    packets = list(pcap_packets(_call(1.0)))
    assert len(packets) == 50 + 25 + 1
    assert packets[0].source == CALLER and packets[0].at == 1_700_000_000.0


def test_the_mixdown_lasts_the_call_and_holds_both_parties() -> None:
    mixed = mixdown(list(pcap_packets(_call(3.0))))
    assert abs(len(mixed) - 3 * RATE) <= 160 + 40  # the last packet's 20 ms, the agent's 5 ms offset
    assert max(map(abs, mixed[: RATE // 2])) < 9000  # the caller alone
    assert max(map(abs, mixed[RATE:])) > 12000  # both tones add up


def test_network_jitter_does_not_move_the_audio() -> None:
    steady = mixdown(list(pcap_packets(_call(2.0))))
    jittered = mixdown(list(pcap_packets(_call(2.0, jitter=0.012))))
    assert len(jittered) == len(steady)
    assert jittered[: RATE // 2] == steady[: RATE // 2]


def test_the_wav_is_g711_mu_law_mono_8khz_with_8000_bytes_a_second() -> None:
    samples = _tone(440, 0, RATE)
    wav = wav_ulaw(samples)
    assert wav[:4] == b"RIFF" and wav[8:12] == b"WAVE"
    assert struct.unpack("<I", wav[4:8])[0] == len(wav) - 8
    fmt = struct.unpack("<HHIIHH", wav[20:36])
    assert fmt == (7, 1, RATE, RATE, 1, 8)
    data = wav.index(b"data")
    assert struct.unpack("<I", wav[data + 4 : data + 8])[0] == RATE
    decoded = ulaw_decode(wav[data + 8 : data + 8 + RATE])
    assert max(abs(a - b) for a, b in zip(decoded, samples, strict=True)) < 300  # G.711's quantising


def _spool(tmp_path: Path, metadata: str, pcap: bytes) -> Path:
    spool = tmp_path / "spool"
    (spool / "metadata").mkdir(parents=True)
    (spool / "pcaps").mkdir()
    pcap_path = spool / "pcaps" / "call-1-abc.pcap"
    pcap_path.write_bytes(pcap)
    meta = (
        f"{pcap_path}\n\nSDP mode: offer\n\nv=0\n\n\ncall start time: x\ncall end time: y\n\n\n{metadata}\n"
    )
    (spool / "metadata" / "call-1-abc.txt").write_text(meta)
    return spool


def test_the_collector_stores_a_finished_call_under_its_key_and_empties_the_spool(tmp_path: Path) -> None:
    spool = _spool(tmp_path, recording_metadata("m1/c1.wav"), _call(1.0))
    store = DirectoryStore(tmp_path / "recordings")
    assert RecordingCollector(spool, store).collect_once() == ["m1/c1.wav"]
    assert (tmp_path / "recordings" / "m1" / "c1.wav").read_bytes()[:4] == b"RIFF"
    assert not any((spool / "metadata").iterdir()) and not any((spool / "pcaps").iterdir())


def test_the_collector_leaves_a_file_it_cannot_read_and_does_not_try_it_again(tmp_path: Path) -> None:
    spool = _spool(tmp_path, recording_metadata("m1/c1.wav"), b"not a pcap at all, not at all")
    collector = RecordingCollector(spool, DirectoryStore(tmp_path / "recordings"))
    assert collector.collect_once() == []
    assert collector.collect_once() == []
    assert (spool / "metadata" / "call-1-abc.txt").exists()
    assert not (tmp_path / "recordings").exists()


def test_a_call_recorded_without_our_key_is_not_ours() -> None:
    assert parse_metadata("/spool/pcaps/x.pcap\n\nsomething else\n") is None
    assert parse_metadata("/spool/pcaps/x.pcap\n\n" + recording_metadata("../etc/passwd.wav")) is None
    assert parse_metadata("/s/p.pcap\n\n" + recording_metadata("m1/c1.wav")) == (
        Path("/s/p.pcap"),
        "m1/c1.wav",
    )

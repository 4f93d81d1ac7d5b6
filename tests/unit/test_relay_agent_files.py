"""The relay agent's work besides the beat: rtpengine's key reports forwarded to the edge task that
labelled the call, merchants' uploaded prompts copied from the bucket, the default prompts installed,
and rtpengine told where reports and recordings go. rtpengine and S3 are fakes here (the forwarding
through a real rtpengine: tests/media/test_relay_key_reports.py)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import socket
import threading
import time
import wave
from pathlib import Path
from typing import Any

import pytest

from contact_center.contracts.media_relays import (
    DTMF_LOG_PORT,
    KEY_REPORT_LABEL_PREFIX,
    RECORDING_SPOOL,
    key_report_label,
)
from media_relay.agent import (
    RELAY_SAMPLE_RATE,
    DirectoryUploads,
    JoinError,
    KeyForwarder,
    PromptJoiner,
    S3Uploads,
    UploadSync,
    install_prompts,
    label_destination,
    rtpengine_conf,
)
from sip_edge.app.media import prompts
from tests.support.audio import g711_wav, pcm_wav, tone
from tests.unit.test_relay_agent import CONFIG


def _report(call_id: str = "call-1", source_tag: str = "caller", event: int = 5) -> bytes:
    return json.dumps({"callid": call_id, "source_tag": source_tag, "type": "DTMF", "event": event}).encode()


class Labels:
    """rtpengine's ``query``: each call's labels by tag; counts the queries."""

    def __init__(self, calls: dict[str, dict[str, str]]) -> None:
        self.calls = calls
        self.asked: list[str] = []

    def __call__(self, call_id: str) -> dict[str, str]:
        self.asked.append(call_id)
        if call_id not in self.calls:
            raise ValueError("Unknown call-id")
        return self.calls[call_id]


def _forwarder(
    labels: Labels, remembered: int = 4_096
) -> tuple[KeyForwarder, list[tuple[bytes, tuple[str, int]]]]:
    sent: list[tuple[bytes, tuple[str, int]]] = []
    return KeyForwarder(labels, KEY_REPORT_LABEL_PREFIX, lambda d, a: sent.append((d, a)), remembered), sent


def test_a_key_report_goes_to_the_edge_address_the_pressing_leg_is_labelled_with() -> None:
    labels = Labels({"call-1": {"caller": key_report_label("10.0.3.7", 5070), "edge": "other"}})
    forwarder, sent = _forwarder(labels)
    report = _report()
    assert forwarder.forward(report) == ("10.0.3.7", 5070)
    assert sent == [(report, ("10.0.3.7", 5070))]  # the report itself, unchanged


def test_a_report_from_the_unlabelled_leg_goes_where_the_other_leg_says() -> None:
    labels = Labels({"call-1": {"caller": key_report_label("10.0.3.7", 5070)}})
    forwarder, sent = _forwarder(labels)
    assert forwarder.forward(_report(source_tag="agent-side")) == ("10.0.3.7", 5070)
    assert [address for _report_sent, address in sent] == [("10.0.3.7", 5070)]


def test_a_calls_edge_is_asked_of_rtpengine_once_for_all_its_keys() -> None:
    labels = Labels({"call-1": {"caller": key_report_label("10.0.3.7", 5070)}})
    forwarder, sent = _forwarder(labels)
    for event in (1, 2, 3):
        forwarder.forward(_report(event=event))
    assert labels.asked == ["call-1"]
    assert len(sent) == 3


def test_calls_remembered_are_bounded_the_oldest_forgotten_first() -> None:
    labels = Labels({f"call-{n}": {"caller": key_report_label("10.0.3.7", 5000 + n)} for n in range(3)})
    forwarder, _sent = _forwarder(labels, remembered=2)
    for n in (0, 1, 2, 0):
        forwarder.forward(_report(call_id=f"call-{n}"))
    assert labels.asked == ["call-0", "call-1", "call-2", "call-0"]


def test_reports_of_calls_no_edge_labelled_or_rtpengine_forgot_are_dropped() -> None:
    labels = Labels({"call-1": {"caller": "not-ours", "edge": ""}})
    forwarder, sent = _forwarder(labels)
    assert forwarder.forward(_report()) is None
    assert forwarder.forward(_report(call_id="gone")) is None
    assert forwarder.forward(b"not json") is None
    assert forwarder.forward(b'{"event": 5}') is None
    assert sent == []
    assert forwarder.unclaimed == 1


def test_a_label_that_is_not_an_address_names_no_edge() -> None:
    prefix = KEY_REPORT_LABEL_PREFIX
    for label in (f"{prefix}10.0.3.7", f"{prefix}10.0.3.7:x", f"{prefix}:5070", f"{prefix}10.0.3.7:70000"):
        assert label_destination({"caller": label}, "caller", prefix) is None
    assert label_destination({"caller": f"{prefix}10.0.3.7:5070"}, "caller", prefix) == ("10.0.3.7", 5070)


def test_the_forwarder_serves_reports_arriving_on_its_socket() -> None:
    edge = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    edge.bind(("127.0.0.1", 0))
    edge.settimeout(5)
    reports = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    reports.bind(("127.0.0.1", 0))
    labels = Labels({"call-1": {"caller": key_report_label(*edge.getsockname())}})
    forwarder = KeyForwarder(labels, KEY_REPORT_LABEL_PREFIX, reports.sendto)
    threading.Thread(target=forwarder.serve, args=(reports,), daemon=True).start()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rtpengine:
        rtpengine.sendto(_report(), reports.getsockname())
    try:
        assert edge.recv(4096) == _report()
    finally:
        edge.close()


def test_rtpengine_reports_keys_to_the_agent_and_records_into_the_spool() -> None:
    conf = rtpengine_conf("10.0.0.12", "203.0.113.7", CONFIG["ports"], CONFIG["recordings"]["spool"])
    lines = conf.splitlines()
    assert f"dtmf-log-dest = 127.0.0.1:{DTMF_LOG_PORT}" in lines  # the loopback only
    assert f"recording-dir = {RECORDING_SPOOL}" in lines
    assert "recording-method = pcap" in lines


WAV = b"RIFF....WAVEfmt "


class Bucket:
    """S3: ``list_objects_v2`` in pages of two, ``get_object``."""

    def __init__(self, objects: dict[str, bytes]) -> None:
        self.objects = objects
        self.gets: list[str] = []

    def list_objects_v2(self, Bucket: str, ContinuationToken: str | None = None) -> dict[str, Any]:
        keys = sorted(self.objects)
        start = int(ContinuationToken or 0)
        page = keys[start : start + 2]
        more = start + 2 < len(keys)
        return {
            "Contents": [{"Key": k} for k in page],
            "IsTruncated": more,
            **({"NextContinuationToken": str(start + 2)} if more else {}),
        }

    def get_object(self, Bucket: str, Key: str) -> dict[str, Any]:
        self.gets.append(Key)
        return {"Body": io.BytesIO(self.objects[Key])}


def _version(merchant: str, name: str, data: bytes) -> tuple[str, bytes]:
    return f"{merchant}/{name}/{hashlib.sha256(data).hexdigest()}.wav", data


def _upload(hz: float, rate: int = 8000) -> bytes:
    return pcm_wav(tone(hz, 0.5, rate=rate), rate=rate)


def _format(path: Path) -> tuple[int, int, int, float]:
    with wave.open(str(path), "rb") as reader:
        rate = reader.getframerate()
        return reader.getnchannels(), reader.getsampwidth(), rate, reader.getnframes() / rate


def test_uploaded_prompts_are_copied_under_their_hash_once_in_the_relays_format(tmp_path: Path) -> None:
    versions = dict(
        [
            _version("m-1", "greeting", _upload(1000)),
            _version("m-1", "music", _upload(1500, rate=16000)),
            _version("m-1", "hold", g711_wav(bytes(4000))),  # mu-law, 8 kHz
        ]
    )
    bucket = Bucket({**versions, "m-1/readme.txt": b"not a prompt"})
    sync = UploadSync(S3Uploads(bucket, "prompts"), str(tmp_path / "uploaded"))
    assert sync.sync_once() == 3
    for key in versions:
        copied = tmp_path / "uploaded" / key.rsplit("/", 1)[1]
        # 16-bit mono at 96 kHz, as the default prompts: an 8 or 16 kHz file plays in bunches.
        channels, width, rate, seconds = _format(copied)
        assert (channels, width, rate) == (1, 2, RELAY_SAMPLE_RATE)
        assert seconds == pytest.approx(0.5, abs=0.01)
        assert copied.stat().st_mode & 0o777 == 0o644  # rtpengine reads as its own user
    assert sync.sync_once() == 0
    assert len(bucket.gets) == 3  # nothing fetched twice
    assert not [p for p in (tmp_path / "uploaded").iterdir() if p.name.startswith(".")]


def test_the_relays_rate_is_the_default_prompts_rate() -> None:
    assert RELAY_SAMPLE_RATE == prompts.RELAY_SAMPLE_RATE


def test_a_version_gone_from_the_bucket_leaves_the_relay(tmp_path: Path) -> None:
    old, new = _version("m-1", "greeting", _upload(1000)), _version("m-1", "greeting", _upload(1200))
    bucket = Bucket(dict([old]))
    sync = UploadSync(S3Uploads(bucket, "prompts"), str(tmp_path))
    sync.sync_once()
    bucket.objects = dict([new])  # replaced: the API deleted the old version's object
    sync.sync_once()
    assert sorted(os.listdir(tmp_path)) == [new[0].rsplit("/", 1)[1]]


@pytest.mark.parametrize("stored", [b"RIFF-tampered", b"not audio"], ids=["not its hash", "not a WAV"])
def test_an_object_not_matching_its_name_or_not_audio_is_not_copied(tmp_path: Path, stored: bytes) -> None:
    key, _data = _version("m-1", "greeting", b"not audio" if stored == b"not audio" else _upload(1000))
    sync = UploadSync(S3Uploads(Bucket({key: stored}), "prompts"), str(tmp_path))
    assert sync.sync_once() == 0
    assert os.listdir(tmp_path) == []


def test_the_local_stores_directory_is_synced_as_the_bucket_is(tmp_path: Path) -> None:
    key, data = _version("m-1", "greeting", _upload(1000))
    (tmp_path / "store" / "m-1" / "greeting").mkdir(parents=True)
    (tmp_path / "store" / key).write_bytes(data)
    sync = UploadSync(DirectoryUploads(str(tmp_path / "store")), str(tmp_path / "prompts" / "uploaded"))
    assert sync.sync_once() == 1
    assert _format(tmp_path / "prompts" / "uploaded" / key.rsplit("/", 1)[1])[2] == RELAY_SAMPLE_RATE


def test_an_upload_an_edge_names_before_the_sync_is_copied_on_demand(tmp_path: Path) -> None:
    key, data = _version("m-1", "greeting", _upload(1000))
    sha = key.rsplit("/", 1)[1].removesuffix(".wav")
    bucket = Bucket({})
    sync = UploadSync(S3Uploads(bucket, "prompts"), str(tmp_path / "uploaded"), soonest=60)
    joiner = PromptJoiner(str(tmp_path), missing=sync.sync_soon)
    sync.sync_once()  # the periodic sync, before the upload
    bucket.objects[key] = data
    with pytest.raises(JoinError):
        joiner.joined([f"uploaded/{sha}"])  # a sync ran within ``soonest``: none on demand yet
    sync = UploadSync(S3Uploads(bucket, "prompts"), str(tmp_path / "uploaded"), soonest=60)
    joiner = PromptJoiner(str(tmp_path), missing=sync.sync_soon)
    assert joiner.joined([f"uploaded/{sha}"]) == str(tmp_path / "uploaded" / f"{sha}.wav")


def test_the_default_prompts_of_the_bundle_are_installed_readable(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    (bundle / "prompts").mkdir(parents=True)
    for name in ("greeting.wav", "music.wav"):
        (bundle / "prompts" / name).write_bytes(WAV + name.encode())
    (bundle / "prompts" / "manifest.json").write_text("{}")
    target = tmp_path / "var" / "prompts"
    assert install_prompts(str(bundle), str(target)) == 2
    assert sorted(os.listdir(target)) == ["greeting.wav", "music.wav"]
    assert (target / "music.wav").stat().st_mode & 0o777 == 0o644


def test_a_join_waits_briefly_for_a_sync_already_running_and_does_not_repeat_it(tmp_path: Path) -> None:
    key, data = _version("m-1", "greeting", _upload(1000))
    bucket = Bucket({key: data})
    sync = UploadSync(S3Uploads(bucket, "prompts"), str(tmp_path / "uploaded"))
    with sync._lock:  # the periodic sync, converting every upload of a new relay
        started = time.monotonic()
        sync.sync_soon(wait=0.2)
        assert 0.15 < time.monotonic() - started < 1.0  # the join gave up; the edge plays the default
    assert bucket.gets == []
    # A sync that ends while the join waits copied what the join needed: it is not run again.
    holding = threading.Event()

    def periodic() -> None:
        with sync._lock:
            holding.set()
            time.sleep(0.3)
            sync._finished += 1  # it ran (the fake bucket's copy is left to the next)

    sync._last = time.monotonic() - 10
    running = threading.Thread(target=periodic)
    running.start()
    holding.wait()
    sync.sync_soon(wait=5.0)
    running.join()
    assert bucket.gets == []
    sync._last = time.monotonic() - 10
    sync.sync_soon()
    assert bucket.gets == [key]

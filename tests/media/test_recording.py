"""Recorded calls with a real rtpengine: a call its queue records becomes one WAV file of the call's
answered length, stored per merchant and fetched through a signed link; a call it does not record
leaves nothing behind."""

from __future__ import annotations

import asyncio
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from contact_center.data.recording_store import DirectoryStore
from contact_center.services.recordings import RecordingLinks
from contact_center.services.routing.ports import ContactRecord
from local_stack.media_relay import RelayPorts
from local_stack.web_server import serve
from sip_edge.app.media.recorder import RecordingCollector
from tests.sip.b2bua_support import FakeRouting, Phone, connect_to, running_edge
from tests.support.relay import rtpengine_installed, running_relay
from tests.support.talk import talk

SECRET = b"recording links in this test"
KEY = "m1/c-recorded.wav"


@pytest.fixture
def spool(tmp_path: Path) -> Path:
    folder = tmp_path / "spool"
    folder.mkdir()
    return folder


@pytest.fixture
def recording_relay(spool: Path) -> Iterator[RelayPorts]:
    if not rtpengine_installed():
        pytest.skip("rtpengine-daemon is not installed")
    with running_relay(recording_dir=spool) as (ports, _process):
        yield ports


class Records:
    def __init__(self, *records: ContactRecord) -> None:
        self._records = {record.contact_id: record for record in records}

    def record(self, contact_id: str) -> ContactRecord | None:
        return self._records.get(contact_id)


def _call(relay: RelayPorts, recording_key: str | None, talk_seconds: float) -> tuple[str, float]:
    """A carrier's call answered by an agent, hung up by the carrier after ``talk_seconds``; the
    contact id and the answered length."""

    async def scenario() -> tuple[str, float]:
        carrier, agent = await Phone.open("carrier"), await Phone.open("agent")
        routing = FakeRouting()
        routing.new_contact_answer = replace(connect_to(agent), recording_key=recording_key)
        try:
            async with running_edge(routing, media_relays=((relay.host, relay.ng_port),)) as edge:
                answered = await talk(carrier, agent, edge.address, "100", talk_seconds)
                await asyncio.wait_for(routing.ended.wait(), 5)
                return routing.actions("new_contact")[0][2], answered
        finally:
            carrier.close()
            agent.close()

    return asyncio.run(scenario())


def _collect(collector: RecordingCollector, seconds: float = 5.0) -> list[str]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        stored = collector.collect_once()
        if stored:
            return stored
        time.sleep(0.1)
    return []


def _peak(path: Path, start: float, length: float) -> int:
    """The loudest sample of ``length`` seconds from ``start`` (sox decodes the file)."""
    raw = subprocess.run(
        [
            "sox",
            str(path),
            "-t",
            "raw",
            "-e",
            "signed",
            "-b",
            "16",
            "-L",
            "-",
            "trim",
            str(start),
            str(length),
        ],
        check=True,
        capture_output=True,
    ).stdout
    return max(abs(int.from_bytes(raw[i : i + 2], "little", signed=True)) for i in range(0, len(raw), 2))


def test_a_recorded_call_becomes_a_wav_of_its_answered_length_fetched_through_a_signed_link(
    recording_relay: RelayPorts, spool: Path, tmp_path: Path
) -> None:
    contact_id, answered_seconds = _call(recording_relay, KEY, talk_seconds=3.0)
    files = tmp_path / "recordings"
    collector = RecordingCollector(spool, DirectoryStore(files))

    assert _collect(collector) == [KEY]

    stored = files / KEY
    duration = float(subprocess.run(["soxi", "-D", str(stored)], check=True, capture_output=True).stdout)
    assert abs(duration - answered_seconds) < 0.5, (duration, answered_seconds)
    assert (
        subprocess.run(["soxi", "-r", str(stored)], check=True, capture_output=True).stdout.strip() == b"8000"
    )
    # Both parties' tones are in it, from start to end (each alone peaks near 8,000).
    assert _peak(stored, 0.2, 1.0) > 4000 and _peak(stored, duration - 1.2, 1.0) > 4000
    # The spool is emptied once the file is stored.
    assert not list((spool / "metadata").iterdir()) and not list((spool / "pcaps").iterdir())

    # The record names the recording; the link the API gives for it fetches the file.
    record = ContactRecord(
        contact_id, "voice", "100", "carrier", "m1", "q1", "seat-1", None, 0, 0, 0, 0, 1, None, None, 0,
        recording_key=KEY,
    )  # fmt: skip
    server = serve(0, "http://127.0.0.1:9", recordings=DirectoryStore(files, secret=SECRET))
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        store = DirectoryStore(files, f"http://127.0.0.1:{port}/recordings", SECRET)
        links = RecordingLinks(Records(record), store, lambda: int(time.time() * 1000))
        link = links.link("m1", contact_id, None)
        with urllib.request.urlopen(link.url, timeout=5) as response:
            assert response.headers["Content-Type"] == "audio/wav"
            assert response.read() == stored.read_bytes()
        expired = store.link(KEY, int(time.time()) - 1)
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(expired, timeout=5)
        assert refused.value.code == 403
    finally:
        server.shutdown()
        server.server_close()


def test_a_call_its_queue_does_not_record_leaves_no_file(
    recording_relay: RelayPorts, spool: Path, tmp_path: Path
) -> None:
    _call(recording_relay, None, talk_seconds=1.0)
    files = tmp_path / "recordings"
    collector = RecordingCollector(spool, DirectoryStore(files))

    assert _collect(collector, seconds=1.0) == []
    assert not files.exists()
    assert not list((spool / "metadata").iterdir()) and not list((spool / "pcaps").iterdir())

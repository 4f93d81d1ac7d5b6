"""Beside each media relay: recorded calls, once they end, made into WAV files and stored.

The edge asks the relay to record an answered call (``start recording``) with the recording's key
as the call's metadata. rtpengine, started with ``--recording-dir=<spool>`` (pcap method), writes
the call's packets into ``<spool>/pcaps/`` as it goes and, when the call is deleted at hang-up,
moves its metadata file into ``<spool>/metadata/``: the pcap's path on the first line, our
metadata at the end. The collector polls that directory, turns each finished call into one mixed
WAV (``sip_edge.media.recording``), puts it in the store under its key (a directory locally, S3
with a KMS key in AWS) and removes the spool's files. A file it cannot convert is left in place
and logged, never retried in a loop.

Why pcap and not rtpengine's recording daemon: the daemon reads packets from the kernel module's
``/proc/rtpengine`` interface (``--recording-method=proc``), and the relays here forward in
userspace without that module; the pcap method works in userspace and loses nothing.

Run it beside a relay: ``python -m sip_edge.app.media.recorder --spool DIR`` (the store from
``RECORDINGS_BUCKET`` and ``RECORDINGS_KMS_KEY``, else ``RECORDINGS_DIR``).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import tempfile
from pathlib import Path

from contact_center.contracts.settings import RECORDINGS_BUCKET, RECORDINGS_DIR, RECORDINGS_KMS_KEY
from contact_center.data.recording_store import DirectoryStore, S3Store
from contact_center.domain.recording import is_recording_key
from contact_center.services.recordings import RecordingStore
from sip_edge.media.recording import RecordingFormatError, mixdown, pcap_packets, wav_ulaw

__all__ = ["RecordingCollector", "parse_metadata", "recording_metadata"]

log = logging.getLogger("sip_edge.media")

_MARK = "switchboard-recording:"


def recording_metadata(key: str) -> str:
    """The metadata the edge gives ``start recording``: rtpengine writes it into the call's
    metadata file, where the collector finds the key again."""
    return _MARK + key


def parse_metadata(text: str) -> tuple[Path, str] | None:
    """(pcap path, recording key) of a finished call's metadata file; None when the call is not
    one of ours (recorded without our key)."""
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        return None
    key = next((line[len(_MARK) :].strip() for line in lines if line.startswith(_MARK)), None)
    if key is None or not is_recording_key(key):
        return None
    return Path(lines[0].strip()), key


class RecordingCollector:
    def __init__(self, spool: Path, store: RecordingStore) -> None:
        self.spool = spool
        self._store = store
        self._failed: set[Path] = set()

    def collect_once(self) -> list[str]:
        """Store every finished recording now in the spool; the keys stored."""
        stored = []
        for meta in sorted((self.spool / "metadata").glob("*.txt")):
            if meta in self._failed:
                continue
            found = parse_metadata(meta.read_text(errors="replace"))
            if found is None:
                self._failed.add(meta)
                continue
            pcap, key = found
            try:
                self._store_one(pcap, key)
            except (OSError, RecordingFormatError) as exc:
                log.error("recording %s from %s not stored: %s", key, pcap, exc)
                self._failed.add(meta)
                continue
            pcap.unlink(missing_ok=True)
            meta.unlink(missing_ok=True)
            stored.append(key)
        return stored

    def _store_one(self, pcap: Path, key: str) -> None:
        wav = wav_ulaw(mixdown(list(pcap_packets(pcap.read_bytes()))))
        with tempfile.TemporaryDirectory(prefix="recording-") as folder:
            path = Path(folder) / "call.wav"
            path.write_bytes(wav)
            self._store.put(key, path)
        log.info("recording %s stored (%d bytes)", key, len(wav))

    async def run(self, interval: float = 0.5) -> None:
        while True:
            # Conversion is CPU work of a few ms per minute of call: off the event loop all the same.
            await asyncio.to_thread(self.collect_once)
            await asyncio.sleep(interval)


def store_from_env(environ: dict[str, str] | None = None) -> RecordingStore:
    env = dict(os.environ) if environ is None else environ
    bucket = env.get(RECORDINGS_BUCKET.name, "").strip()
    if bucket:
        return S3Store(bucket, env.get(RECORDINGS_KMS_KEY.name, "").strip() or None)
    return DirectoryStore(Path(env.get(RECORDINGS_DIR.name, "").strip() or "build/recordings"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--spool", required=True, type=Path, help="the relay's --recording-dir")
    parser.add_argument("--interval", type=float, default=0.5)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    asyncio.run(RecordingCollector(args.spool, store_from_env()).run(args.interval))


if __name__ == "__main__":
    main()

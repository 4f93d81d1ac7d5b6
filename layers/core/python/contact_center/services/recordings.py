"""Call recordings: the storage port, and the short-lived link a merchant's admin or supervisor
follows to play one.

Where the files are is an adapter's business (``data.recording_store``): a directory locally, an
S3 bucket encrypted with a KMS key in AWS. The relay side puts a finished recording under its key
(``domain.recording``); the contact record holds that key from the agent's answer on. A link is
asked for a contact: 404 while the contact has no recording (not recorded, or its file is not
stored yet: it is written a moment after the hang-up), else a URL valid for ``LINK_SECONDS``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from contact_center.services.errors import NotFoundError
from contact_center.services.ports import Clock
from contact_center.services.routing.ports import ContactRecord

__all__ = ["LINK_SECONDS", "RecordingLink", "RecordingLinks", "RecordingStore"]

# Long enough to start playing or downloading; short enough that a link pasted elsewhere dies soon.
LINK_SECONDS = 300


class RecordingStore(Protocol):
    def put(self, key: str, path: Path) -> None:
        """Store the file at ``path`` under ``key`` (replacing any file of that key)."""
        ...

    def exists(self, key: str) -> bool: ...

    def link(self, key: str, expires_at: int) -> str:
        """A URL that reads the recording until ``expires_at`` (epoch seconds) and not after."""
        ...


class RecordReader(Protocol):
    def record(self, contact_id: str) -> ContactRecord | None: ...


@dataclass(frozen=True)
class RecordingLink:
    url: str
    expires_at: int  # epoch seconds


class RecordingLinks:
    def __init__(self, records: RecordReader, store: RecordingStore | None, clock: Clock) -> None:
        self._records = records
        self._store = store
        self._clock = clock

    def link(self, merchant_id: str, contact_id: str, allowed_queues: frozenset[str] | None) -> RecordingLink:
        """``allowed_queues``: a supervisor's queues (None: every queue of the merchant). Another
        merchant's contact, or one outside the supervisor's queues, is not found, as elsewhere."""
        record = self._records.record(contact_id)
        if record is None or record.merchant_id != merchant_id:
            raise NotFoundError("contact", contact_id)
        if allowed_queues is not None and record.queue_id not in allowed_queues:
            raise NotFoundError("contact", contact_id)
        key = record.recording_key
        if key is None or self._store is None or not self._store.exists(key):
            raise NotFoundError("recording", contact_id)
        expires_at = self._clock() // 1000 + LINK_SECONDS
        return RecordingLink(self._store.link(key, expires_at), expires_at)

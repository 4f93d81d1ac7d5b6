"""The link to a recorded call: only for the merchant's own contact, a supervisor's only within its
queues, and only once the file is stored."""

from __future__ import annotations

from pathlib import Path

import pytest

from contact_center.services.errors import NotFoundError
from contact_center.services.recordings import LINK_SECONDS, RecordingLinks
from contact_center.services.routing.ports import ContactRecord

NOW_MS = 1_800_000_000_000


def _record(contact_id: str, key: str | None, queue_id: str = "q1") -> ContactRecord:
    return ContactRecord(
        contact_id=contact_id, channel="voice", called="+1", caller="+2", merchant_id="m1", queue_id=queue_id,
        seat_id="a1", trunk_id=None, created_at_ms=0, enqueued_at_ms=0, offered_at_ms=0, answered_at_ms=0,
        ended_at_ms=1, hangup_side=None, hangup_cause=None, rona_attempts=0, recording_key=key,
    )  # fmt: skip


class Records:
    def __init__(self, *records: ContactRecord) -> None:
        self._by_id = {r.contact_id: r for r in records}

    def record(self, contact_id: str) -> ContactRecord | None:
        return self._by_id.get(contact_id)


class MemoryStore:
    def __init__(self, *keys: str) -> None:
        self.keys = set(keys)

    def put(self, key: str, path: Path) -> None:
        self.keys.add(key)

    def exists(self, key: str) -> bool:
        return key in self.keys

    def link(self, key: str, expires_at: int) -> str:
        return f"https://recordings.test/{key}?until={expires_at}"


def _links(store: MemoryStore | None = None) -> RecordingLinks:
    records = Records(_record("c1", "m1/c1.wav"), _record("c2", None), _record("c3", "m1/c3.wav", "q2"))
    return RecordingLinks(
        records, store if store is not None else MemoryStore("m1/c1.wav", "m1/c3.wav"), lambda: NOW_MS
    )


def test_a_stored_recording_gets_a_link_that_expires_in_five_minutes() -> None:
    link = _links().link("m1", "c1", None)
    assert link.expires_at == NOW_MS // 1000 + LINK_SECONDS
    assert link.url == f"https://recordings.test/m1/c1.wav?until={link.expires_at}"


@pytest.mark.parametrize(
    ("merchant_id", "contact_id", "queues"),
    [
        ("m1", "c2", None),  # not recorded
        ("m1", "c-none", None),  # no such contact
        ("m2", "c1", None),  # another merchant's
        ("m1", "c3", frozenset({"q1"})),  # outside the supervisor's queues
    ],
)
def test_no_link_is_not_found(merchant_id: str, contact_id: str, queues: frozenset[str] | None) -> None:
    with pytest.raises(NotFoundError):
        _links().link(merchant_id, contact_id, queues)


def test_a_recording_not_stored_yet_is_not_found() -> None:
    with pytest.raises(NotFoundError):
        _links(MemoryStore()).link("m1", "c1", None)


def test_a_supervisor_of_the_queue_gets_the_link() -> None:
    assert _links().link("m1", "c3", frozenset({"q2"})).url.startswith("https://recordings.test/m1/c3.wav")

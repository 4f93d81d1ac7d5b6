"""A queued caller's place and expected wait, as the router reads them for the Queue decision."""

from __future__ import annotations

from dataclasses import dataclass, field

from contact_center.domain.contact import Channel, ContactSnapshot, Enqueue, apply_contact
from contact_center.services.routing.outlook import ANSWERS_FRESH_MS, POSITION_LOOKAHEAD, QueueOutlook
from contact_center.services.routing.ports import LiveContact

NOW = 1_790_000_000_000


def _queued(contact_id: str) -> LiveContact:
    queued = apply_contact(ContactSnapshot.new(contact_id, Channel.VOICE, NOW), Enqueue("q1", 5), NOW)
    return LiveContact(queued.contact, "+15550100", "+4930123", "m1", "edge-1")


@dataclass
class Contacts:
    """The two reads the outlook makes, counted."""

    heads: list[LiveContact]
    answers: list[int] = field(default_factory=list)
    answer_reads: int = 0

    def queue_heads(self, queue_id: str, limit: int) -> list[LiveContact]:
        return self.heads[:limit]

    def recent_answers(self, queue_id: str, since_ms: int, now_ms: int) -> list[int]:
        self.answer_reads += 1
        return [t for t in self.answers if since_ms <= t <= now_ms]


def test_the_place_is_read_from_the_queue_s_index_and_a_caller_not_shown_yet_is_last() -> None:
    contacts = Contacts([_queued("a"), _queued("b"), _queued("c")])
    outlook = QueueOutlook(contacts)  # type: ignore[arg-type]  # the two reads it makes
    assert outlook.of(_queued("b"), "q1", NOW) == (2, None)
    assert outlook.of(_queued("new"), "q1", NOW) == (4, None)  # the index lags its listing
    deep = Contacts([_queued(f"c{i}") for i in range(POSITION_LOOKAHEAD)])
    assert QueueOutlook(deep).of(_queued("far"), "q1", NOW) == (None, None)  # type: ignore[arg-type]


def test_the_queue_s_answer_times_are_read_once_for_a_burst_of_callers() -> None:
    # One answer a minute over the last three minutes.
    contacts = Contacts([_queued("a"), _queued("b")], answers=[NOW - 180_000, NOW - 120_000, NOW - 60_000])
    outlook = QueueOutlook(contacts)  # type: ignore[arg-type]
    assert outlook.of(_queued("a"), "q1", NOW) == (1, 60)
    assert outlook.of(_queued("b"), "q1", NOW + 1000) == (2, 121)
    assert contacts.answer_reads == 1
    outlook.of(_queued("b"), "q1", NOW + ANSWERS_FRESH_MS)
    assert contacts.answer_reads == 2

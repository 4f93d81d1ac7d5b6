"""What a queued caller is told: its place in the queue and its expected wait.

The place is read from the queue's index (the contacts ahead of it in service order, up to
``POSITION_LOOKAHEAD``; further back nothing is said). The expected wait comes from the answer times
of the queue's recent contacts (`contact_center.domain.wait_estimate`, the method in its docstring):
only calls that have ended are read, so a call answered and still talking counts once it ends.
Those answer times cost a range read of the records index (one request per index shard and day),
so a router keeps a queue's for ``ANSWERS_FRESH_MS``: the callers queued in a burst share one read.
"""

from __future__ import annotations

from contact_center.domain.wait_estimate import WINDOW_MS, estimated_wait_seconds

from .ports import LiveContact, LiveContacts

__all__ = ["ANSWERS_FRESH_MS", "POSITION_LOOKAHEAD", "QueueOutlook"]

# Beyond this place a caller hears only the expected wait: counting further costs a longer read on
# every queued decision for a number nobody wants to hear.
POSITION_LOOKAHEAD = 50
ANSWERS_FRESH_MS = 10_000


class QueueOutlook:
    def __init__(self, contacts: LiveContacts) -> None:
        self._contacts = contacts
        self._answers: dict[str, tuple[int, list[int]]] = {}  # queue id -> (read at, answer times)

    def of(self, contact: LiveContact, queue_id: str, now_ms: int) -> tuple[int | None, int | None]:
        """(position, expected wait in seconds) of a queued ``contact``; either None when unknown."""
        ids = [head.contact_id for head in self._contacts.queue_heads(queue_id, POSITION_LOOKAHEAD)]
        if contact.contact_id in ids:
            position: int | None = ids.index(contact.contact_id) + 1
        elif len(ids) < POSITION_LOOKAHEAD:
            # Just listed, and the index (eventually consistent) does not show it yet: a new contact
            # joins behind everyone waiting.
            position = len(ids) + 1
        else:
            position = None
        wait = estimated_wait_seconds(
            position or POSITION_LOOKAHEAD + 1, self._recent(queue_id, now_ms), now_ms
        )
        return position, wait

    def _recent(self, queue_id: str, now_ms: int) -> list[int]:
        cached = self._answers.get(queue_id)
        if cached is not None and 0 <= now_ms - cached[0] < ANSWERS_FRESH_MS:
            return cached[1]
        answers = self._contacts.recent_answers(queue_id, now_ms - WINDOW_MS, now_ms)
        self._answers[queue_id] = (now_ms, answers)
        return answers

"""What a queued caller is told: its place in the queue and its expected wait.

The place is read from the queue's index (the contacts ahead of it in service order, up to
``POSITION_LOOKAHEAD``; further back nothing is said). The expected wait comes from the answer times
of the queue's recent contacts (`contact_center.domain.wait_estimate`, the method in its docstring):
only calls that have ended are read, so a call answered and still talking counts once it ends.
"""

from __future__ import annotations

from contact_center.domain.wait_estimate import WINDOW_MS, estimated_wait_seconds

from .ports import LiveContact, LiveContacts

__all__ = ["POSITION_LOOKAHEAD", "queue_outlook"]

# Beyond this place a caller hears only the expected wait: counting further costs a longer read on
# every queued decision for a number nobody wants to hear.
POSITION_LOOKAHEAD = 50


def queue_outlook(
    contacts: LiveContacts, contact: LiveContact, queue_id: str, now_ms: int
) -> tuple[int | None, int | None]:
    """(position, expected wait in seconds) of a queued ``contact``; either None when unknown."""
    heads = contacts.queue_heads(queue_id, POSITION_LOOKAHEAD)
    ids = [head.contact_id for head in heads]
    if contact.contact_id in ids:
        position: int | None = ids.index(contact.contact_id) + 1
    elif len(ids) < POSITION_LOOKAHEAD:
        # Just listed, and the index (eventually consistent) does not show it yet: a new contact
        # joins behind everyone waiting.
        position = len(ids) + 1
    else:
        position = None
    answers = contacts.recent_answers(queue_id, now_ms - WINDOW_MS, now_ms)
    wait = estimated_wait_seconds(position or POSITION_LOOKAHEAD + 1, answers, now_ms)
    return position, wait

"""The availability index: who is free for a queue, longest idle first, in the queue's own partition.

A seat serving several queues is one item, and an index partition per merchant would make the router
read past every other queue's idle agents to find this queue's (with 100 agents of queue B idle
longer than queue A's only free one, A's caller was never offered). So an AVAILABLE seat has one
entry per queue it serves (``SeatQueueItem``: key ``SEATQUEUES#{mid}#{sid}`` / ``QUEUE#{qid}``,
gsi1 ``AVAILABLE#{mid}#{qid}`` / ``{idle}#{sid}``), carrying the seat as the router reads it. The
best eligible agent for a queue is then the head of one Query, whatever the other queues hold.

Invariant: the entries exist exactly while the seat is AVAILABLE, for the queues its profile names at
its version. Every write that moves a seat into or out of AVAILABLE stages them in its own
transaction (``stage``), conditioned on the seat's version; a profile change bumps the version, so a
state change computed from the profile before it fails and is computed again.
"""

from __future__ import annotations

from collections.abc import Iterable

from pynamodb.exceptions import DoesNotExist
from pynamodb.transactions import TransactWrite

from contact_center.data import keys
from contact_center.data.mappers.common import as_dict
from contact_center.data.models import SeatItem, SeatQueueItem, items_of
from contact_center.data.seat_state import SeatState
from contact_center.domain.agent_state import AgentState
from contact_center.services.errors import ConcurrentUpdateError

AVAILABLE = AgentState.AVAILABLE.value


def entry_ref(merchant_id: str, seat_id: str, queue_id: str) -> SeatQueueItem:
    return SeatQueueItem(pk=keys.seat_queue_pk(merchant_id, seat_id), sk=keys.seat_queue_sk(queue_id))


def entries(seat: SeatItem, after: SeatState) -> list[SeatQueueItem]:
    """The entries of ``seat`` (its profile as read or about to be written) once in ``after``."""
    if after.state != AVAILABLE:
        return []
    served = {queue_id: int(priority) for queue_id, priority in as_dict(seat.queues).items()}
    idle = after.idle_since if after.idle_since is not None else after.state_since
    return [
        SeatQueueItem(
            pk=keys.seat_queue_pk(seat.merchant_id, seat.seat_id),
            sk=keys.seat_queue_sk(queue_id),
            gsi1pk=keys.queue_available_index_pk(seat.merchant_id, queue_id),
            gsi1sk=keys.available_index_sk(idle, seat.seat_id),
            merchant_id=seat.merchant_id,
            seat_id=seat.seat_id,
            queue_id=queue_id,
            skills=as_dict(seat.skills),
            queues=served,
            sip_username=seat.sip_username,
            state=after.state,
            state_reason=after.reason,
            state_since=after.state_since,
            idle_since=after.idle_since,
            ring_timeout_seconds=seat.ring_timeout_seconds,
            version=after.version,
        )
        for queue_id in sorted(served)
    ]


def entries_on_release(
    merchant_id: str,
    seat_id: str,
    state: str,
    version: int,
    after: SeatState,
    profile: SeatItem | None = None,
) -> list[SeatQueueItem]:
    """The entries of a seat released (from ``state`` at ``version``) into ``after``, from its profile
    at that version: ``profile`` when the releaser read it, else read here. ConcurrentUpdateError
    when the seat is no longer so (the release's own condition would fail)."""
    if after.state != AVAILABLE:
        return []
    if profile is not None:
        # Read by the releaser at ``version``; the release's condition on that version holds it.
        return entries(profile, after)
    try:
        current = SeatItem.get(
            keys.seat_pk(merchant_id, seat_id), keys.seat_sk(seat_id), consistent_read=True
        )
    except DoesNotExist as exc:
        raise ConcurrentUpdateError("seat", seat_id, "no longer exists") from exc
    if int(current.version) != version or current.state != state:
        raise ConcurrentUpdateError("seat", seat_id, "no longer holds the contact")
    return entries(current, after)


def stage(
    tx: TransactWrite,
    merchant_id: str,
    seat_id: str,
    listed_queues: Iterable[str],
    new_entries: list[SeatQueueItem],
) -> None:
    """Replace the seat's entries (those of ``listed_queues``, which exist) with ``new_entries``."""
    kept = {str(entry.queue_id) for entry in new_entries}
    for entry in new_entries:
        tx.save(entry)
    for queue_id in sorted(set(listed_queues) - kept):
        tx.delete(entry_ref(merchant_id, seat_id, queue_id))


def listed_queues(seat: SeatItem) -> list[str]:
    """The queues ``seat`` (as read) has entries for: those it serves, while it is AVAILABLE."""
    return served_queues(seat) if seat.state == AVAILABLE else []


def served_queues(seat: SeatItem) -> list[str]:
    return sorted(as_dict(seat.queues))


def unlisted_seats(merchant_id: str) -> list[SeatItem]:
    """AVAILABLE seats written before the per-queue index: still in the per-merchant one, and in none
    of their queues' (a table from before this index; empty once they are relisted)."""
    return items_of(SeatItem, SeatItem.gsi1.query(keys.legacy_available_index_pk(merchant_id)))


def available_for_queue(merchant_id: str, queue_id: str, limit: int | None) -> list[SeatQueueItem]:
    """AVAILABLE seats serving the queue, longest idle first (a GSI: eventually consistent)."""
    return items_of(
        SeatQueueItem,
        SeatQueueItem.gsi1.query(keys.queue_available_index_pk(merchant_id, queue_id), limit=limit),
    )

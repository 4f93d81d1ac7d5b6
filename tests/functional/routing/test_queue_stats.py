"""A queue's daily figures as the wallboard reads them, after real routing over moto.

Every caller counted "offered" in a queue leaves it answered, abandoned (the caller hung up while
waiting) or timed out (the queue gave up at max wait): a caller rejected or forwarded at max wait
is not an abandon, as in Amazon Connect's "contacts abandoned", and is not lost from the figures.
"""

from __future__ import annotations

from contact_center.data.repositories.catalog import QueueRepository
from contact_center.data.repositories.contacts import QueueActivityRepository
from contact_center.data.repositories.seats import SeatRepository
from contact_center.domain.contact import HangupCause, HangupSide
from contact_center.services.records import QueueStats
from contact_center.services.routing.decisions import Forward, Reject
from contact_center.services.stats import QueueStatsService

from .conftest import EDGE, NOW, World


def stats(queue_id: str, at: int) -> QueueStats:
    service = QueueStatsService(
        QueueRepository(),
        SeatRepository(),
        QueueActivityRepository(),
        lambda: at,
    )
    return service.queue_stats("m1", queue_id)


def test_a_caller_rejected_at_max_wait_is_counted_timed_out(world: World) -> None:
    world.queue("q1", max_wait=10)
    world.number()
    world.service.new_contact("+15550100", "+4930123", EDGE, "c1", NOW)
    assert isinstance(world.service.queue_timeout("c1", NOW + 10_000), Reject)
    figures = stats("q1", NOW + 11_000)
    assert (figures.offered, figures.answered, figures.abandoned, figures.timed_out) == (1, 0, 0, 1)


def test_a_caller_forwarded_to_the_legacy_trunk_at_max_wait_is_counted_timed_out(world: World) -> None:
    world.queue("q1", max_wait=10, overflow={"type": "legacy_trunk", "target": "legacy-pbx"})
    world.number()
    world.service.new_contact("+15550100", "+4930123", EDGE, "c1", NOW)
    assert world.service.queue_timeout("c1", NOW + 10_000) == Forward("c1", "legacy-pbx")
    world.service.contact_ended("c1", HangupSide.CUSTOMER, HangupCause.NORMAL_CLEARING, NOW + 70_000)
    figures = stats("q1", NOW + 71_000)
    assert (figures.offered, figures.answered, figures.abandoned, figures.timed_out) == (1, 0, 0, 1)

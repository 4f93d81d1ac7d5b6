"""One reading per item kind: the API's repositories and the router's read a stored item alike.

The mappers are pure (items built in memory); the last test reads through both repositories.
"""

from __future__ import annotations

from typing import Any

import pytest

from contact_center.data import keys
from contact_center.data.mappers.catalog import queue_config_from_item, queue_from_item
from contact_center.data.mappers.seats import agent_seat_from_item, seat_from_item
from contact_center.data.models import QueueItem, SeatItem
from contact_center.data.repositories.catalog import QueueRepository, RoutingCatalogRepository
from contact_center.domain.agent_state import AgentState
from contact_center.domain.queueing import Overflow, OverflowKind
from contact_center.domain.validation import DEFAULT_RING_TIMEOUT_SECONDS


def queue(**attributes: Any) -> QueueItem:
    return QueueItem(
        pk=keys.merchant_pk("m1"),
        sk=keys.queue_sk("q1"),
        merchant_id="m1",
        queue_id="q1",
        name="Support",
        created_at=1,
        **attributes,
    )


def seat(**attributes: Any) -> SeatItem:
    values: dict[str, Any] = {
        "pk": keys.merchant_pk("m1"),
        "sk": keys.seat_sk("s1"),
        "merchant_id": "m1",
        "seat_id": "s1",
        "display_name": "Ada",
        "sip_username": "ada",
        "version": 3,
        "created_at": 1,
        **attributes,
    }
    return SeatItem(**values)


@pytest.mark.parametrize(
    ("stored", "read"),
    [
        ({"type": "legacy_trunk", "target": "pbx"}, Overflow(OverflowKind.LEGACY_TRUNK, "pbx")),
        # The model's comment once spelled the legacy trunk "legacy", and older items say "kind".
        ({"type": "legacy", "target": "pbx"}, Overflow(OverflowKind.LEGACY_TRUNK, "pbx")),
        ({"kind": "queue", "target": "q2"}, Overflow(OverflowKind.QUEUE, "q2")),
        (None, None),
    ],
    ids=["current", "legacy-spelling", "kind-key", "none"],
)
def test_an_overflow_reads_the_same_for_the_api_and_the_router(
    stored: dict[str, str] | None, read: Overflow | None
) -> None:
    item = queue(overflow=stored)
    assert queue_from_item(item).overflow == read
    assert queue_config_from_item(item).overflow == read


@pytest.mark.parametrize("stored", ["available", "AVAILABLE"])
def test_an_agent_state_reads_by_value_or_by_name(stored: str) -> None:
    item = seat(state=stored)
    assert seat_from_item(item).agent.state is AgentState.AVAILABLE
    assert agent_seat_from_item(item).agent.state is AgentState.AVAILABLE


@pytest.mark.parametrize(
    ("stored", "rings"),
    [
        (None, DEFAULT_RING_TIMEOUT_SECONDS),
        (0, DEFAULT_RING_TIMEOUT_SECONDS),
        (500, DEFAULT_RING_TIMEOUT_SECONDS),
        (45, 45),
    ],
    ids=["missing", "zero", "out-of-bounds", "set"],
)
def test_the_api_shows_the_ring_timeout_the_router_rings_for(stored: int | None, rings: int) -> None:
    item = seat(ring_timeout_seconds=stored)
    assert seat_from_item(item).ring_timeout_seconds == rings
    assert agent_seat_from_item(item).ring_timeout_seconds == rings


def test_a_queue_without_a_wrap_up_time_has_none_for_both() -> None:
    item = queue(wrap_up_seconds=None)
    assert queue_from_item(item).wrap_up_seconds == 0
    assert queue_config_from_item(item).wrap_up_seconds == 0


def test_a_stored_legacy_overflow_is_readable_through_both_repositories(moto_table: str) -> None:
    # Given a queue stored with the old spelling of the legacy trunk
    queue(overflow={"type": "legacy", "target": "pbx"}).save()
    # Then the API reads it (it used to fail on the spelling) and the router reads the same
    expected = Overflow(OverflowKind.LEGACY_TRUNK, "pbx")
    assert QueueRepository().get("m1", "q1").overflow == expected
    routed = RoutingCatalogRepository().queue("m1", "q1")
    assert routed is not None and routed.config.overflow == expected

"""The router's short cache of queues and numbers: how stale it may be, and what makes it forget."""

from __future__ import annotations

from collections.abc import Callable

from contact_center.data import table
from contact_center.data.catalog import CatalogCache, NumberItems, QueueItems
from contact_center.data.models import NumberItem, QueueItem
from contact_center.data.repositories.catalog import RoutingCatalogRepository

NOW_MS = 1_790_000_000_000


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def loader(values: list[str]) -> Callable[[], str]:
    def load() -> str:
        values.append(f"v{len(values) + 1}")
        return values[-1]

    return load


def test_an_entry_is_served_until_its_ttl_then_read_again() -> None:
    clock = Clock()
    cache = CatalogCache(ttl_seconds=5, clock=clock)
    reads: list[str] = []
    assert cache.get("k", loader(reads)) == "v1"
    clock.now += 4.9
    assert cache.get("k", loader(reads)) == "v1"
    clock.now += 0.2
    assert cache.get("k", loader(reads)) == "v2"
    cache.invalidate("k")
    assert cache.get("k", loader(reads)) == "v3"


def test_a_read_racing_an_invalidation_is_not_kept() -> None:
    cache = CatalogCache(ttl_seconds=5, clock=Clock())

    def read_then_someone_writes() -> str:
        cache.invalidate("k")  # a write lands while the read is in flight
        return "old"

    assert cache.get("k", read_then_someone_writes) == "old"
    assert cache.get("k", lambda: "new") == "new"


def test_entries_are_per_table() -> None:
    cache = CatalogCache(ttl_seconds=5, clock=Clock())
    saved = table.BINDING.table_name
    try:
        table.BINDING.table_name = "one"
        assert cache.get("k", lambda: "from one") == "from one"
        table.BINDING.table_name = "two"
        assert cache.get("k", lambda: "from two") == "from two"
    finally:
        table.BINDING.table_name = saved


def test_writes_through_the_repositories_invalidate_the_router_s_view(moto_table: str) -> None:
    catalog = RoutingCatalogRepository()  # the process's cache, which the repositories invalidate
    assert catalog.number("+15550100") is None  # a miss is cached too
    QueueItems().create(QueueItem(merchant_id="m1", queue_id="q1", name="Sales", created_at=NOW_MS))
    NumberItems().create(NumberItem(number="+15550100", merchant_id="m1", queue_id="q1", created_at=NOW_MS))
    route = catalog.number("+15550100")
    assert route is not None and route.queue_id == "q1"
    queue = catalog.queue("m1", "q1")
    assert queue is not None and queue.config.wrap_up_seconds == 0
    QueueItems().update("m1", "q1", {"wrap_up_seconds": 20})
    queue = catalog.queue("m1", "q1")
    assert queue is not None and queue.config.wrap_up_seconds == 20
    # The round-robin cursor this process moves is written through to its cached queue.
    catalog.set_round_robin_cursor("m1", "q1", "s7")
    queue = catalog.queue("m1", "q1")
    assert queue is not None and queue.round_robin_cursor == "s7"
    NumberItems().delete("m1", "+15550100")
    QueueItems().delete("m1", "q1")
    assert catalog.number("+15550100") is None and catalog.queue("m1", "q1") is None

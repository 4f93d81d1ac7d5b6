"""Queues, numbers and trunks: as the API manages them (``services.ports``) and as the router
reads them (``services.routing.ports.RoutingCatalog``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from pynamodb.exceptions import UpdateError

from contact_center.data import keys
from contact_center.data.catalog import (
    ROUTING_CACHE,
    CatalogCache,
    NumberItems,
    QueueItems,
    TrunkItems,
    number_cache_key,
    queue_cache_key,
)
from contact_center.data.conditions import is_condition_failure
from contact_center.data.mappers.catalog import (
    TRUNK_CLEARED_ATTRIBUTES,
    audit_from_item,
    number_from_item,
    number_item,
    number_route_from_item,
    queue_attributes,
    queue_config_from_item,
    queue_from_item,
    queue_item,
    trunk_attributes,
    trunk_from_item,
    trunk_item,
)
from contact_center.data.merchants import MerchantItems
from contact_center.data.migration import NumberModeItems
from contact_center.data.models import QueueItem
from contact_center.data.prompts import PromptRepository
from contact_center.data.repositories.paging import mapped_page
from contact_center.domain.menus import Menu
from contact_center.domain.migration import NumberRouting
from contact_center.domain.prompts import PromptFile, QueuePrompts
from contact_center.domain.queueing import QueueMedia
from contact_center.domain.trunks import OutboundAuth
from contact_center.services import records
from contact_center.services.errors import NotFoundError
from contact_center.services.routing.ports import NumberRoute, RoutingQueue
from contact_center.services.trunk_commands import UpdateTrunk

MERCHANT_PAGE = 500  # merchants listed per read by the sweep


class QueueRepository:
    def __init__(self) -> None:
        self._items = QueueItems()

    def create(self, queue: records.Queue) -> None:
        self._items.create(queue_item(queue))

    def get(self, merchant_id: str, queue_id: str) -> records.Queue:
        return queue_from_item(self._items.get(merchant_id, queue_id))

    def page(self, merchant_id: str, limit: int, next_token: str | None) -> records.Page[records.Queue]:
        return mapped_page(
            lambda token: self._items.page(merchant_id, limit, token),
            queue_from_item,
            next_token,
            ("pk", keys.merchant_pk(merchant_id)),
        )

    def replace(self, queue: records.Queue) -> None:
        self._items.update(queue.merchant_id, queue.queue_id, queue_attributes(queue))

    def delete(self, merchant_id: str, queue_id: str) -> None:
        self._items.delete(merchant_id, queue_id)


class NumberRepository:
    def __init__(self) -> None:
        self._items = NumberItems()
        self._modes = NumberModeItems()

    def create(self, number: records.PhoneNumber) -> None:
        self._items.create(number_item(number))

    def page(self, merchant_id: str, limit: int, next_token: str | None) -> records.Page[records.PhoneNumber]:
        return mapped_page(
            lambda token: self._items.page(merchant_id, limit, token),
            number_from_item,
            next_token,
            ("gsi1pk", keys.merchant_numbers_index_pk(merchant_id)),
        )

    def delete(self, merchant_id: str, number: str) -> None:
        self._items.delete(merchant_id, number)

    def set_menu(self, merchant_id: str, number: str, menu: Menu | None) -> None:
        self._items.set_menu(merchant_id, number, menu)

    def routing_of(self, merchant_id: str, number: str) -> tuple[NumberRouting, int]:
        return self._modes.routing_of(merchant_id, number)

    def apply(
        self, audit: records.NumberAudit, versions: Mapping[str, int], check_targets: bool = True
    ) -> None:
        self._modes.apply(audit, versions, check_targets)

    def audit_page(
        self, merchant_id: str, limit: int, next_token: str | None
    ) -> records.Page[records.NumberAudit]:
        return mapped_page(
            lambda token: self._modes.audit_page(merchant_id, limit, token),
            audit_from_item,
            next_token,
            ("pk", keys.number_audit_pk(merchant_id)),
        )


class TrunkRepository:
    def __init__(self) -> None:
        self._items = TrunkItems()

    def create(self, trunk: records.Trunk) -> None:
        self._items.create(trunk_item(trunk))

    def get(self, trunk_id: str, owner: str | None) -> records.Trunk:
        return trunk_from_item(self._items.get(trunk_id, owner))

    def update(
        self, trunk_id: str, owner: str | None, change: UpdateTrunk, auth: OutboundAuth | None
    ) -> records.Trunk:
        fields = trunk_attributes(change.address, change.max_concurrent_calls, change.caller_id_rules, auth)
        if change.name is not None:
            fields["name"] = change.name
        if change.source_cidrs is not None:
            fields["source_cidrs"] = list(change.source_cidrs)
        if change.legacy is not None:
            fields["legacy"] = change.legacy
        removed = [
            attribute
            for name in change.cleared
            for attribute in TRUNK_CLEARED_ATTRIBUTES[name]
            if attribute not in fields
        ]
        self._items.update(trunk_id, owner, fields, removed)
        return trunk_from_item(self._items.get(trunk_id, owner))

    def delete(self, trunk_id: str, owner: str | None) -> None:
        self._items.delete(trunk_id, owner)

    def page(self, limit: int, next_token: str | None) -> records.Page[records.Trunk]:
        return mapped_page(
            lambda token: self._items.page(limit, token),
            trunk_from_item,
            next_token,
            ("gsi1pk", keys.TRUNKS_INDEX_PK),
        )

    def page_for_merchant(
        self, merchant_id: str, limit: int, next_token: str | None
    ) -> records.Page[records.Trunk]:
        return mapped_page(
            lambda token: self._items.page_for_merchant(merchant_id, limit, token),
            trunk_from_item,
            next_token,
            ("gsi2pk", keys.merchant_trunks_index_pk(merchant_id)),
        )


class RoutingCatalogRepository:
    """Numbers and queues as the router reads them: through a short in-process cache.

    Every routed call reads its number and queue, and its offer result and end read the queue again;
    ``CatalogCache`` says how stale an entry may be (seconds, and never after a write made by this
    process). The round-robin cursor is cached with its queue: this process's own moves are written
    through to the cache, another process's are seen within the cache's TTL — the cursor only spreads
    work, and every offer is still an atomic claim on the seat.
    """

    def __init__(self, cache: CatalogCache = ROUTING_CACHE) -> None:
        self._numbers = NumberItems()
        self._queues = QueueItems()
        self._merchants = MerchantItems()
        self._prompts = PromptRepository()
        self._cache = cache

    def number(self, number: str) -> NumberRoute | None:
        return self._cache.get(number_cache_key(number), lambda: self._read_number(number))

    def queue(self, merchant_id: str, queue_id: str) -> RoutingQueue | None:
        return self._cache.get(
            queue_cache_key(merchant_id, queue_id), lambda: self._read_queue(merchant_id, queue_id)
        )

    def _read_number(self, number: str) -> NumberRoute | None:
        item = self._numbers.get(number)
        return number_route_from_item(item) if item is not None else None

    def _read_queue(self, merchant_id: str, queue_id: str) -> RoutingQueue | None:
        try:
            item = self._queues.get(merchant_id, queue_id)
        except NotFoundError:
            return None
        config = queue_config_from_item(item)
        return RoutingQueue(
            merchant_id, config, item.rr_cursor, self._prompt_files(merchant_id, config.media)
        )

    def _prompt_files(self, merchant_id: str, media: QueueMedia) -> QueuePrompts:
        """The stored versions of the uploaded prompts the queue names, cached with the queue (a
        replaced prompt is heard within the cache's TTL); a prompt gone plays the default."""

        def file(name: str | None) -> PromptFile | None:
            prompt = self._prompts.find(merchant_id, name) if name is not None else None
            return PromptFile(prompt.key, prompt.sha256) if prompt is not None else None

        return QueuePrompts(file(media.greeting_prompt), file(media.music_prompt))

    def merchant_ids(self) -> list[str]:
        ids: list[str] = []
        token: str | None = None
        while True:
            page = self._merchants.page(MERCHANT_PAGE, token)
            ids += [str(item.merchant_id) for item in page.items]
            if page.next_token is None:
                return ids
            token = page.next_token

    def set_round_robin_cursor(self, merchant_id: str, queue_id: str, seat_id: str) -> None:
        queue = QueueItem(pk=keys.merchant_pk(merchant_id), sk=keys.queue_sk(queue_id))
        try:
            # Invariant: the cursor never re-creates a deleted queue. No version bump: the cursor
            # is not configuration, and bumping would fail an admin's concurrent edit for nothing.
            queue.update(actions=[QueueItem.rr_cursor.set(seat_id)], condition=QueueItem.pk.exists())
        except UpdateError as exc:
            if not is_condition_failure(exc):
                raise
            self._cache.invalidate(queue_cache_key(merchant_id, queue_id))  # the queue is gone
            return
        self._cache.replace(
            queue_cache_key(merchant_id, queue_id),
            lambda cached: replace(cached, round_robin_cursor=seat_id) if cached is not None else None,
        )

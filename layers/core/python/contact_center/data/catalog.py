"""A merchant's routing catalogue: queues, phone numbers (DIDs) and the platform's SIP trunks."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable, Sequence
from typing import Any, TypeVar

from pynamodb.exceptions import DeleteError, DoesNotExist, TransactWriteError, UpdateError

from contact_center.data import keys
from contact_center.data.conditions import is_condition_failure
from contact_center.data.mappers.catalog import menu_map, menu_queue_ids
from contact_center.data.models import NumberItem, QueueItem, TrunkItem, items_of
from contact_center.data.pagination import Page, decode_token, encode_token
from contact_center.data.table import BINDING
from contact_center.data.transactions import failed_keys, key_of, transaction
from contact_center.domain.menus import Menu
from contact_center.services.errors import AlreadyExistsError, InUseError, NotFoundError

T = TypeVar("T")

# How long the router may use a queue's or a number's configuration without reading it again.
CATALOG_CACHE_TTL_SECONDS = 5.0


class CatalogCache:
    """A short in-process cache of routing configuration (queues and numbers), read on every call.

    Staleness, by design: a change made through this process's repositories is seen at once (they
    invalidate the entry); a change made by another process (another Lambda instance of the API) is
    seen by this one within ``ttl_seconds``. Routing on a queue configuration a few seconds old is
    harmless — no invariant depends on it: every claim on a seat or a contact is still a conditional
    write on the item itself. Entries are keyed by table too, so rebinding the models never serves
    another table's items. Misses (an unknown number) are cached the same way.
    """

    def __init__(
        self, ttl_seconds: float = CATALOG_CACHE_TTL_SECONDS, clock: Callable[[], float] = time.monotonic
    ):
        self._ttl = ttl_seconds
        self._clock = clock
        self._entries: dict[tuple[str, Hashable], tuple[float, Any]] = {}
        self._lock = threading.Lock()
        # Bumped by every invalidation, so a read that started before a write does not store
        # the value it read after the write has invalidated the entry.
        self._generation = 0

    def get(self, key: Hashable, load: Callable[[], T]) -> T:
        """The cached value of ``key``, or ``load()`` (outside the lock: a slow read blocks nobody)."""
        full_key = (BINDING.table_name, key)
        now = self._clock()
        with self._lock:
            entry = self._entries.get(full_key)
            generation = self._generation
        if entry is not None and entry[0] > now:
            value: T = entry[1]
            return value
        value = load()
        with self._lock:
            if generation == self._generation:
                self._entries[full_key] = (now + self._ttl, value)
        return value

    def replace(self, key: Hashable, change: Callable[[Any], Any]) -> None:
        """Apply ``change`` to a cached value in place of reading it again (a write this process made)."""
        full_key = (BINDING.table_name, key)
        with self._lock:
            entry = self._entries.get(full_key)
            if entry is not None:
                self._entries[full_key] = (entry[0], change(entry[1]))

    def invalidate(self, key: Hashable) -> None:
        with self._lock:
            self._generation += 1
            self._entries.pop((BINDING.table_name, key), None)

    def clear(self) -> None:
        with self._lock:
            self._generation += 1
            self._entries.clear()


ROUTING_CACHE = CatalogCache()


def queue_cache_key(merchant_id: str, queue_id: str) -> tuple[str, str, str]:
    return ("queue", merchant_id, queue_id)


def number_cache_key(number: str) -> tuple[str, str]:
    return ("number", number)


class QueueItems:
    def create(self, queue: QueueItem) -> None:
        queue.pk = keys.merchant_pk(queue.merchant_id)
        queue.sk = keys.queue_sk(queue.queue_id)
        try:
            # Invariant: queue ids are never reused within a merchant.
            queue.save(condition=QueueItem.pk.does_not_exist())
        except Exception as exc:
            if is_condition_failure(exc):
                raise AlreadyExistsError("queue", queue.queue_id) from exc
            raise
        finally:
            ROUTING_CACHE.invalidate(queue_cache_key(queue.merchant_id, queue.queue_id))

    def get(self, merchant_id: str, queue_id: str) -> QueueItem:
        try:
            return QueueItem.get(keys.merchant_pk(merchant_id), keys.queue_sk(queue_id))
        except DoesNotExist as exc:
            raise NotFoundError("queue", queue_id) from exc

    def page(self, merchant_id: str, limit: int, next_token: str | None) -> Page[QueueItem]:
        result = QueueItem.query(
            keys.merchant_pk(merchant_id),
            QueueItem.sk.startswith(keys.QUEUE_SK_PREFIX),
            limit=limit,
            last_evaluated_key=decode_token(next_token),
        )
        items = list(result)
        return Page(items, encode_token(result.last_evaluated_key))

    def update(self, merchant_id: str, queue_id: str, fields: dict[str, Any]) -> QueueItem:
        queue = QueueItem(pk=keys.merchant_pk(merchant_id), sk=keys.queue_sk(queue_id))
        # None clears an optional attribute (an overflow being removed) rather than storing a null.
        actions = [
            getattr(QueueItem, name).set(value) if value is not None else getattr(QueueItem, name).remove()
            for name, value in fields.items()
        ]
        actions.append(QueueItem.version.add(1))
        try:
            # Invariant: an update never creates a queue.
            queue.update(actions=actions, condition=QueueItem.pk.exists())
        except UpdateError as exc:
            if is_condition_failure(exc):
                raise NotFoundError("queue", queue_id) from exc
            raise
        finally:
            ROUTING_CACHE.invalidate(queue_cache_key(merchant_id, queue_id))
        return queue

    def delete(self, merchant_id: str, queue_id: str) -> None:
        numbers = [
            n.number
            for n in NumberItems().all_for_merchant(merchant_id)
            if n.queue_id == queue_id or queue_id in menu_queue_ids(n)
        ]
        if numbers:
            raise InUseError("queue", queue_id, f"numbers {', '.join(numbers)} route to it")
        try:
            QueueItem(pk=keys.merchant_pk(merchant_id), sk=keys.queue_sk(queue_id)).delete(
                condition=QueueItem.pk.exists()
            )
        except DeleteError as exc:
            if is_condition_failure(exc):
                raise NotFoundError("queue", queue_id) from exc
            raise
        finally:
            ROUTING_CACHE.invalidate(queue_cache_key(merchant_id, queue_id))


class NumberItems:
    def create(self, number: NumberItem) -> None:
        """Claim a number for a merchant; its queue must exist at the same instant."""
        number.pk = keys.number_pk(number.number)
        number.sk = keys.NUMBER_SK
        number.gsi1pk = keys.merchant_numbers_index_pk(number.merchant_id)
        number.gsi1sk = number.number
        try:
            with transaction() as tx:
                # Invariant: a number routes to exactly one merchant, platform-wide.
                tx.save(number, condition=NumberItem.pk.does_not_exist())
                if number.queue_id:
                    # Invariant: a number never routes to a queue that does not exist.
                    tx.condition_check(
                        QueueItem,
                        keys.merchant_pk(number.merchant_id),
                        keys.queue_sk(number.queue_id),
                        condition=QueueItem.pk.exists(),
                    )
        except TransactWriteError as exc:
            failed = failed_keys(tx, exc)
            if key_of(number) in failed:
                raise AlreadyExistsError("number", number.number) from exc
            if failed:
                raise NotFoundError("queue", str(number.queue_id)) from exc
            raise
        finally:
            ROUTING_CACHE.invalidate(number_cache_key(number.number))

    def get(self, number: str) -> NumberItem | None:
        try:
            return NumberItem.get(keys.number_pk(number), keys.NUMBER_SK)
        except DoesNotExist:
            return None

    def page(self, merchant_id: str, limit: int, next_token: str | None) -> Page[NumberItem]:
        result = NumberItem.gsi1.query(
            keys.merchant_numbers_index_pk(merchant_id),
            limit=limit,
            last_evaluated_key=decode_token(next_token),
        )
        items = items_of(NumberItem, result)
        return Page(items, encode_token(result.last_evaluated_key))

    def all_for_merchant(self, merchant_id: str) -> list[NumberItem]:
        return items_of(NumberItem, NumberItem.gsi1.query(keys.merchant_numbers_index_pk(merchant_id)))

    def set_menu(self, merchant_id: str, number: str, menu: Menu | None) -> None:
        """Give the number ``menu`` (None: remove it); its queues must exist at the same instant.

        NotFoundError: the number is not the merchant's, or a queue of the menu is not (naming the
        menu's field that gave it); nothing is written then."""
        item = NumberItem(pk=keys.number_pk(number), sk=keys.NUMBER_SK)
        action = NumberItem.menu.set(menu_map(menu)) if menu is not None else NumberItem.menu.remove()
        queue_ids = sorted(menu.queue_ids()) if menu is not None else []
        try:
            with transaction() as tx:
                # Invariant: a merchant changes only its own numbers.
                tx.update(item, actions=[action], condition=NumberItem.merchant_id == merchant_id)
                for queue_id in queue_ids:
                    # Invariant: a menu never routes to a queue that does not exist.
                    tx.condition_check(
                        QueueItem,
                        keys.merchant_pk(merchant_id),
                        keys.queue_sk(queue_id),
                        condition=QueueItem.pk.exists(),
                    )
        except TransactWriteError as exc:
            failed = failed_keys(tx, exc)
            if key_of(item) in failed:
                raise NotFoundError("number", number) from exc
            for _, sk in sorted(failed):
                if menu is not None and sk.startswith(keys.QUEUE_SK_PREFIX):
                    queue_id = sk.removeprefix(keys.QUEUE_SK_PREFIX)
                    raise NotFoundError("queue", queue_id, menu.field_of(queue_id)) from exc
            raise
        finally:
            ROUTING_CACHE.invalidate(number_cache_key(number))

    def delete(self, merchant_id: str, number: str) -> None:
        try:
            # Invariant: a merchant can only release its own numbers.
            NumberItem(pk=keys.number_pk(number), sk=keys.NUMBER_SK).delete(
                condition=NumberItem.merchant_id == merchant_id
            )
        except DeleteError as exc:
            if is_condition_failure(exc):
                raise NotFoundError("number", number) from exc
            raise
        finally:
            ROUTING_CACHE.invalidate(number_cache_key(number))


class TrunkItems:
    """Every trunk is listed in the TRUNKS partition of gsi1 (the edge reads them all: a merchant's
    legacy PBX sends calls in as any carrier does); a merchant's own are also in its gsi2 partition."""

    def create(self, trunk: TrunkItem) -> None:
        trunk.pk = keys.trunk_pk(trunk.trunk_id)
        trunk.sk = keys.TRUNK_SK
        trunk.gsi1pk = keys.TRUNKS_INDEX_PK
        trunk.gsi1sk = f"{trunk.name}#{trunk.trunk_id}"
        if trunk.merchant_id is not None:
            trunk.gsi2pk = keys.merchant_trunks_index_pk(trunk.merchant_id)
            trunk.gsi2sk = trunk.gsi1sk
        try:
            # Invariant: trunk ids are never reused.
            trunk.save(condition=TrunkItem.pk.does_not_exist())
        except Exception as exc:
            if is_condition_failure(exc):
                raise AlreadyExistsError("trunk", trunk.trunk_id) from exc
            raise

    def get(self, trunk_id: str, owner: str | None = None) -> TrunkItem:
        """The trunk; NotFoundError when it is missing or, with ``owner``, another merchant's."""
        try:
            item = TrunkItem.get(keys.trunk_pk(trunk_id), keys.TRUNK_SK)
        except DoesNotExist as exc:
            raise NotFoundError("trunk", trunk_id) from exc
        if owner is not None and item.merchant_id != owner:
            raise NotFoundError("trunk", trunk_id)
        return item

    def update(
        self, trunk_id: str, owner: str | None, fields: dict[str, Any], removed: Sequence[str] = ()
    ) -> TrunkItem:
        """Set ``fields`` and remove ``removed``; NotFoundError when there is no such trunk (of ``owner``)."""
        trunk = TrunkItem(pk=keys.trunk_pk(trunk_id), sk=keys.TRUNK_SK)
        actions: list[Any] = [getattr(TrunkItem, name).set(value) for name, value in fields.items()]
        actions += [getattr(TrunkItem, name).remove() for name in removed]
        if "name" in fields:
            # The listing indexes sort by name: they move with the name.
            actions.append(TrunkItem.gsi1sk.set(f"{fields['name']}#{trunk_id}"))
        if not actions:
            return self.get(trunk_id, owner)
        if "name" in fields and (owner is not None or self.get(trunk_id).merchant_id is not None):
            actions.append(TrunkItem.gsi2sk.set(f"{fields['name']}#{trunk_id}"))
        try:
            # Invariant: an update never creates a trunk, and a merchant changes only its own.
            trunk.update(actions=actions, condition=_owned(owner))
        except UpdateError as exc:
            if is_condition_failure(exc):
                raise NotFoundError("trunk", trunk_id) from exc
            raise
        return trunk

    def delete(self, trunk_id: str, owner: str | None = None) -> None:
        try:
            # Invariant: deleting reports a trunk that was never there (404, not a silent success),
            # and a merchant deletes only its own.
            TrunkItem(pk=keys.trunk_pk(trunk_id), sk=keys.TRUNK_SK).delete(condition=_owned(owner))
        except DeleteError as exc:
            if is_condition_failure(exc):
                raise NotFoundError("trunk", trunk_id) from exc
            raise

    def page(self, limit: int = 100, next_token: str | None = None) -> Page[TrunkItem]:
        result = TrunkItem.gsi1.query(
            keys.TRUNKS_INDEX_PK, limit=limit, last_evaluated_key=decode_token(next_token)
        )
        items = items_of(TrunkItem, result)
        return Page(items, encode_token(result.last_evaluated_key))

    def page_for_merchant(
        self, merchant_id: str, limit: int = 100, next_token: str | None = None
    ) -> Page[TrunkItem]:
        result = TrunkItem.gsi2.query(
            keys.merchant_trunks_index_pk(merchant_id),
            limit=limit,
            last_evaluated_key=decode_token(next_token),
        )
        items = items_of(TrunkItem, result)
        return Page(items, encode_token(result.last_evaluated_key))

    def all(self) -> list[TrunkItem]:
        return items_of(TrunkItem, TrunkItem.gsi1.query(keys.TRUNKS_INDEX_PK))


def _owned(owner: str | None) -> Any:
    condition = TrunkItem.pk.exists()
    return condition if owner is None else condition & (TrunkItem.merchant_id == owner)

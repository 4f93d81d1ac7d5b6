"""A merchant's routing catalogue: queues, phone numbers (DIDs) and the platform's SIP trunks."""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import DeleteError, DoesNotExist, TransactWriteError, UpdateError

from contact_center.data import keys
from contact_center.data.conditions import is_condition_failure
from contact_center.data.errors import AlreadyExistsError, InUseError, NotFoundError
from contact_center.data.models import NumberItem, QueueItem, TrunkItem
from contact_center.data.pagination import Page, decode_token, encode_token
from contact_center.data.transactions import failed_keys, key_of, transaction


class QueueRepository:
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

    def get(self, merchant_id: str, queue_id: str) -> QueueItem:
        try:
            return QueueItem.get(keys.merchant_pk(merchant_id), keys.queue_sk(queue_id))
        except DoesNotExist as exc:
            raise NotFoundError("queue", queue_id) from exc

    def list(self, merchant_id: str, limit: int, next_token: str | None) -> Page[QueueItem]:
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
        return queue

    def delete(self, merchant_id: str, queue_id: str) -> None:
        numbers = [
            n.number for n in NumberRepository().all_for_merchant(merchant_id) if n.queue_id == queue_id
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


class NumberRepository:
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

    def get(self, number: str) -> NumberItem | None:
        try:
            return NumberItem.get(keys.number_pk(number), keys.NUMBER_SK)
        except DoesNotExist:
            return None

    def list(self, merchant_id: str, limit: int, next_token: str | None) -> Page[NumberItem]:
        result = NumberItem.gsi1.query(
            keys.merchant_numbers_index_pk(merchant_id),
            limit=limit,
            last_evaluated_key=decode_token(next_token),
        )
        items = list(result)
        return Page(items, encode_token(result.last_evaluated_key))

    def all_for_merchant(self, merchant_id: str) -> list[NumberItem]:
        return list(NumberItem.gsi1.query(keys.merchant_numbers_index_pk(merchant_id)))

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


class TrunkRepository:
    def create(self, trunk: TrunkItem) -> None:
        trunk.pk = keys.trunk_pk(trunk.trunk_id)
        trunk.sk = keys.TRUNK_SK
        trunk.gsi1pk = keys.TRUNKS_INDEX_PK
        trunk.gsi1sk = f"{trunk.name}#{trunk.trunk_id}"
        try:
            # Invariant: trunk ids are never reused.
            trunk.save(condition=TrunkItem.pk.does_not_exist())
        except Exception as exc:
            if is_condition_failure(exc):
                raise AlreadyExistsError("trunk", trunk.trunk_id) from exc
            raise

    def list(self, limit: int = 100, next_token: str | None = None) -> Page[TrunkItem]:
        result = TrunkItem.gsi1.query(
            keys.TRUNKS_INDEX_PK, limit=limit, last_evaluated_key=decode_token(next_token)
        )
        items = list(result)
        return Page(items, encode_token(result.last_evaluated_key))

    def all(self) -> list[TrunkItem]:
        return list(TrunkItem.gsi1.query(keys.TRUNKS_INDEX_PK))

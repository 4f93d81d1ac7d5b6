"""Webhooks and their undelivered events (``services.webhooks``' ports)."""

from __future__ import annotations

import json
import time

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DeleteError, DoesNotExist

from contact_center.data import keys
from contact_center.data.catalog import CatalogCache
from contact_center.data.conditions import is_condition_failure
from contact_center.data.models import TableItem, _strings, items_of
from contact_center.data.pagination import Page, decode_token, encode_token
from contact_center.data.repositories.paging import mapped_page
from contact_center.data.table import BINDING
from contact_center.services import records
from contact_center.services.errors import NotFoundError
from contact_center.services.webhooks import Delivery, DeliveryStatus, Event, EventType, Webhook

# A delivered retry is kept a little for the record; a failed one two weeks, to be listed and replayed.
DELIVERED_KEEP_SECONDS = 2 * 86_400
FAILED_KEEP_SECONDS = 14 * 86_400
PENDING_KEEP_SECONDS = 3 * 86_400  # past the day of retries, in case the retrying stops
# How long the stream consumer posts to a merchant's webhooks as it last read them: a webhook
# registered or deleted through another process (the API) is followed within this.
WEBHOOK_CACHE_TTL_SECONDS = 5.0


class WebhookItem(TableItem):
    ENTITY = "webhook"
    merchant_id = UnicodeAttribute()
    webhook_id = UnicodeAttribute()
    url = UnicodeAttribute()
    events = _strings()
    # The signing secret: needed in the clear to sign, so it is stored as the table is (encrypted
    # at rest under the region's customer-managed key) and never shown after creation.
    secret = UnicodeAttribute()
    created_at = NumberAttribute()


class DeliveryItem(TableItem):
    ENTITY = "webhook_delivery"
    merchant_id = UnicodeAttribute()
    delivery_id = UnicodeAttribute()
    webhook_id = UnicodeAttribute()
    event = UnicodeAttribute()  # the event's JSON, as POSTed
    status = UnicodeAttribute()
    attempts = NumberAttribute()
    next_attempt_at = NumberAttribute(null=True)
    last_error = UnicodeAttribute(null=True)
    updated_at = NumberAttribute()


BINDING.register(WebhookItem, DeliveryItem)


class WebhookRepository:
    def create(self, webhook: Webhook, secret: str) -> None:
        WebhookItem(
            pk=keys.merchant_pk(webhook.merchant_id),
            sk=keys.webhook_sk(webhook.webhook_id),
            merchant_id=webhook.merchant_id,
            webhook_id=webhook.webhook_id,
            url=webhook.url,
            events=[e.value for e in webhook.events],
            secret=secret,
            created_at=webhook.created_at,
        ).save(condition=WebhookItem.pk.does_not_exist())

    def for_merchant(self, merchant_id: str) -> list[tuple[Webhook, str]]:
        items = WebhookItem.query(
            keys.merchant_pk(merchant_id), WebhookItem.sk.startswith(keys.WEBHOOK_SK_PREFIX)
        )
        return [
            (
                Webhook(
                    merchant_id=item.merchant_id,
                    webhook_id=item.webhook_id,
                    url=item.url,
                    events=tuple(EventType(e) for e in item.events),
                    created_at=int(item.created_at),
                ),
                item.secret,
            )
            for item in items
        ]

    def delete(self, merchant_id: str, webhook_id: str) -> None:
        item = WebhookItem(pk=keys.merchant_pk(merchant_id), sk=keys.webhook_sk(webhook_id))
        try:
            item.delete(condition=WebhookItem.pk.exists())
        except DeleteError as exc:
            if is_condition_failure(exc):
                raise NotFoundError("webhook", webhook_id) from exc
            raise


class CachedWebhooks:
    """A merchant's webhooks as the stream consumer reads them: once per ``WEBHOOK_CACHE_TTL_SECONDS``
    per warm container, not once per stream batch (every contact and seat change of a call is a
    batch). A change made through this process's repository is seen at once."""

    def __init__(self, webhooks: WebhookRepository, cache: CatalogCache | None = None) -> None:
        self._webhooks = webhooks
        self._cache = cache or CatalogCache(WEBHOOK_CACHE_TTL_SECONDS)

    def for_merchant(self, merchant_id: str) -> list[tuple[Webhook, str]]:
        return self._cache.get(("webhooks", merchant_id), lambda: self._webhooks.for_merchant(merchant_id))

    def forget(self, merchant_id: str) -> None:
        self._cache.invalidate(("webhooks", merchant_id))


def _event_of(text: str) -> Event:
    raw = json.loads(text)
    return Event(raw["id"], EventType(raw["type"]), raw["merchant_id"], int(raw["occurred_at"]), raw["data"])


def _delivery_of(item: DeliveryItem) -> Delivery:
    return Delivery(
        delivery_id=item.delivery_id,
        merchant_id=item.merchant_id,
        webhook_id=item.webhook_id,
        event=_event_of(item.event),
        status=DeliveryStatus(item.status),
        attempts=int(item.attempts),
        next_attempt_at=None if item.next_attempt_at is None else int(item.next_attempt_at),
        last_error=item.last_error,
        updated_at=int(item.updated_at),
    )


class DeliveryRepository:
    def save(self, delivery: Delivery) -> None:
        keep = {
            DeliveryStatus.PENDING: PENDING_KEEP_SECONDS,
            DeliveryStatus.FAILED: FAILED_KEEP_SECONDS,
            DeliveryStatus.DELIVERED: DELIVERED_KEEP_SECONDS,
        }[delivery.status]
        item = DeliveryItem(
            pk=keys.delivery_pk(delivery.merchant_id),
            sk=keys.delivery_sk(delivery.delivery_id),
            merchant_id=delivery.merchant_id,
            delivery_id=delivery.delivery_id,
            webhook_id=delivery.webhook_id,
            event=delivery.event.body().decode(),
            status=delivery.status.value,
            attempts=delivery.attempts,
            next_attempt_at=delivery.next_attempt_at,
            last_error=delivery.last_error,
            updated_at=delivery.updated_at,
            expires_at=delivery.updated_at // 1000 + keep,
        )
        # The sparse indexes: pending ones by when they are due, failed ones per merchant.
        if delivery.status is DeliveryStatus.PENDING and delivery.next_attempt_at is not None:
            item.gsi1pk = keys.DELIVERIES_DUE_INDEX_PK
            item.gsi1sk = f"{delivery.next_attempt_at:015d}#{delivery.delivery_id}"
        if delivery.status is DeliveryStatus.FAILED:
            item.gsi2pk = keys.failed_deliveries_index_pk(delivery.merchant_id)
            item.gsi2sk = f"{delivery.updated_at:015d}#{delivery.delivery_id}"
        # Last writer wins: one delivery is retried by one timer run at a time, and a replay racing
        # a retry only POSTs the same event twice, which receivers de-duplicate by its id.
        item.save()

    def get(self, merchant_id: str, delivery_id: str) -> Delivery:
        try:
            item = DeliveryItem.get(keys.delivery_pk(merchant_id), keys.delivery_sk(delivery_id))
        except DoesNotExist as exc:
            raise NotFoundError("delivery", delivery_id) from exc
        return _delivery_of(item)

    def due(self, now: int, limit: int) -> list[Delivery]:
        result = DeliveryItem.gsi1.query(
            keys.DELIVERIES_DUE_INDEX_PK, DeliveryItem.gsi1sk <= f"{now:015d}#~", limit=limit
        )
        now_s = time.time()
        return [
            _delivery_of(item)
            for item in items_of(DeliveryItem, result)
            if item.expires_at is None or item.expires_at > now_s
        ]

    def failed(self, merchant_id: str, limit: int, next_token: str | None) -> records.Page[Delivery]:
        index_pk = keys.failed_deliveries_index_pk(merchant_id)

        def fetch(token: str | None) -> Page[DeliveryItem]:
            result = DeliveryItem.gsi2.query(
                index_pk, limit=limit, scan_index_forward=False, last_evaluated_key=decode_token(token)
            )
            items = items_of(DeliveryItem, result)
            return Page(items, encode_token(result.last_evaluated_key))

        return mapped_page(fetch, _delivery_of, next_token, ("gsi2pk", index_pk))

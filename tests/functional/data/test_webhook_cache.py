"""The stream consumer's short cache of a merchant's webhooks: one read per merchant per TTL, not per
stream batch; a webhook registered or deleted by another process is followed within the TTL, and
at once when this process made the change."""

from __future__ import annotations

from collections.abc import Mapping

from contact_center.data.catalog import CatalogCache
from contact_center.data.webhooks import (
    WEBHOOK_CACHE_TTL_SECONDS,
    CachedWebhooks,
    DeliveryRepository,
    WebhookRepository,
)
from contact_center.services.webhooks import (
    CreateWebhook,
    Event,
    EventType,
    Poster,
    Webhook,
    WebhookService,
)

T0 = 1_800_000_000_000


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class CountingWebhooks(WebhookRepository):
    def __init__(self) -> None:
        self.reads = 0

    def for_merchant(self, merchant_id: str) -> list[tuple[Webhook, str]]:
        self.reads += 1
        return super().for_merchant(merchant_id)


def _posted() -> tuple[list[str], Poster]:
    urls: list[str] = []

    def post(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> int:
        urls.append(url)
        return 200

    return urls, post


def _event(n: int) -> Event:
    return Event(f"s1.{n}", EventType.AGENT_STATE_CHANGED, "m1", T0, {"seat_id": "s1"})


def test_another_process_s_new_webhook_is_posted_to_within_the_ttl(moto_table: str) -> None:
    # Given the stream consumer's container, and the API (another process) with its own repository
    clock = Clock()
    reads = CountingWebhooks()
    urls, post = _posted()
    lookup = CachedWebhooks(reads, CatalogCache(clock=clock))
    consumer = WebhookService(reads, DeliveryRepository(), post, lambda: T0, lookup=lookup)
    api = WebhookService(WebhookRepository(), DeliveryRepository(), post, lambda: T0)

    # When batches arrive before and after a webhook is registered elsewhere
    consumer.deliver([_event(1)])
    api.create("m1", CreateWebhook("https://hooks.example/a", (EventType.AGENT_STATE_CHANGED,)))
    consumer.deliver([_event(2)])
    consumer.deliver([_event(3)])
    clock.now += WEBHOOK_CACHE_TTL_SECONDS + 0.1
    consumer.deliver([_event(4)])

    # Then the registrations were read once per TTL, and the new webhook was posted to once the
    # consumer's entry expired
    assert reads.reads == 2
    assert urls == ["https://hooks.example/a"]


def test_this_process_s_own_changes_are_seen_at_once(moto_table: str) -> None:
    clock = Clock()
    urls, post = _posted()
    webhooks = WebhookRepository()
    lookup = CachedWebhooks(webhooks, CatalogCache(clock=clock))
    service = WebhookService(webhooks, DeliveryRepository(), post, lambda: T0, lookup=lookup)
    service.deliver([_event(1)])
    created = service.create("m1", CreateWebhook("https://hooks.example/a", (EventType.AGENT_STATE_CHANGED,)))
    service.deliver([_event(2)])
    service.delete("m1", created.webhook.webhook_id)
    service.deliver([_event(3)])
    assert urls == ["https://hooks.example/a"]

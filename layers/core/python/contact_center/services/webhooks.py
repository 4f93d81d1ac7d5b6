"""Webhooks: merchants register URLs and are POSTed what happens (contacts, agents), signed.

Each POST carries the event as JSON and ``Switchboard-Signature: t=<unix seconds>,v1=<hex>``, where
the hex is HMAC-SHA256 under the webhook's secret (shown once, at registration) of
``"<t>." + body``. A receiver recomputes it, compares in constant time and refuses a ``t`` too far
from its clock (replays). ``Switchboard-Event-Id`` is stable across retries and replays: receivers
de-duplicate on it (delivery is at least once).

Delivery: the stream consumer POSTs at once (``deliver``); a failure (network, timeout, any non-2xx)
is stored as a pending delivery and retried by ``retry_due`` (every minute) with exponential backoff
from ``FIRST_RETRY_SECONDS`` to ``MAX_BACKOFF_SECONDS``, until ``GIVE_UP_AFTER_SECONDS`` after the
event: then it is failed, listed by the API and replayable (``replay``) as long as it is kept.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, Protocol
from urllib.parse import urlsplit

from contact_center.domain.errors import ValidationError

from .commands import PageRequest
from .errors import NotFoundError
from .ids import new_id
from .ports import Clock
from .records import Page


class EventType(StrEnum):
    CONTACT_QUEUED = "contact.queued"
    CONTACT_OFFERED = "contact.offered"
    CONTACT_ANSWERED = "contact.answered"
    CONTACT_ENDED = "contact.ended"
    AGENT_STATE_CHANGED = "agent.state_changed"


SIGNATURE_HEADER = "Switchboard-Signature"
EVENT_ID_HEADER = "Switchboard-Event-Id"
EVENT_TYPE_HEADER = "Switchboard-Event-Type"
SECRET_PREFIX = "whsec_"
URL_MAX_LENGTH = 2048
WEBHOOKS_PER_MERCHANT_MAX = 10
POST_TIMEOUT_SECONDS = 3.0
FIRST_RETRY_SECONDS = 30
MAX_BACKOFF_SECONDS = 3600
GIVE_UP_AFTER_SECONDS = 24 * 3600
PARALLEL_POSTS = 8


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    FAILED = "failed"
    DELIVERED = "delivered"


@dataclass(frozen=True)
class Event:
    event_id: str  # stable: the same fact always has the same id
    type: EventType
    merchant_id: str
    occurred_at: int  # epoch ms
    data: Mapping[str, Any]

    def body(self) -> bytes:
        return json.dumps(
            {
                "id": self.event_id,
                "type": self.type.value,
                "merchant_id": self.merchant_id,
                "occurred_at": self.occurred_at,
                "data": dict(self.data),
            },
            separators=(",", ":"),
            sort_keys=True,
        ).encode()


@dataclass(frozen=True)
class Webhook:
    merchant_id: str
    webhook_id: str
    url: str
    events: tuple[EventType, ...]
    created_at: int

    def wants(self, event: Event) -> bool:
        return event.type in self.events


@dataclass(frozen=True)
class CreatedWebhook:
    webhook: Webhook
    secret: str  # shown once


@dataclass(frozen=True)
class Delivery:
    delivery_id: str
    merchant_id: str
    webhook_id: str
    event: Event
    status: DeliveryStatus
    attempts: int
    next_attempt_at: int | None
    last_error: str | None
    updated_at: int


class WebhookPort(Protocol):
    def create(self, webhook: Webhook, secret: str) -> None: ...
    def for_merchant(self, merchant_id: str) -> list[tuple[Webhook, str]]:
        """The merchant's webhooks, each with its signing secret."""
        ...

    def delete(self, merchant_id: str, webhook_id: str) -> None: ...


class WebhookLookup(Protocol):
    """The merchant's webhooks as delivery reads them: possibly a few seconds old (a cache)."""

    def for_merchant(self, merchant_id: str) -> list[tuple[Webhook, str]]: ...
    def forget(self, merchant_id: str) -> None:
        """This process changed the merchant's webhooks: read them again next time."""
        ...


class _Unshared:
    """Delivery reading the registrations themselves (no cache)."""

    def __init__(self, webhooks: WebhookPort) -> None:
        self._webhooks = webhooks

    def for_merchant(self, merchant_id: str) -> list[tuple[Webhook, str]]:
        return self._webhooks.for_merchant(merchant_id)

    def forget(self, merchant_id: str) -> None:
        pass


class DeliveryPort(Protocol):
    def save(self, delivery: Delivery) -> None:
        """Write the delivery as it now stands (pending ones are found by ``due``)."""
        ...

    def get(self, merchant_id: str, delivery_id: str) -> Delivery: ...
    def due(self, now: int, limit: int) -> list[Delivery]: ...
    def failed(self, merchant_id: str, limit: int, next_token: str | None) -> Page[Delivery]: ...


class Poster(Protocol):
    def __call__(self, url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> int:
        """POST; the HTTP status, or OSError (network, timeout, refused target)."""
        ...


# Commands


@dataclass(frozen=True)
class CreateWebhook:
    url: str
    events: tuple[EventType, ...] = field(default=tuple(EventType))


def validate_url(value: object, field_name: str = "url") -> str:
    if not isinstance(value, str) or not value or len(value) > URL_MAX_LENGTH:
        raise ValidationError(field_name, f"must be a URL of at most {URL_MAX_LENGTH} characters")
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.username or parts.password:
        raise ValidationError(field_name, "must be an http(s) URL with a host and no credentials")
    return value


def parse_create_webhook(body: object) -> CreateWebhook:
    if not isinstance(body, Mapping):
        raise ValidationError("body", "must be a JSON object")
    events = body.get("events")
    if events is None:
        return CreateWebhook(validate_url(body.get("url")))
    allowed = {e.value for e in EventType}
    if not isinstance(events, list) or not events or not set(events) <= allowed:
        raise ValidationError("events", f"must be a non-empty list of {sorted(allowed)}")
    return CreateWebhook(validate_url(body.get("url")), tuple(EventType(e) for e in sorted(set(events))))


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The ``Switchboard-Signature`` header's value."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def backoff_seconds(attempts: int) -> int:
    """Seconds before the next try after ``attempts`` failed ones: 30 s, 60 s, 2 min... up to 1 h."""
    return int(min(FIRST_RETRY_SECONDS * 2 ** max(attempts - 1, 0), MAX_BACKOFF_SECONDS))


class WebhookService:
    def __init__(
        self,
        webhooks: WebhookPort,
        deliveries: DeliveryPort,
        post: Poster,
        clock: Clock,
        parallel: Callable[[int], ThreadPoolExecutor] = ThreadPoolExecutor,
        lookup: WebhookLookup | None = None,
    ) -> None:
        self._webhooks = webhooks
        # Delivery's reads (every stream batch); registration reads the webhooks themselves.
        self._lookup: WebhookLookup = lookup or _Unshared(webhooks)
        self._deliveries = deliveries
        self._post = post
        self._clock = clock
        self._parallel = parallel

    # Registration (the merchant's API)

    def create(self, merchant_id: str, command: CreateWebhook) -> CreatedWebhook:
        if len(self._webhooks.for_merchant(merchant_id)) >= WEBHOOKS_PER_MERCHANT_MAX:
            raise ValidationError("url", f"a merchant has at most {WEBHOOKS_PER_MERCHANT_MAX} webhooks")
        webhook = Webhook(merchant_id, new_id("whk"), command.url, command.events, self._clock())
        secret = SECRET_PREFIX + secrets.token_urlsafe(32)
        self._webhooks.create(webhook, secret)
        self._lookup.forget(merchant_id)
        return CreatedWebhook(webhook, secret)

    def registered(self, merchant_id: str) -> list[Webhook]:
        return [webhook for webhook, _ in self._webhooks.for_merchant(merchant_id)]

    def delete(self, merchant_id: str, webhook_id: str) -> None:
        self._webhooks.delete(merchant_id, webhook_id)
        self._lookup.forget(merchant_id)

    def failed(self, merchant_id: str, page: PageRequest) -> Page[Delivery]:
        return self._deliveries.failed(merchant_id, page.limit, page.next_token)

    def replay(self, merchant_id: str, delivery_id: str) -> Delivery:
        """POST a failed (or pending) delivery again now: delivered, or failed again (still listed)."""
        delivery = self._deliveries.get(merchant_id, delivery_id)
        hooks = {w.webhook_id: (w, s) for w, s in self._webhooks.for_merchant(merchant_id)}
        if delivery.webhook_id not in hooks:
            raise NotFoundError("webhook", delivery.webhook_id)
        webhook, secret = hooks[delivery.webhook_id]
        # One try, asked for by a person watching: no more retries behind their back if it fails.
        return self._attempt(webhook, secret, delivery, give_up_from=0)

    # Delivery (the stream consumer and its timer)

    def deliver(self, events: list[Event]) -> list[Delivery]:
        """POST each event to each of its merchant's webhooks that wants it, in parallel; what did
        not get through is stored pending. Storage errors propagate (the stream retries the batch)."""
        jobs: list[tuple[Webhook, str, Delivery]] = []
        hooks_by_merchant: dict[str, list[tuple[Webhook, str]]] = {}
        now = self._clock()
        for event in events:
            if event.merchant_id not in hooks_by_merchant:
                hooks_by_merchant[event.merchant_id] = self._lookup.for_merchant(event.merchant_id)
            for webhook, secret in hooks_by_merchant[event.merchant_id]:
                if webhook.wants(event):
                    delivery = Delivery(
                        delivery_id=_delivery_id(webhook.webhook_id, event.event_id),
                        merchant_id=event.merchant_id,
                        webhook_id=webhook.webhook_id,
                        event=event,
                        status=DeliveryStatus.PENDING,
                        attempts=0,
                        next_attempt_at=now,
                        last_error=None,
                        updated_at=now,
                    )
                    jobs.append((webhook, secret, delivery))
        return self._run(jobs)

    def retry_due(self, limit: int = 100) -> list[Delivery]:
        due = self._deliveries.due(self._clock(), limit)
        jobs: list[tuple[Webhook, str, Delivery]] = []
        for delivery in due:
            hooks = {w.webhook_id: (w, s) for w, s in self._lookup.for_merchant(delivery.merchant_id)}
            if delivery.webhook_id in hooks:
                webhook, secret = hooks[delivery.webhook_id]
                jobs.append((webhook, secret, delivery))
            else:  # the webhook was deleted: nothing to deliver to
                self._deliveries.save(_failed(delivery, "the webhook was deleted", self._clock()))
        return self._run(jobs)

    def _run(self, jobs: list[tuple[Webhook, str, Delivery]]) -> list[Delivery]:
        if not jobs:
            return []
        with self._parallel(min(PARALLEL_POSTS, len(jobs))) as pool:
            # A day from the event; from its first try when the event carries no time.
            futures = [
                pool.submit(self._attempt, w, s, d, d.event.occurred_at or d.updated_at) for w, s, d in jobs
            ]
            return [future.result() for future in futures]

    def _attempt(self, webhook: Webhook, secret: str, delivery: Delivery, give_up_from: int) -> Delivery:
        body = delivery.event.body()
        now = self._clock()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Switchboard-Webhooks/1",
            SIGNATURE_HEADER: signature(secret, now // 1000, body),
            EVENT_ID_HEADER: delivery.event.event_id,
            EVENT_TYPE_HEADER: delivery.event.type.value,
        }
        error: str | None
        try:
            status = self._post(webhook.url, body, headers, POST_TIMEOUT_SECONDS)
            error = None if 200 <= status < 300 else f"HTTP {status}"
        except OSError as exc:
            error = f"{type(exc).__name__}: {exc}"[:300]
        attempts = delivery.attempts + 1
        now = self._clock()
        if error is None:
            done = replace(
                delivery,
                status=DeliveryStatus.DELIVERED,
                attempts=attempts,
                next_attempt_at=None,
                last_error=None,
                updated_at=now,
            )
            if delivery.attempts > 0 or delivery.status is not DeliveryStatus.PENDING:
                self._deliveries.save(done)  # a stored one: mark it; a first try leaves nothing behind
            return done
        next_at = now + backoff_seconds(attempts) * 1000
        if next_at > give_up_from + GIVE_UP_AFTER_SECONDS * 1000:
            failed = _failed(replace(delivery, attempts=attempts), error, now)
            self._deliveries.save(failed)
            return failed
        pending = replace(
            delivery,
            status=DeliveryStatus.PENDING,
            attempts=attempts,
            next_attempt_at=next_at,
            last_error=error,
            updated_at=now,
        )
        self._deliveries.save(pending)
        return pending


def _failed(delivery: Delivery, error: str, now: int) -> Delivery:
    return replace(
        delivery, status=DeliveryStatus.FAILED, next_attempt_at=None, last_error=error, updated_at=now
    )


def _delivery_id(webhook_id: str, event_id: str) -> str:
    # Derived, not random: the stream delivering a record twice stores one delivery, not two.
    return "dlv_" + hashlib.sha256(f"{webhook_id}\n{event_id}".encode()).hexdigest()[:24]

"""A merchant's webhooks, and the deliveries that failed (listed, replayable)."""

from __future__ import annotations

from typing import Any

from chalicelib.http import Call, endpoint
from chalicelib.routes import Routes
from chalicelib.views import page
from contact_center.services import webhooks

routes = Routes()

Json = dict[str, Any]
WEBHOOKS = "/merchants/{merchant_id}/webhooks"


def webhook_view(w: webhooks.Webhook) -> Json:
    return {
        "webhook_id": w.webhook_id,
        "url": w.url,
        "events": [e.value for e in w.events],
        "created_at": w.created_at,
    }


def delivery_view(d: webhooks.Delivery) -> Json:
    return {
        "delivery_id": d.delivery_id,
        "webhook_id": d.webhook_id,
        "status": d.status.value,
        "attempts": d.attempts,
        "next_attempt_at": d.next_attempt_at,
        "last_error": d.last_error,
        "updated_at": d.updated_at,
        "event": {
            "id": d.event.event_id,
            "type": d.event.type.value,
            "occurred_at": d.event.occurred_at,
            "data": dict(d.event.data),
        },
    }


@routes.route(WEBHOOKS, methods=["POST"])
@endpoint(201)
def create_webhook(call: Call, merchant_id: str) -> Json:
    owner = call.merchant(merchant_id)
    created = call.services.webhooks.create(owner, webhooks.parse_create_webhook(call.body()))
    return {**webhook_view(created.webhook), "secret": created.secret}


@routes.route(WEBHOOKS, methods=["GET"])
@endpoint()
def list_webhooks(call: Call, merchant_id: str) -> Json:
    items = call.services.webhooks.registered(call.merchant(merchant_id))
    return {"items": [webhook_view(w) for w in items], "next_token": None}


@routes.route(WEBHOOKS + "/{webhook_id}", methods=["DELETE"])
@endpoint(204)
def delete_webhook(call: Call, merchant_id: str, webhook_id: str) -> None:
    call.services.webhooks.delete(call.merchant(merchant_id), webhook_id)


@routes.route(WEBHOOKS + "/failures", methods=["GET"])
@endpoint()
def list_failed_deliveries(call: Call, merchant_id: str) -> Json:
    return page(call.services.webhooks.failed(call.merchant(merchant_id), call.page()), delivery_view)


@routes.route(WEBHOOKS + "/failures/{delivery_id}/replay", methods=["POST"])
@endpoint()
def replay_delivery(call: Call, merchant_id: str, delivery_id: str) -> Json:
    return delivery_view(call.services.webhooks.replay(call.merchant(merchant_id), delivery_id))

"""The event socket: API Gateway WebSocket routes and the table's stream, one function.

- ``$connect`` (the token in the query string, ``?token=``): the connection is stored under the
  topics its credentials reach, or refused with 401/403 and nothing stored;
- ``$disconnect``: its items are deleted (their TTL removes them anyway after two hours);
- a stream batch (``function.json``; in AWS an event source mapping filtered on the same entities):
  each event is posted to the connections listening (``services.event_socket``).

The local socket server (``infra/local_stack/socket_server.py``) invokes this function with the
events API Gateway would send, so one handler serves both.
"""

from __future__ import annotations

import logging
from typing import Any

from contact_center.bootstrap import services
from contact_center.contracts.settings import Component
from contact_center.domain.errors import ValidationError
from contact_center.services.errors import AuthenticationError
from contact_center.services.webhook_events import webhook_events_in

log = logging.getLogger("functions.events_socket")
log.setLevel(logging.INFO)


def handler(event: Any, context: Any) -> dict[str, Any]:
    container = services(Component.EVENTS_SOCKET)
    request = event.get("requestContext") if isinstance(event, dict) else None
    if isinstance(request, dict) and "routeKey" in request:
        return _route(container, request, event)
    region = container.settings.region
    # Two regions: each tells of what its own region wrote as the merchant's home (as webhooks do).
    changes = [c for c in webhook_events_in(event) if region is None or c.home_region in (None, region)]
    try:
        container.event_socket.fan_out([change.event for change in changes])
    except Exception:
        log.exception("event socket fan-out of %d events failed", len(changes))
        return {"batchItemFailures": [{"itemIdentifier": c.sequence_number} for c in changes]}
    return {"batchItemFailures": []}


def _route(container: Any, request: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    route, connection_id = request["routeKey"], str(request.get("connectionId", ""))
    if route == "$connect":
        token = (event.get("queryStringParameters") or {}).get("token")
        try:
            accepted = container.event_socket.connect(connection_id, token)
        except AuthenticationError:
            return {"statusCode": 401, "body": "the token is not valid or has expired"}
        except ValidationError as refused:
            return {"statusCode": 403, "body": refused.message}
        log.info("connection %s listens to %s", connection_id, ", ".join(accepted.topics))
        return {"statusCode": 200}
    if route == "$disconnect":
        container.event_socket.disconnect(connection_id)
        return {"statusCode": 200}
    # Pages only listen; anything they send is answered with nothing.
    return {"statusCode": 200}

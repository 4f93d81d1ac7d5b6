"""The event socket: people's pages hear what happens to their seat, queues or merchant within a second.

API Gateway's WebSocket API (and the local socket server, which speaks its protocol) calls
``connect`` and ``disconnect``; the table's stream calls ``fan_out``. The facts are the webhooks'
(``webhook_events``: contact queued/offered/answered/ended, agent state changed), each sent as the
same JSON a webhook receives, so a page and a receiver read one contract. An offer also names its
queue and how long the caller waited, which the agent's desk shows.

A connection listens to the topics its credentials reach (``domain.desk.listening_topics``): an agent
its seat, a supervisor its queues (a contact's event in one of them, and a seat's state change when
the seat serves one), an admin its merchant. A connection API Gateway reports gone (410) is
forgotten at once.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from contact_center.domain.desk import event_topics, listening_topics

from .auth import Authenticator
from .errors import NotFoundError
from .ports import Clock, QueuePort
from .webhooks import Event, EventType

log = logging.getLogger("contact_center.event_socket")


class ConnectionPort(Protocol):
    def add(self, connection_id: str, merchant_id: str, topics: tuple[str, ...], now_ms: int) -> None: ...
    def remove(self, connection_id: str) -> None: ...
    def listening(self, topics: tuple[str, ...], now_ms: int) -> set[str]: ...


class ConnectionPoster(Protocol):
    def post(self, connection_id: str, data: bytes) -> bool:
        """Send ``data`` to the connection; False when it is gone."""
        ...


@dataclass(frozen=True)
class Accepted:
    merchant_id: str
    topics: tuple[str, ...]


@dataclass(frozen=True)
class Sent:
    event_id: str
    delivered: int
    gone: int


def message_of(event: Event, queue_name: str | None = None) -> dict[str, Any]:
    """The JSON a socket receives: the webhook's event, and for an offer its queue and wait."""
    data = dict(event.data)
    if event.type is EventType.CONTACT_OFFERED:
        enqueued = data.get("enqueued_at")
        data["queue_name"] = queue_name
        data["waited_ms"] = max(0, event.occurred_at - enqueued) if isinstance(enqueued, int) else 0
    return {"id": event.event_id, "type": event.type.value, "occurred_at": event.occurred_at, "data": data}


class EventSocketService:
    def __init__(
        self,
        auth: Authenticator,
        connections: ConnectionPort,
        poster: ConnectionPoster | None,
        queues: QueuePort,
        clock: Clock,
    ) -> None:
        self._auth = auth
        self._connections = connections
        self._poster = poster
        self._said_dropped = False
        self._queues = queues
        self._clock = clock

    def connect(self, connection_id: str, token: str | None) -> Accepted:
        """Accept a connection whose token (a session token or a merchant API key) is valid.

        AuthenticationError (401) for a missing or bad token; ValidationError for the platform
        admin's key, which belongs to no merchant.
        """
        principal = self._auth.authenticate(f"Bearer {token}" if token else None)
        topics = listening_topics(principal)
        assert principal.merchant_id is not None  # listening_topics refused the platform admin
        self._connections.add(connection_id, principal.merchant_id, topics, self._clock())
        return Accepted(principal.merchant_id, topics)

    def disconnect(self, connection_id: str) -> None:
        self._connections.remove(connection_id)

    def fan_out(self, events: Iterable[Event]) -> list[Sent]:
        if self._poster is None:
            # A one-machine stack started without the socket server: nobody can be listening. Said
            # once per process, not once per event.
            if not self._said_dropped:
                log.warning("no event socket endpoint configured (EVENTS_SOCKET_ENDPOINT): events dropped")
                self._said_dropped = True
            return []
        sent: list[Sent] = []
        names: dict[tuple[str, str], str | None] = {}
        # Each topic's listeners are read once a batch: a call's transaction brings the seat's and
        # the contact's changes together, and every event of a merchant names the merchant's topic.
        by_topic: dict[str, set[str]] = {}
        now_ms = self._clock()
        for event in events:
            seat = event.data.get("seat_id")
            queue = event.data.get("queue_id")
            # A contact's event names its queue; a seat's names every queue the seat serves.
            served = event.data.get("queue_ids")
            queues = [q for q in served if isinstance(q, str)] if isinstance(served, list) else []
            topics = event_topics(
                event.merchant_id,
                seat if isinstance(seat, str) else None,
                [queue if isinstance(queue, str) else None, *queues],
            )
            for topic in topics:
                if topic not in by_topic:
                    by_topic[topic] = self._connections.listening((topic,), now_ms)
            listeners: set[str] = set()
            for topic in topics:
                listeners |= by_topic[topic]
            if not listeners:
                continue
            name = None
            if event.type is EventType.CONTACT_OFFERED and isinstance(queue, str):
                key = (event.merchant_id, queue)
                if key not in names:
                    names[key] = self._queue_name(*key)
                name = names[key]
            data = json.dumps(message_of(event, name), separators=(",", ":")).encode()
            delivered = gone = 0
            for connection_id in sorted(listeners):
                if self._poster.post(connection_id, data):
                    delivered += 1
                else:
                    gone += 1
                    self._connections.remove(connection_id)
                    for known in by_topic.values():
                        known.discard(connection_id)
            sent.append(Sent(event.event_id, delivered, gone))
        return sent

    def _queue_name(self, merchant_id: str, queue_id: str) -> str | None:
        try:
            return self._queues.get(merchant_id, queue_id).name
        except NotFoundError:
            return None

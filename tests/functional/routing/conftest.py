"""A small contact centre on a fresh table, and the RoutingService over the real adapters."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from contact_center.data import table
from contact_center.data.bindings import BindingItems, new_binding
from contact_center.data.catalog import NumberItems, QueueItems
from contact_center.data.merchants import MerchantItems, new_api_key, new_merchant
from contact_center.data.models import ALL_MODELS, NumberItem, QueueItem
from contact_center.data.repositories.catalog import RoutingCatalogRepository
from contact_center.data.repositories.contacts import LiveContactRepository
from contact_center.data.repositories.seats import AgentSeatRepository
from contact_center.data.repositories.sessions import RegistrationRepository
from contact_center.data.seats import SeatItems, new_seat, new_sip_user
from contact_center.domain.agent_state import (
    AgentCommand,
    AgentSnapshot,
    GoAvailable,
    GoNotReady,
    LogIn,
    apply,
)
from contact_center.services.routing import RoutingPolicy, RoutingService
from tests.support.routing_fakes import RecordingEvents

NOW = 1_790_000_000_000
DOMAIN = "sip.test"
EDGE = "edge-1"


class World:
    """Given-helpers: merchants, queues, numbers, seats and registrations, written through the data layer."""

    def __init__(self, policy: RoutingPolicy | None = None) -> None:
        self.events = RecordingEvents()
        self.seats = AgentSeatRepository()
        self.contacts = LiveContactRepository()
        # The rules' tests read the strict longest-idle order; the spread of concurrent routers over
        # the head of the index has its own (tests/unit/services/routing/test_spread.py).
        self.service = self.build(policy or RoutingPolicy(sip_domain=DOMAIN, spread_candidates=1))
        MerchantItems().create(
            new_merchant("m1", "Acme", "ops@acme.test", 100, NOW), new_api_key("h-m1", "k1", "m1", "sk_", NOW)
        )

    def build(self, policy: RoutingPolicy) -> RoutingService:
        return RoutingService(
            RoutingCatalogRepository(),
            self.seats,
            self.contacts,
            RegistrationRepository(),
            self.events,
            policy,
        )

    def queue(
        self,
        queue_id: str = "q1",
        *,
        skills: tuple[tuple[str, int], ...] = (),
        priority: int = 5,
        strategy: str = "longest_idle",
        max_wait: int = 60,
        overflow: dict[str, str] | None = None,
        wrap_up: int = 0,
    ) -> None:
        QueueItems().create(
            QueueItem(
                merchant_id="m1",
                queue_id=queue_id,
                name=queue_id,
                skills=[{"name": name, "min_proficiency": level} for name, level in skills],
                priority=priority,
                strategy=strategy,
                max_wait_seconds=max_wait,
                overflow=overflow,
                wrap_up_seconds=wrap_up,
                created_at=NOW,
            )
        )

    def number(
        self, e164: str = "+15550100", queue_id: str | None = "q1", legacy_trunk: str | None = None
    ) -> None:
        NumberItems().create(
            NumberItem(
                number=e164, merchant_id="m1", queue_id=queue_id, legacy_trunk=legacy_trunk, created_at=NOW
            )
        )

    def seat(
        self,
        seat_id: str,
        *,
        skills: dict[str, int] | None = None,
        queues: dict[str, int] | None = None,
        available_at: int | None = NOW - 60_000,
        registered: bool = True,
        ring_timeout: int = 20,
    ) -> None:
        SeatItems().create(
            new_seat(
                "m1",
                seat_id,
                f"Agent {seat_id}",
                f"u-{seat_id}",
                skills if skills is not None else {"english": 3},
                queues if queues is not None else {"q1": 1},
                NOW - 3_600_000,
                ring_timeout_seconds=ring_timeout,
            ),
            new_sip_user(f"u-{seat_id}", "m1", seat_id, DOMAIN, {"MD5": "x"}),
        )
        self.command(seat_id, LogIn(), NOW - 3_600_000)
        if available_at is not None:
            self.command(seat_id, GoAvailable(), available_at)
        if registered:
            self.register(seat_id)

    def register(self, seat_id: str, expires_at: int = NOW // 1000 + 3600) -> None:
        BindingItems().write_batch(
            [
                new_binding(
                    f"sip:u-{seat_id}@{DOMAIN}",
                    f"sip:u-{seat_id}@10.0.0.9:5062;transport=tcp",
                    expires_at,
                    received="198.51.100.7:40000",
                    transport="TCP",
                    flow_owner=EDGE,
                    path=["<sip:edge-1.internal;lr>"],
                )
            ],
            [],
        )

    def command(self, seat_id: str, command: AgentCommand, at: int) -> AgentSnapshot:
        """An agent's own action, as the HTTP API applies it (read, apply, write over the version)."""
        seat = self.seats.get("m1", seat_id)
        transition = apply(seat.agent, command, at)
        if transition.changed:
            self.seats.save_state("m1", seat_id, seat.agent.version, transition.agent)
        return transition.agent

    def not_ready(self, seat_id: str, at: int = NOW) -> None:
        self.command(seat_id, GoNotReady("break"), at)

    def agent(self, seat_id: str) -> AgentSnapshot:
        return self.seats.get("m1", seat_id).agent

    def contact(self, contact_id: str) -> Any:
        return self.contacts.get(contact_id)

    def record(self, contact_id: str) -> Any:
        return self.contacts.record(contact_id)


@pytest.fixture
def world(moto_table: str) -> Iterator[World]:
    yield World()


def on_every_table_request(handler: Callable[[str, dict[str, Any]], None]) -> None:
    """Call ``handler(operation, parameters)`` before each request of the data layer's clients."""

    def before_send(request: Any, **_: Any) -> None:
        target = request.headers["X-Amz-Target"]
        operation = (target.decode() if isinstance(target, bytes) else target).rpartition(".")[2]
        handler(operation, json.loads(request.body))

    clients = {id(c): c for c in [m._get_connection().connection.client for m in ALL_MODELS]}
    clients[id(table.BINDING.connection().client)] = table.BINDING.connection().client
    for client in clients.values():
        client.meta.events.register("before-send.dynamodb", before_send)

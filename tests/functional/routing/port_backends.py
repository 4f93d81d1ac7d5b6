"""The routing ports two ways, for one contract: the in-memory fakes and the DynamoDB adapters.

Each backend gives the five ports plus the few "given" writes and "then" reads a contract test needs
that the ports themselves do not offer (creating queues, numbers, seats and bindings; reading a
queue's counters and a stored dialog).
"""

from __future__ import annotations

import time
from typing import Protocol

from contact_center.data.bindings import BindingItems, new_binding
from contact_center.data.catalog import ROUTING_CACHE, NumberItems, QueueItems
from contact_center.data.contacts import ContactItems
from contact_center.data.merchants import MerchantItems, new_api_key, new_merchant
from contact_center.data.models import NumberItem, QueueItem
from contact_center.data.ownership import OwnershipItems, RegionFence
from contact_center.data.repositories.catalog import RoutingCatalogRepository
from contact_center.data.repositories.contacts import LiveContactRepository
from contact_center.data.repositories.seats import AgentSeatRepository
from contact_center.data.repositories.sessions import RegistrationRepository
from contact_center.data.seats import SeatItems, new_seat, new_sip_user
from contact_center.data.sessions import DialogItems
from contact_center.domain.ownership import Ownership
from contact_center.domain.queueing import QueueConfig
from contact_center.services.routing.ports import (
    AgentSeats,
    AgentTarget,
    LiveContacts,
    NumberRoute,
    Registrations,
    RoutingCatalog,
)
from tests.support.routing_fakes import FakeAgentSeats, FakeLiveContacts, FakeOwnerships, FakeRoutingPorts

COUNTERS = ("offered", "answered", "abandoned", "timed_out")


class RoutingBackend(Protocol):
    @property
    def catalog(self) -> RoutingCatalog: ...
    @property
    def seats(self) -> AgentSeats: ...
    @property
    def contacts(self) -> LiveContacts: ...
    @property
    def registrations(self) -> Registrations: ...

    def given_number(self, route: NumberRoute) -> None: ...
    def given_queue(self, merchant_id: str, config: QueueConfig) -> None: ...
    def given_seat(
        self,
        merchant_id: str,
        seat_id: str,
        created_at_ms: int,
        skills: dict[str, int],
        queues: dict[str, int],
    ) -> None: ...
    def given_binding(self, aor: str, target: AgentTarget, expires_at_s: int) -> None: ...
    def stats(self, queue_id: str, day: str) -> dict[str, int]: ...
    def dialog_of(self, dialog_key: str, now_s: int) -> str | None:
        """The contact id a stored dialog belongs to; None when there is none."""
        ...

    @property
    def ownerships(self) -> OwnershipStore: ...
    def in_region(self, region: str, cache_ms: int = 0) -> tuple[AgentSeats, LiveContacts]:
        """The seat and contact ports as ``region`` writes them (fenced by the merchant's ownership);
        ``cache_ms``: how long the adapters may keep an ownership they read."""
        ...


class OwnershipStore(Protocol):
    def get(self, merchant_id: str) -> Ownership | None: ...
    def move(self, current: Ownership | None, moved: Ownership, now_ms: int) -> None: ...


class FakeBackend:
    def __init__(self) -> None:
        self._ports = FakeRoutingPorts()
        self.catalog = self._ports.catalog
        self.seats = self._ports.seats
        self.contacts = self._ports.contacts
        self.registrations = self._ports.registrations
        self.ownerships = FakeOwnerships(self._ports.table)

    def in_region(self, region: str, cache_ms: int = 0) -> tuple[AgentSeats, LiveContacts]:
        # The fakes read the ownership under their lock at each write: no cache to model.
        table = self._ports.table
        return FakeAgentSeats(table, region), FakeLiveContacts(table, region)

    def given_number(self, route: NumberRoute) -> None:
        self._ports.catalog.add_number(route)

    def given_queue(self, merchant_id: str, config: QueueConfig) -> None:
        self._ports.catalog.add_queue(merchant_id, config)

    def given_seat(
        self,
        merchant_id: str,
        seat_id: str,
        created_at_ms: int,
        skills: dict[str, int],
        queues: dict[str, int],
    ) -> None:
        self._ports.seats.add(merchant_id, seat_id, created_at_ms, skills, queues, f"u-{seat_id}")

    def given_binding(self, aor: str, target: AgentTarget, expires_at_s: int) -> None:
        self._ports.registrations.register(aor, target, expires_at_s)

    def stats(self, queue_id: str, day: str) -> dict[str, int]:
        return self._ports.table.stats(queue_id, day)

    def dialog_of(self, dialog_key: str, now_s: int) -> str | None:
        stored = self._ports.table.dialogs.get(dialog_key)
        return stored[0] if stored is not None else None


class DynamoBackend:
    def __init__(self) -> None:
        ROUTING_CACHE.clear()  # one table per test: no entry of another test's table
        self.catalog = RoutingCatalogRepository()
        self.seats = AgentSeatRepository()
        self.contacts = LiveContactRepository()
        self.registrations = RegistrationRepository()
        self.ownerships = OwnershipItems()
        self._merchants: set[str] = set()

    def in_region(self, region: str, cache_ms: int = 0) -> tuple[AgentSeats, LiveContacts]:
        fence = RegionFence(region, OwnershipItems(), lambda: time.time_ns() // 1_000_000, cache_ms)
        return AgentSeatRepository(fence), LiveContactRepository(fence)

    def given_number(self, route: NumberRoute) -> None:
        NumberItems().create(
            NumberItem(
                number=route.number,
                merchant_id=route.merchant_id,
                queue_id=route.queue_id,
                legacy_trunk=route.legacy_trunk,
                priority=route.priority,
                created_at=0,
            )
        )

    def given_queue(self, merchant_id: str, config: QueueConfig) -> None:
        overflow = config.overflow
        QueueItems().create(
            QueueItem(
                merchant_id=merchant_id,
                queue_id=config.queue_id,
                name=config.name,
                skills=[
                    {"name": s.name, "min_proficiency": s.min_proficiency} for s in config.required_skills
                ],
                priority=config.priority,
                strategy=config.strategy.value,
                max_wait_seconds=config.max_wait_seconds,
                overflow={"type": overflow.kind.value, "target": overflow.target} if overflow else None,
                wrap_up_seconds=config.wrap_up_seconds,
                created_at=0,
            )
        )

    def given_seat(
        self,
        merchant_id: str,
        seat_id: str,
        created_at_ms: int,
        skills: dict[str, int],
        queues: dict[str, int],
    ) -> None:
        if merchant_id not in self._merchants:  # a seat takes one of its merchant's licences
            MerchantItems().create(
                new_merchant(merchant_id, merchant_id, "ops@example.test", 100, 0),
                new_api_key(f"h-{merchant_id}", f"k-{merchant_id}", merchant_id, "sk_", 0),
            )
            self._merchants.add(merchant_id)
        SeatItems().create(
            new_seat(merchant_id, seat_id, seat_id, f"u-{seat_id}", skills, queues, created_at_ms),
            new_sip_user(f"u-{seat_id}", merchant_id, seat_id, "sip.test", {"MD5": "x"}),
        )

    def given_binding(self, aor: str, target: AgentTarget, expires_at_s: int) -> None:
        BindingItems().write_batch(
            [
                new_binding(
                    aor,
                    target.contact_uri,
                    expires_at_s,
                    received=target.received,
                    transport=target.transport,
                    flow_owner=target.flow_owner,
                    path=list(target.path),
                )
            ],
            [],
        )

    def stats(self, queue_id: str, day: str) -> dict[str, int]:
        stats = ContactItems().stats(queue_id, day)
        return {name: int(getattr(stats, name) or 0) if stats else 0 for name in COUNTERS}

    def dialog_of(self, dialog_key: str, now_s: int) -> str | None:
        item = DialogItems().get(dialog_key, now_s)
        return item.contact_id if item is not None else None

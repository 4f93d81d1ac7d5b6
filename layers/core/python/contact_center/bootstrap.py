"""The composition root: the one place that builds the real services from the environment.

Everything is built on first use and cached for the life of the process (a warm Lambda, the local
stack), so a cold start pays only for what its first request needs.

Environment:
- ``SWITCHBOARD_TABLE``: the table (read by ``contact_center.data.table``, which also honours
  ``AWS_ENDPOINT_URL_DYNAMODB`` / ``AWS_ENDPOINT_URL`` for local engines).
- ``SIP_DOMAIN`` (default ``sip.switchboard.local``): the digest realm and the domain of every AOR.
- ``SIP_REGISTRAR`` (default: the SIP domain): where softphones register, e.g. ``127.0.0.1:5060``.
- ``SWITCHBOARD_ADMIN_KEY`` (local mode: the key itself) or ``SWITCHBOARD_ADMIN_KEY_SHA256`` (in AWS:
  only its SHA-256, so the deployed configuration never holds the secret). Neither: no admin.
- ``SWITCHBOARD_REGION`` (two regions only): the region this process decides in. Set, every owned
  write is fenced on the merchant's ownership (``data.ownership``) and a request for a merchant homed
  elsewhere is sent to the routing function of its home (``SWITCHBOARD_ROUTING_FUNCTION``, default
  ``routing``; ``SWITCHBOARD_REGION_ENDPOINTS="east=http://...,west=http://..."`` overrides the
  Lambda endpoint per region, locally; ``SWITCHBOARD_HANDOFF_MS``, default 3000: how long a moved
  home waits before deciding). Unset: one region, no fence.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from dataclasses import dataclass
from functools import cached_property

from contact_center.aws.home_region import HomeRegionInvoker
from contact_center.data.ownership import OwnershipItems, RegionFence
from contact_center.data.repositories.catalog import (
    NumberRepository,
    QueueRepository,
    RoutingCatalogRepository,
    TrunkRepository,
)
from contact_center.data.repositories.contacts import LiveContactRepository, QueueActivityRepository
from contact_center.data.repositories.merchants import ApiKeyRepository, MerchantRepository
from contact_center.data.repositories.seats import AgentSeatRepository, SeatRepository
from contact_center.data.repositories.sessions import IdempotencyRepository, RegistrationRepository
from contact_center.services.agent_state import AgentStateService
from contact_center.services.api_keys import ApiKeyService
from contact_center.services.auth import Authenticator
from contact_center.services.event_log import JsonLogEventSink
from contact_center.services.idempotency import IdempotencyService
from contact_center.services.merchants import MerchantService
from contact_center.services.numbers import NumberService
from contact_center.services.ports import Clock
from contact_center.services.queues import QueueService
from contact_center.services.regions import RegionControl
from contact_center.services.routing import RoutingPolicy, RoutingService
from contact_center.services.seats import SeatService
from contact_center.services.stats import QueueStatsService
from contact_center.services.trunks import TrunkService

DEFAULT_SIP_DOMAIN = "sip.switchboard.local"


def system_clock_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True)
class Settings:
    sip_domain: str = DEFAULT_SIP_DOMAIN
    sip_registrar: str = DEFAULT_SIP_DOMAIN
    admin_key_sha256: str | None = None
    region: str | None = None
    routing_function: str = "routing"
    region_endpoints: tuple[tuple[str, str], ...] = ()
    handoff_ms: int = 3_000  # a moved home waits this long before deciding (above the replication lag)

    @classmethod
    def from_env(cls) -> Settings:
        domain = os.environ.get("SIP_DOMAIN") or DEFAULT_SIP_DOMAIN
        plain = os.environ.get("SWITCHBOARD_ADMIN_KEY")
        admin_hash = (
            hashlib.sha256(plain.encode()).hexdigest()
            if plain
            else os.environ.get("SWITCHBOARD_ADMIN_KEY_SHA256")
        )
        return cls(
            sip_domain=domain,
            sip_registrar=os.environ.get("SIP_REGISTRAR") or domain,
            admin_key_sha256=admin_hash or None,
            region=os.environ.get("SWITCHBOARD_REGION") or None,
            routing_function=os.environ.get("SWITCHBOARD_ROUTING_FUNCTION") or "routing",
            region_endpoints=_pairs(os.environ.get("SWITCHBOARD_REGION_ENDPOINTS", "")),
            handoff_ms=int(os.environ.get("SWITCHBOARD_HANDOFF_MS") or 3_000),
        )


def _pairs(text: str) -> tuple[tuple[str, str], ...]:
    pairs = (item.split("=", 1) for item in text.split(",") if "=" in item)
    return tuple((name.strip(), value.strip()) for name, value in pairs)


class Container:
    """The services, each built once on first use."""

    def __init__(self, settings: Settings, clock: Clock = system_clock_ms) -> None:
        self.settings = settings
        self.clock = clock

    @cached_property
    def _merchants(self) -> MerchantRepository:
        return MerchantRepository()

    @cached_property
    def _api_keys(self) -> ApiKeyRepository:
        return ApiKeyRepository()

    @cached_property
    def _queues(self) -> QueueRepository:
        return QueueRepository()

    @cached_property
    def fence(self) -> RegionFence | None:
        """The ownership check of this region's owned writes; None with one region."""
        region = self.settings.region
        return RegionFence(region, OwnershipItems(), self.clock) if region else None

    @cached_property
    def regions(self) -> RegionControl:
        return RegionControl(
            self.settings.region or "", OwnershipItems(), self.clock, self.settings.handoff_ms
        )

    @cached_property
    def home_region(self) -> HomeRegionInvoker:
        return HomeRegionInvoker(self.settings.routing_function, dict(self.settings.region_endpoints))

    @cached_property
    def _seats(self) -> SeatRepository:
        return SeatRepository(self.fence)

    @cached_property
    def auth(self) -> Authenticator:
        return Authenticator(self._api_keys, self._merchants, self.settings.admin_key_sha256)

    @cached_property
    def merchants(self) -> MerchantService:
        return MerchantService(self._merchants, self.clock)

    @cached_property
    def api_keys(self) -> ApiKeyService:
        return ApiKeyService(self._api_keys, self.clock)

    @cached_property
    def queues(self) -> QueueService:
        return QueueService(self._queues, self.clock)

    @cached_property
    def numbers(self) -> NumberService:
        return NumberService(NumberRepository(), self.clock)

    @cached_property
    def seats(self) -> SeatService:
        return SeatService(
            self._seats,
            self._queues,
            self.clock,
            self.settings.sip_domain,
            self.settings.sip_registrar,
        )

    @cached_property
    def agent_state(self) -> AgentStateService:
        return AgentStateService(self._seats, self.clock)

    @cached_property
    def stats(self) -> QueueStatsService:
        return QueueStatsService(self._queues, self._seats, QueueActivityRepository(), self.clock)

    @cached_property
    def trunks(self) -> TrunkService:
        return TrunkService(TrunkRepository(), self.clock)

    @cached_property
    def idempotency(self) -> IdempotencyService:
        return IdempotencyService(IdempotencyRepository(), self.clock)

    # Routing (the ACD): the routing and agent_events functions, and the SIP edge in-process.
    # ROUTING_BUSY_POLICY = "available" (default) | "not_responding": where a 486 leaves the agent.

    @cached_property
    def routing(self) -> RoutingService:
        busy = os.environ.get("ROUTING_BUSY_POLICY", "available").strip().lower()
        policy = RoutingPolicy(
            sip_domain=self.settings.sip_domain, busy_leaves_agent_available=busy != "not_responding"
        )
        return RoutingService(
            RoutingCatalogRepository(),
            AgentSeatRepository(self.fence),
            LiveContactRepository(self.fence),
            RegistrationRepository(),
            JsonLogEventSink(),
            policy,
            self.fence.owns if self.fence is not None else None,
        )


_lock = threading.Lock()
_container: Container | None = None


def services() -> Container:
    global _container
    if _container is None:
        # The local API server is threaded: build the container once, not once per racing request.
        with _lock:
            if _container is None:
                _container = Container(Settings.from_env())
    return _container


def reset(settings: Settings | None = None, clock: Clock | None = None) -> Container:
    """Rebuild the services (tests, or after the environment changed); returns the new container."""
    global _container
    with _lock:
        _container = Container(settings or Settings.from_env(), clock or system_clock_ms)
    return _container

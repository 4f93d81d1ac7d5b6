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
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from dataclasses import dataclass
from functools import cached_property

from contact_center.data import adapters, routing_store
from contact_center.services.agent_state import AgentStateService
from contact_center.services.api_keys import ApiKeyService
from contact_center.services.auth import Authenticator
from contact_center.services.event_log import JsonLogEventSink
from contact_center.services.idempotency import IdempotencyService
from contact_center.services.merchants import MerchantService
from contact_center.services.numbers import NumberService
from contact_center.services.ports import Clock
from contact_center.services.queues import QueueService
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
        )


class Container:
    """The services, each built once on first use."""

    def __init__(self, settings: Settings, clock: Clock = system_clock_ms) -> None:
        self.settings = settings
        self.clock = clock

    @cached_property
    def _merchant_store(self) -> adapters.DynamoMerchantStore:
        return adapters.DynamoMerchantStore()

    @cached_property
    def _api_key_store(self) -> adapters.DynamoApiKeyStore:
        return adapters.DynamoApiKeyStore()

    @cached_property
    def _queue_store(self) -> adapters.DynamoQueueStore:
        return adapters.DynamoQueueStore()

    @cached_property
    def _seat_store(self) -> adapters.DynamoSeatStore:
        return adapters.DynamoSeatStore()

    @cached_property
    def auth(self) -> Authenticator:
        return Authenticator(self._api_key_store, self._merchant_store, self.settings.admin_key_sha256)

    @cached_property
    def merchants(self) -> MerchantService:
        return MerchantService(self._merchant_store, self.clock)

    @cached_property
    def api_keys(self) -> ApiKeyService:
        return ApiKeyService(self._api_key_store, self.clock)

    @cached_property
    def queues(self) -> QueueService:
        return QueueService(self._queue_store, self.clock)

    @cached_property
    def numbers(self) -> NumberService:
        return NumberService(adapters.DynamoNumberStore(), self.clock)

    @cached_property
    def seats(self) -> SeatService:
        return SeatService(
            self._seat_store,
            self._queue_store,
            self.clock,
            self.settings.sip_domain,
            self.settings.sip_registrar,
        )

    @cached_property
    def agent_state(self) -> AgentStateService:
        return AgentStateService(self._seat_store, self.clock, self.routing)

    @cached_property
    def stats(self) -> QueueStatsService:
        return QueueStatsService(
            self._queue_store, self._seat_store, adapters.DynamoQueueActivityStore(), self.clock
        )

    @cached_property
    def trunks(self) -> TrunkService:
        return TrunkService(adapters.DynamoTrunkStore(), self.clock)

    @cached_property
    def idempotency(self) -> IdempotencyService:
        return IdempotencyService(adapters.DynamoIdempotencyStore(), self.clock)

    # Routing (the ACD): the routing and agent_events functions, and the SIP edge in-process.
    # ROUTING_BUSY_POLICY = "available" (default) | "not_responding": where a 486 leaves the agent.

    @cached_property
    def routing(self) -> RoutingService:
        busy = os.environ.get("ROUTING_BUSY_POLICY", "available").strip().lower()
        policy = RoutingPolicy(
            sip_domain=self.settings.sip_domain, busy_leaves_agent_available=busy != "not_responding"
        )
        return RoutingService(
            routing_store.DynamoRoutingCatalog(),
            routing_store.DynamoAgentSeats(),
            routing_store.DynamoLiveContacts(),
            routing_store.DynamoRegistrations(),
            JsonLogEventSink(),
            policy,
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

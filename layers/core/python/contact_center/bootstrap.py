"""The composition root: the one place that builds the real services from the environment.

Everything is built on first use and cached for the life of the process (a warm Lambda, the local
stack), so a cold start pays only for what its first request needs.

The settings are the contracts' (``contact_center.contracts.settings``): a function refuses to start
naming what is missing rather than guess a digest realm or run without an admin. In AWS the admin
key's hash is in Secrets Manager; its ARN is in the environment and the value is read once, when the
services are first built, and kept for the life of the environment.

Two regions: ``SWITCHBOARD_REGION`` set, every owned write is fenced on the merchant's ownership
(``data.ownership``) and a request for a merchant homed elsewhere is sent to the routing function of
its home; unset, one region and no fence (the contracts' ``REGION`` settings say the rest).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from contact_center.aws.failover import (
    EmfFailoverMetrics,
    RoutingSweepRequest,
    probe_region,
    read_replication_mark,
)
from contact_center.aws.home_region import HomeRegionInvoker
from contact_center.aws.metrics import EmfRoutingMetrics
from contact_center.contracts import settings as contract
from contact_center.contracts.settings import BusyPolicy, Component, SettingsError
from contact_center.data.desk import DeskSettingsRepository, SocketConnectionRepository, WrapUpRepository
from contact_center.data.failover import FailoverWatchItems, ReplicationMarkItems
from contact_center.data.ownership import OwnershipItems, RegionFence
from contact_center.data.people import SignInAttemptRepository, UserRepository
from contact_center.data.prompt_store import DirectoryPromptStore, S3PromptStore
from contact_center.data.prompts import PromptRepository
from contact_center.data.recent_records import RecentRecordRepository
from contact_center.data.recording_store import DirectoryStore, S3Store, link_secret
from contact_center.data.reports import RecordRepository
from contact_center.data.repositories.catalog import (
    NumberRepository,
    QueueRepository,
    RoutingCatalogRepository,
    TrunkRepository,
)
from contact_center.data.repositories.contacts import LiveContactRepository, QueueActivityRepository
from contact_center.data.repositories.dialout import SeatDialers, TrunkOutbound
from contact_center.data.repositories.merchants import ApiKeyRepository, MerchantRepository
from contact_center.data.repositories.seats import AgentSeatRepository, SeatRepository
from contact_center.data.repositories.sessions import IdempotencyRepository, RegistrationRepository
from contact_center.data.sessions import EdgeTaskItems
from contact_center.data.webhooks import CachedWebhooks, DeliveryRepository, WebhookRepository
from contact_center.domain.ownership import ProbeOutcome
from contact_center.edge_commands import EdgeCommands, EdgeHeldCalls
from contact_center.edge_push import EdgeOfferPush, LiveTaskRunners
from contact_center.outbound.socket_post import ManagementApiPoster
from contact_center.outbound.webhook_post import WebhookPoster
from contact_center.services.agent_state import AgentStateService
from contact_center.services.api_keys import ApiKeyService
from contact_center.services.auth import Authenticator
from contact_center.services.contact_transfers import ContactTransfers
from contact_center.services.desk import DeskService
from contact_center.services.event_log import JsonLogEventSink
from contact_center.services.event_socket import EventSocketService
from contact_center.services.idempotency import IdempotencyService
from contact_center.services.merchants import MerchantService
from contact_center.services.numbers import NumberService
from contact_center.services.passwords import DEFAULT_COST, ScryptCost
from contact_center.services.peer_watch import PeerWatch
from contact_center.services.people import PeopleService
from contact_center.services.ports import Clock
from contact_center.services.prompts import PromptService, PromptStore
from contact_center.services.queues import QueueService
from contact_center.services.recordings import RecordingLinks, RecordingStore
from contact_center.services.regions import RegionControl
from contact_center.services.reports import ReportService
from contact_center.services.routing import RoutingPolicy, RoutingService
from contact_center.services.routing.forwarding import Forwarding
from contact_center.services.seats import SeatService
from contact_center.services.sign_in import SignInService
from contact_center.services.stats import QueueStatsService
from contact_center.services.tokens import TokenSigner, signing_key
from contact_center.services.trunks import TrunkService
from contact_center.services.wallboard import WallboardService
from contact_center.services.webhooks import WebhookService

SecretReader = Callable[[str], str]


def system_clock_ms() -> int:
    return time.time_ns() // 1_000_000


def read_secret(arn: str) -> str:
    """The string value of a Secrets Manager secret (the admin key hash, the fleet key)."""
    import boto3  # no stubs installed; one call, typed by its use

    value = boto3.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]
    return str(value).strip()


@dataclass(frozen=True)
class Settings:
    sip_domain: str
    # Where softphones register; empty means the SIP domain itself.
    sip_registrar: str = ""
    admin_key_sha256: str | None = None
    busy_policy: BusyPolicy = BusyPolicy.AVAILABLE
    # Contact records expire (table TTL) this long after the contact ends.
    record_retention_days: int = contract.DEFAULT_CONTACT_RECORD_RETENTION_DAYS
    # Where the routing service's EMF lines put its figures (unset: no figures, as locally).
    metrics_namespace: str | None = None

    def __post_init__(self) -> None:
        if not self.sip_registrar:
            object.__setattr__(self, "sip_registrar", self.sip_domain)

    region: str | None = None
    regions: tuple[str, ...] = ()  # every deployed region (the other one is asked for pending offers)
    routing_function: str = "routing"
    region_endpoints: tuple[tuple[str, str], ...] = ()
    handoff_ms: int = 3_000  # a moved home waits this long before deciding (above the replication lag)
    webhooks_allow_private: bool = False  # local mode and tests: receivers on loopback
    # The fleet key: the router pushes the offers it claims to edge tasks, signed with a key derived
    # from it. None: no pushes, edge tasks find offers by their slow poll.
    fleet_key: str | None = None
    # The event socket's Management API (``contracts.settings.EVENTS_SOCKET_ENDPOINT``).
    events_socket_endpoint: str | None = None
    # Call recordings: a bucket (AWS), else a directory whose links the local web server serves.
    recordings_bucket: str | None = None
    recordings_dir: str | None = None
    recordings_link_base: str | None = None
    # Merchants' uploaded prompts: a bucket (AWS) or a directory (local); neither, no uploads.
    prompts_bucket: str | None = None
    prompts_directory: str | None = None

    @property
    def deployed_regions(self) -> tuple[str, ...]:
        """Every region of the deployment (the local harness's by its endpoints), this one first."""
        named = [self.region or "", *self.regions, *(name for name, _ in self.region_endpoints)]
        return tuple(name for name in dict.fromkeys(named) if name)

    @classmethod
    def from_env(
        cls,
        component: Component | None = None,
        environ: Mapping[str, str] | None = None,
        secrets: SecretReader = read_secret,
    ) -> Settings:
        """The settings of ``component`` (default: ``SWITCHBOARD_COMPONENT``, else the API's, the
        strictest); SettingsError names whatever is missing or invalid."""
        env = os.environ if environ is None else environ
        component = component or Component(env.get(contract.COMPONENT.name) or Component.API)
        loaded = contract.load_function_settings(component, env)
        admin_hash = loaded.admin_key_sha256
        verifies_tokens = component in (Component.API, Component.EVENTS_SOCKET)
        if admin_hash is None and loaded.admin_key_secret_arn and verifies_tokens:
            admin_hash = secrets(loaded.admin_key_secret_arn)
            if len(admin_hash) != 64 or admin_hash.strip("0123456789abcdef"):
                raise SettingsError(
                    f"the secret named by {contract.ADMIN_KEY_SHA256_SECRET_ARN.name} must hold the hex "
                    "SHA-256 of the admin key (64 lower-case hex digits)"
                )
        fleet_key = loaded.fleet_key
        if fleet_key is None and loaded.fleet_key_secret_arn:
            fleet_key = secrets(loaded.fleet_key_secret_arn)
        return cls(
            sip_domain=loaded.sip_domain,
            sip_registrar=loaded.sip_registrar,
            admin_key_sha256=admin_hash,
            busy_policy=loaded.busy_policy,
            record_retention_days=loaded.record_retention_days,
            metrics_namespace=loaded.metrics_namespace,
            region=loaded.region,
            regions=loaded.regions,
            routing_function=loaded.home_routing_function,
            region_endpoints=loaded.region_endpoints,
            handoff_ms=loaded.handoff_ms,
            webhooks_allow_private=loaded.webhooks_allow_private,
            fleet_key=fleet_key,
            events_socket_endpoint=loaded.events_socket_endpoint,
            recordings_bucket=loaded.recordings_bucket,
            recordings_dir=loaded.recordings_dir,
            recordings_link_base=loaded.recordings_link_base,
            prompts_bucket=loaded.prompts_bucket,
            prompts_directory=loaded.prompts_directory,
        )


class RoutingFunctionsOfRegions:
    """``services.regions.ReturningRegion`` through each region's routing function (as the failover
    controller's canary reaches it)."""

    def __init__(self, invoker: HomeRegionInvoker) -> None:
        self._invoker = invoker

    def canary(self, region: str) -> ProbeOutcome:
        return ProbeOutcome(probe_region(self._invoker, region))

    def mark_of(self, region: str, marking_region: str) -> int | None:
        return read_replication_mark(self._invoker, region, marking_region)


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
            self.settings.region or "",
            OwnershipItems(),
            self.clock,
            self.settings.handoff_ms,
            self.settings.deployed_regions,
            ReplicationMarkItems(),
        )

    @cached_property
    def home_region(self) -> HomeRegionInvoker:
        return HomeRegionInvoker(self.settings.routing_function, dict(self.settings.region_endpoints))

    @cached_property
    def returning_regions(self) -> RoutingFunctionsOfRegions:
        """A region coming back, as a failback checks it (``RegionControl.fail_back_when_ready``)."""
        return RoutingFunctionsOfRegions(self.home_region)

    @cached_property
    def forwarding(self) -> Forwarding:
        """What the routing function sends to the other region (``services.routing.forwarding``)."""
        return Forwarding(
            self.home_region,
            self.settings.region or "",
            self.settings.deployed_regions,
            self.settings.handoff_ms,
            self.clock,
        )

    def peer_watch(self, peer: str) -> PeerWatch:
        """The failover controller's watch over ``peer`` (``services.peer_watch``), from this region."""
        region = self.settings.region or ""
        endpoints = dict(self.settings.region_endpoints)
        namespace = self.settings.metrics_namespace
        return PeerWatch(
            self.regions,
            peer,
            FailoverWatchItems(),
            lambda: ProbeOutcome(probe_region(self.home_region, peer)),
            self.clock,
            metrics=EmfFailoverMetrics(namespace) if namespace else None,
            sweep=RoutingSweepRequest(self.settings.routing_function, region, endpoints.get(region)),
            handoff_ms=self.settings.handoff_ms,
            silent_edges=lambda before_ms: EdgeTaskItems().silent_in(peer, before_ms // 1000),
            routing=lambda event: self.home_region.invoke(region, event),
        )

    @cached_property
    def _seats(self) -> SeatRepository:
        return SeatRepository(self.fence)

    @cached_property
    def tokens(self) -> TokenSigner:
        admin_hash = self.settings.admin_key_sha256
        return TokenSigner(signing_key(admin_hash) if admin_hash else None, self.clock)

    @cached_property
    def auth(self) -> Authenticator:
        return Authenticator(
            self._api_keys, self._merchants, self.settings.admin_key_sha256, self.tokens, self._seats
        )

    @cached_property
    def _users(self) -> UserRepository:
        return UserRepository()

    # scrypt's work factor for new passwords (tests lower it before first use; stored hashes keep theirs).
    password_cost: ScryptCost = DEFAULT_COST

    @cached_property
    def people(self) -> PeopleService:
        return PeopleService(self._users, self._seats, self._queues, self.clock, self.password_cost)

    @cached_property
    def sign_in(self) -> SignInService:
        return SignInService(
            self._users, self.tokens, self.clock, SignInAttemptRepository(), self.password_cost
        )

    @cached_property
    def merchants(self) -> MerchantService:
        return MerchantService(self._merchants, self.clock, self.settings.region)

    @cached_property
    def api_keys(self) -> ApiKeyService:
        return ApiKeyService(self._api_keys, self.clock)

    @cached_property
    def queues(self) -> QueueService:
        return QueueService(self._queues, self.clock, PromptRepository())

    @cached_property
    def prompt_store(self) -> PromptStore | None:
        """The prompts' files: the bucket in AWS, the directory locally, None when neither is set."""
        if self.settings.prompts_bucket:
            return S3PromptStore(self.settings.prompts_bucket)
        if self.settings.prompts_directory:
            return DirectoryPromptStore(self.settings.prompts_directory)
        return None

    @cached_property
    def prompts(self) -> PromptService:
        return PromptService(PromptRepository(), self.prompt_store, self._queues, self.clock)

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
        return AgentStateService(self._seats, self.clock, self.routing)

    @cached_property
    def stats(self) -> QueueStatsService:
        return QueueStatsService(self._queues, self._seats, QueueActivityRepository(), self.clock)

    @cached_property
    def wallboard(self) -> WallboardService:
        return WallboardService(
            self._queues, self._seats, QueueActivityRepository(), RecentRecordRepository(), self.clock
        )

    @cached_property
    def reports(self) -> ReportService:
        return ReportService(RecordRepository(), self.clock)

    @cached_property
    def recording_store(self) -> RecordingStore | None:
        """S3 when a bucket is set; a directory with a link base (local mode); else none (no links)."""
        s = self.settings
        if s.recordings_bucket:
            return S3Store(s.recordings_bucket)
        if s.recordings_dir and s.recordings_link_base and s.admin_key_sha256:
            return DirectoryStore(
                Path(s.recordings_dir), s.recordings_link_base, link_secret(s.admin_key_sha256)
            )
        return None

    @cached_property
    def recordings(self) -> RecordingLinks:
        contacts = LiveContactRepository(self.fence, self.settings.record_retention_days)
        return RecordingLinks(contacts, self.recording_store, self.clock)

    @cached_property
    def webhooks(self) -> WebhookService:
        poster = WebhookPoster(allow_private=self.settings.webhooks_allow_private)
        registrations = WebhookRepository()
        return WebhookService(
            registrations, DeliveryRepository(), poster, self.clock, lookup=CachedWebhooks(registrations)
        )

    @cached_property
    def desk(self) -> DeskService:
        return DeskService(DeskSettingsRepository(), WrapUpRepository(), self.clock)

    @cached_property
    def event_socket(self) -> EventSocketService:
        endpoint = self.settings.events_socket_endpoint
        poster = ManagementApiPoster(endpoint, self.settings.region) if endpoint else None
        return EventSocketService(self.auth, SocketConnectionRepository(), poster, self._queues, self.clock)

    @cached_property
    def trunks(self) -> TrunkService:
        return TrunkService(TrunkRepository(), self.clock)

    @cached_property
    def idempotency(self) -> IdempotencyService:
        return IdempotencyService(IdempotencyRepository(), self.clock)

    # Routing (the ACD): the routing and agent_events functions, and the SIP edge in-process.

    @cached_property
    def routing(self) -> RoutingService:
        policy = RoutingPolicy(
            sip_domain=self.settings.sip_domain,
            busy_leaves_agent_available=self.settings.busy_policy is BusyPolicy.AVAILABLE,
        )
        return RoutingService(
            RoutingCatalogRepository(),
            AgentSeatRepository(self.fence),
            LiveContactRepository(self.fence, self.settings.record_retention_days),
            RegistrationRepository(),
            JsonLogEventSink(),
            policy,
            self.fence.owns if self.fence is not None else None,
            EmfRoutingMetrics(namespace) if (namespace := self.settings.metrics_namespace) else None,
            self.fence.require if self.fence is not None else None,
            self.offer_push,
            outbound_trunks=TrunkOutbound(),
            dialers=SeatDialers(),
            # Callbacks run on a live task the offer can be pushed to: none without the push.
            runners=LiveTaskRunners(region=self.settings.region) if self.offer_push is not None else None,
            # A takeover asks this region's tasks which calls they hold before freeing a seat.
            held_calls=EdgeHeldCalls(self.settings.fleet_key, region=self.settings.region)
            if self.settings.fleet_key
            else None,
        )

    @cached_property
    def contact_transfers(self) -> ContactTransfers:
        """Transfers asked over the API, carried out by the edge task holding the call."""
        edge = EdgeCommands(self.settings.fleet_key) if self.settings.fleet_key else None
        return ContactTransfers(LiveContactRepository(self.fence, self.settings.record_retention_days), edge)

    @cached_property
    def offer_push(self) -> EdgeOfferPush | None:
        """Pushes claimed offers to the edge tasks holding their callers (``contracts.offer_push``)."""
        if not self.settings.fleet_key:
            return None
        return EdgeOfferPush(self.settings.fleet_key, region=self.settings.region)


_lock = threading.Lock()
_container: Container | None = None


def services(component: Component | None = None) -> Container:
    """The process's services, built on first use from ``component``'s settings."""
    global _container
    if _container is None:
        # The local API server is threaded: build the container once, not once per racing request.
        with _lock:
            if _container is None:
                _container = Container(Settings.from_env(component))
    return _container


def reset(settings: Settings | None = None, clock: Clock | None = None) -> Container | None:
    """Replace the services (tests); with no settings, forget them so the next use reads the environment."""
    global _container
    with _lock:
        if settings is None and clock is None:
            _container = None
        else:
            _container = Container(settings or Settings.from_env(), clock or system_clock_ms)
        return _container

"""The composition root of the edge: builds every object of one edge task, starts and stops it.

`build` is the one place that turns configuration and the outside world (`EdgePorts`: the table
and the routing function, or fakes in tests) into a running task:

    Edge (sockets, SIP stack) -> ContactCenterPolicy (dispatch)
        -> Registrar (digest, binding rules) -> LocationService (write-behind)
        -> B2bua -> CallSetups -> CallSetup, ring, queue hold -> Bridges -> Bridge
    Supervisor: location write-behind, NAT keep-alives, heartbeat, lost-task sweep, metrics

`EdgeTask.start` binds the listeners and then starts the workers; `close` stops the workers,
lets the calls finish their reports, flushes the bindings and closes the sockets last, so what
other tasks must see is written while the task can still send.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import secrets
import signal
import time
from dataclasses import dataclass
from functools import partial

from contact_center.contracts import media_relays
from sip_edge.app.abuse import FailedAuthLimiter
from sip_edge.app.adapters.metrics import metrics_publisher
from sip_edge.app.calls.addresses import CallAddresses
from sip_edge.app.calls.attended import AttendedTransfers
from sip_edge.app.calls.b2bua import B2bua
from sip_edge.app.calls.bridge import Bridge, Bridges
from sip_edge.app.calls.callback_run import CallbackRuns
from sip_edge.app.calls.clock import CallClock
from sip_edge.app.calls.consults import ConsultCalls
from sip_edge.app.calls.counters import CallCounters
from sip_edge.app.calls.dialogs import DialogBook, DialogStore, MemoryDialogStore
from sip_edge.app.calls.live import LiveCalls
from sip_edge.app.calls.media import MediaPort, NoRelay
from sip_edge.app.calls.offer_push import OfferPushReceiver
from sip_edge.app.calls.outbound_calls import OutboundCalls
from sip_edge.app.calls.ports import CallSettings, RoutingPort
from sip_edge.app.calls.queue_hold import QueueHold
from sip_edge.app.calls.seat_auth import SeatAuth
from sip_edge.app.calls.setup import CallSetup, CallSetups
from sip_edge.app.calls.stale import LocationStaleBindings
from sip_edge.app.calls.tasks import CallTasks
from sip_edge.app.calls.transfers import CallTransfers
from sip_edge.app.calls.trunk_dns import TrunkResolver
from sip_edge.app.calls.trunk_health import TrunkPinger
from sip_edge.app.calls.trunk_limits import TrunkLimits, TrunkSlotStore
from sip_edge.app.calls.trunks import Trunk, TrunkDirectory, TrunkSource
from sip_edge.app.edge import Edge, build_edge
from sip_edge.app.fleet.directory import EdgeDirectory, Heartbeat, LostEdgeSweeper, OwnerAddresses
from sip_edge.app.fleet.routes import use_flow_key
from sip_edge.app.health import HealthMonitor, HealthProbe
from sip_edge.app.media.anchor import RelayMedia
from sip_edge.app.media.prompts import PromptSet
from sip_edge.app.media.registry import RelayRegistry, RelaySource
from sip_edge.app.media.relays import RelayPool
from sip_edge.app.media.uploaded import UploadedPrompts
from sip_edge.app.policy import ContactCenterPolicy
from sip_edge.app.registration.credentials import CredentialCache, CredentialSource
from sip_edge.app.registration.keepalive import NatKeepAlive
from sip_edge.app.registration.location import BindingStore, LocationService
from sip_edge.app.registration.registrar import Registrar, RegistrarSettings
from sip_edge.app.workers import Supervisor
from sip_edge.config import EdgeConfig
from sip_edge.media.dtmf import DtmfListener
from sip_edge.media.ng import NgClient
from sip_edge.sip.digest import DigestAuthenticator
from sip_edge.sip.hostport import format_hostport

__all__ = ["Calls", "EdgePorts", "EdgeTask", "build", "run", "serve", "table_ports"]

log = logging.getLogger("sip_edge")


@dataclass(frozen=True, slots=True)
class EdgePorts:
    """The outside world of an edge task. Without ``routing`` the task only registers phones."""

    credentials: CredentialSource
    bindings: BindingStore
    routing: RoutingPort | None = None
    trunks: TrunkSource | None = None
    trunk_slots: TrunkSlotStore | None = None  # without it max_concurrent_calls is not enforced
    dialogs: DialogStore | None = None
    fleet: EdgeDirectory | None = None
    # The region's registered media relays, when the config names a registry (the media fleet).
    relay_source: RelaySource | None = None
    # What the health endpoint checks beside the event loop (`sip_edge.app.health`).
    probes: tuple[HealthProbe, ...] = ()


@dataclass(frozen=True, slots=True)
class Calls:
    """The call side of a task, as `build` wired it."""

    b2bua: B2bua
    live: LiveCalls[CallSetup, Bridge]
    routing: RoutingPort
    hold: QueueHold
    tasks: CallTasks
    pinger: TrunkPinger
    relays: RelayPool | None = None
    trunk_limits: TrunkLimits | None = None
    transfers: CallTransfers | None = None
    dtmf: DtmfListener | None = None

    async def close(self) -> None:
        await self.hold.stop()
        await self.tasks.close()
        if self.relays is not None:
            await self.relays.stop()
        close_routing = getattr(self.routing, "close", None)
        if close_routing is not None:
            close_routing()


@dataclass(slots=True)
class EdgeTask:
    """One edge task, built: its sockets, policy, registrar, calls and background workers."""

    config: EdgeConfig
    edge: Edge
    policy: ContactCenterPolicy
    location: LocationService
    counters: CallCounters
    workers: Supervisor
    calls: Calls | None = None

    async def start(self) -> None:
        try:
            await self.edge.start()  # closes its own sockets when a listener cannot bind
        except BaseException:
            await self._stop_work()
            raise
        if not self.config.nonce_key:
            log.warning("SIP_NONCE_KEY is not set: nonces from this edge are valid on this edge only")
        self.workers.start()

    async def close(self) -> None:
        # The sockets close last: the work stopped first may still send (a BYE, a report).
        await self._stop_work()
        await self.edge.close()

    async def _stop_work(self) -> None:
        await self.workers.stop()
        if self.calls is not None:
            await self.calls.close()
        try:
            await self.location.flush()  # nothing registered is lost on a clean shutdown
        except Exception:
            log.exception("the last write of bindings failed")


def build(config: EdgeConfig, ports: EdgePorts, call_settings: CallSettings | None = None) -> EdgeTask:
    """Build one edge task (call inside the running loop, then `await task.start()`).
    ``call_settings``: the calls' timers, when not the defaults (tests shorten them)."""
    edge = build_edge(config)
    stack = edge.stack
    key = config.nonce_key.encode() if config.nonce_key else secrets.token_bytes(32)
    use_flow_key(key)
    location = LocationService(ports.bindings)
    registrar = Registrar(
        RegistrarSettings(domain=config.sip_domain),
        DigestAuthenticator(key, config.sip_domain),
        CredentialCache(ports.credentials),
        location,
        FailedAuthLimiter(),
        edge_task_id=config.task_id,
    )
    counters = CallCounters()
    workers = Supervisor()
    workers.add("location-flush", location.run)
    keepalive = NatKeepAlive(
        location,
        config.task_id,
        lambda data, to: stack.transport_for("UDP").send_to(data, to),
        interval=config.nat_keepalive_seconds,
    )
    workers.add("nat-keepalive", keepalive.run)
    calls = (
        None
        if ports.routing is None
        else _build_calls(
            config,
            ports,
            ports.routing,
            edge,
            counters,
            location,
            call_settings,
            # Seats' phones calling out prove themselves as they do to the registrar (407 here).
            SeatAuth(
                DigestAuthenticator(key, config.sip_domain, proxy=True),
                registrar.credentials,
                registrar.limiter,
                registrar.challenges,
            ),
        )
    )
    if calls is not None and calls.relays is not None:
        workers.add("media-relays", calls.relays.watch)
        if ports.relay_source is not None and config.media_registry is not None:
            workers.add("media-relay-registry", RelayRegistry(ports.relay_source, calls.relays).run)
        if calls.dtmf is not None and config.media_dtmf is not None:
            workers.add("media-dtmf", partial(_listen_for_keys, calls.dtmf, config.media_dtmf))
    if calls is not None:
        workers.add("trunk-ping", calls.pinger.run)
        if calls.trunk_limits is not None:
            workers.add("trunk-slot-leases", calls.trunk_limits.run)
    if ports.fleet is not None:
        heartbeat = Heartbeat(
            ports.fleet,
            config.task_id,
            lambda: format_hostport(*stack.transport_for("UDP").sent_by),
            lambda: counters.active,
        )
        workers.add("edge-heartbeat", heartbeat.run)
        if calls is not None:
            sweeper = LostEdgeSweeper(
                ports.fleet,
                calls.routing,
                config.task_id,
                calls.live.held_contacts,
                has_routed=lambda: counters.started_total > 0,
            )
            workers.add("lost-edge-sweep", sweeper.run)
    metrics = metrics_publisher(counters, config.metrics_namespace)
    if metrics is not None:
        workers.add("edge-metrics", metrics.run)
    health = HealthMonitor(ports.probes, time.monotonic)
    edge.health = health.verdict
    workers.add("health", health.run)
    # Offers pushed by the router are signed with a key derived from the fleet key: a task without
    # one (a lone local edge) cannot tell a push from a forgery and finds its offers by polling.
    offers = (
        OfferPushReceiver(
            calls.hold, config.nonce_key, commands=calls.transfers, held=calls.live.held_contacts
        )
        if calls is not None and config.nonce_key
        else None
    )
    policy = ContactCenterPolicy(registrar, calls.b2bua if calls is not None else None, offers)
    edge.use(policy)
    return EdgeTask(config, edge, policy, location, counters, workers, calls)


def _build_calls(
    config: EdgeConfig,
    ports: EdgePorts,
    routing: RoutingPort,
    edge: Edge,
    counters: CallCounters,
    location: LocationService,
    call_settings: CallSettings | None = None,
    seat_auth: SeatAuth | None = None,
) -> Calls:
    stack = edge.stack
    clock = CallClock(stack.clock)
    live: LiveCalls[CallSetup, Bridge] = LiveCalls(counters)
    tasks = CallTasks(clock)
    dialogs = DialogBook(ports.dialogs or MemoryDialogStore())
    owners = OwnerAddresses(ports.fleet) if ports.fleet is not None else None
    settings = call_settings or CallSettings()
    relays = _relay_pool(config, ports)
    # Menus' keys: SIP INFO always, the relays' reports once it listens.
    dtmf = DtmfListener(_key_report_label(config))
    media: MediaPort = RelayMedia(relays, _prompt_set(config), dtmf) if relays else NoRelay()
    limits = TrunkLimits(ports.trunk_slots, config.task_id, live.held_contacts) if ports.trunk_slots else None
    trunks = TrunkDirectory(
        ports.trunks or _NoTrunks(), limits=limits, resolver=TrunkResolver(config.trunk_dns)
    )
    pinger = TrunkPinger(
        trunks,
        stack,
        interval=settings.trunk_ping_seconds,
        down_after=settings.trunk_down_after,
        up_after=settings.trunk_up_after,
    )
    hold = QueueHold(routing)
    # A fleet member answers for the fleet: outside parties reach it only through the balancer
    # the SIP domain resolves to. A lone edge is reached at its own address.
    addresses = CallAddresses(
        stack, config.task_id, owners, config.sip_domain if ports.fleet is not None else None
    )
    stale = LocationStaleBindings(location, ports.bindings)
    transfers = CallTransfers(
        stack=stack,
        routing=routing,
        addresses=addresses,
        hold=hold,
        tasks=tasks,
        clock=clock,
        settings=settings,
        stale=stale,
        live=live,
    )
    bridges = Bridges(stack, routing, dialogs, live, tasks, config.task_id, clock, settings, transfers)
    setups = CallSetups(
        stack=stack,
        routing=routing,
        trunks=trunks,
        hold=hold,
        live=live,
        bridges=bridges,
        tasks=tasks,
        addresses=addresses,
        clock=clock,
        settings=settings,
        stale=stale,
        media=media,
    )
    if seat_auth is not None:
        consults = ConsultCalls(
            stack=stack,
            routing=routing,
            bridges=bridges,
            live=live,
            addresses=addresses,
            clock=clock,
            settings=settings,
            stale=stale,
        )
        transfers.attended = AttendedTransfers(
            stack=stack, routing=routing, consults=consults, addresses=addresses, tasks=tasks
        )
        setups.dial_out = OutboundCalls(
            stack=stack,
            routing=routing,
            auth=seat_auth,
            bridges=bridges,
            dialogs=dialogs,
            live=live,
            addresses=addresses,
            clock=clock,
            consults=consults,
        ).place
    hold.callbacks = CallbackRuns(
        stack=stack,
        routing=routing,
        media=media,
        bridges=bridges,
        live=live,
        addresses=addresses,
        clock=clock,
        settings=settings,
        tasks=tasks,
        stale=stale,
    ).run
    b2bua = B2bua(stack, live, setups, bridges, dialogs)
    return Calls(b2bua, live, routing, hold, tasks, pinger, relays, limits, transfers, dtmf)


async def _listen_for_keys(listener: DtmfListener, address: tuple[str, int]) -> None:
    """The relays' reports of RFC 4733 key presses, received as long as the task runs."""
    await listener.start(*address)
    try:
        await asyncio.Event().wait()
    finally:
        listener.close()


def _key_report_label(config: EdgeConfig) -> str | None:
    """Where a media fleet relay's agent sends this task's key reports (the task's own address); a
    fixed relay sends them to its ``--dtmf-log-dest`` itself, and needs no label."""
    if config.media_registry is None or config.media_dtmf is None:
        return None
    host, port = config.media_dtmf
    if host in ("0.0.0.0", ""):  # listening on every address: the relays reach the task's own
        host = config.advertised_host or ""
    return media_relays.key_report_label(host, port) if host else None


def _prompt_set(config: EdgeConfig) -> PromptSet:
    """The default prompts, and the merchants' uploaded ones when a prompt store is configured (the
    relays' agents copy them from it: the edge writes nothing on a relay's disk)."""
    uploads = config.prompts_bucket or config.prompts_directory
    return PromptSet(config.media_prompts, UploadedPrompts(config.media_prompts) if uploads else None)


def _relay_pool(config: EdgeConfig, ports: EdgePorts) -> RelayPool | None:
    """Fixed relays, or an empty pool the registry fills; None: media passes through unanchored."""
    if config.media_relays:
        agents = dict(zip(config.media_relays, config.media_agents, strict=False))
        return RelayPool((NgClient(address) for address in config.media_relays), agents=agents)
    if config.media_registry is not None and ports.relay_source is not None:
        return RelayPool(())
    return None


class _NoTrunks:
    """No trunk is configured: every INVITE is refused with 403."""

    def trunks(self) -> list[Trunk]:
        return []


def table_ports(config: EdgeConfig) -> EdgePorts:
    """The ports ``python -m sip_edge`` runs with: the table and the routing function."""
    from contact_center.data.table import BINDING
    from contact_center.data.trunk_slots import TrunkSlots
    from sip_edge.app.adapters.health_probes import DynamoDBProbe, RoutingFunctionProbe
    from sip_edge.app.adapters.routing_client import DEFAULT_FUNCTION_NAME, RoutingClient
    from sip_edge.app.adapters.tables import (
        TableBindingStore,
        TableCredentialSource,
        TableDialogStore,
        TableEdgeDirectory,
        TableRelaySource,
        TableTrunkSource,
    )

    function = config.routing_function_name or DEFAULT_FUNCTION_NAME
    return EdgePorts(
        credentials=TableCredentialSource(),
        bindings=TableBindingStore(),
        routing=RoutingClient(config.task_id, function_name=function),
        trunks=TableTrunkSource(),
        trunk_slots=TrunkSlots(),
        dialogs=TableDialogStore(),
        fleet=TableEdgeDirectory(),
        relay_source=TableRelaySource(config.media_registry) if config.media_registry else None,
        probes=(
            DynamoDBProbe(config.table_name or BINDING.table_name, config.task_id),
            RoutingFunctionProbe(function),
        ),
    )


def _tune_gc() -> None:
    """Keep the cyclic collector off the hot path.

    Over UDP every transaction lives 64*T1 after its answer (timer J absorbs retransmissions),
    so at a few thousand requests a second the heap holds 10^5 live SIP objects. Freezing what
    startup created removes modules and functions from every full collection, and a larger
    young generation means far fewer collections; reference counting still frees acyclic
    garbage at once, which is nearly all of it.
    """
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


async def serve(config: EdgeConfig, ports: EdgePorts) -> None:
    """Run an edge task until SIGTERM or SIGINT, then close it."""
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    task = build(config, ports)
    try:
        await task.start()
    except BaseException:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
        raise
    _tune_gc()
    try:
        await stopping.wait()
        log.info("edge %s stopping on signal", config.task_id)
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
        await task.close()


def run(config: EdgeConfig, ports: EdgePorts) -> int:
    """Process entry: uvloop when installed, the standard loop otherwise. Returns the exit code."""
    try:
        import uvloop
    except ImportError:
        loop_factory = None
    else:
        loop_factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(serve(config, ports))
    return 0

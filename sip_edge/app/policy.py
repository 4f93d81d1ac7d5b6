"""The contact centre's policy for the edge: which component handles which request.

OPTIONS are answered here (carriers' and load balancers' probes), REGISTER goes to the registrar,
calls (INVITE from a trunk, CANCEL, in-dialog requests, the flow owner's relay) go to the B2BUA,
and what is none of these gets 501. Background work (writing bindings behind, NAT keep-alives,
the task's heartbeat, metrics in AWS) starts and stops with the edge.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sip_edge.app.abuse import FailedAuthLimiter
from sip_edge.app.b2bua import NOT_MINE, B2bua
from sip_edge.app.call_services import ALLOW, CallServices, RoutingPort
from sip_edge.app.credentials import CredentialCache, CredentialSource
from sip_edge.app.dialogs import DialogBook, DialogStore, MemoryDialogStore
from sip_edge.app.edge import EdgePolicy
from sip_edge.app.edge_registry import EdgeDirectory, Heartbeat, LostEdgeSweeper, OwnerAddresses, use_flow_key
from sip_edge.app.keepalive import NatKeepAlive
from sip_edge.app.location import BindingStore, LocationService
from sip_edge.app.metrics import CallCounters, MetricsPublisher, metrics_publisher
from sip_edge.app.queue_hold import QueueHold
from sip_edge.app.registrar import Registrar, RegistrarSettings
from sip_edge.app.trunks import TrunkDirectory, TrunkSource
from sip_edge.config import EdgeConfig
from sip_edge.sip.digest import DigestAuthenticator
from sip_edge.sip.message import Request
from sip_edge.sip.stack import AckContext, HandlerResult, SipStack, flow_of
from sip_edge.sip.transaction import ServerTransaction

if TYPE_CHECKING:
    from sip_edge.app.edge import Edge

log = logging.getLogger("sip_edge.policy")


@dataclass(frozen=True, slots=True)
class CallPorts:
    """The outside world of the B2BUA: the router, trunks, stored dialogs and the fleet directory."""

    routing: RoutingPort
    trunks: TrunkSource
    dialogs: DialogStore | None = None
    fleet: EdgeDirectory | None = None


class ContactCenterPolicy(EdgePolicy):
    allow = tuple(method.strip() for method in ("REGISTER, " + ALLOW).split(","))
    supported = ("100rel",)

    def __init__(
        self,
        stack: SipStack,
        config: EdgeConfig,
        credentials: CredentialSource,
        bindings: BindingStore,
        calls: CallPorts | None = None,
    ) -> None:
        super().__init__()
        self._shared_nonces = bool(config.nonce_key)
        key = config.nonce_key.encode() if config.nonce_key else secrets.token_bytes(32)
        use_flow_key(key)
        self.stack = stack
        self.config = config
        self.location = LocationService(bindings)
        self.registrar = Registrar(
            RegistrarSettings(domain=config.sip_domain),
            DigestAuthenticator(key, config.sip_domain),
            CredentialCache(credentials),
            self.location,
            FailedAuthLimiter(),
            edge_task_id=config.task_id,
        )
        self.keepalive: NatKeepAlive | None = None
        self.counters = CallCounters()
        self.b2bua: B2bua | None = None
        self.heartbeat: Heartbeat | None = None
        self.sweeper: LostEdgeSweeper | None = None
        self.metrics: MetricsPublisher | None = None
        self._fleet = calls.fleet if calls is not None else None
        if calls is not None:
            services = CallServices(
                stack,
                calls.routing,
                config.task_id,
                dialogs=DialogBook(calls.dialogs or MemoryDialogStore()),
                trunks=TrunkDirectory(calls.trunks),
                hold=QueueHold(calls.routing),
                owners=OwnerAddresses(calls.fleet) if calls.fleet is not None else None,
                counters=self.counters,
            )
            self.b2bua = B2bua(services)

    async def start(self, edge: Edge) -> None:
        if not self._shared_nonces:
            log.warning("SIP_NONCE_KEY is not set: nonces from this edge are valid on this edge only")
        self.location.start()
        udp = self.stack.transport_for("UDP")
        self.keepalive = NatKeepAlive(
            self.location, self.registrar.edge_task_id, lambda data, to: udp.send_to(data, to)
        )
        self.keepalive.start()
        if self._fleet is not None:
            host, port = udp.sent_by
            address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
            self.heartbeat = Heartbeat(
                self._fleet, self.config.task_id, address, lambda: self.counters.active
            )
            self.heartbeat.start()
            if self.b2bua is not None:
                services = self.b2bua.services
                self.sweeper = LostEdgeSweeper(
                    self._fleet,
                    services.routing,
                    self.config.task_id,
                    services.held_contacts,
                    has_routed=lambda: self.counters.started_total > 0,
                )
                self.sweeper.start()
        self.metrics = metrics_publisher(self.counters)
        if self.metrics is not None:
            self.metrics.start()

    async def close(self) -> None:
        if self.keepalive is not None:
            await self.keepalive.stop()
        if self.heartbeat is not None:
            await self.heartbeat.stop()
        if self.sweeper is not None:
            await self.sweeper.stop()
        if self.metrics is not None:
            await self.metrics.stop()
        if self.b2bua is not None:
            await self.b2bua.close()
            close_routing = getattr(self.b2bua.services.routing, "close", None)
            if close_routing is not None:
                close_routing()
        await self.location.stop()

    def on_request(self, transaction: ServerTransaction | AckContext, request: Request) -> HandlerResult:
        method = request.method
        if method == "REGISTER" and isinstance(transaction, ServerTransaction):
            return self.registrar.decide(request, flow_of(transaction))
        if method != "OPTIONS" and self.b2bua is not None:
            result = self.b2bua.handle(transaction, request)
            if result is not NOT_MINE:
                return result  # type: ignore[return-value]
        return super().on_request(transaction, request)


def contact_center_policy(config: EdgeConfig) -> Callable[[SipStack], ContactCenterPolicy]:
    """The policy factory ``python -m sip_edge`` runs with: the data layer and the routing function."""
    from sip_edge.app.routing_client import RoutingClient
    from sip_edge.app.stores import (
        TableBindingStore,
        TableCredentialSource,
        TableDialogStore,
        TableEdgeDirectory,
        TableTrunkSource,
    )

    def build(stack: SipStack) -> ContactCenterPolicy:
        calls = CallPorts(
            routing=RoutingClient(config.task_id),
            trunks=TableTrunkSource(),
            dialogs=TableDialogStore(),
            fleet=TableEdgeDirectory(),
        )
        return ContactCenterPolicy(stack, config, TableCredentialSource(), TableBindingStore(), calls)

    return build

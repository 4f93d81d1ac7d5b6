"""The contact centre's policy for the edge: which component handles which request.

OPTIONS are answered here (carriers' and load balancers' probes), REGISTER goes to the registrar,
and what is not built yet gets 501. Background work (writing bindings behind, NAT keep-alives)
starts and stops with the edge.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING

from sip_edge.app.abuse import FailedAuthLimiter
from sip_edge.app.credentials import CredentialCache, CredentialSource
from sip_edge.app.edge import EdgePolicy
from sip_edge.app.keepalive import NatKeepAlive
from sip_edge.app.location import BindingStore, LocationService
from sip_edge.app.registrar import Registrar, RegistrarSettings
from sip_edge.config import EdgeConfig
from sip_edge.sip.digest import DigestAuthenticator
from sip_edge.sip.message import Request
from sip_edge.sip.stack import AckContext, HandlerResult, SipStack, flow_of
from sip_edge.sip.transaction import ServerTransaction

if TYPE_CHECKING:
    from sip_edge.app.edge import Edge

log = logging.getLogger("sip_edge.policy")


class ContactCenterPolicy(EdgePolicy):
    allow = ("OPTIONS", "REGISTER")

    def __init__(
        self, stack: SipStack, config: EdgeConfig, credentials: CredentialSource, bindings: BindingStore
    ) -> None:
        super().__init__()
        self._shared_nonces = bool(config.nonce_key)
        key = config.nonce_key.encode() if config.nonce_key else secrets.token_bytes(32)
        self.stack = stack
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

    async def start(self, edge: Edge) -> None:
        if not self._shared_nonces:
            log.warning("SIP_NONCE_KEY is not set: nonces from this edge are valid on this edge only")
        self.location.start()
        udp = self.stack.transport_for("UDP")
        self.keepalive = NatKeepAlive(
            self.location, self.registrar.edge_task_id, lambda data, to: udp.send_to(data, to)
        )
        self.keepalive.start()

    async def close(self) -> None:
        if self.keepalive is not None:
            await self.keepalive.stop()
        await self.location.stop()

    def on_request(self, transaction: ServerTransaction | AckContext, request: Request) -> HandlerResult:
        if request.method == "REGISTER" and isinstance(transaction, ServerTransaction):
            return self.registrar.register(request, flow_of(transaction))
        return super().on_request(transaction, request)


def contact_center_policy(config: EdgeConfig) -> Callable[[SipStack], ContactCenterPolicy]:
    """The policy factory ``python -m sip_edge`` runs with: the data layer behind the registrar."""
    from sip_edge.app.stores import TableBindingStore, TableCredentialSource

    def build(stack: SipStack) -> ContactCenterPolicy:
        return ContactCenterPolicy(stack, config, TableCredentialSource(), TableBindingStore())

    return build

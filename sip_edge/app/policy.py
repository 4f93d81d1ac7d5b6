"""The contact centre's policy for the edge: which component handles which request.

This is the routing script: OPTIONS is answered here (carriers' and load balancers' probes),
REGISTER goes to the registrar, the router's offer pushes (a signed MESSAGE) to the queue hold, calls (INVITE from a trunk, CANCEL, in-dialog requests, the flow
owner's relay) go to the B2BUA, and what is none of these gets 501. Everything it dispatches to is
built, started and stopped by the composition root, ``sip_edge.main``.
"""

from __future__ import annotations

from sip_edge.app.calls.b2bua import B2bua, NotMine
from sip_edge.app.calls.offer_push import OfferPushReceiver
from sip_edge.app.calls.ports import ALLOW
from sip_edge.app.edge import EdgePolicy
from sip_edge.app.registration.registrar import Registrar
from sip_edge.sip.decisions import AckContext, HandlerResult, flow_of
from sip_edge.sip.message import Request
from sip_edge.sip.transaction import ServerTransaction

__all__ = ["ContactCenterPolicy"]


class ContactCenterPolicy(EdgePolicy):
    allow = tuple(method.strip() for method in ("REGISTER, " + ALLOW).split(","))
    supported = ("100rel", "timer")

    def __init__(
        self, registrar: Registrar, b2bua: B2bua | None = None, offers: OfferPushReceiver | None = None
    ) -> None:
        super().__init__()
        self.registrar = registrar
        self.b2bua = b2bua
        self.offers = offers

    def on_request(self, transaction: ServerTransaction | AckContext, request: Request) -> HandlerResult:
        method = request.method
        if method == "REGISTER" and isinstance(transaction, ServerTransaction):
            return self.registrar.decide(request, flow_of(transaction))
        if (
            self.offers is not None
            and isinstance(transaction, ServerTransaction)
            and self.offers.wants(request)
        ):
            return self.offers.receive(request)
        if method != "OPTIONS" and self.b2bua is not None:
            result = self.b2bua.handle(transaction, request)
            if not isinstance(result, NotMine):
                return result
        return super().on_request(transaction, request)

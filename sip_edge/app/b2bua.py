"""The edge's B2BUA: which call a request belongs to, and the relay for agents' flows.

`B2bua.handle` sorts every request the contact-centre policy does not answer itself:

- a request whose top Route names this task with a ``flow`` parameter: another task is reaching
  an agent whose phone registered here; it is relayed statelessly over that phone's flow (the
  NAT pinhole or connection only this task holds), and the responses travel back the same way.
- CANCEL: matched by the stack to the INVITE it cancels; 200 at once, 487 to the INVITE, and the
  call's driver releases the agent and ends the contact.
- a Request-URI naming one of our dialog keys (our Contact, see `legs.contact_user`): the call
  being set up (PRACK, an early BYE) or the bridge; a dialog this task does not hold is read from
  the table (the task that set it up is gone) and handled the same way. Unknown: 481.
- an INVITE without a To tag: a new call (`CallSetup`: trunk check, routing, agents).
- BYE, UPDATE, INFO or PRACK outside any dialog: 481.
- anything else is not a call: `NOT_MINE`, for the policy to answer.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
from typing import Final

from sip_edge.app.bridge import Bridge
from sip_edge.app.call_services import CallServices
from sip_edge.app.calls import CallSetup
from sip_edge.app.dialogs import call_id_alias
from sip_edge.app.edge_registry import decode_flow
from sip_edge.app.legs import CALLER, new_dialog_key, parse_contact_user
from sip_edge.sip.message import Request, Response, SipParseError, Via, parse_name_addr
from sip_edge.sip.stack import AckContext, HandlerResult, Reply, flow_of
from sip_edge.sip.transaction import MAGIC_COOKIE, ServerInviteTransaction, ServerTransaction
from sip_edge.sip.transport import Flow

__all__ = ["NOT_MINE", "B2bua"]

log = logging.getLogger("sip_edge.b2bua")


class _NotMine:
    def __repr__(self) -> str:
        return "NOT_MINE"


NOT_MINE: Final = _NotMine()
# Branches of requests this task relays for another's call start with this, so their responses
# (which match no transaction here) are recognised and passed back rather than dropped.
_RELAY_BRANCH = MAGIC_COOKIE + "sbr"
# Methods that only exist inside a dialog (or an INVITE transaction): outside one they get 481.
_DIALOG_ONLY = frozenset(("BYE", "UPDATE", "INFO", "PRACK"))
_RELAY_KEY = secrets.token_bytes(16)


def _relay_branch(upstream: Via, call_id: str) -> str:
    """Our branch for a request relayed from `upstream`, keyed (under a secret of this process)
    on the upstream's branch and on the address its responses go back to, which the stack wrote
    from the packet's source: a response naming any other address is not passed on."""
    mark = (
        f"{upstream.branch or call_id}|{upstream.received or upstream.host}|{upstream.rport}|{upstream.port}"
    )
    return (
        _RELAY_BRANCH
        + hmac.new(_RELAY_KEY, mark.encode("utf-8", "surrogateescape"), hashlib.sha256).hexdigest()[:20]
    )


class B2bua:
    def __init__(self, services: CallServices) -> None:
        self.services = services
        self._by_invite: dict[ServerInviteTransaction, CallSetup] = {}
        self._recovering: dict[str, asyncio.Future[Bridge | None]] = {}
        services.stack.on_stray_response = self._relay_response

    # --- dispatch ---------------------------------------------------------------------------------

    def handle(
        self, transaction: ServerTransaction | AckContext, request: Request
    ) -> HandlerResult | _NotMine:
        relay = self._flow_route(request)
        if relay is not None:
            return self._relay_to_flow(transaction, request, relay)
        method = request.method
        if isinstance(transaction, AckContext):
            self._on_ack(request)
            return None
        if method == "CANCEL":
            return self._on_cancel(transaction, request)
        target = self._dialog_of(request)
        if target is None and request.to.tag is not None and method not in ("OPTIONS", "REGISTER"):
            # Not addressed to our Contact (a sloppy UA): the Call-ID names the dialog, in memory
            # or, for the caller's leg, under its alias in the table.
            target = self.services.call_ids.get(request.call_id) or (call_id_alias(request.call_id), CALLER)
        if target is not None:
            return self._in_dialog(transaction, request, *target)
        if method == "INVITE" and isinstance(transaction, ServerInviteTransaction):
            return self._new_call(transaction, request)
        if method in _DIALOG_ONLY:
            return Reply(481)  # §12.2.2: a request of a dialog that does not exist
        return NOT_MINE

    @staticmethod
    def _dialog_of(request: Request) -> tuple[str, str] | None:
        try:
            return parse_contact_user(request.sip_uri.user)
        except SipParseError:
            return None

    def _new_call(self, transaction: ServerInviteTransaction, request: Request) -> HandlerResult:
        hops = request.max_forwards
        if hops is not None and hops <= 0:
            return Reply(483)
        key = new_dialog_key()
        setup = CallSetup(self.services, key, transaction, request, flow_of(transaction))
        self.services.setup_started(setup)
        self._by_invite[transaction] = setup
        return self._run_setup(transaction, setup)

    async def _run_setup(self, transaction: ServerInviteTransaction, setup: CallSetup) -> None:
        try:
            await setup.run()
        finally:
            self._by_invite.pop(transaction, None)

    def _on_cancel(self, transaction: ServerTransaction, request: Request) -> Reply | None:
        invite = transaction.cancel_target
        setup = self._by_invite.get(invite) if invite is not None else None
        if invite is None:
            return Reply(481)
        # §9.2: 200 to the CANCEL first, then 487 to the INVITE (if it has no final response yet).
        transaction.reply(200)
        if setup is not None:
            setup.cancel(request)
        return None

    def _on_ack(self, request: Request) -> None:
        target = self._dialog_of(request) or self.services.call_ids.get(request.call_id)
        if target is None:
            return
        key, side = target
        bridge = self.services.bridges.get(key)
        if bridge is not None:
            bridge.on_ack(request, side)

    def _in_dialog(
        self, transaction: ServerTransaction, request: Request, key: str, side: str
    ) -> HandlerResult:
        bridge = self.services.bridges.get(key)
        if bridge is not None:
            return bridge.on_request(transaction, request, side)
        setup = self.services.setups.get(key)
        if setup is not None:
            return setup.on_early_request(transaction, request)
        return self._recovered(transaction, request, key, side)

    async def _recovered(
        self, transaction: ServerTransaction, request: Request, key: str, side: str
    ) -> Reply | None:
        bridge = await self._recover(key)
        if bridge is None:
            return Reply(481)
        return await bridge.on_request(transaction, request, side)

    async def _recover(self, key: str) -> Bridge | None:
        """The bridge of a dialog set up by another (or a previous) task, read from the table once."""
        pending = self._recovering.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Bridge | None] = asyncio.get_running_loop().create_future()
        self._recovering[key] = future
        try:
            stored = await self.services.dialogs.load(key)
            bridge = None
            if stored is not None:
                existing = self.services.bridges.get(stored.key)
                bridge = existing or Bridge.from_stored(self.services, stored)
                if existing is None:
                    log.info(
                        "adopted dialog %s of contact %s from %s", stored.key, stored.contact_id, stored.owner
                    )
                    self.services.bridge_started(bridge, adopted=True)
            future.set_result(bridge)
            return bridge
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()
            raise
        finally:
            self._recovering.pop(key, None)

    # --- the flow owner's relay -------------------------------------------------------------------

    def _own_hostports(self) -> set[tuple[str, int]]:
        return {transport.sent_by for transport in self.services.stack.transports.values()}

    def _flow_route(self, request: Request) -> str | None:
        """The ``flow`` parameter of a top Route naming this task, if there is one."""
        top = request.headers.get("Route")
        if top is None or "flow=" not in top:
            return None
        try:
            uri = parse_name_addr(top.split(",", 1)[0]).sip_uri
        except SipParseError:
            return None
        if uri is None or "flow" not in uri.params:
            return None
        port = uri.port or 5060
        if (uri.host.strip("[]"), port) not in {(h.strip("[]"), p) for h, p in self._own_hostports()}:
            return None
        return uri.params["flow"]

    def _relay_to_flow(
        self, transaction: ServerTransaction | AckContext, request: Request, flow_token: str
    ) -> Reply | None:
        destination = decode_flow(flow_token)
        if destination is None:
            return None if isinstance(transaction, AckContext) else Reply(400, "Bad flow token")
        hops = request.max_forwards
        if hops is not None and hops <= 0 and request.method != "ACK":
            return Reply(483)
        request.headers.pop_first("Route")
        request.headers.set("Max-Forwards", str((70 if hops is None else hops) - 1))
        stack = self.services.stack
        transport = stack.transport_for(destination.transport)
        # Stateless (§16.11): the branch is a function of the incoming one, so a retransmission,
        # the CANCEL and the ACK of a non-2xx get the branch the phone matches to the INVITE.
        branch = _relay_branch(request.top_via, request.call_id)
        host, port = transport.sent_by
        request.headers.add(
            "Via", f"SIP/2.0/{transport.name} {host}:{port};branch={branch};rport", first=True
        )
        transport.send_to(request.to_bytes(), destination.address)
        if isinstance(transaction, ServerTransaction):
            # No state kept: the upstream task's retransmissions are relayed again as they come.
            transaction.terminate()
        return None

    def _relay_response(self, response: Response, flow: Flow) -> None:
        try:
            vias = response.vias
        except SipParseError:
            return
        if len(vias) < 2 or not (vias[0].branch or "").startswith(_RELAY_BRANCH):
            return
        upstream = vias[1]
        if vias[0].branch != _relay_branch(upstream, response.call_id):
            return  # not a Via we relayed: a forged response must not aim us at an address
        response.headers.pop_first("Via")
        host = upstream.received or upstream.host
        rport = upstream.rport
        port = int(rport) if rport else (upstream.port or 5060)
        try:
            transport = self.services.stack.transport_for(upstream.transport)
        except Exception:
            return
        transport.send_to(response.to_bytes(), (host.strip("[]"), port))

    async def close(self) -> None:
        await self.services.hold.stop()
        await self.services.close()

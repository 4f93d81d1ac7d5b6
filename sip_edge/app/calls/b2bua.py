"""The edge's B2BUA: which call a request belongs to, and the relay for agents' flows.

`B2bua.handle` sorts every request the contact-centre policy does not answer itself:

- a request whose top Route names this task with a ``flow`` parameter: another task is reaching
  an agent whose phone registered here; the answer is a `Relay` over that phone's flow (the NAT
  pinhole or connection only this task holds), which the stack executes statelessly, responses
  travelling back the same way.
- CANCEL: matched by the stack to the INVITE it cancels; 200 at once, 487 to the INVITE, and the
  call's driver releases the agent and ends the contact.
- a Request-URI naming one of our dialog keys (our Contact, see `sip.dialog.contact_user`): the call
  being set up (PRACK, an early BYE) or the bridge; a dialog this task does not hold is read from
  the table (the task that set it up is gone) and handled the same way. Unknown: 481.
- an INVITE without a To tag: a new call (`CallSetup`: trunk check, routing, agents).
- BYE, UPDATE, INFO or PRACK outside any dialog: 481.
- anything else is not a call: `NOT_MINE`, for the policy to answer.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Final

from sip_edge.app.calls.bridge import Bridge, Bridges
from sip_edge.app.calls.dialogs import DialogBook, call_id_alias
from sip_edge.app.calls.live import LiveCalls
from sip_edge.app.calls.setup import CallSetup, CallSetups
from sip_edge.app.fleet.routes import decode_flow
from sip_edge.sip.decisions import AckContext, HandlerResult, Relay, Reply, flow_of
from sip_edge.sip.dialog import CALLER, new_dialog_key, parse_contact_user
from sip_edge.sip.errors import SipParseError
from sip_edge.sip.message import Request, parse_name_addr
from sip_edge.sip.stack import SipStack
from sip_edge.sip.transaction import ServerInviteTransaction, ServerTransaction

__all__ = ["NOT_MINE", "B2bua", "NotMine"]

log = logging.getLogger("sip_edge.b2bua")


class NotMine:
    """The B2BUA's answer to a request that is not a call (`NOT_MINE`, its one instance)."""

    def __repr__(self) -> str:
        return "NOT_MINE"


NOT_MINE: Final = NotMine()
# Methods that only exist inside a dialog (or an INVITE transaction): outside one they get 481.
_DIALOG_ONLY = frozenset(("BYE", "UPDATE", "INFO", "PRACK"))


class B2bua:
    def __init__(
        self,
        stack: SipStack,
        live: LiveCalls[CallSetup, Bridge],
        setups: CallSetups,
        bridges: Bridges,
        dialogs: DialogBook,
    ) -> None:
        self._stack = stack
        self.live = live
        self._setups = setups
        self._bridges = bridges
        self._dialogs = dialogs
        self._by_invite: dict[ServerInviteTransaction, CallSetup] = {}
        self._recovering: dict[str, asyncio.Future[Bridge | None]] = {}

    # --- dispatch ---------------------------------------------------------------------------------

    def handle(
        self, transaction: ServerTransaction | AckContext, request: Request
    ) -> HandlerResult | NotMine:
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
            target = self.live.call_ids.get(request.call_id) or (call_id_alias(request.call_id), CALLER)
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
        setup = self._setups.new(key, transaction, request, flow_of(transaction))
        self.live.setup_started(setup)
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
        target = self._dialog_of(request) or self.live.call_ids.get(request.call_id)
        if target is None:
            return
        key, side = target
        bridge = self.live.bridges.get(key)
        if bridge is not None:
            bridge.on_ack(request, side)

    def _in_dialog(
        self, transaction: ServerTransaction, request: Request, key: str, side: str
    ) -> HandlerResult:
        bridge = self.live.bridges.get(key)
        if bridge is not None:
            return bridge.on_request(transaction, request, side)
        setup = self.live.setups.get(key)
        if setup is not None:
            return setup.on_early_request(transaction, request)
        originated = self.live.originated.get(key)
        if originated is not None:
            return originated.on_request(transaction, request, side)
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
            stored = await self._dialogs.load(key)
            bridge = None
            if stored is not None:
                existing = self.live.bridges.get(stored.key)
                bridge = existing or self._bridges.restore(stored)
                if existing is None:
                    log.info(
                        "adopted dialog %s of contact %s from %s", stored.key, stored.contact_id, stored.owner
                    )
                    self.live.bridge_started(bridge, adopted=True)
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
        return {transport.sent_by for transport in self._stack.transports.values()}

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

    @staticmethod
    def _relay_to_flow(
        transaction: ServerTransaction | AckContext, request: Request, flow_token: str
    ) -> Reply | Relay | None:
        destination = decode_flow(flow_token)
        if destination is None:
            return None if isinstance(transaction, AckContext) else Reply(400, "Bad flow token")
        hops = request.max_forwards
        if hops is not None and hops <= 0 and request.method != "ACK":
            return Reply(483)
        return Relay(destination)

"""Addresses of calls: our Contact on each leg of a call, and where another edge task is.

Both legs of a call face the outside (the carrier, the agent's phone), which sends its in-dialog
requests to our Contact (RFC 3261 §12.1.2). In a fleet only the load balancer is reachable from
outside, never a task's private address, so the Contact names the fleet's public host (the SIP
domain, which resolves to the balancer) and a dialog key; whichever task the balancer picks serves
the request from the stored dialog. Our Via, the heartbeat and task-to-task relays keep the task's
own address: responses and relays must reach this very task.
"""

from __future__ import annotations

from sip_edge.app.fleet.directory import OwnerAddresses
from sip_edge.sip.dialog import CALLER, Leg, contact_uri
from sip_edge.sip.errors import SipParseError
from sip_edge.sip.hostport import format_hostport
from sip_edge.sip.message import Request
from sip_edge.sip.stack import SipStack
from sip_edge.sip.transaction import ServerInviteTransaction
from sip_edge.sip.transport import Flow

__all__ = ["CallAddresses"]


class CallAddresses:
    def __init__(
        self,
        stack: SipStack,
        task_id: str,
        owners: OwnerAddresses | None = None,
        public_host: str | None = None,
    ) -> None:
        self._stack = stack
        self.task_id = task_id
        self._owners = owners
        self._public_host = public_host

    def contact(self, dialog_key: str, side: str, transport: str) -> str:
        """Our Contact on one leg: the public host (else the transport's advertised address) on the
        transport's port, the dialog key and the side."""
        host, port = self._stack.transport_for(transport).sent_by
        return contact_uri(dialog_key, side, transport, (self._public_host or host, port))

    def inviting_leg(
        self, key: str, invite: ServerInviteTransaction, request: Request, flow: Flow, side: str = CALLER
    ) -> Leg:
        """The side of the dialog that sent ``request`` (a carrier's caller, a seat's phone calling
        out), as its INVITE opens it: our tag, its CSeq, its route set, our Contact on it."""
        try:
            caller_target = str(request.contacts[0].uri) if request.contacts else str(request.from_.uri)
        except SipParseError:
            caller_target = str(request.from_.uri)
        transport = flow.transport.name
        return Leg(
            side=side,
            call_id=request.call_id,
            local=f"{request.headers.get('To')};tag={invite.local_tag}",
            remote=str(request.headers.get("From")),
            local_cseq=0,
            remote_cseq=request.cseq[0],
            remote_target=caller_target,
            transport=transport,
            destination=format_hostport(*flow.remote),
            contact=self.contact(key, side, transport),
            route_set=list(request.headers.get_all("Record-Route")),
        )

    async def owner_address(self, task_id: str | None) -> str | None:
        """The address of the edge task ``task_id`` when it is another live task, else None."""
        if not task_id or task_id == self.task_id or self._owners is None:
            return None
        return await self._owners.address_of(task_id)

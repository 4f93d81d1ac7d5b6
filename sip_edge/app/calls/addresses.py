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
from sip_edge.sip.dialog import contact_uri
from sip_edge.sip.stack import SipStack

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

    async def owner_address(self, task_id: str | None) -> str | None:
        """The address of the edge task ``task_id`` when it is another live task, else None."""
        if not task_id or task_id == self.task_id or self._owners is None:
            return None
        return await self._owners.address_of(task_id)

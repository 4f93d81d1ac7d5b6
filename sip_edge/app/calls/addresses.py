"""Addresses of calls: our Contact on each leg of a call, and where another edge task is."""

from __future__ import annotations

from sip_edge.app.fleet.directory import OwnerAddresses
from sip_edge.sip.dialog import contact_uri
from sip_edge.sip.stack import SipStack

__all__ = ["CallAddresses"]


class CallAddresses:
    def __init__(self, stack: SipStack, task_id: str, owners: OwnerAddresses | None = None) -> None:
        self._stack = stack
        self.task_id = task_id
        self._owners = owners

    def contact(self, dialog_key: str, side: str, transport: str) -> str:
        """Our Contact on one leg: the advertised address of the leg's transport, the dialog key."""
        return contact_uri(dialog_key, side, transport, self._stack.transport_for(transport).sent_by)

    async def owner_address(self, task_id: str | None) -> str | None:
        """The address of the edge task ``task_id`` when it is another live task, else None."""
        if not task_id or task_id == self.task_id or self._owners is None:
            return None
        return await self._owners.address_of(task_id)

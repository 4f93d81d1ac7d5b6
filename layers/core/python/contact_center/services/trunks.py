"""Trunks: the platform's carriers and merchants' own (a legacy PBX), where calls come from and go.

Which networks a trunk may name and how its address reads are the domain's rules
(``domain.trunks``), applied when a request is parsed (``trunk_commands``). Outbound credentials
are kept as HA1 for the trunk's realm, as seats' are. Edge tasks re-read the trunk list every 10 s
(``sip_edge.app.calls.trunks``), so a change or a deletion reaches every task within that.
"""

from __future__ import annotations

from contact_center.domain.errors import ValidationError
from contact_center.domain.trunks import OutboundAuth, TrunkAddress, outbound_auth

from .commands import PageRequest
from .ids import new_id
from .ports import Clock, TrunkPort
from .records import Page, Trunk
from .trunk_commands import CreateTrunk, TrunkCredentials, UpdateTrunk


class TrunkService:
    def __init__(self, trunks: TrunkPort, clock: Clock) -> None:
        self._trunks = trunks
        self._clock = clock

    def create(self, command: CreateTrunk, merchant_id: str | None = None) -> Trunk:
        """A platform trunk (``merchant_id`` None) or the merchant's own."""
        trunk = Trunk(
            trunk_id=new_id("trk"),
            name=command.name,
            source_cidrs=command.source_cidrs,
            legacy=command.legacy,
            created_at=self._clock(),
            merchant_id=merchant_id,
            address=command.address,
            max_concurrent_calls=command.max_concurrent_calls,
            caller_id_rules=command.caller_id_rules,
            auth=_auth(command.credentials, command.address),
        )
        self._trunks.create(trunk)
        return trunk

    def get(self, trunk_id: str, owner: str | None = None) -> Trunk:
        return self._trunks.get(trunk_id, owner)

    def list(self, page: PageRequest, owner: str | None = None) -> Page[Trunk]:
        if owner is None:
            return self._trunks.page(page.limit, page.next_token)
        return self._trunks.page_for_merchant(owner, page.limit, page.next_token)

    def update(self, trunk_id: str, command: UpdateTrunk, owner: str | None = None) -> Trunk:
        auth = None
        if command.credentials is not None:
            address = command.address
            if address is None and command.credentials.realm is None:
                address = self._trunks.get(trunk_id, owner).address  # the realm defaults to its host
            auth = _auth(command.credentials, address)
        return self._trunks.update(trunk_id, owner, command, auth)

    def delete(self, trunk_id: str, owner: str | None = None) -> None:
        self._trunks.delete(trunk_id, owner)


def _auth(credentials: TrunkCredentials | None, address: TrunkAddress | None) -> OutboundAuth | None:
    if credentials is None:
        return None
    realm = credentials.realm or (address.host if address is not None else None)
    if realm is None:
        raise ValidationError("realm", "is required with credentials when the trunk has no address")
    return outbound_auth(credentials.username, credentials.password, realm)

"""The router's outbound ports over the table: which seat a phone is, what its merchant may dial,
and where the merchant's outbound calls go.

``TrunkOutbound`` sends a merchant's calls over its own trunk with a signalling address (its PBX or
its own carrier) when it has one, else over the platform's first such carrier; a legacy trunk never
carries outbound calls. The caller ID is the trunk's first caller-ID rule matching the dialled
number, else the merchant's first number. A bare domain is sent to its own name on the transport's
port (no SRV lookup yet).
"""

from __future__ import annotations

from contact_center.data.catalog import NumberItems, TrunkItems
from contact_center.data.mappers.catalog import trunk_from_item
from contact_center.data.merchants import MerchantItems
from contact_center.data.seats import SipUserItems
from contact_center.domain.trunks import caller_id_for
from contact_center.services.errors import NotFoundError
from contact_center.services.routing.dialout import DialPermissions, OutboundTrunk


class SeatDialers:
    def __init__(self) -> None:
        self._users = SipUserItems()
        self._merchants = MerchantItems()

    def seat_of(self, sip_username: str) -> tuple[str, str] | None:
        user = self._users.get(sip_username)
        return None if user is None else (str(user.merchant_id), str(user.seat_id))

    def permissions(self, merchant_id: str) -> DialPermissions:
        try:
            prefixes = tuple(self._merchants.get(merchant_id).dial_prefixes or ())
        except NotFoundError:
            return DialPermissions(())
        return DialPermissions(prefixes) if prefixes else DialPermissions()


class TrunkOutbound:
    def __init__(self) -> None:
        self._trunks = TrunkItems()
        self._numbers = NumberItems()

    def outbound_trunk(self, merchant_id: str, dialled: str) -> OutboundTrunk | None:
        numbers = sorted(str(item.number) for item in self._numbers.all_for_merchant(merchant_id))
        if not numbers:
            return None  # no caller ID to show
        items = sorted(self._trunks.all(), key=lambda item: (int(item.created_at), str(item.trunk_id)))
        usable = [
            trunk
            for trunk in map(trunk_from_item, items)
            if trunk.address is not None and not trunk.legacy and trunk.merchant_id in (merchant_id, None)
        ]
        usable.sort(key=lambda trunk: trunk.merchant_id is None)  # the merchant's own first
        if not usable:
            return None
        trunk = usable[0]
        address = trunk.address
        assert address is not None
        host = f"[{address.host}]" if ":" in address.host else address.host
        return OutboundTrunk(
            trunk.trunk_id,
            f"{host}:{address.target_port}",
            address.transport.value,
            caller_id_for(trunk.caller_id_rules, dialled, numbers[0]),
        )
